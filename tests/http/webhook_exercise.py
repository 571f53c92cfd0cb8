"""Every ``/v1/webhooks`` route, successes and failures, for the tests that walk
all routes: in ``test_no_plaintext_leak._exercise``,
``plaintexts.extend(await exercise_webhooks(w))``. Returns the plaintext keys it
created (webhook secrets are checked apart, in ``test_http_webhooks``)."""

from __future__ import annotations

from httpkit import World

from keystead.events.webhooks import DeliveryPolicy

REFUSED = "http://127.0.0.1:1/hook"  # nothing listens on port 1: every attempt fails


async def exercise_webhooks(w: World) -> list[str]:
    c, h = w.client, w.auth()
    body = {"url": REFUSED, "events": ["*"], "description": "leaky"}
    created = (await c.post("/v1/webhooks", json=body, headers=h)).json()
    await c.post("/v1/webhooks", json={**body, "url": "ftp://nope"}, headers=h)  # 422
    hook = f"/v1/webhooks/{created['id']}"
    await c.get("/v1/webhooks", headers=h)
    await c.get(hook, headers=h)
    await c.patch(hook, json={"description": None}, headers=h)
    rotated = (await c.post(f"{hook}/rotate-secret", json={}, headers=h)).json()
    api = (await c.post("/v1/apis", json={"name": "webhooked"}, headers=h)).json()
    key = (await c.post("/v1/keys", json={"api_id": api["id"]}, headers=h)).json()
    await c.post(f"/v1/keys/{key['id']}/revoke", headers=h)
    await w.ks.webhooks.make_dispatcher(DeliveryPolicy(max_attempts=1, timeout_s=5.0)).run_once()
    page = (await c.get(f"{hook}/deliveries", params={"status": "dead"}, headers=h)).json()
    await c.get("/v1/webhooks/deliveries", params={"status": "dead"}, headers=h)
    for item in page["items"]:
        await c.get(f"/v1/webhooks/deliveries/{item['id']}", headers=h)
        await c.post(f"/v1/webhooks/deliveries/{item['id']}/replay", headers=h)
        await c.post(f"/v1/webhooks/deliveries/{item['id']}/replay", headers=h)  # 409
    await c.delete(hook, headers=h)
    assert created["secret"] != rotated["secret"]
    return [key["key"]]


__all__ = ["exercise_webhooks"]
