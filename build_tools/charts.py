"""KPI charts as inline SVG.

Written by hand rather than with a plotting library: a bar chart of a few KPIs over three
years is ~80 lines of SVG, and inline SVG keeps its text as real text (searchable, selectable,
set in the page's CJK font in both the site and the PDF) with no image files or fonts to manage.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .data import KPI
    from .macros import ChapterRenderer

_PALETTE = ["#1b5e7a", "#5a9bb5", "#9cc7d6", "#d98c2b", "#7a5195"]


def render_kpi_chart(renderer: "ChapterRenderer", kpis: list["KPI"], years: list[int], title: str | None,
                     kind: str = "bar") -> str:
    from .macros import escape_text

    edition = renderer.edition
    width, height, left, bottom, top = 640, 300, 20, 60, 40
    series = [(k, [k.value(y) for y in years]) for k in kpis]
    amounts = [v.amount for _, vals in series for v in vals if v is not None and v.amount is not None]
    peak = max(amounts) if amounts else Decimal(1)
    peak = peak if peak > 0 else Decimal(1)
    plot_w, plot_h = width - 2 * left, height - bottom - top
    slot = plot_w / len(years)
    bar_w = min(48.0, slot * 0.8 / max(len(series), 1))
    title = title or " / ".join(k.name[edition] for k in kpis)
    parts = [f'<title>{escape_text(title)}</title>']
    summary = []
    for s_index, (kpi, values) in enumerate(series):
        colour = _PALETTE[s_index % len(_PALETTE)]
        for y_index, value in enumerate(values):
            x = left + slot * y_index + (slot - bar_w * len(series)) / 2 + bar_w * s_index
            if value is None or value.amount is None:
                continue
            label = renderer.format_value(kpi, years[y_index], unit=False)
            summary.append(f"{kpi.name[edition]} {years[y_index]}: {renderer.format_value(kpi, years[y_index])}")
            h = float(value.amount / peak) * plot_h if value.amount > 0 else 0
            y = top + plot_h - h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}"/>')
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 6:.1f}" text-anchor="middle" class="chart-value">'
                         f'{escape_text(label)}</text>')
    for y_index, year in enumerate(years):
        parts.append(f'<text x="{left + slot * y_index + slot / 2:.1f}" y="{top + plot_h + 22}" '
                     f'text-anchor="middle" class="chart-axis">{year}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - left}" y2="{top + plot_h}" stroke="#555"/>')
    legend_x = left
    for s_index, (kpi, _) in enumerate(series):
        colour = _PALETTE[s_index % len(_PALETTE)]
        name = kpi.name[edition] + f" ({renderer.fmt.unit_label(kpi.unit)})" if renderer.fmt.unit_label(kpi.unit) else kpi.name[edition]
        parts.append(f'<rect x="{legend_x}" y="{height - 22}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{legend_x + 18}" y="{height - 12}" class="chart-legend">{escape_text(name)}</text>')
        legend_x += 30 + 9 * len(name) * (2 if edition != "en" else 1)
    label = escape_text("; ".join(summary))
    return (f'<figure class="kpi-chart"><svg viewBox="0 0 {width} {height}" role="img" aria-label="{label}" '
            f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
            f'<figcaption>{escape_text(title)}</figcaption></figure>')
