"""Moving sealed material between master-key versions, kind by kind
(``keystead.store.sealed``): the rewrap, and the conversion of items still in
the legacy form (sealed under a key derived from the server secret) to the
master key.

A rewrap unwraps each data key with the version that wrapped it and wraps it
with the current one (``core.envelope.rewrap``): no value is decrypted. Both
walk each kind by row identity in batches of :data:`BATCH` rows, one
transaction per batch, each row replaced only if it still holds the bytes read
(a concurrent writer wins), so an interrupted run loses nothing and the next
one picks up the rows still under another version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from keystead.core.at_rest import ENVELOPE, LegacyBox, envelope_of, rewrap_item, seal_item
from keystead.core.envelope import KeyWrapper, Sealed, rewrap
from keystead.errors import IntegrityError
from keystead.store.sealed import Identity, Replacement, SealedRow, SealedStore

log = logging.getLogger("keystead.master_keys")

BATCH = 500
Progress = Callable[[str, int], None]
"""Called with a kind and how many of its items a batch just moved (or skipped)."""


@dataclass(frozen=True, slots=True)
class LegacyForm:
    """How to open one kind's legacy items, and the AAD its envelope form binds."""

    box: LegacyBox = field(repr=False)
    aad: Callable[[str, str], bytes]
    """(workspace id, row id) -> associated data."""


@dataclass(slots=True)
class Moved:
    """What a pass over the sealed material did, per kind."""

    moved: dict[str, int] = field(default_factory=dict)
    """Items stored again: rewrapped, or converted from the legacy form."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Items changed by another writer meanwhile (left to it), or unreadable."""


def rewrap_blob(blob: bytes, keyring: KeyWrapper) -> tuple[bytes, int]:
    """``blob`` (a bare envelope, or the at-rest item form) with its data key
    wrapped by the current version, and that version."""
    if blob[:1] != ENVELOPE:  # a bare envelope (a secret version)
        sealed = rewrap(Sealed.from_bytes(blob), keyring)
        return sealed.to_bytes(), sealed.key_version
    moved = rewrap_item(blob, keyring)
    return moved, envelope_of(moved).key_version


async def rewrap_all(
    store: SealedStore,
    keyring: KeyWrapper,
    *,
    batch: int = BATCH,
    progress: Progress | None = None,
) -> Moved:
    """Re-wrap every item not under the current master-key version."""
    target = keyring.current_version

    def rewrapped(row: SealedRow) -> Replacement:
        blob, version = rewrap_blob(row.blob, keyring)
        return Replacement(row, blob, version)

    done = Moved()
    for kind in store.sealed_kinds():
        await _walk(store, kind, target, batch, rewrapped, progress, done)
    return done


async def convert_legacy(
    store: SealedStore,
    keyring: KeyWrapper,
    forms: Mapping[str, LegacyForm],
    *,
    batch: int = BATCH,
) -> Moved:
    """Seal every legacy item under the master key (idempotent: converted rows
    are no longer legacy)."""
    done = Moved()
    for kind in store.sealed_kinds():
        form = forms.get(kind)
        if form is None:
            continue

        def converted(row: SealedRow, form: LegacyForm = form) -> Replacement:
            workspace_id, row_id = row.place
            plaintext = form.box.open(row.blob, row_id)
            blob = seal_item(plaintext, form.aad(workspace_id, row_id), keyring)
            del plaintext
            return Replacement(row, blob, envelope_of(blob).key_version)

        await _walk(store, kind, None, batch, converted, None, done)
        if done.moved[kind]:
            log.info("moved %d %s items under the master key", done.moved[kind], kind)
    return done


async def _walk(
    store: SealedStore,
    kind: str,
    target: int | None,
    batch: int,
    replace: Callable[[SealedRow], Replacement],
    progress: Progress | None,
    done: Moved,
) -> None:
    """Replace the rows of ``kind`` not under ``target`` (None: the legacy rows),
    batch by batch in identity order; count what was stored and what was not."""
    moved = skipped = 0
    after: Identity | None = None
    while rows := await store.sealed_batch(
        kind, legacy=target is None, not_version=target, after=after, limit=batch
    ):
        after = rows[-1].identity
        replacements = []
        for row in rows:
            try:
                replacements.append(replace(row))
            except IntegrityError as exc:
                _unreadable(row, exc)
        stored = await store.replace_sealed(kind, replacements)
        moved += stored
        skipped += len(rows) - stored
        if progress is not None:
            progress(kind, len(rows))
    done.moved[kind], done.skipped[kind] = moved, skipped


def _unreadable(row: SealedRow, exc: IntegrityError) -> None:
    log.warning(
        "sealed %s item %s could not be moved: %s", row.kind, "/".join(map(str, row.identity)), exc
    )


__all__ = [
    "BATCH",
    "LegacyForm",
    "Moved",
    "Progress",
    "convert_legacy",
    "rewrap_all",
    "rewrap_blob",
]
