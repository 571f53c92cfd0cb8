"""Routing: host, path prefix and method pick the route; the first match wins."""

from __future__ import annotations

from keystead.gateway.routing import host_of, unsafe_path
from keystead.service import Keystead

from .gatewaykit import assert_problem, config_of, route, site
from .upstreams import echo, serving


async def test_host_prefix_and_method_choose_the_upstream(keystead: Keystead) -> None:
    async with serving(echo) as a, serving(echo) as b, serving(echo) as c, serving(echo) as d:
        config = config_of(
            [
                {**route(a.url), "auth": "none", "match": {"host": "api.example.com"}},
                {**route(b.url), "auth": "none", "match": {"host": "*.tenants.example"}},
                {
                    **route(c.url),
                    "auth": "none",
                    "match": {"path_prefix": "/v1", "methods": ["get", "HEAD"]},
                },
                {**route(d.url), "auth": "none", "match": {"path_prefix": "/static/"}},
            ]
        )
        async with site(keystead, config) as s:
            get = s.client.get
            assert (await get("/any", headers={"host": "API.example.com:8443"})).status_code == 200
            assert (await get("/x", headers={"host": "acme.tenants.example"})).status_code == 200
            assert (await get("/v1")).status_code == 200
            assert (await get("/v1/users")).status_code == 200
            assert (await get("/static/app.js")).status_code == 200
            apex = await get("/x", headers={"host": "tenants.example"})
            lookalike = await get("/v1beta/users")
            wrong_method = await s.client.post("/v1/users", content=b"{}")
            no_dir = await get("/static")

    assert [len(u.seen) for u in (a, b, c, d)] == [1, 1, 2, 1]
    assert a.seen[0].target == "/any"
    assert [seen.target for seen in c.seen] == ["/v1", "/v1/users"]
    for refused in (apex, lookalike, wrong_method, no_dir):
        assert "no route" in assert_problem(refused, 404)["detail"]


async def test_the_first_matching_route_wins(keystead: Keystead) -> None:
    async with serving(echo) as narrow, serving(echo) as wide:
        config = config_of(
            [
                {**route(narrow.url), "auth": "none", "match": {"path_prefix": "/admin/"}},
                {**route(wide.url), "auth": "none"},
            ]
        )
        async with site(keystead, config) as s:
            await s.client.get("/admin/users")
            await s.client.get("/")
            await s.client.get("/administrator")

    assert [seen.target for seen in narrow.seen] == ["/admin/users"]
    assert [seen.target for seen in wide.seen] == ["/", "/administrator"]


def test_host_of_drops_the_port_case_and_final_dot() -> None:
    assert host_of(b"API.Example.com:8080") == "api.example.com"
    assert host_of(b"example.com.") == "example.com"
    assert host_of(b"[::1]:8080") == "[::1]"
    assert host_of(b"") is None
    assert host_of(None) is None


def test_unsafe_paths() -> None:
    assert unsafe_path("/a/../b")
    assert unsafe_path("/a/./b")
    assert unsafe_path("/..")
    assert unsafe_path("*")
    assert not unsafe_path("/a/.well-known/b")
    assert not unsafe_path("/a/..b/c")
    assert not unsafe_path("/")
