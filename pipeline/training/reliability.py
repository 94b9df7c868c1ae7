"""Reliability diagrams: does a probability mean what it says? Per probability bin, the mean probability
beside the observed rate, as text (``--cv`` prints it) and as SVG (the model card's plots, ``--cv --plots``).

The SVG is written by hand rather than by a plotting library: it is two dozen shapes, and the project has no
plotting dependency to carry for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    passages: int
    mean_probability: float | None  # None for an empty bin
    observed_rate: float | None


def reliability_bins(probabilities: Sequence[float], gold: Sequence[bool], bins: int = 10) -> list[ReliabilityBin]:
    """Equal-width bins over [0, 1]; the last bin holds 1.0 itself."""
    p, y = np.asarray(probabilities, dtype=float), np.asarray(gold, dtype=bool)
    if p.shape != y.shape:
        raise ValueError(f"{len(p)} probabilities against {len(y)} gold answers")
    out = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = (p >= low) & ((p < high) if b < bins - 1 else (p <= high))
        n = int(inside.sum())
        out.append(ReliabilityBin(low, high, n, float(p[inside].mean()) if n else None,
                                  float(y[inside].mean()) if n else None))
    return out


def reliability_table(bins: Sequence[ReliabilityBin], what: str) -> str:
    """The diagram as text, with a bar per bin: observed rate ``#``, mean probability ``|`` (``+`` where equal)."""
    passages = sum(b.passages for b in bins)
    lines = [f"Reliability of {what} ({passages} passages; bar: observed rate #, mean probability |)",
             f"{'bin':<11}{'passages':>9}{'mean p':>8}{'observed':>10}  0 ......... 1"]
    for b in bins:
        span = f"[{b.low:.1f}, {b.high:.1f})"
        if b.mean_probability is None or b.observed_rate is None:
            lines.append(f"{span}{0:>9}{'-':>8}{'-':>10}")
            continue
        bar = [" "] * 11
        bar[round(b.observed_rate * 10)] = "#"
        at = round(b.mean_probability * 10)
        bar[at] = "|" if bar[at] == " " else "+"
        lines.append(f"{span}{b.passages:>9}{b.mean_probability:>8.3f}{b.observed_rate:>10.3f}  {''.join(bar)}")
    return "\n".join(lines)


SIZE = 300  # the plot square, in SVG user units
LEFT, TOP, BOTTOM, RIGHT = 56, 40, 48, 16


def reliability_svg(bins: Sequence[ReliabilityBin], what: str) -> str:
    """The diagram as a standalone SVG: a bar per bin up to its observed rate, a dot at (mean probability,
    observed rate), the bin's passages above the bar, and the diagonal a calibrated probability would follow."""

    def x(value: float) -> float:
        return LEFT + value * SIZE

    def y(value: float) -> float:
        return TOP + (1 - value) * SIZE

    width, height = LEFT + SIZE + RIGHT, TOP + SIZE + BOTTOM
    passages = sum(b.passages for b in bins)
    shapes = [f'<rect x="{LEFT}" y="{TOP}" width="{SIZE}" height="{SIZE}" fill="white" stroke="#444"/>']
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        shapes += [f'<line x1="{x(tick):.1f}" y1="{y(0):.1f}" x2="{x(tick):.1f}" y2="{y(0) + 4:.1f}" stroke="#444"/>',
                   f'<text x="{x(tick):.1f}" y="{y(0) + 16:.1f}" text-anchor="middle">{tick:.1f}</text>',
                   f'<line x1="{x(0) - 4:.1f}" y1="{y(tick):.1f}" x2="{x(0):.1f}" y2="{y(tick):.1f}" stroke="#444"/>',
                   f'<text x="{x(0) - 7:.1f}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:.1f}</text>']
    shapes.append(f'<line class="calibrated" x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#999" '
                  'stroke-dasharray="4 3"/>')
    for b in bins:
        if b.mean_probability is None or b.observed_rate is None:
            continue
        top = y(b.observed_rate)
        shapes += [f'<rect class="observed" x="{x(b.low) + 1:.1f}" y="{top:.1f}" '
                   f'width="{x(b.high) - x(b.low) - 2:.1f}" height="{y(0) - top:.1f}" fill="#9ecae1"/>',
                   f'<circle class="mean" cx="{x(b.mean_probability):.1f}" cy="{top:.1f}" r="3" fill="#08519c"/>',
                   f'<text class="passages" x="{x((b.low + b.high) / 2):.1f}" y="{top - 6:.1f}" text-anchor="middle" '
                   f'font-size="9">{b.passages}</text>']
    shapes += [f'<text x="{LEFT + SIZE / 2}" y="{height - 10}" text-anchor="middle">probability (bins of '
               f'{bins[0].high - bins[0].low:.1f})</text>',
               f'<text transform="translate(14 {TOP + SIZE / 2}) rotate(-90)" text-anchor="middle">'
               'observed rate (bar)</text>',
               f'<text x="{LEFT}" y="18" font-weight="bold">{escape(what)}</text>',
               f'<text x="{LEFT}" y="32" font-size="10">{passages} passages; dot: mean probability; dashed: '
               'calibrated</text>']
    body = "\n".join(f"  {s}" for s in shapes)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">\n{body}\n</svg>\n')
