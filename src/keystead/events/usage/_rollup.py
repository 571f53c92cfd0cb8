"""From buffered entries to usage records and rollup deltas (on the flusher)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from keystead.core.authz import Principal
from keystead.core.geo import CountryResolver
from keystead.core.models import Code, VerifyContext
from keystead.core.text import TEXT_WIDTHS, is_storable, storable_record
from keystead.core.usage import (
    GRANULARITIES,
    Rollup,
    RollupKey,
    UsageRecord,
    hll_add,
    hll_point,
    latency_bucket,
)
from keystead.core.verify import Verdict, VerifiableKey


class Completed(NamedTuple):
    """What a middleware or gateway adds to a verification once it answered."""

    context: VerifyContext | None
    status: int | None
    response_ms: float | None
    bytes_in: int | None
    bytes_out: int | None
    tags: tuple[str, ...]


VerifiedEntry = tuple[float, Verdict, VerifyContext | Completed | None, Principal | None]
"""What the hot path appends: (epoch seconds, verdict, request context or the
completed request, principal)."""
Entry = UsageRecord | VerifiedEntry
SLOTS = 4
"""Buffer slots per entry (the recorder's buffer is a flat list)."""


def to_record(entry: Entry, resolver: CountryResolver | None) -> UsageRecord:
    """A usage record of a buffered entry, with texts every store can hold
    (``storable_record``); resolves the client's country."""
    record = entry if isinstance(entry, UsageRecord) else UsageRecord(*to_fields(entry))
    record = storable_record(record)
    if record.country is None and record.ip is not None and resolver is not None:
        return record._replace(country=resolver.country_of(record.ip))
    return record


def to_fields(entry: Entry) -> tuple[Any, ...]:
    """The fields of the entry's usage record, in ``UsageRecord`` order, as a
    plain tuple of plain values; no country yet unless the entry is a record
    that has one."""
    if isinstance(entry, UsageRecord):
        return tuple(entry)
    at, verdict, facts, principal = entry
    head = _head(verdict, principal)
    done = None
    if isinstance(facts, Completed):
        done, facts = facts, facts.context
    if facts is None:
        request: tuple[Any, ...] = (None, None, None, None, None)
    else:
        request = (facts.ip, None, facts.user_agent, facts.method, facts.path)
    if done is None:
        return (at, *head, *request, *_NO_RESPONSE)
    response = (done.status, done.response_ms, done.bytes_in, done.bytes_out, done.tags)
    return (at, *head, *request, *response)


FIELDS = len(UsageRecord._fields)
_IP_WIDTH = TEXT_WIDTHS["ip"]
_NO_RESPONSE = (None, None, None, None, ())
_NO_REQUEST = (None, None, None, None, None)


def _head(verdict: Verdict, principal: Principal | None) -> tuple[Any, ...]:
    """(workspace, API, key, owner, outcome) of a verification."""
    found = verdict.record
    if found is not None:
        key = found.key
        return (key.workspace_id, key.api_id, key.id, key.owner_id, verdict.code.value)
    workspace_id = None if principal is None else principal.workspace_id
    return (workspace_id, None, None, None, verdict.code.value)


def entries(batch: Sequence[Any]) -> list[Entry]:
    """The entries of a flat batch (``SLOTS`` items each, as the buffer holds
    them): records, or (at, verdict, context, principal) tuples."""
    # four strided slices and a zip: no per-entry slice of the flat list
    slots = (batch[0::SLOTS], batch[1::SLOTS], batch[2::SLOTS], batch[3::SLOTS])
    return [
        entry[0] if isinstance(entry[0], UsageRecord) else entry
        for entry in zip(*slots, strict=True)
    ]


def flatten(batch: Sequence[Any]) -> list[Any]:
    """The records of a flat batch as one flat list of plain values, ``FIELDS``
    per record (what the writer process is sent: it builds the records).

    The serving process pays for this on every record, so it is one pass with
    little per record: the key's fields are read once per key and outcome
    (a verdict with limits is a new object per request; its record is not)."""
    out: list[Any] = []
    add = out.extend
    heads: dict[tuple[VerifiableKey, Code], tuple[Any, ...]] = {}
    slots = iter(batch)
    for at, verdict, facts, principal in zip(slots, slots, slots, slots, strict=True):
        if verdict is None:  # a whole record, appended as (record, None, None, None)
            add(at)
            continue
        found = verdict.record
        known = None if found is None else heads.get((found, verdict.code))
        if known is not None:
            head = known
        else:
            head = _head(verdict, principal)
            if found is not None:  # records compare by identity
                heads[found, verdict.code] = head
        out.append(at)
        add(head)
        kind = type(facts)
        if kind is Completed:  # (context, then the response's fields in record order)
            context = facts[0]
            if context is None:
                add(_NO_REQUEST)
            else:
                add((context.ip, None, context.user_agent, context.method, context.path))
            add(facts[1:])
        elif kind is VerifyContext:
            add((facts.ip, None, facts.user_agent, facts.method, facts.path))
            add(_NO_RESPONSE)
        elif facts is None:
            add(_NO_REQUEST)
            add(_NO_RESPONSE)
        else:
            add(to_fields((at, verdict, facts, principal))[6:])
    return out


def unflatten(fields: Sequence[Any]) -> list[UsageRecord]:
    """The records of a ``flatten``ed batch."""
    return [UsageRecord(*fields[i : i + FIELDS]) for i in range(0, len(fields), FIELDS)]


_IP = UsageRecord._fields.index("ip")
_COUNTRY = UsageRecord._fields.index("country")


def records_of(fields: list[Any], resolver: CountryResolver | None) -> list[UsageRecord]:
    """``to_record`` of each record of a ``flatten``ed batch (a list, as the
    writer process receives it), each record built once: the country of an
    address that is storable as it is goes into the fields before the record
    is made (``to_record`` would look it up on the same text)."""
    make = UsageRecord._make
    country_of = None if resolver is None else resolver.country_of
    out: list[UsageRecord] = []
    add = out.append
    for i in range(0, len(fields), FIELDS):
        row = fields[i : i + FIELDS]
        ip = row[_IP]
        if ip is None or (type(ip) is str and is_storable(ip, _IP_WIDTH)):
            if country_of is not None and ip is not None and row[_COUNTRY] is None:
                row[_COUNTRY] = country_of(ip)
            add(storable_record(make(row)))
        else:
            add(to_record(make(row), resolver))
    return out


@dataclass(slots=True)
class _Group:
    """The records of one key (owner, API) in one minute."""

    summary: Rollup
    ips: set[str] = field(default_factory=set)
    agents: set[str] = field(default_factory=set)


def summarise(records: list[UsageRecord]) -> dict[RollupKey, Rollup]:
    """Rollup deltas per key, owner and API, per minute, hour and day.

    Records are first grouped per (key, owner, API, minute), so the cost of the
    sketches and of the nine rollups a record touches is paid per group."""
    groups: dict[tuple[str, str | None, str | None, str | None, int], _Group] = {}
    for r in records:
        if r.workspace_id is None or (r.key_id is None and r.api_id is None):
            continue  # MALFORMED / NOT_FOUND: raw rows only, no scope to roll up
        marker = (r.workspace_id, r.key_id, r.owner_id, r.api_id, int(r.at // 60) * 60)
        group = groups.get(marker)
        if group is None:
            group = groups[marker] = _Group(Rollup())
        s = group.summary
        s.count += 1
        s.codes[r.code] = s.codes.get(r.code, 0) + 1
        if r.status is not None:
            cls = f"{r.status // 100}xx"
            s.statuses[cls] = s.statuses.get(cls, 0) + 1
        if r.response_ms is not None:
            index = latency_bucket(r.response_ms)
            s.latency[index] = s.latency.get(index, 0) + 1
        if r.bytes_in:
            s.bytes_in += r.bytes_in
        if r.bytes_out:
            s.bytes_out += r.bytes_out
        if r.ip is not None:
            group.ips.add(r.ip)
        if r.user_agent is not None:
            group.agents.add(r.user_agent)
    points: dict[str, tuple[int, int]] = {}
    out: dict[RollupKey, Rollup] = {}
    for (workspace_id, key_id, owner_id, api_id, minute), group in groups.items():
        s = group.summary
        hll_add(s.ips, [points.get(v) or points.setdefault(v, hll_point(v)) for v in group.ips])
        hll_add(
            s.user_agents,
            [points.get(v) or points.setdefault(v, hll_point(v)) for v in group.agents],
        )
        for scope, scope_id in (("key", key_id), ("owner", owner_id), ("api", api_id)):
            if scope_id is None:
                continue
            for granularity, size in GRANULARITIES.items():
                k = RollupKey(workspace_id, scope, scope_id, granularity, minute // size * size)
                into = out.get(k)
                if into is None:
                    into = out[k] = Rollup()
                into.merge(s)
    return out


__all__ = [
    "FIELDS",
    "SLOTS",
    "Completed",
    "Entry",
    "VerifiedEntry",
    "entries",
    "flatten",
    "records_of",
    "summarise",
    "to_fields",
    "to_record",
    "unflatten",
]
