"""The Transit engine of the Vault face: every served endpoint of a ``transit``
mount, translated onto ``ks.transit`` (the service checks the permissions and owns
every rule; this module only speaks Vault's wire).

Vault's behaviours kept here: a key read as ``data.keys`` (version -> creation time
in Unix seconds), a missing key read or an empty ``LIST`` as 404 ``{"errors": []}``,
"encryption key not found" as 400 on the crypto endpoints, ``batch_input`` answered
as ``batch_results`` item by item with a 400 when any item failed (or
``partial_failure_response_code`` when some succeeded), ``reference`` echoed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from keystead.core.secrets import SecretMount
from keystead.core.transit import TransitKey, TransitKeyNotFound
from keystead.http.vault.wire import (
    NO_CONTENT,
    VaultError,
    VaultRequest,
    VaultResponse,
    bad_request,
)
from keystead.service.transit_items import TransitResult

MOUNT_TYPE = "transit"
T = TypeVar("T")
NOT_FOUND = "encryption key not found"
Handler = Callable[[VaultRequest, SecretMount, str], Awaitable[VaultResponse]]
_CREATE_OPTIONS = (
    "derived",
    "convergent_encryption",
    "exportable",
    "allow_plaintext_backup",
    "auto_rotate_period",
)
_CONFIG_OPTIONS = ("exportable", "allow_plaintext_backup", "auto_rotate_period")


def key_data(key: TransitKey) -> dict[str, Any]:
    """A key as Vault's ``transit/keys/:name`` answers it (no material)."""
    return {
        "name": key.name,
        "type": key.type,
        "keys": {str(v.version): int(v.created_time.timestamp()) for v in key.versions},
        "latest_version": key.latest_version,
        "min_available_version": 0,
        "min_decryption_version": key.min_decryption_version,
        "min_encryption_version": key.min_encryption_version,
        "deletion_allowed": key.deletion_allowed,
        "derived": False,
        "exportable": False,
        "allow_plaintext_backup": False,
        "auto_rotate_period": 0,
        "imported_key": False,
        "supports_encryption": True,
        "supports_decryption": True,
        "supports_derivation": False,
        "supports_signing": False,
    }


def _data(data: Any) -> VaultResponse:
    return VaultResponse(data=data, mount_type=MOUNT_TYPE)


def _options(body: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: body.get(name) for name in names}


# keys ---------------------------------------------------------------------------------
async def _create(request: VaultRequest, mount: SecretMount, name: str) -> VaultResponse:
    body = request.body
    key = await request.service.transit.create_key(
        request.principal,
        mount.name,
        name,
        type=body.get("type"),
        **_options(body, _CREATE_OPTIONS),
    )
    return _data(key_data(key))


async def _read(request: VaultRequest, mount: SecretMount, name: str) -> VaultResponse:
    try:
        key = await request.service.transit.read_key(request.principal, mount.name, name)
    except TransitKeyNotFound:
        raise VaultError(404, []) from None
    return _data(key_data(key))


async def _delete(request: VaultRequest, mount: SecretMount, name: str) -> VaultResponse:
    try:
        await request.service.transit.delete_key(request.principal, mount.name, name)
    except TransitKeyNotFound:
        raise bad_request("could not delete key; not found") from None
    return NO_CONTENT


async def _list(request: VaultRequest, mount: SecretMount, _: str) -> VaultResponse:
    names = await request.service.transit.list_keys(request.principal, mount.name)
    if not names:
        raise VaultError(404, [])
    return _data({"keys": names})


async def _rotate(request: VaultRequest, mount: SecretMount, name: str) -> VaultResponse:
    key = await request.service.transit.rotate_key(request.principal, mount.name, name)
    return _data(key_data(key))


async def _configure(request: VaultRequest, mount: SecretMount, name: str) -> VaultResponse:
    body = request.body
    try:
        key = await request.service.transit.configure_key(
            request.principal,
            mount.name,
            name,
            min_decryption_version=_int(body.get("min_decryption_version")),
            min_encryption_version=_int(body.get("min_encryption_version")),
            deletion_allowed=_flag(body.get("deletion_allowed")),
            **_options(body, _CONFIG_OPTIONS),
        )
    except TransitKeyNotFound:
        raise bad_request(f"no existing key named {name} could be found") from None
    return _data(key_data(key))


# operations ---------------------------------------------------------------------------
_ENCRYPT_FIELDS = ("plaintext", "key_version", "associated_data", "context", "nonce")
_DECRYPT_FIELDS = ("ciphertext", "associated_data", "context", "nonce")
_REWRAP_FIELDS = ("ciphertext", "key_version", "context", "nonce")


async def _encrypt(request: VaultRequest, mount: SecretMount, name: str) -> VaultResponse:
    items, batch = _items(request.body, _ENCRYPT_FIELDS)
    results = await _run(
        request.service.transit.encrypt(request.principal, mount.name, name, items)
    )
    return _answer(request, results, batch, ("ciphertext", "key_version"))


async def _decrypt(request: VaultRequest, mount: SecretMount, name: str) -> VaultResponse:
    items, batch = _items(request.body, _DECRYPT_FIELDS)
    results = await _run(
        request.service.transit.decrypt(request.principal, mount.name, name, items)
    )
    return _answer(request, results, batch, ("plaintext",))


