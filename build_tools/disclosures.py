"""Disclosure frameworks, the places a report discloses each provision, and the content index.

Nothing here is specific to HKEX: a framework is a data file in ``build_tools/frameworks/``
(``hkex-esg-2024.yml``, ``hkex-esg-2025.yml``; a GRI index would be another file). A report
discloses a provision where a heading or block carries ``data-disclose="B5 B5.1"`` or where a
KPI that carries the code is shown; a provision it does not disclose needs an explanation in
``data/disclosures.yml``. ``check_coverage`` enforces "comply or explain".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import jsonschema
import yaml
from lxml import html as lxml_html

from .data import ReportData, schema, suggest
from .errors import DataError, Diagnostic, Diagnostics
from .fileio import csv_text
from .html import WEB_ONLY
from .yamlsource import line_for_path, load_yaml

HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_SECTION_NUMBER = re.compile(r"^(\d+(?:\.\d+)*|Appendix [IVX]+|附錄[一二三四五六七八九十]+)(?:\s+|$)")
_APPENDIX_NUMERALS = {
    **{roman: n for n, roman in enumerate(("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"), start=1)},
    **{chinese: n for n, chinese in enumerate("一二三四五六七八九十", start=1)},
}


def canonical_number(number: str) -> str:
    """'Appendix II' and '附錄二' are the same section number in two languages."""
    for prefix in ("Appendix ", "附錄"):
        if number.startswith(prefix):
            return f"A{_APPENDIX_NUMERALS.get(number[len(prefix):], number[len(prefix):])}"
    return number


@dataclass(frozen=True)
class Provision:
    code: str
    level: str
    kind: str
    area: str
    aspect: str | None
    description: dict
    type: str | None = None  # KPIs: quantitative | narrative
    unverified: str | None = None


@dataclass(frozen=True)
class Framework:
    """One version of a code, shared read-only by every build in the process (``load_framework`` caches it)."""

    id: str
    name: Mapping
    areas: tuple[Mapping, ...]
    aspects: Mapping[str, Mapping]
    levels: Mapping[str, Mapping]
    provisions: Mapping[str, Provision]

    def codes(self) -> list[str]:
        return list(self.provisions)


def known_frameworks() -> list[str]:
    """The framework ids the toolchain has a file for (build_tools/frameworks/<id>.yml)."""
    return sorted(p.name[:-4] for p in resources.files("build_tools").joinpath("frameworks").iterdir()
                  if p.name.endswith(".yml") and "-to-" not in p.name)  # <a>-to-<b>.yml: a mapping (migrate.py)


def report_framework(meta: dict) -> Framework:
    """The framework ``data/report.yml`` names; an unknown id is a located error with 'did you mean'."""
    report = meta["report"]
    framework_id = report["framework"]
    known = known_frameworks()
    if framework_id not in known:
        close = suggest(str(framework_id), known)
        raise DataError(Diagnostic(
            "error", "data.unknown-framework", f"unknown framework '{framework_id}'",
            file=getattr(report, "file", None) or None,
            line=report.line_of("framework") if hasattr(report, "line_of") else None,
            hint=f"{close + ' ' if close else ''}the toolchain knows: {', '.join(known)}"))
    return load_framework(framework_id)


@lru_cache(maxsize=None)
def load_framework(framework_id: str) -> Framework:
    known = known_frameworks()
    if framework_id not in known:  # membership, not a path test: an id is never a path ('../x')
        raise ValueError(f"unknown framework '{framework_id}' (available: {', '.join(known)})")
    ref = resources.files("build_tools").joinpath("frameworks", f"{framework_id}.yml")
    raw = yaml.safe_load(ref.read_text("utf-8"))
    provisions = {}
    for item in raw["provisions"]:
        provisions[item["code"]] = Provision(
            code=item["code"], level=item["level"], kind=item["kind"], area=item["area"],
            aspect=item.get("aspect"), description=_frozen(item["description"]), type=item.get("type"),
            unverified=item.get("unverified"))
    return Framework(id=raw["id"], name=_frozen(raw["name"]), areas=tuple(_frozen(a) for a in raw["areas"]),
                     aspects=MappingProxyType({a["id"]: _frozen(a) for a in raw.get("aspects", [])}),
                     levels=_frozen(raw["levels"]), provisions=MappingProxyType(provisions))


def _frozen(value):
    """Read-only copies of YAML mappings and lists (a cached framework is shared by every build)."""
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


# --- where a page discloses ----------------------------------------------------------

@dataclass(frozen=True)
class Location:
    """A section of a page that discloses a provision."""

    code: str
    page_src: str  # chapter file, relative to the edition's content dir
    page_url: str  # site URL of the page, relative to the edition root
    anchor: str  # id of the section heading ('' for the page itself)
    number: str  # section number as printed ('1.2'), may be ''
    title: str  # heading text without the number
    kpi: str = ""  # the KPI whose figure or table row carries the code ('' for a tagged section)


@dataclass
class PageHeading:
    level: int
    anchor: str
    number: str
    title: str
    codes: tuple[str, ...]


def heading_text(element) -> str:
    clone = lxml_html.fromstring(lxml_html.tostring(element))
    for link in clone.xpath(f'.//*[contains(concat(" ", @class, " "), " {WEB_ONLY} ")]'):
        link.drop_tree()
    return " ".join(clone.text_content().split())


def split_number(text: str) -> tuple[str, str]:
    match = _SECTION_NUMBER.match(text)
    if not match:
        return "", text
    return match.group(1), text[match.end():].strip()


def _kpi_of(element) -> str:
    """The KPI behind a disclosing element: a figure's own data-kpi, or a table row's cells'."""
    if element.get("data-kpi"):
        return element.get("data-kpi")
    if element.tag in HEADING_TAGS:
        return ""
    cell = next(iter(element.xpath(".//*[@data-kpi]")), None)
    return cell.get("data-kpi") if cell is not None else ""


