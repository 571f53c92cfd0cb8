"""The leaks and incidents pages: reports, policies, incidents with their
evidence and exposure, escaping and permissions."""

from __future__ import annotations

from datetime import UTC, datetime

from keystead.core.clock import ManualClock
from keystead.service import Keystead
from keystead.service.leaks import LeakReport

from .htmlcheck import assert_no_inline_script, assert_unique_ids
from .webkit import open_browser

XSS = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _clean(text: str) -> None:
    assert "<script>alert(1)" not in text and "<img src=x" not in text
    assert_no_inline_script(text)
    assert_unique_ids(text)


async def test_leak_reports_policy_and_incident(keystead: Keystead, clock: ManualClock) -> None:
    async with open_browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="leaky")
        created = await keystead.keys.create(b.operator, api_id=api.id, name="prod")
        exposed = datetime.fromtimestamp(clock.now() - 3600, UTC)
        report = LeakReport(
            token=created.plaintext,
            source="scanner",
            url=f"https://x.test/{XSS}",
            exposed_at=exposed,
        )
        [answer] = await keystead.leaks.report(b.operator, [report])
        assert answer.leak_id is not None and answer.incident_id is not None
        await keystead.incidents.update(b.operator, answer.incident_id, {"notes": XSS})
        await b.sign_in()

        leaks = await b.client.get("/ui/leaks")
        assert leaks.status_code == 200
        assert "<h1>Leaked keys</h1>" in leaks.text and "Leak policy" in leaks.text
        assert f'href="/ui/leaks/{answer.leak_id}"' in leaks.text
        assert "revoke" in leaks.text  # the default policy applies
        _clean(leaks.text)
        assert created.plaintext not in leaks.text
        with_api = await b.client.get(f"/ui/leaks?api_id={api.id}")
        assert with_api.status_code == 200 and f"API {api.id}" in with_api.text
        assert (await b.client.get("/ui/leaks?api_id=nonsense")).status_code == 422

        detail = await b.client.get(f"/ui/leaks/{answer.leak_id}")
        assert detail.status_code == 200
        assert f'href="/ui/incidents/{answer.incident_id}"' in detail.text
        assert ESCAPED in detail.text
        _clean(detail.text)

        incidents = await b.client.get("/ui/incidents")
        assert incidents.status_code == 200
        assert f'href="/ui/incidents/{answer.incident_id}"' in incidents.text
        only_resolved = await b.client.get("/ui/incidents?status=resolved")
        assert answer.incident_id not in only_resolved.text
        assert (await b.client.get("/ui/incidents?status=bogus")).status_code == 422

        incident = await b.client.get(f"/ui/incidents/{answer.incident_id}")
        assert incident.status_code == 200
        assert "Exposure analysis" in incident.text and "Evidence" in incident.text
        assert "no sign of abuse" in incident.text  # the label of the kept analysis
        assert ESCAPED in incident.text
        _clean(incident.text)
        assert created.plaintext not in incident.text
        assert "Analyse exposure again" in incident.text

        before = (await keystead.incidents.get(b.operator, answer.incident_id)).updated_at
        clock.advance(60)
        token = await b.csrf(f"/ui/incidents/{answer.incident_id}")
        again = await b.client.post(
            f"/ui/incidents/{answer.incident_id}/exposure", data={"csrf": token}
        )
        assert again.status_code == 303, again.text
        found = await keystead.incidents.get(b.operator, answer.incident_id)
        assert found.updated_at > before and found.evidence["exposure"]["label"]


async def test_incident_status_notes_and_csrf(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="compromised")
        created = await keystead.keys.create(b.operator, api_id=api.id)
        done = await keystead.incidents.compromise(b.operator, created.key.id, reason=XSS)
        incident_id = done.incident.id
        await b.sign_in()
        url = f"/ui/incidents/{incident_id}"
        page = await b.client.get(url)
        assert page.status_code == 200 and ESCAPED in page.text
        _clean(page.text)

        forged = await b.client.post(url, data={"status": "resolved", "notes": "x"})
        assert forged.status_code == 403
        assert (await keystead.incidents.get(b.operator, incident_id)).status == "open"

        token = await b.csrf(url)
        saved = await b.client.post(
            url, data={"csrf": token, "status": "investigating", "notes": f"seen {XSS}"}
        )
        assert saved.status_code == 303 and saved.headers["location"] == url
        found = await keystead.incidents.get(b.operator, incident_id)
        assert found.status == "investigating" and found.notes == f"seen {XSS}"
        bad = await b.client.post(url, data={"csrf": token, "status": "closed", "notes": ""})
        assert bad.status_code == 422 and "status is one of" in bad.text
        shown = await b.client.get(url)
        assert f"seen {ESCAPED}" in shown.text
        _clean(shown.text)


async def test_absent_without_incidents_read(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="hidden")
        created = await keystead.keys.create(b.operator, api_id=api.id)
        done = await keystead.incidents.compromise(b.operator, created.key.id)
        narrow = await keystead.root_keys.create(b.operator, permissions=["keys.read"])
        await b.sign_in(narrow.plaintext)
        overview = await b.client.get("/ui/")
        for area in ("/ui/leaks", "/ui/incidents"):
            assert f'href="{area}"' not in overview.text
            assert (await b.client.get(area)).status_code == 403
        refused = await b.client.get(f"/ui/incidents/{done.incident.id}")
        assert refused.status_code == 403
        assert "incidents.read" in refused.text
        token = await b.csrf()
        post = await b.client.post(
            f"/ui/incidents/{done.incident.id}", data={"csrf": token, "status": "resolved"}
        )
        assert post.status_code == 403
        assert (await keystead.incidents.get(b.operator, done.incident.id)).status == "open"
