"""The HTTP app in-process, as the local operator (what the CLI's local mode
uses): it answers without a root key in this process, and that identity cannot
be reached over the network."""

from __future__ import annotations

import ast
import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import keystead
from keystead.client import ApiError, Client
from keystead.config import Settings
from keystead.core.authz import LOCAL_OPERATOR
from keystead.errors import NotFound
from keystead.http.auth import PRINCIPAL_SCOPE_KEY
from keystead.http.inprocess import LOCAL_BASE_URL, InProcessTransport
from keystead.service import Keystead
from serving import Server, serving


@pytest.fixture
def initialised(settings: Settings) -> Settings:
    """A store with its first workspace and root key (``keystead init``)."""

    async def init() -> None:
        ks = await Keystead.open(settings=settings)
        try:
            await ks.workspaces.init()
        finally:
            await ks.close()

    asyncio.run(init())
    return settings


@pytest.fixture
def local(initialised: Settings) -> Iterator[Client]:
    with Client(LOCAL_BASE_URL, None, retries=0, transport=InProcessTransport(initialised)) as ks:
        yield ks


def test_the_local_operator_needs_no_root_key_in_process(local: Client) -> None:
    api = local.create_api("in-process")
    created = local.create_key(api["id"], name="k")

    assert local.verify(created["key"]).valid
    assert [k["id"] for k in local.list_keys()["items"]] == [created["id"]]
    assert "Authorization" not in local.http.headers
    entries = local.list_audit(action="key.create")["items"]
    assert [e["actor"] for e in entries] == [LOCAL_OPERATOR]


def test_calls_from_several_threads_take_turns(local: Client) -> None:
    """``keystead run --watch`` polls from a thread while its main thread reads:
    the one event loop serves both, a call at a time."""
    api = local.create_api("threads")
    failures: list[BaseException] = []

    def calls() -> None:
        try:
            for _ in range(15):
                local.get_api(api["id"])
        except BaseException as exc:  # any failure is the finding
            failures.append(exc)

    threads = [threading.Thread(target=calls) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []


def test_a_workspace_that_does_not_exist_is_not_opened(initialised: Settings) -> None:
    transport = InProcessTransport(initialised, "ws_01M93G91JDXVD4FH380TZV40X3")
    with (
        Client(LOCAL_BASE_URL, None, retries=0, transport=transport) as ks,
        pytest.raises(NotFound),
    ):
        ks.list_apis()


def test_a_client_without_root_key_needs_a_transport_that_authenticates() -> None:
    with pytest.raises(ValueError, match="root key"):
        Client("http://127.0.0.1:8400", None)


# -- over the network ----------------------------------------------------------------

_SMUGGLED = {
    PRINCIPAL_SCOPE_KEY: "local",
    "keystead-principal": "local",
    "x-keystead-principal": "local",
    "x-keystead-operator": "local",
    "x-forwarded-user": "local",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("inprocess")) as running:
        yield running


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/apis", None),
        ("GET", "/v1/keys", None),
        ("POST", "/v1/root_keys", {"name": "smuggled"}),
        ("POST", "/v1/keys/verify", {"key": "ks_" + "A" * 40}),
    ],
)
def test_the_operator_identity_is_unreachable_over_the_network(
    server: Server, method: str, path: str, body: dict[str, str] | None
) -> None:
    """A real ``keystead serve``: no header, name or value a client sends makes it
    the local operator; without a root key every management call is a 401."""
    answer = httpx.request(method, server.url + path, headers=_SMUGGLED, json=body, timeout=10)

    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.slow
def test_the_same_calls_pass_with_the_servers_root_key(server: Server) -> None:
    with Client(server.url, server.root_key) as ks:
        assert isinstance(ks.list_apis(), list)
    with Client(server.url, "ksroot_" + "A" * 40, retries=0) as stranger:
        with pytest.raises(ApiError) as refused:
            stranger.list_apis()
    assert refused.value.status == 401


def test_only_the_in_process_module_and_the_cli_reach_the_operator() -> None:
    """The scope key is named only where the app authenticates and in
    ``as_principal``; only the in-process module builds an in-process transport,
    and only the CLI's connection and ``keystead.secrets`` (both on the local
    store, without a server) ask it for a local client: nothing the server runs
    puts the operator in a scope."""
    package = Path(keystead.__file__).parent
    naming, users, local = set(), set(), set()
    for source in package.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        name = source.relative_to(package).as_posix()
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name | ast.Attribute):
                ident = node.id if isinstance(node, ast.Name) else node.attr
                if ident == "PRINCIPAL_SCOPE_KEY":
                    naming.add(name)
                elif ident in {"InProcessTransport", "as_principal"}:
                    users.add(name)
                elif ident == "local_client":
                    local.add(name)
    assert naming == {"http/auth.py", "http/inprocess.py", "http/verify.py"}
    assert users == {"http/inprocess.py"}
    assert local == {"cli/_connect.py", "secrets.py"}
