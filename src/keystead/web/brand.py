"""The portal's branding as a stylesheet: the CSP forbids inline styles, so the
accent colour reaches the page as a CSS custom property from this answer."""

from __future__ import annotations

import re

from starlette.responses import Response

from keystead.web.routing import WebRequest, page

DEFAULT_ACCENT = "#2457c5"
_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def accent_of(value: str | None) -> str:
    """A ``#rgb`` or ``#rrggbb`` colour, else the default (nothing else reaches CSS)."""
    return value if value is not None and _HEX.fullmatch(value) else DEFAULT_ACCENT


def _luminance(colour: str) -> float:
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def on_accent(colour: str) -> str:
    """White or near-black text, whichever contrasts more with ``colour``."""
    light = _luminance(colour)
    white = 1.05 / (light + 0.05)
    dark = (light + 0.05) / (_luminance("#111111") + 0.05)
    return "#ffffff" if white >= dark else "#111111"


def stylesheet(accent: str | None) -> str:
    colour = accent_of(accent)
    return f":root {{\n  --accent: {colour};\n  --on-accent: {on_accent(colour)};\n}}\n"


@page("/portal/brand.css", area="portal")
async def brand_css(req: WebRequest) -> Response:
    body = stylesheet(req.branding.accent)
    return Response(body, media_type="text/css; charset=utf-8")
