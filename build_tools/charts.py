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

_PALETTE = ["#1b5e7a", "#d98c2b", "#5a9bb5", "#7a5195", "#9cc7d6"]
CHART_FONT = "Noto Sans CJK TC, Noto Sans TC, PingFang TC, Microsoft JhengHei, sans-serif"


def render_kpi_chart(renderer: "ChapterRenderer", kpis: list["KPI"], years: list[int], title: str | None) -> str:
    from .macros import escape_text

    edition = renderer.edition
    series = [(k, [k.value(y) for y in years]) for k in kpis]
    # One legend line per series below the axis, so no entry can run off the drawing.
    width, left, top, axis_room, legend_line = 640, 20, 40, 34, 22
    bottom = axis_room + legend_line * len(series)
    height = 220 + bottom
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
    for s_index, (kpi, _) in enumerate(series):
        colour = _PALETTE[s_index % len(_PALETTE)]
        unit = renderer.fmt.unit_label(kpi.unit)
        name = f"{kpi.name[edition]} ({unit})" if unit else kpi.name[edition]
        y = top + plot_h + axis_room + legend_line * s_index
        parts.append(f'<rect x="{left}" y="{y}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{left + 18}" y="{y + 11}" class="chart-legend">{escape_text(name)}</text>')
    label = escape_text("; ".join(summary))
    # Font as an attribute: WeasyPrint draws inline SVG without the page's CSS, and without it
    # the fallback font gave Japanese glyph forms in the Chinese edition.
    return (f'<figure class="kpi-chart"><svg viewBox="0 0 {width} {height}" role="img" aria-label="{label}" '
            f'font-family="{CHART_FONT}" font-size="14" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
            f'<figcaption>{escape_text(title)}</figcaption></figure>')


def render_materiality(renderer: "ChapterRenderer", matrix: dict) -> str:
    """The materiality matrix from data/materiality.yml.

    With `x`/`y` scores (1..number of levels) on every issue, issues are plotted on the two axes;
    without them (the sample report's source gives no positions), the issues are shown grouped by
    category, numbered, with the axes and importance levels named in the caption.
    """
    from .macros import escape_text

    edition = renderer.edition
    categories = matrix.get("categories", [])
    issues = matrix.get("issues", [])
    axes = matrix.get("axes", {})
    caption = escape_text(renderer._("Matrix of material ESG issues"))
    if issues and all("x" in i and "y" in i for i in issues):
        return _materiality_scatter(renderer, matrix, caption)
    columns = []
    number = 0
    for category in categories:
        items = []
        for issue in issues:
            if issue.get("category") == category["id"]:
                number += 1
                items.append(f'<li value="{number}">{escape_text(issue["name"][edition])}</li>')
        columns.append(f'<div class="materiality-category materiality-{escape_text(category["id"])}">'
                       f'<p class="materiality-category-name">{escape_text(category["name"][edition])}</p>'
                       f'<ol>{"".join(items)}</ol></div>')
    levels = " / ".join(escape_text(level[edition]) for level in matrix.get("levels", []))
    axis_text = " × ".join(escape_text(axes[a][edition]) for a in ("x", "y") if a in axes)
    note = escape_text(renderer._("Positions in the matrix are not included in this edition's source."))
    return (f'<figure class="materiality" role="group" aria-label="{caption}">'
            f'<div class="materiality-grid">{"".join(columns)}</div>'
            f'<figcaption>{caption}: {axis_text} ({levels}). {note}</figcaption></figure>')


def _materiality_scatter(renderer, matrix: dict, caption: str) -> str:
    from .macros import escape_text

    edition = renderer.edition
    levels = len(matrix.get("levels", [])) or 3
    size, pad = 420, 50
    cell = (size - 2 * pad) / levels
    colours = {c["id"]: _PALETTE[i % len(_PALETTE)] for i, c in enumerate(matrix.get("categories", []))}
    parts = [f"<title>{caption}</title>"]
    for i in range(levels + 1):
        parts.append(f'<line x1="{pad}" y1="{pad + i * cell:.1f}" x2="{size - pad}" y2="{pad + i * cell:.1f}" stroke="#ccc"/>')
        parts.append(f'<line x1="{pad + i * cell:.1f}" y1="{pad}" x2="{pad + i * cell:.1f}" y2="{size - pad}" stroke="#ccc"/>')
    legend = []
    for n, issue in enumerate(matrix["issues"], start=1):
        x = pad + (float(issue["x"]) - 0.5) * cell
        y = size - pad - (float(issue["y"]) - 0.5) * cell
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="{colours.get(issue.get("category"), "#555")}"/>'
                     f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" fill="#fff" class="chart-value">{n}</text>')
        legend.append(f'<li>{escape_text(issue["name"][edition])}</li>')
    axes = matrix.get("axes", {})
    if "x" in axes:
        parts.append(f'<text x="{size / 2}" y="{size - 12}" text-anchor="middle" class="chart-axis">{escape_text(axes["x"][edition])}</text>')
    if "y" in axes:
        parts.append(f'<text x="14" y="{size / 2}" transform="rotate(-90 14 {size / 2})" text-anchor="middle" class="chart-axis">{escape_text(axes["y"][edition])}</text>')
    return (f'<figure class="materiality"><svg viewBox="0 0 {size} {size}" role="img" aria-label="{caption}" '
            f'font-family="{CHART_FONT}" font-size="13" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg><ol>{"".join(legend)}</ol>'
            f'<figcaption>{caption}</figcaption></figure>')
