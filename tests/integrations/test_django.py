"""Django middleware, ``require_key`` and the DRF classes in embedded mode,
served through Django's WSGI handler by werkzeug's threaded server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.wsgi import WSGIHandler
from django.test.utils import override_settings

from keystead.config import Settings
from keystead.integrations.credentials import KeySources
from keystead.integrations.embedded import SyncEmbedded
from keystead.integrations.rules import Rule
from keystead.sync import SyncKeystead

from . import django_site
from .kit import assert_refused, issue_sync, same_answer, serve_wsgi, usage_of_sync

assert django_site.urlpatterns


@contextmanager
def site(ks: SyncKeystead, **settings: Any) -> Iterator[httpx.Client]:
    with override_settings(KEYSTEAD={"GUARD": SyncEmbedded(ks), "PUBLIC": True, **settings}):
        handler = WSGIHandler()
    with serve_wsgi(handler) as client:
        yield client


def test_views_get_the_identity_never_the_key(sync_keystead: SyncKeystead) -> None:
    issued = issue_sync(sync_keystead, permissions=["documents.read"])
    other = issue_sync(sync_keystead)
    with site(sync_keystead, KEY_SOURCES={"cookie": "api_key"}) as client:
        served = client.post(
            "/documents?x=1",
            headers={"Authorization": f"Bearer {issued.plaintext}", "Cookie": "a=b"},
            content=b"1234",
        )
        by_cookie = client.get("/documents", headers={"Cookie": f"api_key={issued.plaintext}"})
        forbidden = client.get("/documents", headers={"X-API-Key": other.plaintext})
        missing = client.get("/documents")
        open_view = client.get("/open", headers={"X-API-Key": issued.plaintext})
    assert served.status_code == 200, served.text
    seen = served.json()
    assert seen["key_id"] == issued.key_id
    assert "Authorization" not in seen["headers"] and seen["cookies"] == {"a": "b"}
    assert seen["query"] == "x=1" and seen["body"] == 4
    assert by_cookie.status_code == 200 and by_cookie.json()["cookies"] == {}
    assert assert_refused(forbidden, 403)["code"] == "INSUFFICIENT_PERMISSIONS"
    assert_refused(missing, 401)
    assert open_view.json()["key_id"] is None
    assert "X-Api-Key" not in open_view.json()["headers"]
    assert issued.plaintext not in served.text + by_cookie.text + open_view.text


def test_every_request_needs_a_key_unless_a_rule_says_otherwise(
    sync_keystead: SyncKeystead,
) -> None:
    revoked = issue_sync(sync_keystead)
    sync_keystead.keys.revoke(sync_keystead.workspaces.local_operator(), revoked.key_id)
    rules = [{"path": "/open", "public": True}]
    with site(sync_keystead, PUBLIC=False, RULES=rules) as client:
        gone = client.get("/stream", headers={"X-API-Key": revoked.plaintext})
        unknown = client.get("/stream", headers={"X-API-Key": revoked.plaintext[:-2] + "zz"})
        garbled = client.get("/stream", headers=[(b"x-api-key", b"\xc3\x28" * 40)])
        missing = client.get("/stream")
        open_view = client.get("/open")
    assert_refused(gone, 401)
    same_answer(gone, unknown)
    same_answer(gone, garbled)
    assert missing.content == gone.content
    assert open_view.status_code == 200


def test_rate_limits_usage_and_streaming(sync_keystead: SyncKeystead) -> None:
    limits = [{"name": "hourly", "limit": 2, "duration_s": 3600}]
    issued = issue_sync(sync_keystead, ratelimits=limits)
    with site(sync_keystead) as client:
        headers = {"X-API-Key": issued.plaintext}
        first = client.get("/stream", headers=headers)
        second = client.get("/stream", headers=headers)
        limited = client.get("/stream", headers=headers)
    assert first.content == b"a" * 10 + b"b" * 20
    assert first.headers["ratelimit-policy"] == '"hourly";q=2;w=3600'
    assert second.headers["ratelimit"].startswith('"hourly";r=0;t=')
    assert_refused(limited, 429)
    assert int(limited.headers["retry-after"]) > 0
    records = usage_of_sync(sync_keystead, issued.key_id, count=3)
    assert [(r.code, r.status, r.bytes_out) for r in records] == [
        ("VALID", 200, 30),
        ("VALID", 200, 30),
        ("RATE_LIMITED", 429, len(limited.content)),
    ]
    assert all(r.response_ms is not None for r in records)


def test_drf_authentication_and_permissions(sync_keystead: SyncKeystead) -> None:
    reader = issue_sync(sync_keystead, permissions=["reports.read"])
    other = issue_sync(sync_keystead, permissions=["documents.read"])
    with site(sync_keystead) as client:
        served = client.get("/api/reports", headers={"X-API-Key": reader.plaintext})
        forbidden = client.get("/api/reports", headers={"X-API-Key": other.plaintext})
        missing = client.get("/api/reports")
        unknown = client.get("/api/anyone", headers={"X-API-Key": reader.plaintext + "x"})
        anyone = client.get("/api/anyone", headers={"X-API-Key": other.plaintext})
    assert served.status_code == 200, served.text
    assert served.json() == {"key_id": reader.key_id, "user": f"API key {reader.key_id}"}
    assert assert_refused(forbidden, 403)["code"] == "INSUFFICIENT_PERMISSIONS"
    assert_refused(missing, 401)
    assert_refused(unknown, 401)
    assert missing.content == unknown.content
    assert anyone.json() == {"key_id": other.key_id}


def test_bad_settings_are_reported_at_start_up() -> None:
    for bad in (
        {"NOPE": 1},
        {"RULES": [{"path": "docs"}]},
        {"RULES": [{"path": "/docs", "permissions": "a AND ("}]},
        {"KEY_SOURCES": {"header": ""}},
        {"TRUSTED_PROXIES": ["not an address"]},
        {"REMOTE": {"URL": "http://127.0.0.1:1"}},
    ):
        with override_settings(KEYSTEAD=bad), pytest.raises(ImproperlyConfigured):
            WSGIHandler()


def test_a_guard_by_dotted_path(
    sync_keystead: SyncKeystead, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard class is made from the KEYSTEAD_* environment (closed at exit)."""
    assert settings.secret is not None
    monkeypatch.setenv("KEYSTEAD_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KEYSTEAD_SECRET", settings.secret.get_secret_value())
    issued = issue_sync(sync_keystead, permissions=["documents.read"])
    with override_settings(KEYSTEAD={"GUARD": "keystead.integrations.embedded.SyncEmbedded"}):
        handler = WSGIHandler()
    with serve_wsgi(handler) as client:
        served = client.get("/documents", headers={"X-API-Key": issued.plaintext})
    assert served.status_code == 200, served.text


def test_sources_can_be_given_as_an_object(sync_keystead: SyncKeystead) -> None:
    issued = issue_sync(sync_keystead, permissions=["documents.read"])
    sources = KeySources(bearer=False, header="x-token")
    with site(sync_keystead, KEY_SOURCES=sources, RULES=[Rule("/documents")]) as client:
        bearer = client.get("/documents", headers={"Authorization": f"Bearer {issued.plaintext}"})
        token = client.get("/documents", headers={"X-Token": issued.plaintext})
    assert_refused(bearer, 401)
    assert token.status_code == 200
