"""Charts drawn on the server as SVG: no script, no network, readable without CSS.

Every chart scales with its container (viewBox, width 100%) and carries a <title> and a
table-like text alternative in ``aria-label``.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

_W = 600
_BAR = 28
_GAP = 8
_LABEL_W = 205


def _svg(height: int, label: str, body: list[str]) -> Markup:
    head = (f'<svg class="chart" viewBox="0 0 {_W} {height}" width="100%" role="img" '
            f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{escape(label)}</title>")
    return Markup(head + "".join(body) + "</svg>")


def hbars(title: str, rows: Sequence[tuple[str, float, str]], *, scale: float = 1.0) -> Markup:
    """Horizontal bars: (label, value in [0, scale], text shown after the bar) per row."""
    if not rows:
        return Markup('<p class="muted">No data yet.</p>')
    height = len(rows) * (_BAR + _GAP) + _GAP
    body = []
    bar_w = _W - _LABEL_W - 110
    for i, (label, value, text) in enumerate(rows):
        y = _GAP + i * (_BAR + _GAP)
        width = 0.0 if scale <= 0 else max(0.0, min(1.0, value / scale)) * bar_w
        short = label if len(label) <= 24 else label[:23] + "…"
        body.append(
            f'<text x="{_LABEL_W - 8}" y="{y + _BAR * 0.68:.1f}" text-anchor="end" '
            f'class="chart-label">{escape(short)}<title>{escape(label)}</title></text>'
            f'<rect x="{_LABEL_W}" y="{y}" width="{bar_w}" height="{_BAR}" class="chart-track"/>'
            f'<rect x="{_LABEL_W}" y="{y}" width="{width:.1f}" height="{_BAR}" class="chart-bar"/>'
            f'<text x="{_LABEL_W + width + 6:.1f}" y="{y + _BAR * 0.68:.1f}" '
            f'class="chart-value">{escape(text)}</text>'
        )
    summary = "; ".join(f"{label}: {text}" for label, _, text in rows)
    return _svg(height, f"{title}. {summary}", body)


def columns(title: str, bins: Sequence[tuple[str, int]], *, highlight: int | None = None,
            marker: tuple[int, str] | None = None) -> Markup:
    """Vertical columns, one per (label, count); ``marker`` draws a line before bin i."""
    if not bins or not any(count for _, count in bins):
        return Markup('<p class="muted">No data yet.</p>')
    height, top, bottom, left = 240, 16, 40, 36
    plot_h = height - top - bottom
    peak = max(count for _, count in bins)
    step = (_W - left - 8) / len(bins)
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{_W - 4}" y2="{top + plot_h}" '
            'class="chart-axis"/>']
    label_every = max(1, -(-len(bins) // 6))
    for i, (label, count) in enumerate(bins):
        h = plot_h * count / peak
        x = left + i * step
        cls = "chart-bar chart-hl" if highlight == i else "chart-bar"
        body.append(
            f'<rect x="{x + 2:.1f}" y="{top + plot_h - h:.1f}" width="{max(step - 4, 1):.1f}" '
            f'height="{h:.1f}" class="{cls}"><title>{escape(label)}: {count}</title></rect>'
        )
        if count:
            body.append(f'<text x="{x + step / 2:.1f}" y="{top + plot_h - h - 4:.1f}" '
                        f'text-anchor="middle" class="chart-value">{count}</text>')
        if i % label_every == 0:
            body.append(f'<text x="{x + step / 2:.1f}" y="{height - bottom + 16}" '
                        f'text-anchor="middle" class="chart-label">{escape(label)}</text>')
    if marker is not None:
        mx = left + marker[0] * step
        body.append(f'<line x1="{mx:.1f}" y1="{top}" x2="{mx:.1f}" y2="{top + plot_h}" '
                    'class="chart-marker"/>'
                    f'<text x="{mx - 4:.1f}" y="{top + 10}" text-anchor="end" class="chart-label">'
                    f"{escape(marker[1])}</text>")
    summary = ", ".join(f"{label}: {count}" for label, count in bins)
    return _svg(height, f"{title}. {summary}", body)
