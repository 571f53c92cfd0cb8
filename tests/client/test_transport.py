"""Client behaviour that needs no server: errors, URL handling, secrecy of the root key."""

from __future__ import annotations

import json

import httpx
import pytest

from keystead.client import ApiError, AsyncClient, Client, ConnectionFailed, UsageReport

ROOT_KEY = "ksroot_" + "S" * 38


def _client(handler: httpx.MockTransport) -> Client:
    return Client("http://ks.test/", ROOT_KEY, transport=handler)


def test_sends_the_root_key_as_a_bearer_token_and_never_shows_it() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": []})

    client = _client(httpx.MockTransport(handler))

    assert client.list_apis() == []
    assert seen[0].headers["authorization"] == f"Bearer {ROOT_KEY}"
    assert seen[0].headers["user-agent"].startswith("keystead-python/")
    assert ROOT_KEY not in repr(client)
    assert ROOT_KEY not in repr(vars(client))
    client.close()


def test_ids_cannot_change_the_route() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(200, json={"id": "x"})

    with _client(httpx.MockTransport(handler)) as client:
        client.get_key("../apis?x=1")

    assert paths == ["/v1/keys/..%2Fapis%3Fx%3D1"]


def test_problem_documents_become_api_errors() -> None:
    problem = {"type": "about:blank", "title": "Conflict", "status": 409, "detail": "in use"}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            409, content=json.dumps(problem), headers={"content-type": "application/problem+json"}
        )

    with _client(httpx.MockTransport(handler)) as client, pytest.raises(ApiError) as caught:
        client.delete_api("api_1")

    assert (caught.value.status, caught.value.title, caught.value.detail) == (
        409,
        "Conflict",
        "in use",
    )
    assert caught.value.body == problem


def test_errors_that_are_not_json_still_become_api_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>bad gateway</html>")

    with _client(httpx.MockTransport(handler)) as client, pytest.raises(ApiError) as caught:
        client.list_apis()

    assert (caught.value.status, caught.value.title, caught.value.body) == (
        502,
        "Bad Gateway",
        None,
    )


def test_a_success_that_is_not_json_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="hello")

    with _client(httpx.MockTransport(handler)) as client, pytest.raises(ApiError):
        client.get_api("api_1")


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")],
    ids=["refused", "timeout"],
)
def test_network_failures_become_connection_failed(failure: httpx.TransportError) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    with _client(httpx.MockTransport(handler)) as client, pytest.raises(ConnectionFailed) as caught:
        client.list_apis()

    assert ROOT_KEY not in str(caught.value)


@pytest.mark.parametrize("url", ["ftp://ks.test", "ks.test:8400", "http://"])
def test_base_url_must_be_http(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        Client(url, ROOT_KEY)


def test_a_root_key_is_required() -> None:
    with pytest.raises(ValueError, match="root key"):
        Client("http://ks.test", "  ")


async def test_the_async_client_never_shows_the_root_key_either() -> None:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": []})

    client = AsyncClient("http://ks.test/", ROOT_KEY, transport=httpx.MockTransport(handler))

    assert await client.list_apis() == []
    assert seen[0].headers["authorization"] == f"Bearer {ROOT_KEY}"
    assert repr(client) == "AsyncClient(base_url='http://ks.test')"
    assert ROOT_KEY not in repr(vars(client))
    await client.aclose()


def test_closing_twice_and_queueing_after_close_are_harmless() -> None:
    client = _client(httpx.MockTransport(lambda request: httpx.Response(200, json={})))
    client.close()
    client.queue_usage(UsageReport(key_id=None, code="MALFORMED", at=0.0))
    client.close()

    assert client.usage_pending == 1  # never sent: the client is closed
