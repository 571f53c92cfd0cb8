"""Importing keys issued by another system (docs/operations.md, "Importing keys").

A row is a plaintext key (hashed on arrival under Keystead's keyed hash, never
stored) or a legacy hash with its scheme (``core.legacy_hashes``), kept until the
key's first use moves it to the keyed hash (``imported_lookup``). Every other field
is as in ``POST /v1/keys``. Bad rows are reported one by one and the good ones are
kept; a row whose ``external_id`` was imported already is skipped, so a re-run
imports nothing twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from keystead.core import events, keyformat, legacy_hashes
from keystead.core.audit import plain
from keystead.core.authz import Principal
from keystead.core.hashing import StoredHash
from keystead.core.legacy_hashes import LegacyHash
from keystead.core.models import Api
from keystead.errors import Conflict, KeysteadError, NotFound, ValidationError
from keystead.service import fields
from keystead.service.context import ServiceContext
from keystead.service.keys import MAX_BATCH, KeyService
from keystead.store.key_imports import ImportedKey

_OWN_FIELDS = frozenset({"key", "key_hash", "lookup", "external_id", "prefix"})
_WHOLE = "an import spans the workspace: a root key narrowed to APIs or an owner cannot run it"
LEGACY_VERSION = 0
"""The hash version of a key still on its legacy hash (its ``key_hash`` is a
random placeholder that no keyed hash can equal)."""


@dataclass(frozen=True, slots=True)
class RowResult:
    row: int
    status: str
    """imported, skipped (its external id was imported already), failed, or valid
    (a dry run's good row)."""
    external_id: str | None = None
    key_id: str | None = None
    scheme: str | None = None
    error: KeysteadError | None = None


@dataclass(frozen=True, slots=True)
class ImportReport:
    dry_run: bool
    rows: list[RowResult]

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)


@dataclass(frozen=True, slots=True)
class ImportStatus:
    schemes: dict[str, tuple[int, int]]
    """Per scheme: (keys imported, keys still on their legacy hash)."""

    @property
    def legacy(self) -> int:
        return sum(pending for _, pending in self.schemes.values())


class KeyImportService:
    def __init__(self, ctx: ServiceContext, keys: KeyService) -> None:
        self._ctx = ctx
        self._keys = keys

    async def refresh(self) -> None:
        """Learn whether keys were imported (the verify path's gate) from the store."""
        self._ctx.imported_prefixes = await self._ctx.store.imported_prefixes()

    async def status(self, principal: Principal) -> ImportStatus:
        principal.require_whole_workspace("keys.read", _WHOLE)
        return ImportStatus(await self._ctx.store.count_imports(principal.workspace_id))

    async def run(
        self, principal: Principal, rows: Sequence[Any], *, dry_run: bool = False
    ) -> ImportReport:
        """Import ``rows`` (at most 1000 a call); a report line per row."""
        principal.require_whole_workspace("keys.read" if dry_run else "keys.create", _WHOLE)
        if not 1 <= len(rows) <= MAX_BATCH:
            raise ValidationError(f"import 1 to {MAX_BATCH} rows at once", field="rows")
        external = [
            r["external_id"]
            for r in rows
            if isinstance(r, Mapping) and isinstance(r.get("external_id"), str)
        ]
        known = await self._ctx.store.imported_ids(principal.workspace_id, external)
        apis: dict[str, tuple[Api, frozenset[str]]] = {}
        seen: set[str] = set()
        results: list[RowResult] = []
        good: list[tuple[int, ImportedKey]] = []
        for index, row in enumerate(rows):
            try:
                ext = _external_id(row)
                if ext is not None and ext in known:
                    results.append(RowResult(index, "skipped", ext, known[ext]))
                    continue
                if ext is not None and ext in seen:
                    raise Conflict(f"external_id {ext} is on an earlier row of this file")
                built = await self._build(principal, row, ext, apis)
            except NotFound:  # said without echoing the id (another workspace's, maybe)
                gone = NotFound("the row names an API or a plan this workspace does not have")
                results.append(RowResult(index, "failed", _safe_external(row), error=gone))
                continue
            except KeysteadError as exc:
                results.append(RowResult(index, "failed", _safe_external(row), error=exc))
                continue
            if ext is not None:
                seen.add(ext)
            good.append((index, built))
            results.append(RowResult(index, "valid", ext, built.key.id, built.scheme))
        if not dry_run:
            await self._insert(principal, good, results)
            if good and self._ctx.imported_prefixes is None:
                await self.refresh()
            elif good:
                assert self._ctx.imported_prefixes is not None  # noqa: S101 - just checked
                added = {b.shaped_prefix for _, b in good if b.shaped_prefix is not None}
                self._ctx.imported_prefixes = self._ctx.imported_prefixes | added
        return ImportReport(dry_run, sorted(results, key=lambda r: r.row))

    async def _insert(
        self, principal: Principal, good: list[tuple[int, ImportedKey]], results: list[RowResult]
    ) -> None:
        """All the good rows in one transaction; on a conflict (a lookup or a key
        already stored, a concurrent import), row by row, each its own answer."""
        if not good:
            return
        try:
            await self._store(principal, [b for _, b in good])
            batch_ok = True
        except Conflict:
            batch_ok = False
        by_row = {r.row: i for i, r in enumerate(results)}
        for index, built in good:
            outcome = RowResult(index, "imported", built.external_id, built.key.id, built.scheme)
            if not batch_ok:
                try:
                    await self._store(principal, [built])
                except Conflict as exc:
                    detail = Conflict(
                        "a key with this text, hash or lookup, or this external_id, exists: "
                        + str(exc)
                    )
                    outcome = RowResult(index, "failed", built.external_id, error=detail)
            results[by_row[index]] = outcome

    async def _store(self, principal: Principal, built: list[ImportedKey]) -> None:
        now = self._ctx.now()
        for b in built:
            self._ctx.audit(principal, "key.import", "key", b.key.id, after=_audited(b))
        await self._ctx.store.insert_imported(
            built, [events.key_event(events.KEY_CREATED, b.key, now) for b in built]
        )
        self._ctx.events_written()

    async def _build(
        self,
        principal: Principal,
        row: Any,
        external_id: str | None,
        apis: dict[str, tuple[Api, frozenset[str]]],
    ) -> ImportedKey:
        if not isinstance(row, Mapping):
            raise ValidationError("each row is a JSON object")
        spec = {k: v for k, v in row.items() if k not in _OWN_FIELDS}
        fields.unknown(spec, fields.CREATE_FIELDS, "key")
        if "environment" in spec:
            raise ValidationError("an imported key keeps its own text", field="environment")
        plaintext, legacy = _material(row)
        if legacy is not None and legacy.scheme == "hmac-sha256":
            if self._ctx.settings.import_hmac_secret is None:
                raise ValidationError(
                    "hmac-sha256 rows need the old system's HMAC key on the server: "
                    "KEYSTEAD_IMPORT_HMAC_SECRET",
                    field="key_hash.scheme",
                )
        created = await self._keys._build(principal, spec, apis)
        prefix = _prefix(row, plaintext, legacy)
        key = replace(created.key, prefix=prefix, start=_start(plaintext, legacy, prefix))
        if legacy is None:
            assert plaintext is not None  # noqa: S101 - _material gives one of them
            shaped = plaintext.rpartition("_")[0] if keyformat.is_shaped(plaintext) else None
            stored = self._ctx.hasher.stored(plaintext)
            return ImportedKey(key, stored, external_id, "key", None, shaped)
        placeholder = StoredHash(secrets.token_bytes(32), LEGACY_VERSION)
        # a hashed key's text is unknown: only a given prefix narrows the gate
        shaped = None if legacy.scheme == "drf-api-key" else str(row.get("prefix") or "")
        return ImportedKey(key, placeholder, external_id, legacy.scheme, legacy, shaped)


