"""KPI tables (KPIs x years) as HTML, the same in the site and the PDF."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .data import KPI
    from .macros import ChapterRenderer


def render_kpi_table(renderer: "ChapterRenderer", kpis: list["KPI"], years: list[int], caption: str | None) -> str:
    from .macros import escape_text  # local: macros imports this module

    _ = renderer._
    edition = renderer.edition
    notes: list[str] = []
    rows = []
    for kpi in kpis:
        cells, markers = [], []
        for year in years:
            value = kpi.value(year)
            text = escape_text(renderer.format_value(kpi, year, unit=False)) if value else "–"
            remark = (value.note or value.reason) if value else None
            if remark:
                # Markers go on the indicator, not after the figure, where "2⁽¹⁾" reads as a power.
                note = escape_text(remark[edition])
                notes.append(_("{year}: {note}").format(year=year, note=note) if len(years) > 1 else note)
                markers.append(str(len(notes)))
            cells.append(f'<td class="num" data-kpi="{kpi.id}" data-year="{year}">{text}</td>')
        unit = renderer.fmt.unit_label(kpi.unit)
        if renderer.fmt.units[kpi.unit].get("money"):
            unit = escape_text(renderer.fmt.money_style["pattern"].replace("{amount}", "").strip())
        disclose = " ".join(kpi.disclose)
        attr = f' data-disclose="{disclose}"' if disclose else ""
        ref = f' <sup class="kpi-note-ref">({", ".join(markers)})</sup>' if markers else ""
        rows.append(
            f'<tr{attr}><th scope="row">{escape_text(kpi.name[edition])}{ref}</th>'
            f'<td class="unit">{escape_text(unit)}</td>{"".join(cells)}'
            f'<td class="code">{escape_text(disclose)}</td></tr>'
        )
    labels = {"indicator": _("Indicator"), "unit": _("Unit"), "code": _("Code")}
    head = "".join(f'<th scope="col" class="num">{year}</th>' for year in years)
    caption_html = f"<caption>{escape_text(caption)}</caption>" if caption else ""
    notes_html = ""
    if notes:
        items = "".join(f"<li>{note}</li>" for note in notes)
        notes_html = f'<ol class="kpi-notes">{items}</ol>'
    return (
        '<div class="kpi-table-wrap" tabindex="0">'
        f'<table class="kpi-table">{caption_html}<thead><tr>'
        f'<th scope="col">{labels["indicator"]}</th><th scope="col">{labels["unit"]}</th>{head}'
        f'<th scope="col">{labels["code"]}</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
        f"{notes_html}</div>"
    )