def reported_locations(locations: list[Location], data: ReportData) -> list[Location]:
    """The places that really disclose: a KPI whose reporting-year value is not applicable or
    not available discloses nothing, wherever it is shown (its provision needs an explanation)."""
    return [loc for loc in locations if not loc.kpi or _reports(data, loc.kpi)]


def _reports(data: ReportData, kpi_id: str) -> bool:
    kpi = data.kpis.get(kpi_id)
    if kpi is None:
        return True
    value = kpi.value(data.year)
    # A pending figure will disclose once it is filled; the draft's warning (data.pending) holds it.
    return value is not None and (value.amount is not None or value.status == "pending")


def parse_fragment(page_html: str):
    """A rendered page's HTML as one element tree (None for an empty page)."""
    return lxml_html.fragment_fromstring(page_html, create_parent="div") if page_html.strip() else None


def scan_page(page: "str | lxml_html.HtmlElement", page_src: str, page_url: str) -> tuple[list[PageHeading], list[Location]]:
    """Headings of a rendered page, and each provision disclosed under them, in document order."""
    root = parse_fragment(page) if isinstance(page, str) else page
    if root is None:
        return [], []
    headings: list[PageHeading] = []
    locations: list[Location] = []
    current: PageHeading | None = None
    seen: set[tuple[str, str]] = set()
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        codes = tuple((element.get("data-disclose") or "").split())
        if element.tag in HEADING_TAGS:
            number, title = split_number(heading_text(element))
            current = PageHeading(int(element.tag[1]), element.get("id") or "", number, title, codes)
            headings.append(current)
        kpi = _kpi_of(element) if codes else ""
        for code in codes:
            anchor = current.anchor if current else ""
            if (code, anchor, kpi) in seen:
                continue
            seen.add((code, anchor, kpi))
            locations.append(Location(code, page_src, page_url, anchor,
                                      current.number if current else "", current.title if current else "", kpi))
    return headings, locations


# --- comply or explain ---------------------------------------------------------------

def load_explanations(data_dir: Path, problems: Diagnostics) -> dict[str, dict]:
    """``data/disclosures.yml``: each explanation in both languages; a wrong shape is located, never a crash."""
    path = data_dir / "disclosures.yml"
    if not path.exists():
        return {}
    document = load_yaml(path)
    if document is None:  # an empty file: nothing explained
        return {}
    explanations_schema = schema("disclosures.schema.json")
    validator = jsonschema.Draft202012Validator(explanations_schema)
    editions = explanations_schema["$defs"]["text"]["required"]  # an explanation is written in every edition the schema names
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        line = line_for_path(document, list(error.absolute_path)) or 1
        hint = ("write `explanations:` with, under each provision code, a text for each of "
                f"{', '.join(f'`{code}:`' for code in editions)} (see docs/authoring-guide.md)")
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = error.schema.get("properties", {})
            extra = [key for key in error.instance if key not in allowed]
            if extra:  # point at the unexpected key itself
                line = error.instance.line_of(extra[0]) if hasattr(error.instance, "line_of") else line
                hint = suggest(str(extra[0]), allowed) or hint
        problems.error("data.schema", f"{where}: {error.message}", file=str(path), line=line, hint=hint)
    explanations = document.get("explanations") if isinstance(document, dict) else None
    if not isinstance(explanations, dict):
        return {}
    return {str(code): dict(text) for code, text in explanations.items()
            if isinstance(text, dict) and all(isinstance(text.get(lang), str) and text.get(lang) for lang in editions)}


