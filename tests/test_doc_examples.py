"""Every ``curl`` example of the README and docs/, run by the real curl against a
real ``keystead serve``: placeholders are replaced by objects created first (a fresh
set for each example, so that a DELETE or a revocation does not change the next
one), and no example may be refused for its form (400, 415, 422) or fail (5xx)."""

from __future__ import annotations

import base64
import json
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.processes import free_port, keystead, start, stop, store_env, wait_until_up

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.M | re.S)
STATUS_IN_COMMENT = re.compile(r"\b([1-5]\d\d)\b")
MALFORMED = {400, 415, 422}

# Objects no setup can make cheaply: a webhook delivery, a pickup. Their examples
# must reach the route and be answered "not found", not be refused for their form.
UNKNOWN_IDS = {
    "dlv_01JZ...": "dlv_01JZ8Q3V6N2X7R4M5T9K0W1B2C",
    "pck_01JZ...": "pck_01JZ8Q3V6N2X7R4M5T9K0W1B2C",
}


@dataclass(frozen=True)
class Example:
    document: str
    line: int
    command: str
    comment: str

    @property
    def id(self) -> str:
        return f"{self.document}:{self.line}"


def examples() -> list[Example]:
    """The curl commands of every sh block, continuation lines and multi-line
    quoted arguments joined, their trailing ``# comment`` apart."""
    found = []
    for path in DOCUMENTS:
        text = path.read_text()
        for block in FENCE.finditer(text):
            lines = block.group(1).splitlines()
            first_line = text[: block.start(1)].count("\n") + 1
            index = 0
            while index < len(lines):
                start = index
                if lines[index].lstrip().startswith("curl "):
                    command = lines[index]
                    while command.rstrip().endswith("\\") or not _complete(command):
                        index += 1
                        command = command.rstrip().removesuffix("\\") + "\n" + lines[index]
                    command, comment = _split_comment(command)
                    found.append(Example(path.name, first_line + start, command, comment))
                index += 1
    return found


def _complete(command: str) -> bool:
    try:
        shlex.split(command, comments=True)
    except ValueError:
        return False
    return True


def _split_comment(command: str) -> tuple[str, str]:
    """``curl ... # 204; 409 while ...`` -> (the command, the comment)."""
    quote = ""
    for index, char in enumerate(command):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or command[index - 1].isspace()):
            return command[:index], command[index + 1 :].strip()
    return command, ""


@dataclass
class Server:
    url: str
    root: str
    home: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("doc-examples")
    env = store_env(home, "docs")
    done = subprocess.run(keystead("init", "--json"), env=env, cwd=home, capture_output=True)
    assert done.returncode == 0, done.stderr
    port = free_port()
    log = home / "serve.log"
    process = start(keystead("serve", "--port", str(port)), home, env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/healthz", process, log)
        yield Server(url, json.loads(done.stdout)["root_key"], home)
    finally:
        stop(process)
    assert "Traceback" not in log.read_text()


def _objects(server: Server, unique: int) -> dict[str, str]:
    """A fresh API (prefix doc, role reader), key, plan, webhook and second root key."""
    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.root}"})
    with client:

        def post(path: str, body: dict[str, object]) -> dict[str, str]:
            response = client.post(path, json=body)
            assert response.status_code in (200, 201), response.text
            answer: dict[str, str] = response.json()
            return answer

        api = post("/v1/apis", {"name": f"documents-{unique}", "prefix": "doc"})
        role = client.put(f"/v1/apis/{api['id']}/roles/reader", json={"permissions": ["d.r"]})
        assert role.status_code == 200, role.text
        plan = post("/v1/plans", {"name": f"plan-{unique}"})
        key = post("/v1/keys", {"api_id": api["id"], "permissions": ["documents.read"]})
        hook = post(
            "/v1/webhooks", {"url": "https://hooks.example.com/ks", "events": ["key.revoked"]}
        )
        other = post("/v1/root_keys", {"name": f"other-{unique}", "permissions": ["keys.read"]})
    return {
        "KS": server.url,
        "ROOT": server.root,
        "VERIFY_ROOT": server.root,
        "OWNER_ROOT": server.root,
        "KEYSTEAD_ROOT_KEY": server.root,
        "API": api["id"],
        "PLAN": plan["id"],
        "KEY_ID": key["id"],
        "KEY": key["key"],
        "RK_ID": other["id"],
        "WEBHOOK": hook["id"],
    }


def _public_jwk() -> dict[str, str]:
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()

    def encode(value: int) -> str:
        return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()

    return {"x": encode(numbers.x), "y": encode(numbers.y)}


def _arguments(example: Example, names: dict[str, str], server: Server) -> list[str]:
    text = example.command.replace("localhost:8400", names["KS"])
    for placeholder in ("doc_3kT9...", "ks_3kT9...", "acme_..."):
        text = text.replace(placeholder, names["KEY"])
    text = text.replace("api_...", names["API"]).replace("key_01JZ...", names["KEY_ID"])
    text = text.replace("wh_01JZ...", names["WEBHOOK"])
    for placeholder, value in UNKNOWN_IDS.items():
        text = text.replace(placeholder, value)
    jwk = _public_jwk()
    text = text.replace('"x": "...", "y": "..."', f'"x": "{jwk["x"]}", "y": "{jwk["y"]}"')

    def variable(match: re.Match[str]) -> str:
        assert match.group(1) in names, f"{example.id}: no value for ${match.group(1)}"
        return names[match.group(1)]

    text = text.replace("$(date +%s)", str(int(time.time())))
    text = re.sub(r"\$([A-Z_]+)", variable, text)
    arguments = shlex.split(text)
    assert arguments[0] == "curl"
    return arguments


EXAMPLES = examples()


def test_the_examples_are_found() -> None:
    assert len(EXAMPLES) >= 50
    assert {example.document for example in EXAMPLES} >= {"README.md", "api.md", "webhooks.md"}


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.id for example in EXAMPLES])
def test_a_documented_curl_command_works(server: Server, example: Example) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    names = _objects(server, EXAMPLES.index(example))
    arguments = _arguments(example, names, server)
    done = subprocess.run(
        [curl, *arguments[1:], "--max-time", "2", "-w", "\n%{http_code}"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=server.home,
    )
    body, _, code = done.stdout.rpartition("\n")
    status = int(code)
    documented = {int(value) for value in STATUS_IN_COMMENT.findall(example.comment)}
    if any(placeholder in example.command for placeholder in UNKNOWN_IDS):
        documented.add(404)
    assert status not in MALFORMED and status < 500, f"{example.id}: {status} {body}"
    assert status < 400 or status in documented, f"{example.id}: {status} {body}"
