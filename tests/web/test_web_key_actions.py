"""The key page's actions change the key through the service (asserted there),
and the page shows counters, lineage and usage."""

from __future__ import annotations

import re

from keystead.core.clock import ManualClock
from keystead.core.models import Code, CreatedKey
from keystead.service import Keystead

from .keyskit import Browser, browser

REVEALED = re.compile(r'readonly value="([^"]+)"')


async def _key(b: Browser, **fields: object) -> CreatedKey:
    api = await b.ks.apis.create(b.operator, name="shop")
    return await b.ks.keys.create(b.operator, api_id=api.id, name="billing-prod", **fields)


async def test_disable_enable_and_revoke(keystead: Keystead) -> None:
    async with browser(keystead) as b:
        created = await _key(b)
        key_id = created.key.id
        page = await b.client.get(f"/ui/keys/{key_id}")
        assert "Revoke key &#39;billing-prod&#39; (" + key_id + ")?" in page.text
        disabled = await b.post(f"/ui/keys/{key_id}/disable")
        assert disabled.status_code == 303
        assert disabled.headers["location"] == f"/ui/keys/{key_id}?done=disabled"
        assert (await keystead.keys.get(b.operator, key_id)).enabled is False
        assert (await keystead.verify(created.plaintext)).code == Code.DISABLED
        assert (await b.post(f"/ui/keys/{key_id}/enable")).status_code == 303
        assert (await keystead.keys.get(b.operator, key_id)).enabled is True
        revoked = await b.post(f"/ui/keys/{key_id}/revoke")
        assert revoked.status_code == 303
        assert (await keystead.keys.get(b.operator, key_id)).revoked_at is not None
        assert (await keystead.verify(created.plaintext)).code == Code.REVOKED
        shown = await b.client.get(revoked.headers["location"])
        assert "The key was revoked." in shown.text
        again = await b.post(f"/ui/keys/{key_id}/enable")
        assert again.status_code == 409
        assert "revocation is final" in again.text


async def test_rotate_shows_the_new_key_once(keystead: Keystead, clock: ManualClock) -> None:
    async with browser(keystead) as b:
        created = await _key(b, owner_id="acme")
        old_id = created.key.id
        response = await b.post(f"/ui/keys/{old_id}/rotate", {"grace_period_s": "3600"})
        assert response.status_code == 201, response.text
        found = REVEALED.search(response.text)
        assert found is not None
        new_plaintext = found.group(1)
        old = await keystead.keys.get(b.operator, old_id)
        assert old.rotated_to is not None
        assert old.expires_at is not None
        assert old.expires_at.timestamp() == clock.now() + 3600
        assert (await keystead.verify(new_plaintext)).code == Code.VALID
        assert (await keystead.verify(created.plaintext)).code == Code.VALID  # grace
        page = await b.client.get(f"/ui/keys/{old.rotated_to}")
        assert new_plaintext not in page.text
        assert f'href="/ui/keys/{old_id}"' in page.text  # lineage
        twice = await b.post(f"/ui/keys/{old_id}/rotate", {"grace_period_s": "0"})
        assert twice.status_code == 409


async def test_compromise_revokes_replaces_and_opens_an_incident(keystead: Keystead) -> None:
    async with browser(keystead) as b:
        created = await _key(b)
        key_id = created.key.id
        response = await b.post(
            f"/ui/keys/{key_id}/compromise",
            {"reason": "pasted in a <public> channel", "replace": "on", "notify": "on"},
        )
        assert response.status_code == 201, response.text
        assert (await keystead.keys.get(b.operator, key_id)).revoked_at is not None
        incidents = (await keystead.incidents.list(b.operator, key_id=key_id)).items
        assert len(incidents) == 1
        incident = incidents[0]
        assert incident.cause["reason"] == "pasted in a <public> channel"
        assert incident.id in response.text
        found = REVEALED.search(response.text)
        assert found is not None
        assert (await keystead.verify(found.group(1))).code == Code.VALID
        assert incident.replacement_key_id is not None
        assert (await keystead.verify(created.plaintext)).code == Code.REVOKED


async def test_edit_updates_fields_and_keeps_what_the_form_does_not_show(
    keystead: Keystead,
) -> None:
    async with browser(keystead) as b:
        schedule = {"timezone": "UTC", "weekdays": ["mon"]}
        created = await _key(b, restrictions={"schedule": schedule}, meta={"a": 1})
        key_id = created.key.id
        form = await b.client.get(f"/ui/keys/{key_id}/edit")
        assert form.status_code == 200
        assert 'value="billing-prod"' in form.text
        saved = await b.post(
            f"/ui/keys/{key_id}/edit",
            {
                "name": "renamed",
                "owner_id": "",
                "permissions": "a.read, b.write",
                "meta": '{"team": "x"}',
                "r_methods": "GET",
            },
        )
        assert saved.status_code == 303, saved.text
        key = await keystead.keys.get(b.operator, key_id)
        assert key.name == "renamed"
        assert key.permissions == ("a.read", "b.write")
        assert key.meta == {"team": "x"}
        assert key.restrictions is not None
        assert key.restrictions["methods"] == ["GET"]
        assert key.restrictions["schedule"]["weekdays"] == ["mon"]
        bad = await b.post(f"/ui/keys/{key_id}/edit", {"name": "", "meta": "nope"})
        assert bad.status_code == 422
        assert (await keystead.keys.get(b.operator, key_id)).name == "renamed"