def find_source_line(file: Path, needle: str) -> int | None:
    try:
        for number, line in enumerate(file.read_text("utf-8").splitlines(), start=1):
            if needle in line:
                return number
    except OSError:
        return None
    return None


def check_codes(framework: Framework, locations: list[Location], content_dir: Path, data: ReportData,
                problems: Diagnostics) -> None:
    """Every tag and every KPI `disclose` names a provision of the report's framework."""
    known = framework.provisions
    for kpi in data.kpis.values():
        for code in kpi.disclose:
            if code not in known:
                problems.error("index.unknown-code", f"KPI '{kpi.id}' discloses '{code}', which is not a provision of {framework.id}",
                               file=kpi.file, line=kpi.line, hint=_history(code, framework.id) or suggest(code, known) or f"see the provisions of {framework.id}")
    kpi_codes = {c for k in data.kpis.values() for c in k.disclose}
    for location in locations:
        if location.code in known or location.code in kpi_codes:
            continue
        file = content_dir / location.page_src
        problems.error("index.unknown-code", f"'{location.code}' is not a provision of {framework.id}",
                       file=str(file), line=find_source_line(file, location.code),
                       hint=_history(location.code, framework.id) or suggest(location.code, known) or f"see the provisions of {framework.id}")


def _history(code: str, framework_id: str) -> str | None:
    """What a code of another version of the framework became (frameworks/<a>-to-<b>.yml): a code
    that moved is no typo, and a spelling guess ('A4' -> 'A2.4') would mislead."""
    return history(code, framework_id)


def check_coverage(framework: Framework, locations: list[Location], explanations: dict[str, dict],
                   data_dir: Path, problems: Diagnostics, data: ReportData | None = None) -> None:
    """Comply or explain, over ``locations`` that really disclose (see ``reported_locations``)."""
    disclosed = {loc.code for loc in locations}
    missing = [code for code in framework.provisions if code not in disclosed and code not in explanations]
    if missing:
        hint = ("tag the sections that disclose them (data-disclose=\"...\" on the heading) "
                "or add an explanation under `explanations:` in data/disclosures.yml")
        unreported = sorted({k.id for k in (data.kpis.values() if data else []) for c in k.disclose
                             if c in missing and not _reports(data, k.id)})
        if unreported:
            hint += f"; KPIs with no {data.year} figure disclose nothing: {', '.join(unreported)}"
        problems.error(
            "index.unexplained",
            f"{len(missing)} provision(s) of {framework.id} are neither disclosed nor explained: {', '.join(missing)}",
            file=str(data_dir / "disclosures.yml"), hint=hint)
    path = data_dir / "disclosures.yml"
    for code in explanations:
        places = sorted({f"{loc.page_src}#{loc.anchor}" if loc.anchor else loc.page_src
                         for loc in locations if loc.code == code})
        if places:
            problems.warning("index.explained-and-disclosed",
                             f"'{code}' is explained in data/disclosures.yml and also disclosed in {', '.join(places)}",
                             file=str(path), line=find_source_line(path, f"{code}:"),
                             hint="the index shows only the disclosure: remove the explanation, "
                                  "or the tag or KPI that discloses it")
    for code in explanations:
        if code not in framework.provisions:
            problems.error("index.unknown-code", f"explanation for '{code}', which is not a provision of {framework.id}",
                           file=str(data_dir / "disclosures.yml"),
                           line=find_source_line(data_dir / "disclosures.yml", f"{code}:"),
                           hint=_history(code, framework.id) or suggest(code, framework.provisions) or "remove it")


# --- the index model ---------------------------------------------------------------

@dataclass
class IndexRow:
    provision: Provision
    locations: list[Location] = field(default_factory=list)
    explanation: dict | None = None


@dataclass
class IndexGroup:
    title: dict
    rows: list[IndexRow]


