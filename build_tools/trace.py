"""The KPI trace: every place each KPI is shown, in the site and in the PDF.

An assurance provider ticks figures off against this list. Each rendered KPI is an element
with ``data-kpi`` (``<span class="kpi">`` in text, ``<td>`` in tables); the trace records the
edition, page, section (nearest heading), the rendered text and the PDF page. The PDF page is
learnt from WeasyPrint: ``mark_kpi_elements`` gives each such element an id in the print HTML,
and the rendered document's ``page.anchors`` say on which page each id landed.

Published per edition as ``downloads/kpi-locations.json`` and ``.csv``; ``esg-report trace``
reads them back.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .disclosures import HEADING_TAGS, heading_text, parse_fragment, split_number
from .errors import Diagnostic, Diagnostics, ReportError
from .fileio import csv_text
from .html import page_slug

PRINT_ID = "kpi-trace-{}"
FILE_STEM = "kpi-locations"
CSV_FIELDS = ["kpi", "name", "assured", "year", "edition", "page", "url", "section", "section_number",
              "section_title", "kind", "text", "pdf_page"]


@dataclass
class Place:
    kpi: str
    year: str
    edition: str
    page: str  # chapter file ('environmental.md')
    url: str  # site URL relative to the edition root, with the section anchor
    section: str  # id of the nearest heading above ('' before the first heading)
    section_number: str
    section_title: str
    kind: str  # 'text' (a kpi() in a sentence) or 'table' (a KPI table cell)
    text: str  # as rendered ('4,980.1 tCO2e', '4,980.1', '上升5.2%')
    print_id: str | None  # the element's id in the print HTML (None: the page is not printed)
    pdf_page: int | None = None


def kpi_elements(root) -> list:
    """The rendered KPIs of a page, in document order (the order ``mark_kpi_elements`` numbers)."""
    return root.xpath(".//*[@data-kpi]") if root is not None else []


def mark_kpi_elements(root) -> None:
    """Give every rendered KPI of a page an id in the print HTML (prefixed per page by printing)."""
    for index, element in enumerate(kpi_elements(root)):
        if not element.get("id"):
            element.set("id", PRINT_ID.format(index))


def collect_places(context) -> list[Place]:
    """Every KPI shown in an edition's pages, in reading order."""

    places: list[Place] = []
    for page in context.ordered_pages:
        root = parse_fragment(page.html)
        if root is None:
            continue
        slug = page_slug(page.url)
        heading, index = None, -1
        for element in root.iter():  # document order, as kpi_elements() numbers them
            if not isinstance(element.tag, str):
                continue
            if element.tag in HEADING_TAGS:
                heading = element
            if element.get("data-kpi") is None:
                continue
            index += 1
            number, title = split_number(heading_text(heading)) if heading is not None else ("", page.title)
            anchor = heading.get("id", "") if heading is not None else ""
            places.append(Place(
                kpi=element.get("data-kpi"), year=element.get("data-year", ""), edition=context.edition.code,
                page=page.src, url=f"{page.url}#{anchor}" if anchor else page.url,
                section=anchor, section_number=number, section_title=title,
                kind="table" if element.tag in ("td", "th") else "text",
                text=" ".join(element.text_content().split()),
                print_id=f"{slug}--{element.get('id') or PRINT_ID.format(index)}" if page.in_print else None,
            ))
    return places


def write_kpi_locations(context, out_dir: Path, anchor_pages: dict[str, int] | None) -> list[Place]:
    """Write ``downloads/kpi-locations.json`` and ``.csv``; ``anchor_pages`` maps print ids to PDF pages."""
    places = collect_places(context)
    for place in places:
        if anchor_pages and place.print_id:
            place.pdf_page = anchor_pages.get(place.print_id)
    edition = context.edition.code
    by_kpi: dict[str, list[Place]] = {kpi_id: [] for kpi_id in context.data.kpis}
    for place in places:
        by_kpi.setdefault(place.kpi, []).append(place)
    document = {
        "edition": edition,
        "pdf": context.pdf_name if anchor_pages is not None else None,
        "kpis": [{
            "kpi": kpi_id,
            "name": context.data.kpis[kpi_id].name[edition] if kpi_id in context.data.kpis else "",
            "assured": _assured(context.data.kpis.get(kpi_id)),
            "places": [{k: v for k, v in asdict(p).items() if k not in ("kpi", "edition", "print_id")} for p in shown],
        } for kpi_id, shown in by_kpi.items()],
    }
    downloads = out_dir / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    (downloads / f"{FILE_STEM}.json").write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", "utf-8")
    (downloads / f"{FILE_STEM}.csv").write_text(to_csv(document), "utf-8")
    return places


