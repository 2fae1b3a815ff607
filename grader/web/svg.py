"""Charts drawn on the server as SVG: no script, no network, readable without CSS.

Every chart is a set of horizontal bars, each with its label and its value written beside it
(no bar is ever left unlabelled, however many there are). The SVG is drawn at its natural
width and only shrinks to fit, so its text never renders smaller than 14 px x (phone card
width / 400) ≈ 11.8 px at a 390 px wide screen. Each chart carries a <title>, an
``aria-label`` summary and, below it, the same numbers as a table (its full text equivalent).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from markupsafe import Markup, escape

#: Natural width of every chart, in CSS pixels.
WIDTH = 400
#: Font size of chart text in SVG units (= CSS pixels at natural width); see app.css.
FONT = 14
#: A generous average advance of a character of the UI font (wide ones, as DejaVu Sans).
_CHAR = 0.62 * FONT
_BAR, _GAP = 24, 9
_LABEL_ROW = 19
#: Labels longer than this go on a line of their own above their bar.
_SIDE_LABEL_MAX = 170
_STACKED_CHARS = int(WIDTH / _CHAR) - 1


def _clip(label: str, chars: int) -> str:
    return label if len(label) <= chars else label[: chars - 1] + "…"


def _table(title: str, headers: tuple[str, str], rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th scope=\"row\">{escape(label)}</th><td class=\"num\">{escape(text)}"
                   "</td></tr>" for label, text in rows)
    return ('<details class="chart-numbers"><summary>The numbers as a table</summary>'
            f'<table class="table"><caption>{escape(title)}</caption><thead><tr>'
            f'<th scope="col">{escape(headers[0])}</th><th scope="col" class="num">'
            f"{escape(headers[1])}</th></tr></thead><tbody>{body}</tbody></table></details>")


def hbars(title: str, rows: Sequence[tuple[str, float, str]], *, caption: str = "",
          headers: tuple[str, str] = ("", "Value"), highlight: Collection[int] = ()) -> Markup:
    """Horizontal bars: (label, length in [0, 1], value written after the bar) per row.

    Args:
        title: What the chart shows; its <title>, aria-label and table caption.
        caption: The basis of the numbers, shown under the chart.
        headers: Column headings of the table of numbers.
        highlight: Indexes of rows drawn in the highlight colour (e.g. the due date).
    """
    if not rows:
        return Markup('<p class="muted">No data yet.</p>')
    longest = max(len(label) for label, _, _ in rows)
    side = longest * _CHAR + 10 <= _SIDE_LABEL_MAX
    label_w = max(48.0, longest * _CHAR + 10) if side else 0.0
    # Room after the longest bar for the longest value.
    value_w = max(len(text) for _, _, text in rows) * _CHAR + 10
    bar_w = WIDTH - label_w - value_w
    step = _BAR + _GAP + (0 if side else _LABEL_ROW)
    body = []
    for i, (label, value, text) in enumerate(rows):
        y = _GAP + i * step
        if side:
            body.append(f'<text x="{label_w - 8:.1f}" y="{y + _BAR * 0.7:.1f}" '
                        f'text-anchor="end" class="chart-label">{escape(label)}</text>')
        else:
            body.append(f'<text x="0" y="{y + 14}" class="chart-label">'
                        f"{escape(_clip(label, _STACKED_CHARS))}<title>{escape(label)}</title>"
                        "</text>")
            y += _LABEL_ROW
        width = max(0.0, min(1.0, value)) * bar_w
        cls = "chart-bar chart-hl" if i in highlight else "chart-bar"
        body.append(
            f'<rect x="{label_w:.1f}" y="{y}" width="{bar_w:.1f}" height="{_BAR}" '
            'class="chart-track"/>'
            f'<rect x="{label_w:.1f}" y="{y}" width="{width:.1f}" height="{_BAR}" class="{cls}"/>'
            f'<text x="{label_w + width + 6:.1f}" y="{y + _BAR * 0.7:.1f}" '
            f'class="chart-value">{escape(text)}</text>'
        )
    height = _GAP + len(rows) * step
    summary = "; ".join(f"{label}: {text}" for label, _, text in rows)
    svg = (f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
           f'height="{height}" role="img" aria-label="{escape(title)}. {escape(summary)}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
           + "".join(body) + "</svg>")
    note = f'<figcaption class="basis">{escape(caption)}</figcaption>' if caption else ""
    table = _table(title, headers, [(label, text) for label, _, text in rows])
    return Markup(f'<figure class="chart-figure">{svg}{note}{table}</figure>')


def counts(title: str, bins: Sequence[tuple[str, int]], *, caption: str = "",
           headers: tuple[str, str] = ("", "Count"), highlight: Collection[int] = ()) -> Markup:
    """A histogram: one bar per (label, count), scaled to the largest count."""
    if not bins or not any(count for _, count in bins):
        return Markup('<p class="muted">No data yet.</p>')
    peak = max(count for _, count in bins)
    return hbars(title, [(label, count / peak, str(count)) for label, count in bins],
                 caption=caption, headers=headers, highlight=highlight)