def build_index(framework: Framework, locations: list[Location], explanations: dict[str, dict]) -> list[IndexGroup]:
    """The content index: framework order, grouped by area (and aspect), each row with its places."""
    by_code: dict[str, list[Location]] = {}
    for loc in locations:
        by_code.setdefault(loc.code, []).append(loc)
    groups: list[IndexGroup] = []
    for area in framework.areas:
        rows = [IndexRow(p, by_code.get(p.code, []), explanations.get(p.code))
                for p in framework.provisions.values() if p.area == area["id"]]
        if rows:
            groups.append(IndexGroup(area["title"], rows))
    return groups


def export_rows(framework: Framework, groups: list[IndexGroup], edition: str) -> list[dict]:
    rows = []
    for group in groups:
        for row in group.rows:
            p = row.provision
            rows.append({
                "framework": framework.id,
                "code": p.code,
                "level": framework.levels[p.level][edition],
                "area": group.title[edition],
                "aspect": framework.aspects[p.aspect]["title"][edition] if p.aspect in framework.aspects else "",
                "description": p.description[edition],
                "status": "disclosed" if row.locations else "explained",
                "locations": [{"section": loc.number, "title": loc.title,
                               "url": f"{loc.page_url}#{loc.anchor}" if loc.anchor else loc.page_url}
                              for loc in row.locations],
                "explanation": row.explanation[edition] if row.explanation and not row.locations else "",
            })
    return rows


def export_json(framework: Framework, groups: list[IndexGroup], edition: str) -> str:
    return json.dumps({"framework": framework.id, "name": framework.name[edition],
                       "provisions": export_rows(framework, groups, edition)}, ensure_ascii=False, indent=2) + "\n"


def export_csv(framework: Framework, groups: list[IndexGroup], edition: str) -> str:
    fields = ["framework", "code", "level", "area", "aspect", "description", "status", "locations", "explanation"]
    rows = ({**row, "locations": "; ".join(f"{loc['section']} {loc['title']} ({loc['url']})".strip()
                                           for loc in row["locations"])}
            for row in export_rows(framework, groups, edition))
    return csv_text(fields, rows)


# --- between versions of a framework (frameworks/<from>-to-<to>.yml; migrate.py rewrites a report) ----

@dataclass(frozen=True)
class Move:
    code: str
    to: tuple[str, ...]
    note: dict
    related: tuple[str, ...] = ()
    unverified: str | None = None


@dataclass(frozen=True)
class CodeMapping:
    source: str
    target: str
    moved: dict[str, Move]

    def new(self) -> list[str]:
        """Provisions of the target that are neither kept nor where a moved one went."""
        before = load_framework(self.source).provisions
        landed = {code for move in self.moved.values() for code in move.to}
        return [c for c in load_framework(self.target).provisions if c not in before and c not in landed]

    def rename(self, code: str) -> tuple[str, ...]:
        return self.moved[code].to if code in self.moved else (code,)


@lru_cache(maxsize=None)
def mappings() -> tuple[CodeMapping, ...]:
    folder = resources.files("build_tools").joinpath("frameworks")
    found = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.name.endswith(".yml") and "-to-" in path.name:
            raw = yaml.safe_load(path.read_text("utf-8"))
            moved = {m["code"]: Move(m["code"], tuple(m["to"]), m.get("note", {}), tuple(m.get("related", [])),
                                     m.get("unverified")) for m in raw.get("moved", [])}
            found.append(CodeMapping(raw["from"], raw["to"], moved))
    return tuple(found)


def find_mapping(source: str, target: str) -> CodeMapping | None:
    return next((m for m in mappings() if (m.source, m.target) == (source, target)), None)


def history(code: str, framework_id: str) -> str | None:
    """What a code that is not in ``framework_id`` became, or is, in the other versions (None: no history)."""
    for mapping in mappings():
        if mapping.target == framework_id and code in mapping.moved:
            move = mapping.moved[code]
            return (f"{code} of {mapping.source} is {' and '.join(move.to)} in {mapping.target}: "
                    f"tag {' '.join(move.to)} instead (esg-report migrate --to {mapping.target} does it for the whole report)")
        if mapping.source == framework_id and code in mapping.new():
            return (f"{code} is a provision of {mapping.target}, new since {mapping.source}, which this report follows: "
                    f"move the report with esg-report migrate --to {mapping.target}")
    return None
