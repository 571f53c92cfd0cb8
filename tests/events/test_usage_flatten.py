"""``flatten``: the one-pass form of a batch the writer process is sent gives
exactly the records the inline writer builds, for every kind of entry."""

from __future__ import annotations

import marshal
from typing import Any

from keystead.core.authz import Principal
from keystead.core.models import VerifyContext
from keystead.core.usage import UsageRecord
from keystead.events.usage._rollup import (
    FIELDS,
    SLOTS,
    Completed,
    entries,
    flatten,
    to_record,
    unflatten,
)
from keystead.service import Keystead

CONTEXT = VerifyContext(ip="10.1.2.3", user_agent="curl/8", method="GET", path="/v1/items")


async def test_flatten_gives_the_records_the_inline_writer_builds(
    keystead: Keystead, admin: Principal
) -> None:
    api = await keystead.apis.create(admin, name="items")
    alice = await keystead.keys.create(admin, api_id=api.id, owner_id="alice")
    bob = await keystead.keys.create(admin, api_id=api.id, owner_id="bob", permissions=["a"])
    valid_a = await keystead.verify(alice.plaintext, CONTEXT, record=False)
    valid_b = await keystead.verify(bob.plaintext, CONTEXT, record=False)
    denied = await keystead.verify(bob.plaintext, VerifyContext(permissions="b"), record=False)
    unknown = await keystead.verify("nope", CONTEXT, principal=admin, record=False)
    assert valid_a.valid and valid_b.valid and not denied.valid and not unknown.valid
    done = Completed(CONTEXT, 201, 12.5, 100, 2000, ("orders", "eu"))
    record = UsageRecord(5.0, "ws", "api", "key", "owner", "VALID", "1.1.1.1", "AU", tags=("t",))
    batch: list[Any] = []
    for at, verdict, facts, principal in [
        (1.0, valid_a, CONTEXT, admin),
        (2.0, valid_b, None, None),
        (3.0, valid_a, done, admin),  # the same shared verdict again, completed
        (4.0, denied, VerifyContext(ip="::1"), admin),
        (6.0, unknown, CONTEXT, admin),  # no key: the workspace is the principal's
        (7.0, unknown, CONTEXT, None),  # the same shared verdict, no principal
        (8.0, valid_b, CONTEXT, None),
    ]:
        batch.extend((at, verdict, facts, principal))
    batch.extend((record, None, None, None))
    expected = [to_record(entry, None) for entry in entries(batch)]
    flat = flatten(batch)
    assert len(flat) == FIELDS * len(batch) // SLOTS
    sent = marshal.loads(marshal.dumps(flat))  # noqa: S302 - the pipe: plain data only
    assert unflatten(sent) == expected
    by_time = {r.at: r for r in expected}
    assert by_time[1.0].key_id == alice.key.id and by_time[1.0].owner_id == "alice"
    assert by_time[3.0].status == 201 and by_time[3.0].tags == ("orders", "eu")
    assert by_time[6.0].workspace_id == admin.workspace_id and by_time[6.0].key_id is None
    assert by_time[7.0].workspace_id is None
    assert by_time[5.0] == record
