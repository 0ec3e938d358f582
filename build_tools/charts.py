"""KPI charts as inline SVG.

Drawn here rather than with a plotting library: a bar chart of a few KPIs over three years is
a few dozen coordinates, and inline SVG keeps its text as real text (searchable, selectable,
set in the page's CJK font in both the site and the PDF) with no image files or fonts to manage.
This module computes the geometry; ``fragments/*.html`` draw it (through ``html.render``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from markupsafe import Markup

from . import html

if TYPE_CHECKING:
    from .data import KPI
    from .macros import ChapterRenderer

_PALETTE = ["#1b5e7a", "#d98c2b", "#5a9bb5", "#7a5195", "#9cc7d6"]
CHART_FONT = "Noto Sans CJK TC, Noto Sans TC, PingFang TC, Microsoft JhengHei, sans-serif"


def _coordinate(value: float) -> str:
    return f"{value:.1f}"


def render_kpi_chart(renderer: "ChapterRenderer", kpis: list["KPI"], years: list[int], title: str | None) -> Markup:
    _ = renderer._
    edition = renderer.edition
    series = [(k, [k.value(y) for y in years]) for k in kpis]
    palette = getattr(renderer, "palette", _PALETTE)  # the brand's colours first (brand.py)
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
    bars, summary, pending = [], [], []
    for s_index, (kpi, values) in enumerate(series):
        for y_index, value in enumerate(values):
            x = left + slot * y_index + (slot - bar_w * len(series)) / 2 + bar_w * s_index
            if value is not None and value.status == "pending":
                # No bar to draw yet: the placeholder stands on the axis where the bar will be.
                placeholder = renderer.format_value(kpi, years[y_index])
                summary.append(_("{name} {year}: {value}").format(name=kpi.name[edition], year=years[y_index], value=placeholder))
                pending.append({"x": _coordinate(x + bar_w / 2), "y": _coordinate(top + plot_h - 6), "label": placeholder})
                continue
            if value is None or value.amount is None:
                continue
            h = float(value.amount / peak) * plot_h if value.amount > 0 else 0
            y = top + plot_h - h
            summary.append(_("{name} {year}: {value}").format(
                name=kpi.name[edition], year=years[y_index], value=renderer.format_value(kpi, years[y_index])))
            bars.append({"x": _coordinate(x), "y": _coordinate(y), "width": _coordinate(bar_w), "height": _coordinate(h),
                         "colour": palette[s_index % len(palette)], "label_x": _coordinate(x + bar_w / 2),
                         "label_y": _coordinate(y - 6), "label": renderer.format_value(kpi, years[y_index], unit=False)})
    ticks = [{"x": _coordinate(left + slot * i + slot / 2), "y": top + plot_h + 22, "year": year} for i, year in enumerate(years)]
    legend = []
    for s_index, (kpi, _values) in enumerate(series):
        unit = renderer.fmt.unit_label(kpi.unit)
        name = _("{name} ({unit})").format(name=kpi.name[edition], unit=unit) if unit else kpi.name[edition]
        legend.append({"x": left, "y": top + plot_h + axis_room + legend_line * s_index,
                       "colour": palette[s_index % len(palette)], "name": name})
    return html.render("kpi-chart.html", width=width, height=height, font=CHART_FONT, title=title,
                       label=_("; ").join(summary), bars=bars, pending=pending, ticks=ticks, legend=legend,
                       axis={"x1": left, "x2": width - left, "y": top + plot_h})


def render_materiality(renderer: "ChapterRenderer", matrix: dict) -> Markup:
    """The materiality matrix from data/materiality.yml.

    With `x`/`y` scores (1..number of levels) on every issue, issues are plotted on the two axes;
    without them (the sample report's source gives no positions), the issues are shown grouped by
    category, numbered, with the axes and importance levels named in the caption.
    """
    _ = renderer._
    edition = renderer.edition
    categories = matrix.get("categories", [])
    issues = matrix.get("issues", [])
    axes = matrix.get("axes", {})
    caption = _("Matrix of material ESG issues")
    if issues and all("x" in i and "y" in i for i in issues):
        return _materiality_scatter(renderer, matrix, caption)
    columns, number = [], 0
    for category in categories:
        items = []
        for issue in issues:
            if issue.get("category") == category["id"]:
                number += 1
                items.append({"number": number, "name": issue["name"][edition]})
        columns.append({"id": category["id"], "name": category["name"][edition], "issues": items})
    full_caption = _("{caption}: {axes} ({levels}). {note}").format(
        caption=caption,
        axes=_(" × ").join(axes[a][edition] for a in ("x", "y") if a in axes),
        levels=_(" / ").join(level[edition] for level in matrix.get("levels", [])),
        note=_("Positions in the matrix are not included in this edition's source."))
    return html.render("materiality.html", caption=caption, full_caption=full_caption, columns=columns)


def _materiality_scatter(renderer: "ChapterRenderer", matrix: dict, caption: str) -> Markup:
    edition = renderer.edition
    levels = len(matrix.get("levels", [])) or 3
    size, pad = 420, 50
    cell = (size - 2 * pad) / levels
    palette = getattr(renderer, "palette", _PALETTE)
    colours = {c["id"]: palette[i % len(palette)] for i, c in enumerate(matrix.get("categories", []))}
    grid = []
    for i in range(levels + 1):
        at = _coordinate(pad + i * cell)
        grid.append({"x1": pad, "y1": at, "x2": size - pad, "y2": at})
        grid.append({"x1": at, "y1": pad, "x2": at, "y2": size - pad})
    points = [{"x": round(pad + (float(issue["x"]) - 0.5) * cell, 1), "y": round(size - pad - (float(issue["y"]) - 0.5) * cell, 1),
               "colour": colours.get(issue.get("category"), "#555"), "number": n, "name": issue["name"][edition],
               "text_y": round(size - pad - (float(issue["y"]) - 0.5) * cell + 4, 1)}
              for n, issue in enumerate(matrix["issues"], start=1)]
    axes = matrix.get("axes", {})
    return html.render("materiality-scatter.html", size=size, font=CHART_FONT, caption=caption, grid=grid, points=points,
                       x_axis=axes["x"][edition] if "x" in axes else None, y_axis=axes["y"][edition] if "y" in axes else None)