def _material(row: Mapping[str, Any]) -> tuple[str | None, LegacyHash | None]:
    plaintext, hashed = row.get("key"), row.get("key_hash")
    if (plaintext is None) == (hashed is None):
        raise ValidationError("a row has either key or key_hash", field="key")
    if hashed is not None:
        return None, legacy_hashes.parse(hashed, row.get("lookup"))
    if not isinstance(plaintext, str) or not legacy_hashes.plausible(plaintext):
        raise ValidationError(
            f"key is 8 to {legacy_hashes.MAX_KEY_LENGTH} printable characters without spaces",
            field="key",
        )
    return plaintext, None


def _external_id(row: Any) -> str | None:
    if not isinstance(row, Mapping):
        return None
    return fields.text(row.get("external_id"), "external_id")


def _safe_external(row: Any) -> str | None:
    try:
        return _external_id(row)
    except ValidationError:
        return None


def _prefix(row: Mapping[str, Any], plaintext: str | None, legacy: LegacyHash | None) -> str:
    """What the key list shows as its prefix: ``prefix`` when given, else the text
    before its last ``_`` (drf-api-key: the text before the ``.``)."""
    given = row.get("prefix")
    if given is not None:
        if not isinstance(given, str) or len(given) > 32 or not given.isprintable():
            raise ValidationError("prefix is at most 32 printable characters", field="prefix")
        return given
    if legacy is not None and legacy.scheme == "drf-api-key":
        return legacy.lookup.removeprefix("drf:")
    lookup = row.get("lookup")
    text = plaintext if plaintext is not None else (lookup if isinstance(lookup, str) else "")
    return text.rpartition("_")[0][:32]


def _start(plaintext: str | None, legacy: LegacyHash | None, prefix: str) -> str:
    """Enough to recognise the key, never enough to use it: its prefix and four
    characters (only what the row revealed: none for a sha256 row)."""
    if plaintext is not None:
        head = len(prefix) + 1 if prefix and plaintext.startswith(prefix) else 0
        return plaintext[: head + 4][:48]
    if legacy is not None and legacy.lookup.startswith("drf:"):
        return legacy.lookup.removeprefix("drf:")
    if legacy is not None and legacy.lookup.startswith("start:"):
        text = legacy.lookup.removeprefix("start:")
        head = len(prefix) + 1 if prefix and text.startswith(prefix) else 0
        return text[: head + 4][:48]
    return prefix


def _audited(built: ImportedKey) -> dict[str, Any]:
    """The key's fields and where it came from; never its text nor its hash."""
    return {**plain(built.key), "external_id": built.external_id, "import_scheme": built.scheme}


__all__ = ["LEGACY_VERSION", "ImportReport", "ImportStatus", "KeyImportService", "RowResult"]
