"""Checks of rendered pages shared by the custody pages' tests."""

from __future__ import annotations

import re
from collections import Counter

_ID = re.compile(r'\sid="([^"]+)"')


def assert_unique_ids(html: str) -> None:
    """Every ``id`` once: labels and ``aria-describedby`` point at one element."""
    repeated = [name for name, n in Counter(_ID.findall(html)).items() if n > 1]
    assert not repeated, repeated


def assert_no_inline_script(html: str) -> None:
    assert "<script>" not in html and " style=" not in html