async def _rewrap(request: VaultRequest, mount: SecretMount, name: str) -> VaultResponse:
    items, batch = _items(request.body, _REWRAP_FIELDS)
    transit = request.service.transit
    results = await _run(transit.rewrap(request.principal, mount.name, name, items))
    return _answer(request, results, batch, ("ciphertext", "key_version"))


async def _datakey(request: VaultRequest, mount: SecretMount, rest: str) -> VaultResponse:
    kind, _, name = rest.partition("/")
    if kind not in ("plaintext", "wrapped") or not name:
        raise bad_request("invalid type: a data key is 'plaintext' or 'wrapped'")
    result = await _run(
        request.service.transit.datakey(
            request.principal,
            mount.name,
            name,
            plaintext=kind == "plaintext",
            bits=_int(request.body.get("bits")),
        )
    )
    data: dict[str, Any] = {"ciphertext": result.ciphertext, "key_version": result.key_version}
    if result.plaintext is not None:
        data["plaintext"] = result.plaintext
    return _data(data)


async def _run(call: Awaitable[T]) -> T:
    """The service call; an unknown key is Vault's 400 on the crypto endpoints."""
    try:
        return await call
    except TransitKeyNotFound:
        raise bad_request(NOT_FOUND) from None


def _items(
    body: Mapping[str, Any], fields: tuple[str, ...]
) -> tuple[list[Mapping[str, Any]], bool]:
    raw = body.get("batch_input")
    if raw is None:
        return [{f: body[f] for f in fields if f in body}], False
    if not isinstance(raw, list):
        raise bad_request("failed to parse batch input: batch_input is a list of objects")
    return raw, True


def _answer(
    request: VaultRequest,
    results: list[TransitResult],
    batch: bool,
    fields: tuple[str, ...],
) -> VaultResponse:
    if not batch:
        (result,) = results
        if result.error is not None:
            raise bad_request(result.error)
        return _data({f: getattr(result, f) for f in fields})
    answers = []
    for result in results:
        if result.error is not None:
            item: dict[str, Any] = {"error": result.error}
        else:
            item = {f: getattr(result, f) for f in fields}
        if result.reference is not None:
            item["reference"] = result.reference
        answers.append(item)
    data = {"batch_results": answers}
    failed = sum(1 for r in results if r.error is not None)
    if not failed:
        return _data(data)
    status = 400
    override = _int(request.body.get("partial_failure_response_code"))
    if failed < len(results) and isinstance(override, int) and 100 <= override <= 599:
        status = override
    if status >= 400:
        raise VaultError(status, [], data=data)
    return VaultResponse(status=status, data=data, mount_type=MOUNT_TYPE)


def _int(value: object) -> object:
    """Vault accepts numbers as JSON numbers or numeric strings."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return value


def _flag(value: object) -> object:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


# dispatch -----------------------------------------------------------------------------
TABLE: dict[str, dict[str, Handler]] = {
    "keys": {"POST": _create, "PUT": _create, "GET": _read, "DELETE": _delete},
    "keys/rotate": {"POST": _rotate, "PUT": _rotate},
    "keys/config": {"POST": _configure, "PUT": _configure},
    "encrypt": {"POST": _encrypt, "PUT": _encrypt},
    "decrypt": {"POST": _decrypt, "PUT": _decrypt},
    "rewrap": {"POST": _rewrap, "PUT": _rewrap},
    "datakey": {"POST": _datakey, "PUT": _datakey},
}
_TEMPLATES = {
    "keys": "{mount}/keys/{name}",
    "keys/rotate": "{mount}/keys/{name}/rotate",
    "keys/config": "{mount}/keys/{name}/config",
    "encrypt": "{mount}/encrypt/{name}",
    "decrypt": "{mount}/decrypt/{name}",
    "rewrap": "{mount}/rewrap/{name}",
    "datakey": "{mount}/datakey/plaintext/{name}",
}
ROUTES: tuple[tuple[str, str], ...] = (
    ("LIST", "{mount}/keys"),
    *(
        (method, _TEMPLATES[operation])
        for operation, methods in TABLE.items()
        for method in methods
    ),
)


async def handle(request: VaultRequest, mount: SecretMount, rest: str) -> VaultResponse:
    """``rest``: ``keys[/]`` (LIST), ``keys/<name>[/rotate|/config]``,
    ``encrypt|decrypt|rewrap/<name>``, ``datakey/<plaintext|wrapped>/<name>``."""
    operation, _, below = rest.partition("/")
    if operation == "keys" and request.method == "LIST" and below in ("", "/"):
        return await _list(request, mount, "")
    if operation == "keys":
        name, _, action = below.partition("/")
        if action:
            operation = f"keys/{action}"
        below = name
    methods = TABLE.get(operation)
    if methods is None or not below:
        raise VaultError(404, ["unsupported path"])
    handler = methods.get(request.method)
    if handler is None:
        raise VaultError(405, ["unsupported operation"])
    return await handler(request, mount, below)


__all__ = ["MOUNT_TYPE", "ROUTES", "TABLE", "handle", "key_data"]
