"""Bar charts drawn on the server as SVG: no script, no chart library, readable on a phone and in a printout.
Labels come from data (district and unit names): every text is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

COLOURS = ("#0b5cad", "#1a7f37", "#bc4c00", "#8250df")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    step = 10 ** (len(str(int(value))) - 1)
    return float(((int(value) // step) + 1) * step)


def columns(categories: Sequence[str], series: Sequence[Series], title: str, *, height: int = 260) -> Markup:
    """Grouped columns, one group per category (e.g. months), one column per series, with a legend."""
    width = max(360, 60 + len(categories) * (14 * len(series) + 18))
    top, bottom, left = 34, 46, 40
    plot_h = height - top - bottom
    peak = _nice_max(max((v for s in series for v in s.values), default=0))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" style="max-width:{width}px" role="img" '
        f'aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d7de"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#57606a">{peak * i / 4:g}</text>')
    group_w = (width - left - 8) / max(1, len(categories))
    bar_w = min(22.0, (group_w - 8) / max(1, len(series)))
    for c, category in enumerate(categories):
        x0 = left + c * group_w + (group_w - bar_w * len(series)) / 2
        for s, one in enumerate(series):
            value = one.values[c]
            h = plot_h * value / peak
            x = x0 + s * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[s % len(COLOURS)]}">'
                f"<title>{escape(category)} · {escape(one.name)}: {value:g}</title></rect>"
            )
        parts.append(
            f'<text x="{left + c * group_w + group_w / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'fill="#1b1f24">{escape(category)}</text>'
        )
    lx = left
    for s, one in enumerate(series):
        parts.append(f'<rect x="{lx}" y="8" width="12" height="12" fill="{COLOURS[s % len(COLOURS)]}"/>')
        parts.append(f'<text x="{lx + 16}" y="18" fill="#1b1f24">{escape(one.name)}</text>')
        lx += 24 + 7 * len(one.name)
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(labels: Sequence[str], series: Sequence[Series], title: str) -> Markup:
    """Horizontal bars, one row per label (e.g. districts), one bar per series: long names stay readable."""
    row_h = 10 * len(series) + 12
    label_w, width, top = 170, 520, 30
    height = top + row_h * max(1, len(labels)) + 10
    peak = _nice_max(max((v for s in series for v in s.values), default=0))
    plot_w = width - label_w - 40
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" style="max-width:{width}px" role="img" '
        f'aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
    ]
    lx = label_w
    for s, one in enumerate(series):
        parts.append(f'<rect x="{lx}" y="6" width="12" height="12" fill="{COLOURS[s % len(COLOURS)]}"/>')
        parts.append(f'<text x="{lx + 16}" y="16" fill="#1b1f24">{escape(one.name)}</text>')
        lx += 24 + 7 * len(one.name)
    for r, label in enumerate(labels):
        y0 = top + r * row_h
        shown = label if len(label) <= 28 else label[:27] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y0 + row_h / 2 + 3:.1f}" text-anchor="end" '
            f'fill="#1b1f24">{escape(shown)}</text>'
        )
        for s, one in enumerate(series):
            value = one.values[r]
            w = plot_w * value / peak
            y = y0 + 4 + s * 10
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="8" fill="{COLOURS[s % len(COLOURS)]}">'
                f"<title>{escape(label)} · {escape(one.name)}: {value:g}</title></rect>"
            )
            parts.append(f'<text x="{label_w + w + 3:.1f}" y="{y + 7}" fill="#57606a">{value:g}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
