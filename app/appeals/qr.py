"""The appeal's public address as a QR code, to post in Zalo groups and on paper (segno: PNG and SVG)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import segno


def _code(url: str) -> segno.QRCode:
    import segno  # loaded where a code is drawn, not at the API's start

    # Error correction M survives a photo of a screen or a crumpled poster; the address is short anyway.
    return segno.make_qr(url, error="m")


def png(url: str, scale: int = 10) -> bytes:
    out = io.BytesIO()
    _code(url).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def svg(url: str, scale: int = 8, *, inline: bool = False) -> bytes:
    """The code as an SVG file, or (inline) as an element for a page, sized by its viewBox to fit its box."""
    out = io.BytesIO()
    _code(url).save(out, kind="svg", scale=scale, border=4, xmldecl=not inline, omitsize=inline, title=url)
    return out.getvalue()
