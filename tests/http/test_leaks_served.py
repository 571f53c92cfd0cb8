"""A real ``keystead serve``, configured as a GitHub secret scanning partner: GitHub's
signed report revokes a live key, a tampered one is refused, and the SDK's
``client.leaks.report`` answers per token."""

from __future__ import annotations

from pathlib import Path

import httpx

from keystead.client import Client
from leakkit import KeyServer, Signer, matches
from serving import serving


def test_a_served_node_takes_github_reports_and_sdk_reports(tmp_path: Path) -> None:
    signer = Signer()
    with (
        KeyServer([signer]).running() as keys,
        serving(tmp_path, {"KEYSTEAD_GITHUB_KEYS_URL": keys.url}) as server,
        Client(server.url, server.root_key) as client,
    ):
        api = client.create_api("leaky", prefix="lk")
        by_github, by_scanner, spare = (client.create_key(api["id"]) for _ in range(3))
        body = matches(by_github["key"], spare["key"])
        tampered = body.replace(b"acme", b"evil")

        refused = httpx.post(
            f"{server.url}/v1/leaks/github", content=tampered, headers=signer.headers(body)
        )
        assert refused.status_code == 401
        assert client.verify(by_github["key"]).valid

        taken = httpx.post(
            f"{server.url}/v1/leaks/github", content=body, headers=signer.headers(body)
        )
        assert taken.status_code == 200, taken.text
        assert [f["label"] for f in taken.json()] == ["true_positive", "true_positive"]
        assert client.verify(by_github["key"]).code == "REVOKED"
        assert client.verify(spare["key"]).code == "REVOKED"

        answer = client.leaks.report(by_scanner["key"], "garbage", source="scanner")
        statuses = [(i["status"], i["outcome"]) for i in answer["items"]]
        assert statuses == [("live", "revoked"), ("unknown", "unknown")]
        assert client.verify(by_scanner["key"]).code == "REVOKED"
        assert len(client.list_incidents()["items"]) == 3

        metrics = httpx.get(f"{server.url}/metrics").text
        assert 'keystead_leak_reports_total{outcome="revoked",source="github"} 2.0' in metrics
        assert 'keystead_leak_reports_total{outcome="revoked",source="scanner"} 1.0' in metrics
        assert keys.reads == 1
        log = server.log.read_text()
        for secret in (by_github["key"], by_scanner["key"], spare["key"]):
            assert secret not in log
