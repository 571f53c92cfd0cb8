"""Whether a regex's matches always lie within one line.

Such a rule need not run over a whole file: the prefilter reports where its
matches end, and the engine runs Python's regex on those lines only. The
analysis walks the parsed pattern and answers ``False`` whenever it is unsure.
"""

from __future__ import annotations

import re
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

_NEWLINE = "\n"
_CATEGORY_ESCAPES = {
    "DIGIT": r"\d",
    "NOT_DIGIT": r"\D",
    "SPACE": r"\s",
    "NOT_SPACE": r"\S",
    "WORD": r"\w",
    "NOT_WORD": r"\W",
    "LINEBREAK": r"\n",
    "NOT_LINEBREAK": r"[^\n]",
}


def single_line(regex: str) -> bool:
    """True when no match of ``regex`` can hold a newline, look past one with
    a lookaround, or depend on the end of the text (``$``, ``\\Z``, ``\\A``)."""
    try:
        parsed = sre_parse.parse(regex)
    except (re.error, RecursionError, OverflowError):
        return False
    try:
        dotall = bool(parsed.state.flags & sre.SRE_FLAG_DOTALL)
        return not _crosses(parsed, dotall=dotall)
    except (AttributeError, TypeError, ValueError, RecursionError):
        return False


def _crosses(pattern: Any, *, dotall: bool) -> bool:
    """Whether some item of a parsed (sub)pattern may take a newline."""
    for op, av in pattern:
        name = str(op)
        if name == "LITERAL":
            if av == ord(_NEWLINE):
                return True
        elif name == "NOT_LITERAL":
            if av != ord(_NEWLINE):
                return True
        elif name == "ANY":
            if dotall:
                return True
        elif name == "IN":
            if _set_takes_newline(av):
                return True
        elif name == "AT":
            if str(av) not in ("AT_BEGINNING", "AT_BOUNDARY", "AT_NON_BOUNDARY"):
                return True
        elif name == "BRANCH":
            if any(_crosses(branch, dotall=dotall) for branch in av[1]):
                return True
        elif name == "SUBPATTERN":
            _group, add_flags, _del_flags, inner = av
            if _crosses(inner, dotall=dotall or bool(add_flags & sre.SRE_FLAG_DOTALL)):
                return True
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if _crosses(av[2], dotall=dotall):
                return True
        elif name in ("ASSERT", "ASSERT_NOT"):
            if _crosses(av[1], dotall=dotall):
                return True
        elif name == "ATOMIC_GROUP":
            if _crosses(av, dotall=dotall):
                return True
        else:  # a backreference, a conditional group, anything new: unsure
            return True
    return False


def _set_takes_newline(items: list[tuple[Any, Any]]) -> bool:
    negate = False
    takes = False
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            takes = takes or av == ord(_NEWLINE)
        elif name == "RANGE":
            takes = takes or av[0] <= ord(_NEWLINE) <= av[1]
        elif name == "CATEGORY":
            category = str(av).removeprefix("CATEGORY_").removeprefix("UNI_").removeprefix("LOC_")
            escape = _CATEGORY_ESCAPES.get(category)
            if escape is None:
                return True
            takes = takes or re.fullmatch(escape, _NEWLINE) is not None
        else:
            return True
    return takes != negate


__all__ = ["single_line"]
