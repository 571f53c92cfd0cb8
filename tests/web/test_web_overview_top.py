"""The overview's busiest keys and owners: the workspace's for an unnarrowed
root key (one read of the hour rollups), only the visible APIs' keys for one
narrowed to some APIs, only its own for one narrowed to an owner."""

from __future__ import annotations

import re

from keystead.core.clock import ManualClock
from keystead.core.models import VerifyContext
from keystead.service import Keystead

from .webkit import open_browser


def _rows(html: str, heading: str) -> list[tuple[str, str]]:
    """(first cell's text, count) of the table under ``heading``."""
    section = html.split(heading, 1)[1].split("</section>", 1)[0]
    cells = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td class=\"num\">([\d,]+)</td>", section, re.S)
    return [(re.sub(r"<[^>]+>", " ", name).split()[0], n) for name, n in cells]


async def test_top_keys_and_owners_follow_the_reader(
    keystead: Keystead, clock: ManualClock
) -> None:
    async with open_browser(keystead) as b:
        op = b.operator
        a = await keystead.apis.create(op, name="a")
        other = await keystead.apis.create(op, name="b")
        k1 = await keystead.keys.create(op, api_id=a.id, name="alpha", owner_id="carol")
        k2 = await keystead.keys.create(op, api_id=other.id, name="beta", owner_id="carol")
        k3 = await keystead.keys.create(op, api_id=other.id, name="gamma", owner_id="dave")
        for key, n in ((k1, 2), (k2, 3), (k3, 4)):
            for _ in range(n):
                assert (await keystead.verify(key.plaintext, VerifyContext())).valid
        await keystead.flush()
        clock.advance(60)
        await b.sign_in()
        page = (await b.client.get("/ui/")).text
        assert _rows(page, "Top keys") == [("gamma", "4"), ("beta", "3"), ("alpha", "2")]
        assert _rows(page, "Top owners") == [("carol", "5"), ("dave", "4")]

        only_a = await keystead.root_keys.create(op, name="api a", api_ids=[a.id])
        await b.client.post("/ui/sign-out", data={"csrf": await b.csrf()})
        await b.sign_in(only_a.plaintext)
        page = (await b.client.get("/ui/")).text
        assert _rows(page, "Top keys") == [("alpha", "2")]
        assert _rows(page, "Top owners") == [("carol", "2")]  # its share of carol

        daves = await keystead.root_keys.create(op, name="dave", owner_id="dave")
        await b.client.post("/ui/sign-out", data={"csrf": await b.csrf()})
        await b.sign_in(daves.plaintext)
        page = (await b.client.get("/ui/")).text
        assert _rows(page, "Top keys") == [("gamma", "4")]
        assert "Top owners" not in page
