"""``KeySources`` (finding and removing the key, ASGI and WSGI), the request
context (client IP behind trusted proxies) and route rules: pure functions."""

from __future__ import annotations

from typing import Any

import pytest

from keystead.core.models import VerifyContext, verify_context
from keystead.errors import PermissionQueryError
from keystead.integrations.context import (
    TrustedProxies,
    context_of,
    environ_context,
    request_context,
)
from keystead.integrations.credentials import UNUSABLE, KeySources
from keystead.integrations.rules import Routes, Rule, public

KEY = "docs_" + "A" * 38


def scope(headers: list[tuple[bytes, bytes]], query: bytes = b"", **extra: Any) -> dict[str, Any]:
    return {"type": "http", "headers": headers, "query_string": query, **extra}


def test_sources_in_order_and_what_is_left() -> None:
    every = KeySources(cookie="k", query="api_key")
    both = scope([(b"authorization", f"Bearer {KEY}".encode()), (b"x-api-key", b"other")])
    assert every.find(both) == KEY
    assert every.strip(both)["headers"] == []
    basic = scope([(b"authorization", b"Basic abc"), (b"x-api-key", KEY.encode())])
    assert every.find(basic) == KEY
    assert every.strip(basic)["headers"] == [(b"authorization", b"Basic abc")]
    cookie = scope([(b"cookie", f"a=1; k={KEY}; b=2".encode())])
    assert every.find(cookie) == KEY
    assert every.strip(cookie)["headers"] == [(b"cookie", b"a=1; b=2")]
    query = scope([], f"x=1&api_key={KEY}&y=%20".encode())
    assert every.find(query) == KEY
    assert every.strip(query)["query_string"] == b"x=1&y=%20"
    assert KeySources().find(query) is None  # the query is off by default
    assert every.find(scope([(b"user-agent", b"x")])) is None


@pytest.mark.parametrize(
    "headers",
    [
        [(b"authorization", f"Bearer {KEY}".encode()), (b"cookie", b"a=1; k=2")],
        [(b"authorization", b"Basic abc"), (b"x-api-key", KEY.encode())],
        [(b"cookie", f"k={KEY}".encode()), (b"accept", b"*/*")],
        [(b"cookie", f"a=1; k={KEY}".encode())],
        [(b"accept", b"*/*")],
    ],
)
def test_take_is_find_and_strip_in_one_pass(headers: list[tuple[bytes, bytes]]) -> None:
    sources = KeySources(cookie="k", query="q")
    request = scope(headers, b"q=1&z=2")
    key, taken = sources.take(request)
    assert key == sources.find(request)
    if key is None:
        assert taken is request
    else:
        expected = sources.strip(request)
        assert sorted(taken["headers"]) == sorted(expected["headers"])
        assert taken["query_string"] == expected["query_string"]


@pytest.mark.parametrize("with_key", [True, False])
def test_read_is_take_plus_the_context_headers_in_the_same_pass(with_key: bool) -> None:
    headers = [
        (b"x-forwarded-for", b"203.0.113.9"),
        (b"user-agent", b"ua/1"),
        (b"cookie", b"a=1"),
        (b"referer", b"https://example.com/"),
        (b"x-forwarded-for", b"10.0.0.2"),
    ]
    if with_key:
        headers.insert(2, (b"authorization", f"Bearer {KEY}".encode()))
    request = scope(headers, client=("10.0.0.1", 5000), method="GET", path="/a")
    sources = KeySources()
    key, inner, seen = sources.read(request)
    assert (key, inner) == sources.take(request)
    assert seen == (b"ua/1", b"https://example.com/", b"203.0.113.9,10.0.0.2")
    proxies = TrustedProxies(["10.0.0.0/8"])
    for trusted in (None, proxies):
        assert context_of(request, seen, "a.read", trusted) == request_context(
            request, "a.read", proxies=trusted
        )
    assert context_of(request, seen, None, proxies).ip == "203.0.113.9"


def test_verify_context_is_the_dataclass_built_faster() -> None:
    fields = ("192.0.2.1", None, "ua", "GET", "/a", "a.read")
    built = verify_context(*fields)
    assert type(built) is VerifyContext
    assert built == VerifyContext(*fields) and hash(built) == hash(VerifyContext(*fields))
    assert (built.ip, built.user_agent, built.permissions) == ("192.0.2.1", "ua", "a.read")
    with pytest.raises(AttributeError):
        built.ip = "198.51.100.1"  # type: ignore[misc]


