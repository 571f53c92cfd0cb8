"""Hide secret values in a byte stream (the child's stdout and stderr under
``keystead run``).

Every occurrence of a value's UTF-8 bytes is replaced by ``*****``, and so is each
line of a multi-line value (a PEM key printed line by line). Values shorter than
``MIN_MASKED_LENGTH`` characters are left alone: masking ``on`` or ``1`` would
garble every line of output and protect nothing. Overlapping occurrences of two
values become one mask (two values side by side, two masks).

A value may arrive split across reads: the filter holds back the longest tail of
what it has seen that could still be the start of a value (only that, so a prompt
without a newline is shown at once unless it ends like the start of a secret), and
decides when the next bytes come, or at the end of the stream.

It hides values as written; an encoded form (base64, URL- or JSON-escaped) is not
recognised.
"""

from __future__ import annotations

from collections.abc import Iterable

MASK = b"*****"
MIN_MASKED_LENGTH = 4


def masked_forms(values: Iterable[str], minimum: int = MIN_MASKED_LENGTH) -> list[bytes]:
    """The byte strings to hide for ``values``: each value and each line of it,
    at least ``minimum`` characters long, longest first, without repeats."""
    forms: set[bytes] = set()
    for value in values:
        candidates = [value]
        if "\n" in value:
            candidates += [line.rstrip("\r") for line in value.split("\n")]
        for text in candidates:
            if len(text.strip()) >= minimum:
                forms.add(text.encode("utf-8"))
    return sorted(forms, key=lambda form: (-len(form), form))


class Masker:
    """``feed`` bytes in, masked bytes out; ``flush`` at the end of the stream."""

    def __init__(self, forms: Iterable[bytes]) -> None:
        self._forms = [form for form in forms if form]
        self._buffer = b""

    def feed(self, chunk: bytes) -> bytes:
        if not self._forms:
            return chunk
        self._buffer += chunk
        held = self._held_back()
        out, rest = self._mask(len(self._buffer) - held)
        self._buffer = rest
        return out

    def flush(self) -> bytes:
        out, _ = self._mask(len(self._buffer))
        self._buffer = b""
        return out

    def _held_back(self) -> int:
        """The length of the longest tail of the buffer that is a proper prefix
        of a value (it may be completed by the next chunk)."""
        buffer, longest = self._buffer, 0
        for form in self._forms:
            first = form[:1]
            start = buffer.find(first, max(0, len(buffer) - len(form) + 1))
            while start != -1 and len(buffer) - start > longest:
                if form.startswith(buffer[start:]):
                    longest = len(buffer) - start
                    break
                start = buffer.find(first, start + 1)
        return longest

    def _mask(self, safe: int) -> tuple[bytes, bytes]:
        """Mask the runs of the buffer that end by ``safe``; return what can be
        written and what stays buffered. A value starting before ``safe`` is whole
        in the buffer (``safe`` leaves out every possible unfinished one); a run
        reaching past ``safe`` is held whole, as an unfinished value may overlap it."""
        buffer = self._buffer
        out: list[bytes] = []
        position = 0
        cut = safe
        for start, end in _runs(buffer, self._forms):
            if start >= safe:
                break
            if end > safe:
                cut = start
                break
            out.append(buffer[position:start])
            out.append(MASK)
            position = end
        cut = max(cut, position)
        out.append(buffer[position:cut])
        return b"".join(out), buffer[cut:]


def _runs(buffer: bytes, forms: list[bytes]) -> list[tuple[int, int]]:
    """The merged [start, end) ranges of every occurrence of every form."""
    spans: list[tuple[int, int]] = []
    for form in forms:
        start = buffer.find(form)
        while start != -1:
            spans.append((start, start + len(form)))
            start = buffer.find(form, start + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


__all__ = ["MASK", "MIN_MASKED_LENGTH", "Masker", "masked_forms"]