async def test_actions_need_their_permission(keystead: Keystead) -> None:
    async with browser(keystead, permissions=["keys.read", "apis.read", "usage.read"]) as b:
        created = await _key(b)
        key_id = created.key.id
        page = await b.client.get(f"/ui/keys/{key_id}")
        assert page.status_code == 200
        assert f"/ui/keys/{key_id}/revoke" not in page.text
        for action in ("disable", "revoke", "rotate", "compromise"):
            refused = await b.post(f"/ui/keys/{key_id}/{action}")
            assert refused.status_code == 403, action
        key = await keystead.keys.get(b.operator, key_id)
        assert key.enabled and key.revoked_at is None and key.rotated_to is None


async def test_counters_and_usage_data(keystead: Keystead, clock: ManualClock) -> None:
    async with browser(keystead) as b:
        created = await _key(b, ratelimits=[{"name": "minute", "limit": 5, "duration_s": 60}])
        key_id = created.key.id
        for _ in range(3):
            await keystead.verify(created.plaintext)
        await keystead.flush()
        page = await b.client.get(f"/ui/keys/{key_id}")
        assert page.status_code == 200
        assert "rate limit minute" in page.text
        assert "2 remaining" in page.text
        assert f'data-chart="/ui/data/keys/{key_id}/usage"' in page.text
        clock.set(clock.now() + 120)
        usage = await b.client.get(
            f"/ui/data/keys/{key_id}/usage", params={"granularity": "minute"}
        )
        assert usage.status_code == 200, usage.text
        body = usage.json()
        assert body["unit"] == "requests"
        valid = next(s for s in body["series"] if s["label"] == "VALID")
        assert sum(valid["values"]) == 3
        assert len(valid["values"]) == len(body["x"])
        latency = await b.client.get(f"/ui/data/keys/{key_id}/latency")
        assert latency.status_code == 200
        assert [s["label"] for s in latency.json()["series"]] == ["p50", "p99"]
        bad = await b.client.get(f"/ui/data/keys/{key_id}/usage", params={"granularity": "year"})
        assert bad.status_code == 422
        unknown = await b.client.get("/ui/data/keys/key_nope/usage")
        assert unknown.status_code == 404


async def test_limits_form_changes_limits_and_keeps_the_live_balance(keystead: Keystead) -> None:
    async with browser(keystead) as b:
        rate = {"name": "minute", "limit": 5, "duration_s": 60, "algorithm": "sliding_window"}
        created = await _key(b, ratelimits=[rate], credits={"remaining": 10})
        key_id = created.key.id
        await keystead.verify(created.plaintext)
        form = await b.client.get(f"/ui/keys/{key_id}/edit")
        assert 'value="minute"' in form.text
        assert "Credits now: 9." in form.text
        saved = await b.post(
            f"/ui/keys/{key_id}/limits",
            {
                "rl_name": ["minute", "day", ""],
                "rl_limit": ["50", "1000", ""],
                "rl_duration_s": ["60", "86400", ""],
                "quota_limit": "500",
                "quota_period": "week",
            },
        )
        assert saved.status_code == 303, saved.text
        key = await keystead.keys.get(b.operator, key_id)
        minute, day = key.limits["ratelimits"]
        assert (minute["limit"], minute["algorithm"]) == (50, "sliding_window")  # kept
        assert day["limit"] == 1000
        assert key.limits["quota"]["period"] == "week"
        assert await keystead.keys.credits(b.operator, key_id) == 9  # untouched
        await b.post(f"/ui/keys/{key_id}/limits", {"credits_remaining": "100"})
        assert await keystead.keys.credits(b.operator, key_id) == 100
        key = await keystead.keys.get(b.operator, key_id)
        assert "ratelimits" not in key.limits and "quota" not in key.limits  # emptied
        await b.post(f"/ui/keys/{key_id}/limits", {"credits_clear": "on"})
        assert await keystead.keys.credits(b.operator, key_id) is None
        bad = await b.post(
            f"/ui/keys/{key_id}/limits",
            {"rl_name": ["x"], "rl_limit": ["-1"], "rl_duration_s": ["60"]},
        )
        assert bad.status_code == 422
        assert 'role="alert"' in bad.text


async def test_a_reader_sees_the_key_but_no_actions_or_usage(keystead: Keystead) -> None:
    async with browser(keystead, permissions=["keys.read"]) as b:
        operator = await keystead.workspaces.local_operator()
        api = await keystead.apis.create(operator, name="shop")
        created = await keystead.keys.create(operator, api_id=api.id, name="read-only")
        page = await b.client.get(f"/ui/keys/{created.key.id}")
        assert page.status_code == 200, page.text
        assert "read-only" in page.text
        assert "data-chart" not in page.text
        assert "/edit" not in page.text and "/revoke" not in page.text
        data = await b.client.get(f"/ui/data/keys/{created.key.id}/usage")
        assert data.status_code == 403
