"""``keystead webhooks``: locally on the store, and end to end against a real
``keystead serve`` whose dispatcher delivers to a real receiver in this test."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from keystead.config import Settings
from keystead.events.webhooks import DeliveryPolicy, verify_signature
from keystead.service import Keystead

from ._support import Cli

REFUSED = "http://127.0.0.1:1/hook"  # nothing listens on port 1


def _dispatch_once(max_attempts: int = 1) -> int:
    """What a server's dispatcher would do, once, on the CLI's local store."""

    async def run() -> int:
        ks = await Keystead.open(settings=Settings(), create_secret=False)
        try:
            policy = DeliveryPolicy(max_attempts=max_attempts, timeout_s=5.0)
            return await ks.webhooks.make_dispatcher(policy).run_once()
        finally:
            await ks.close()

    return asyncio.run(run())


def test_manage_webhooks_locally(ready: Cli) -> None:
    cli = ready
    created = cli.json(
        "webhooks", "create", "--url", "https://hooks.example.test/in",
        "--event", "key.revoked", "--event", "key.rotated", "--description", "billing",
    )  # fmt: skip
    secret = created["secret"]
    assert secret.startswith("whsec_") and created["id"].startswith("wh_")
    assert (created["events"], created["enabled"]) == (["key.revoked", "key.rotated"], True)
    hook_id = created["id"]

    listed = cli.json("webhooks", "list")["items"]
    assert [w["id"] for w in listed] == [hook_id] and "secret" not in listed[0]
    shown = cli.json("webhooks", "get", hook_id)
    assert shown == {k: v for k, v in created.items() if k != "secret"}

    updated = cli.json(
        "webhooks", "update", hook_id, "--disable", "--clear-description", "--event", "*"
    )
    assert (updated["enabled"], updated["description"], updated["events"]) == (False, None, ["*"])
    enabled = cli.json("webhooks", "update", hook_id, "--enable", "--url", "http://10.1.2.3/k")
    assert (enabled["enabled"], enabled["url"]) == (True, "http://10.1.2.3/k")

    rotated = cli.json("webhooks", "rotate-secret", hook_id, "--expire-old-after", "12h")
    assert rotated["secret"] != secret and rotated["old_secret_expires_at"] is not None
    dropped = cli.json("webhooks", "rotate-secret", hook_id, "--expire-old-after", "now")
    assert dropped["old_secret_expires_at"] is None

    human = cli.ok("webhooks", "rotate-secret", hook_id).stdout
    assert human.count("whsec_") == 1 and "only time it is shown" in human
    assert "whsec_" not in cli.ok("webhooks", "list").stdout
    assert "whsec_" not in cli.ok("webhooks", "get", hook_id).stdout

    assert cli.json("webhooks", "delete", hook_id, "--yes") == {"deleted": True, "id": hook_id}
    gone = cli.fails(1, "webhooks", "get", hook_id).stderr
    assert f"Not Found (404): no webhook '{hook_id}'" in gone
    assert cli.json("webhooks", "list") == {"items": []}


def test_bad_input_is_a_clear_message(ready: Cli) -> None:
    cli = ready
    assert "--event" in cli.fails(2, "webhooks", "create", "--url", "https://x.test/").stderr
    bad_url = cli.fails(1, "webhooks", "create", "--url", "ftp://x.test/", "--event", "*")
    assert "url" in bad_url.stderr
    bad_event = cli.fails(1, "webhooks", "create", "--url", "https://x.test/", "--event", "nope")
    assert "unknown event type" in bad_event.stderr
    hook = cli.json("webhooks", "create", "--url", "https://x.test/", "--event", "*")
    cli.fails(2, "webhooks", "update", hook["id"])  # nothing to change
    cli.fails(2, "webhooks", "rotate-secret", hook["id"], "--expire-old-after", "soon")
    cli.fails(1, "webhooks", "rotate-secret", hook["id"], "--expire-old-after", "90d")
    assert "status" in cli.fails(1, "webhooks", "deliveries", "--status", "bogus").stderr
    cli.fails(1, "webhooks", "deliveries", "--webhook", "wh_0000000000AAAAAAAAAAAAAAAA")
    cli.fails(1, "webhooks", "delivery", "dlv_0000000000AAAAAAAAAAAAAAAA")
    cli.fails(1, "webhooks", "replay", "nonsense")
    cli.fails(1, "webhooks", "get", "wh_garbage")
    assert "Traceback" not in cli.everything_printed()


def test_deliveries_dead_letter_and_replay_locally(ready_local: Cli) -> None:
    cli = ready_local
    hook = cli.json("webhooks", "create", "--url", REFUSED, "--event", "key.created")
    api = cli.json("apis", "create", "hooked")
    key = cli.json("keys", "create", "--api", api["id"])
    assert cli.json("webhooks", "deliveries")["items"] == []  # no dispatcher ran yet
    assert _dispatch_once() == 1

    dead = cli.json("webhooks", "deliveries", "--status", "dead")["items"]
    assert len(dead) == 1 and dead[0]["webhook_id"] == hook["id"]
    mine = cli.json("webhooks", "deliveries", "--webhook", hook["id"])
    assert mine == {"items": dead, "next_cursor": None}
    detail = cli.json("webhooks", "delivery", dead[0]["id"])
    assert [a["error"] for a in detail["attempts"]] == ["ConnectError"]
    assert detail["payload"]["data"]["key_id"] == key["id"]
    assert key["key"] not in json.dumps(detail)

    shown = cli.ok("webhooks", "delivery", dead[0]["id"]).stdout
    assert "ConnectError" in shown and "key.created" in shown
    assert "dead" in cli.ok("webhooks", "deliveries").stdout

    replayed = cli.json("webhooks", "replay", dead[0]["id"])
    assert (replayed["status"], replayed["attempt_count"]) == ("pending", 0)
    assert "Conflict" in cli.fails(1, "webhooks", "replay", dead[0]["id"]).stderr
    assert cli.json("webhooks", "deliveries", "--status", "dead")["items"] == []
    pending = cli.json("webhooks", "deliveries", "--status", "pending")["items"]
    assert [d["id"] for d in pending] == [dead[0]["id"]]


# -- end to end: a real server, a real receiver -----------------------------------


@dataclass
class Sink:
    """A stdlib HTTP server in a thread that records each POST and answers 200."""

    url: str = ""
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def wait_for(self, count: int, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.requests) < count:
            assert time.monotonic() < deadline, f"{len(self.requests)} of {count} deliveries"
            time.sleep(0.05)


@pytest.fixture
def sink() -> Iterator[Sink]:
    found = Sink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            found.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.mark.slow
def test_the_server_delivers_what_the_cli_configured(
    ready_local: Cli, sink: Sink, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import socket

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items()}
    env["KEYSTEAD_OUTBOX_POLL_INTERVAL_S"] = "0.1"
    log = tmp_path / "server.log"
    args = [sys.executable, "-m", "keystead.cli", "serve", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        root = ready_local.json("root-keys", "create", "--name", "remote")
        monkeypatch.setenv("KEYSTEAD_URL", url)
        monkeypatch.setenv("KEYSTEAD_ROOT_KEY", root["key"])

        created = ready_local.json(
            "webhooks", "create", "--url", sink.url, "--event", "key.created"
        )
        api = ready_local.json("apis", "create", "remote-hooks")
        key = ready_local.json("keys", "create", "--api", api["id"])
        sink.wait_for(1)
        headers, body = sink.requests[0]
        verify_signature(created["secret"], headers, body)
        assert json.loads(body)["data"]["key_id"] == key["id"]
        assert key["key"] not in body.decode()

        deadline = time.monotonic() + 20
        while not ready_local.json("webhooks", "deliveries", "--status", "succeeded")["items"]:
            assert time.monotonic() < deadline, "the delivery was not recorded as succeeded"
            time.sleep(0.1)
        remote_view = ready_local.json("webhooks", "get", created["id"])
        remote_detail = ready_local.json(
            "webhooks", "delivery", ready_local.json("webhooks", "deliveries")["items"][0]["id"]
        )
        assert remote_detail["attempts"][0]["status_code"] == 200

        monkeypatch.delenv("KEYSTEAD_URL")  # the same store, read locally
        assert ready_local.json("webhooks", "get", created["id"]) == remote_view
        assert ready_local.json("webhooks", "delivery", remote_detail["id"]) == remote_detail
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    text = log.read_text()
    assert created["secret"] not in text and created["secret"][6:] not in text
    assert "Traceback" not in text
