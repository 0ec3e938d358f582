"""KPI tables (KPIs x years), the same in the site and the PDF."""

from __future__ import annotations

from typing import TYPE_CHECKING

from markupsafe import Markup

from . import html

if TYPE_CHECKING:
    from .data import KPI
    from .macros import ChapterRenderer


def render_kpi_table(renderer: "ChapterRenderer", kpis: list["KPI"], years: list[int], caption: str | None) -> Markup:
    _ = renderer._
    edition = renderer.edition
    notes: list[str] = []
    rows = []
    for kpi in kpis:
        cells, markers = [], []
        for year in years:
            value = kpi.value(year)
            remark = (value.note or value.reason) if value else None
            if remark:
                # Markers go on the indicator, not after the figure, where "2⁽¹⁾" reads as a power.
                prefix = f"{year}: " if len(years) > 1 else ""
                notes.append(prefix + remark[edition])
                markers.append(len(notes))
            cells.append({"year": year, "text": renderer.format_value(kpi, year, unit=False) if value else "–"})
        rows.append({"kpi": kpi.id, "name": kpi.name[edition], "unit": renderer.fmt.column_unit(kpi.unit),
                     "cells": cells, "markers": markers, "codes": kpi.disclose, "classes": []})
    labels = {"indicator": _("Indicator"), "unit": _("Unit"), "code": _("Code")}
    return html.render("kpi-table.html", rows=rows, years=years, caption=caption, notes=notes, labels=labels)
