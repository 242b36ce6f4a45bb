"""Inline SVG charts for the console's analytics page: a line chart over months and the A/B/C/D
pyramid. Plain SVG elements styled by classes in console.css (the console's CSP allows neither
inline styles nor scripts, and nothing is loaded from elsewhere); every text goes through `esc`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hq.console.html import esc

#: The line chart's canvas (viewBox units) and its margins: left for the y labels, below for months.
WIDTH, HEIGHT = 360, 170
LEFT, RIGHT, TOP, BOTTOM = 52, 10, 12, 26


def _n(value: float) -> str:
    return f"{value:.1f}"


def line_chart(
    ident: str, title: str, labels: Sequence[str], values: Sequence[float | None], fmt: Callable[[float], str]
) -> str:
    """One series over `labels` (months, "YYYY-MM"): a polyline broken where a value is None (a rate
    of nothing), a dot per value with its month and figure as tooltip, the top and zero of the y
    axis labelled; the x axis shows each label's part after its last "-" (the month's number)."""
    top = max((v for v in values if v is not None), default=0.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(labels) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return LEFT + i * step, TOP + plot_h * (1 - v / top)

    parts = [
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}"/>',
        f'<line class="rule" x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP}"/>',
        f'<text class="ylabel" x="{LEFT - 4}" y="{TOP + 4}">{esc(fmt(top))}</text>',
        f'<text class="ylabel" x="{LEFT - 4}" y="{TOP + plot_h + 4}">{esc(fmt(0.0))}</text>',
    ]
    runs: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            runs.append([])
        else:
            runs[-1].append(xy(i, v))
    for run in runs:
        if len(run) > 1:
            points = " ".join(f"{_n(x)},{_n(y)}" for x, y in run)
            parts.append(f'<polyline class="line" points="{points}"/>')
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * step
        parts.append(f'<text class="xlabel" x="{_n(x)}" y="{HEIGHT - 8}">{esc(label.rsplit("-", 1)[-1])}</text>')
        if v is not None:
            cx, cy = xy(i, v)
            tip = f"<title>{esc(label)}: {esc(fmt(v))}</title>"
            parts.append(f'<circle class="dot" cx="{_n(cx)}" cy="{_n(cy)}" r="3">{tip}</circle>')
    return (
        f'<figure class="chart" id="{esc(ident)}"><figcaption>{esc(title)}</figcaption>'
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{esc(title)}">{"".join(parts)}</svg></figure>'
    )


def pyramid(ident: str, title: str, tiers: Sequence[tuple[str, float, str]]) -> str:
    """Stacked, centred bands top to bottom (A first), each as wide as its share of the members
    (at least a sliver, so an empty tier still shows), its letter at the left, its caption at the
    right; no figure caption, the page's heading names the chart.

    `tiers`: (tier letter, member share 0..1, caption)."""
    band_h, gap, axis_w, caption_x = 34, 4, 300, 350
    width, height = 800, len(tiers) * (band_h + gap)
    centre = 30 + axis_w / 2
    parts = []
    for i, (tier, member_share, caption) in enumerate(tiers):
        w = max(axis_w * member_share, 6.0)
        y = i * (band_h + gap)
        parts.append(
            f'<rect class="tier tier-{esc(tier)}" x="{_n(centre - w / 2)}" y="{y}" width="{_n(w)}" height="{band_h}">'
            f"<title>{esc(caption)}</title></rect>"
            f'<text class="tier-letter" x="8" y="{y + band_h / 2 + 5}">{esc(tier)}</text>'
            f'<text class="tier-caption" x="{caption_x}" y="{y + band_h / 2 + 5}">{esc(caption)}</text>'
        )
    return (
        f'<figure class="chart pyramid" id="{esc(ident)}">'
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{esc(title)}">{"".join(parts)}</svg></figure>'
    )