def test_strip_copies_the_scope() -> None:
    original = scope([(b"x-api-key", KEY.encode()), (b"accept", b"*/*")])
    stripped = KeySources().strip(original)
    assert stripped["headers"] == [(b"accept", b"*/*")]
    assert original["headers"][0] == (b"x-api-key", KEY.encode())


def test_what_no_key_can_be_is_unusable() -> None:
    sources = KeySources()
    assert sources.find(scope([(b"x-api-key", b"k" * 600)])) == UNUSABLE
    assert sources.find(scope([(b"x-api-key", b"docs_\xff")])) == UNUSABLE
    assert sources.find(scope([(b"authorization", b"Bearer ")])) is None
    assert sources.find(scope([(b"authorization", b"bearer  " + KEY.encode())])) == KEY


def test_environ_sources() -> None:
    sources = KeySources(cookie="k", query="key")
    environ = {
        "HTTP_AUTHORIZATION": "Token x",
        "HTTP_X_API_KEY": KEY,
        "HTTP_COOKIE": "k=other; z=1",
        "QUERY_STRING": "key=q&a=1",
    }
    assert sources.find_in_environ(environ) == KEY
    stripped = sources.strip_environ(environ)
    assert stripped == {
        "HTTP_AUTHORIZATION": "Token x",
        "HTTP_COOKIE": "z=1",
        "QUERY_STRING": "a=1",
    }
    assert KeySources(bearer=False, header=None, cookie="k").find_in_environ(environ) == "other"
    with pytest.raises(ValueError, match="header"):
        KeySources(header="")


def test_the_client_ip_is_the_peer_unless_a_trusted_proxy_says_otherwise() -> None:
    request = scope(
        [(b"x-forwarded-for", b"203.0.113.9, 10.0.0.2"), (b"user-agent", b"ua")],
        client=("10.0.0.1", 5000),
        method="GET",
        path="/a",
    )
    assert request_context(request).ip == "10.0.0.1"
    proxies = TrustedProxies(["10.0.0.0/8"])
    context = request_context(request, "a.read", proxies=proxies)
    assert (context.ip, context.user_agent, context.method, context.path) == (
        "203.0.113.9",
        "ua",
        "GET",
        "/a",
    )
    assert context.permissions == "a.read"
    spoofed = scope([(b"x-forwarded-for", b"1.2.3.4")], client=("198.51.100.7", 1))
    assert request_context(spoofed, proxies=proxies).ip == "198.51.100.7"
    garbage = scope([(b"x-forwarded-for", b"not-an-ip")], client=("10.0.0.1", 1))
    assert request_context(garbage, proxies=proxies).ip == "10.0.0.1"
    environ = {
        "REMOTE_ADDR": "10.1.1.1",
        "HTTP_X_FORWARDED_FOR": "192.0.2.1",
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/caf\xc3\xa9",
        "SCRIPT_NAME": "",
    }
    context = environ_context(environ, proxies=proxies)
    assert (context.ip, context.method, context.path) == ("192.0.2.1", "POST", "/café")
    with pytest.raises(ValueError, match="trusted proxies"):
        TrustedProxies(["nope"])


def test_paths_fit_a_verify_request() -> None:
    context = request_context(scope([], path="/a\x00b" + "c" * 5000, method="GET"))
    assert context.path is not None and len(context.path) == 4096 and "\x00" not in context.path


def test_rules_first_match_wins() -> None:
    routes = Routes(
        [public("/health"), Rule("/docs", "docs.write", methods=["post"]), Rule("/docs/", cost=5)],
        permissions="any.read",
    )
    assert routes.match("GET", "/health").public
    assert routes.match("GET", "/healthz") is routes.default
    assert routes.match("POST", "/docs").permissions == "docs.write"
    assert routes.match("GET", "/docs/1").cost == 5
    assert routes.match("GET", "/docs") is routes.default
    assert routes.default.permissions == "any.read"
    with pytest.raises(PermissionQueryError):
        Rule("/x", "a AND")
    with pytest.raises(ValueError, match="starts with"):
        Rule("x")
    with pytest.raises(ValueError, match="public"):
        Rule("/x", "a.read", public=True)
