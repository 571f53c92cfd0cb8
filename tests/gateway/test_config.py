"""The configuration file is read strictly: each mistake is named by its field."""

from __future__ import annotations

from pathlib import Path

import pytest

from keystead.gateway import ConfigError, load_config, parse_config

UPSTREAM = "  - upstream: {url: 'http://127.0.0.1:9000'}\n"

FULL = """
listen: {host: 192.0.2.10, port: 9090, trusted_proxies: [10.0.0.0/8]}
keystead: {database_url: "sqlite:///gw.db", cache_ttl_s: 30}
key_sources: {bearer: false, header: X-Key, cookie: key, query: api_key}
hide_credentials: false
routes:
  - name: documents
    match: {host: [API.example.com, "*.example.org"], path_prefix: /v1/, methods: [get, POST]}
    upstream:
      url: https://docs.internal:8443/base/
      timeout_s: 12.5
      connect_timeout_s: 1
      keepalive_s: 2
      max_idle: 8
      tls_verify: false
    auth: optional
    permissions: "documents.read OR documents.admin"
    ratelimits: [{name: gw, limit: 100, duration_s: 60}]
    strip_prefix: true
    preserve_host: true
    max_body_bytes: null
  - upstream: {url: "http://[::1]:7000"}
    auth: none
"""


def test_every_field_is_read() -> None:
    config = parse_config(FULL)
    docs, rest = config.routes
    assert (config.listen.host, config.listen.port) == ("192.0.2.10", 9090)
    assert config.proxies is not None and config.proxies.trusts("10.1.2.3")
    assert config.settings().cache_ttl_s == 30
    assert config.key_sources.header == "X-Key" and not config.key_sources.bearer
    assert not config.hide_credentials
    assert docs.name == "documents"
    assert docs.hosts == ("api.example.com", "*.example.org")
    assert docs.methods == frozenset({"GET", "POST"})
    assert docs.upstream.origin.port == 8443 and not docs.upstream.origin.tls_verify
    assert docs.upstream.host_header == b"docs.internal:8443"
    assert docs.upstream.base_path == b"/base"
    assert (docs.upstream.timeout_s, docs.upstream.connect_timeout_s) == (12.5, 1.0)
    assert docs.windows == {"gw": 60}
    assert docs.strip_prefix and docs.preserve_host and docs.max_body_bytes is None
    assert rest.name == "routes[1]" and rest.auth == "none"
    assert rest.upstream.host_header == b"[::1]:7000"
    assert rest.path_prefix == "/" and rest.methods is None


def test_defaults_are_safe() -> None:
    route = parse_config("routes:\n" + UPSTREAM).routes[0]
    assert route.auth == "required"
    assert route.max_body_bytes == 10 * 1024 * 1024
    assert route.upstream.host_header == b"127.0.0.1:9000"


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("routes: []\n", "routes", "at least one route"),
        ("routes:\n" + UPSTREAM + "extra: 1\n", "extra", "unknown field"),
        ("routes:\n  - {}\n", "routes[0].upstream", "is required"),
        ("routes:\n  - upstream: {url: ftp://x}\n", "routes[0].upstream.url", "http://"),
        ("routes:\n  - upstream: {url: 'http://x?a=1'}\n", "routes[0].upstream.url", "query"),
        ("routes:\n  - upstream: {url: 'http://x:99999'}\n", "routes[0].upstream.url", "URL"),
        (
            "routes:\n  - upstream: {url: 'http://x', timeout_s: 0}\n",
            "routes[0].upstream.timeout_s",
            "above 0",
        ),
        (
            "routes:\n  - upstream: {url: 'http://x', tls: on}\n",
            "routes[0].upstream.tls",
            "unknown field",
        ),
        ("routes:\n" + UPSTREAM + "    auth: maybe\n", "routes[0].auth", "one of"),
        (
            "routes:\n" + UPSTREAM + "    permissions: 'a.read AND'\n",
            "routes[0].permissions",
            "position",
        ),
        (
            "routes:\n" + UPSTREAM + "    ratelimits: [{name: x, limit: 0, duration_s: 1}]\n",
            "routes[0].ratelimits[0].limit",
            "between",
        ),
        (
            "routes:\n"
            + UPSTREAM
            + "    ratelimits: [{name: x, limit: 1, duration_s: 1}, {name: x, limit: 2, "
            "duration_s: 1}]\n",
            "routes[0].ratelimits[1].name",
            "differ",
        ),
        (
            "routes:\n" + UPSTREAM + "    auth: none\n    permissions: a.read\n",
            "routes[0]",
            "auth: none",
        ),
        (
            "routes:\n" + UPSTREAM + "    match: {path_prefix: v1}\n",
            "routes[0].match.path_prefix",
            "starting with /",
        ),
        (
            "routes:\n" + UPSTREAM + "    match: {host: 'http://a.com'}\n",
            "routes[0].match.host",
            "without scheme",
        ),
        (
            "routes:\n" + UPSTREAM + "    match: {methods: ['GET POST']}\n",
            "routes[0].match.methods[0]",
            "HTTP method",
        ),
        (
            "routes:\n" + UPSTREAM + "    strip_prefix: 'yes'\n",
            "routes[0].strip_prefix",
            "true or false",
        ),
        (
            "routes:\n" + UPSTREAM + "    max_body_bytes: -1\n",
            "routes[0].max_body_bytes",
            "whole number",
        ),
        ("listen: {port: 0}\nroutes:\n" + UPSTREAM, "listen.port", "1 to 65535"),
        ("listen: {trusted_proxies: [nope]}\nroutes:\n" + UPSTREAM, "listen.trusted_proxies", ""),
        ("keystead: {cache_ttl_s: -1}\nroutes:\n" + UPSTREAM, "keystead.cache_ttl_s", ""),
        ("keystead: {root_key: x}\nroutes:\n" + UPSTREAM, "keystead.root_key", "unknown"),
        (
            "key_sources: {bearer: false, header: null}\nroutes:\n" + UPSTREAM,
            "key_sources",
            "at least one",
        ),
        ("key_sources: {header: 'x key'}\nroutes:\n" + UPSTREAM, "key_sources.header", "name"),
        ("routes: 3\n", "routes", "must be a list"),
        ("- 1\n", None, "mapping"),
    ],
)
def test_mistakes_name_their_field(text: str, field: str | None, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert caught.value.field == field
    assert words in caught.value.detail
    if field is not None:
        assert caught.value.detail.startswith(f"{field}: ")


def test_broken_yaml_and_repeated_keys_say_where() -> None:
    with pytest.raises(ConfigError, match=r"not valid YAML at line 2, column 1"):
        parse_config("routes: [\n")
    with pytest.raises(ConfigError, match=r"line 4: the field 'auth' is given twice"):
        parse_config(
            "routes:\n  - upstream: {url: 'http://x'}\n    auth: none\n    auth: required\n"
        )


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary)
