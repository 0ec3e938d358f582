"""KPI tables (KPIs x years), the same in the site and the PDF."""

from __future__ import annotations

from typing import TYPE_CHECKING

from markupsafe import Markup

from . import html

if TYPE_CHECKING:
    from .data import KPI
    from .macros import ChapterRenderer

#: The marker of an independently assured KPI (``assured: true`` in data), as in many assured reports.
ASSURED_MARK = "Δ"


def render_kpi_table(renderer: "ChapterRenderer", kpis: list["KPI"], years: list[int], caption: str | None) -> Markup:
    _ = renderer._
    edition = renderer.edition
    notes: list[str] = []
    rows = []
    by_id = {kpi.id: kpi for kpi in kpis}
    for kpi_id, depth in renderer.data.outline(list(by_id)):
        kpi = by_id[kpi_id]
        cells, markers = [], []
        for year in years:
            value = kpi.value(year)
            remark = renderer.fmt.remark(value, year) if value else None
            if remark:
                # Markers go on the indicator, not after the figure, where "2⁽¹⁾" reads as a power.
                notes.append(_("{year}: {note}").format(year=year, note=remark) if len(years) > 1 else remark)
                markers.append(len(notes))
            cells.append({"year": year, "text": renderer.format_value(kpi, year, unit=False) if value else "–",
                          "pending": bool(value and value.status == "pending")})
        # The parts of a total in the table sit indented under it, breakdown by breakdown.
        classes = ["kpi-part", f"kpi-depth-{depth}"] if depth else []
        rows.append({"kpi": kpi.id, "name": kpi.name[edition], "unit": renderer.fmt.column_unit(kpi.unit),
                     "cells": cells, "markers": markers, "codes": kpi.disclose, "classes": classes,
                     "assured": kpi.assured})
    labels = {"indicator": _("Indicator"), "unit": _("Unit"), "code": _("Code"), "assured": _("Independently assured")}
    return html.render("kpi-table.html", rows=rows, years=years, caption=caption, notes=notes, labels=labels,
                       assured_mark=ASSURED_MARK, any_assured=any(kpi.assured for kpi in kpis))
