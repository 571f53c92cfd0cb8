"""Resource ids: time-ordered, well-formed, unique, and never repeated by a forked
child (the random bytes come from a pool refilled from ``os.urandom``)."""

from __future__ import annotations

import os

from keystead.core.ids import looks_like_id, new_id


def test_ids_are_well_formed_unique_and_sort_by_time() -> None:
    ids = [new_id("aud", 1_700_000_000.0 + n / 1000) for n in range(1000)]

    assert all(looks_like_id("aud", i) for i in ids)
    assert len(set(ids)) == 1000
    assert ids == sorted(ids)


def test_a_forked_child_draws_other_bytes_than_its_parent() -> None:
    new_id("aud", 0.0)  # the parent's pool holds unused bytes when it forks
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(write, new_id("aud", 0.0).encode())
        os._exit(0)
    os.waitpid(child, 0)
    os.close(write)
    from_child = os.read(read, 64).decode()
    os.close(read)

    assert looks_like_id("aud", from_child)
    assert from_child != new_id("aud", 0.0)