def _assured(kpi) -> bool:
    return bool(getattr(kpi, "assured", False))


def to_csv(document: dict) -> str:
    """The trace as a CSV download (names and rendered text come from data: neutralised)."""
    return csv_text(CSV_FIELDS, ({**{k: place.get(k, "") for k in CSV_FIELDS}, "kpi": entry["kpi"], "name": entry["name"],
                                  "assured": "yes" if entry["assured"] else "", "edition": document["edition"],
                                  "pdf_page": place.get("pdf_page") or ""}
                                 for entry in document["kpis"] for place in entry["places"]))


def check_every_kpi_shown(data, shown_by_edition: dict[str, set[str]], problems: Diagnostics) -> None:
    """A KPI shown in no edition is data nobody reads, or a chapter forgot it."""
    if not shown_by_edition:
        return
    shown = set().union(*shown_by_edition.values())
    for kpi in data.kpis.values():
        if kpi.id not in shown:
            problems.warning("trace.unshown", f"KPI '{kpi.id}' is not shown anywhere in the report",
                             file=kpi.file, line=kpi.line,
                             hint="show it with kpi() or kpi_table() in a chapter (Appendix I lists every KPI), "
                                  "or remove it from the data")


# --- reading a build back ----------------------------------------------------------

def load_trace(site_dir: Path) -> list[dict]:
    """The trace of each edition of the last build in ``site_dir`` (empty if there is none)."""
    documents = []
    for path in sorted(Path(site_dir).glob(f"*/downloads/{FILE_STEM}.json")):
        try:
            document = json.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise _damaged(path, f"it cannot be read ({exc})") from None
        if not _is_trace(document):
            raise _damaged(path, "it is not a KPI trace as a build writes it")
        documents.append(document)
    return documents


_PLACE_FIELDS = {"year", "text", "kind", "page", "section", "section_number", "section_title"}


def _is_trace(document) -> bool:
    """The parts ``format_trace`` reads: a file of the site is not the report's source, but it may be
    damaged or written by another version."""
    if not isinstance(document, dict) or not isinstance(document.get("edition"), str) \
            or not isinstance(document.get("kpis"), list):
        return False
    for entry in document["kpis"]:
        if not isinstance(entry, dict) or not {"kpi", "name", "assured", "places"} <= entry.keys() \
                or not isinstance(entry["places"], list):
            return False
        if not all(isinstance(place, dict) and _PLACE_FIELDS <= place.keys() for place in entry["places"]):
            return False
    return True


def _damaged(path: Path, why: str) -> ReportError:
    return ReportError(Diagnostic("error", "trace.damaged", f"the KPI trace of the last build is damaged: {why}",
                                  file=str(path), hint="build the report again (esg-report build): it rewrites the trace"))


def format_trace(kpi_id: str, documents: list[dict]) -> list[str]:
    lines: list[str] = []
    for document in documents:
        entry = next((e for e in document["kpis"] if e["kpi"] == kpi_id), None)
        if entry is None:
            continue
        marker = "  [assured]" if entry["assured"] else ""
        lines.append(f"{document['edition']}: {kpi_id} — {entry['name']}{marker}")
        if not entry["places"]:
            lines.append("  shown nowhere")
        for place in entry["places"]:
            section = " ".join(x for x in (place["section_number"], place["section_title"]) if x)
            pdf = f"PDF p. {place['pdf_page']}" if place.get("pdf_page") else "not in the PDF" \
                if document.get("pdf") else "PDF not built"
            lines.append(f"  {place['year']}  {place['text']}  ({place['kind']})  {place['page']} #{place['section']} "
                         f"“{section}”  {pdf}")
    return lines
