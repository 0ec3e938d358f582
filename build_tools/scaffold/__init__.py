"""``esg-report new DIR``: a complete starter report that builds as it is.

Generated from the framework data, so the starter always covers the whole framework: one
section per aspect, tagged with its general disclosure and narrative KPIs, and a placeholder
KPI (marked as such in the data and on the page) for every quantitative KPI. The company's
metadata (names, stock codes, currency, period, dates) comes from ``StarterMetadata``: the
`new` command's flags or answers; only what is not given falls back to a neutral default.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from ..data import load_units
from ..disclosures import Framework, load_framework
from ..errors import Diagnostic, ReportError
from ..fileio import staged_folder, why_not_written
from ..i18n import EDITIONS, source_edition
from ..project import Project
from ..translation import mark_translated

def _texts() -> dict[str, dict]:
    """The starter's texts per edition code (``texts.yml``)."""
    return yaml.safe_load(resources.files("build_tools").joinpath("scaffold", "texts.yml").read_text("utf-8"))


def _placeholders(key: str) -> dict[str, str]:
    return {code: texts[key] for code, texts in _texts().items() if code in EDITIONS}


@dataclass
class StarterMetadata:
    """What `esg-report new` writes into data/report.yml (and the money unit of the KPIs).

    Texts are per edition (edition code -> text); an edition left out falls back to the default.
    """

    company: dict[str, str] = field(default_factory=lambda: _placeholders("company"))
    short_name: dict[str, str] = field(default_factory=dict)  # default: the `short_name` rule of texts.yml
    stock_codes: list[tuple[str, str]] = field(default_factory=lambda: [("HKEX", "0000")])
    currency: str = "RMB"
    money: dict[str, str] = field(default_factory=dict)  # default: the currency's style in texts.yml
    money_scale: int = 1000000
    money_decimals: int = 1
    year: int | None = None  # default: last calendar year
    period_start: str | None = None  # default: 1 January of year
    period_end: str | None = None  # default: 31 December of year
    approved: str | None = None  # default: 31 March after the year
    framework: str = "hkex-esg-2024"
    # The editions the starter has (content/<code>/); texts in data/ are written in every edition's
    # language whatever the report's editions, as the data schemas ask.
    editions: list[str] = field(default_factory=lambda: list(EDITIONS))  # the registry's, in its order

    def resolved(self) -> "StarterMetadata":
        year = self.year or dt.date.today().year - 1
        texts = _texts()
        company = {**_placeholders("company"), **self.company}
        short_name, money = {}, {}
        for code in EDITIONS:
            match = re.match(texts[code]["short_name"], company[code])
            short_name[code] = self.short_name.get(code) or (match.group(1) if match else "") or company[code]
            patterns = texts[code]["money"]
            money[code] = self.money.get(code) or patterns.get(self.currency) or \
                patterns["other"].replace("{currency}", self.currency)
        return StarterMetadata(
            company=company, short_name=short_name, stock_codes=list(self.stock_codes), currency=self.currency,
            money=money, money_scale=self.money_scale, money_decimals=self.money_decimals, year=year,
            period_start=self.period_start or f"{year}-01-01", period_end=self.period_end or f"{year}-12-31",
            approved=self.approved or f"{year + 1}-03-31", framework=self.framework, editions=list(self.editions))


# One page per framework area that has aspects: its file and its title in texts.yml (`pages`).
_AREA_PAGES = {"A": ("environmental.md", "environmental"), "B": ("social.md", "social"), "D": ("climate.md", "climate")}


def create_report(target: Path, company: str | None = None, year: int | None = None,
                  framework_id: str | None = None, metadata: StarterMetadata | None = None) -> None:
    """Write a starter report into ``target`` (which must not exist or be empty).

    ``company`` is the company's name in the source edition (the first of the metadata's editions).
    """
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ReportError(Diagnostic("error", "new.not-empty", f"{target} exists and is not empty", file=str(target),
                                     hint="name a new folder; `new` never writes over existing files"))
    metadata = metadata or StarterMetadata()
    if company:
        metadata.company[source_edition(metadata.editions)] = company
    if year:
        metadata.year = year
    if framework_id:
        metadata.framework = framework_id
    meta = metadata.resolved()
    try:
        framework = load_framework(meta.framework)
    except ValueError as exc:
        raise ReportError(Diagnostic("error", "new.framework", str(exc), hint="pass --framework with one of those ids")) from None
    examples = yaml.safe_load(resources.files("build_tools").joinpath("scaffold", "example-kpis.yml").read_text("utf-8"))
    examples = {code: spec for code, spec in examples.items() if code in framework.provisions}
    money_unit = meta.currency
    for spec in examples.values():
        if spec["unit"] == "RMB":
            spec["unit"] = money_unit
    try:
        with staged_folder(target, "new") as staging:  # a failure halfway leaves no half report
            _write_report(staging, meta, framework, examples)
    except OSError as exc:  # a parent that is a file, a read-only or missing mount: the writer's to fix
        raise ReportError(Diagnostic("error", "new.write", f"cannot write the report: {why_not_written(target, exc)}",
                                     file=str(target), hint="name a folder you can write to")) from None


def _write_report(target: Path, meta: StarterMetadata, framework: Framework, examples: dict) -> None:
    texts = _texts()
    source = source_edition(meta.editions)
    money_unit = meta.currency
    (target / "data" / "kpis").mkdir(parents=True)
    _write(target / "mkdocs.yml", _mkdocs_yml(list(_pages(framework, examples, source, texts[source])), source))
    _write(target / "data" / "report.yml", _report_yml(meta, texts))
    if money_unit not in load_units():
        # A currency the toolchain has no unit for becomes the report's own money unit.
        _write(target / "data" / "units.yml", yaml.safe_dump(
            {money_unit: {"label": dict.fromkeys(EDITIONS, money_unit), "money": True}}, allow_unicode=True))
    _write(target / "data" / "kpis" / "example.yml", _kpis_yml(examples, meta.year, list(EDITIONS), texts))
    _write(target / "data" / "disclosures.yml", "# Explanations for provisions this report does not disclose.\nexplanations: {}\n")
    for edition in meta.editions:
        pages = _pages(framework, examples, edition, texts[edition])
        for name, text in pages.items():
            _write(target / "content" / edition / name, text)
    project = Project.at(target)
    for name in _pages(framework, examples, source, texts[source]):
        for edition in meta.editions[1:]:
            mark_translated(project, source, edition, name)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _mkdocs_yml(pages: list[str], source: str) -> str:
    nav = "".join(f"  - {page}\n" for page in pages)
    return f"""site_name: ESG Report
docs_dir: content/{source}
site_dir: site/{source}
nav:
""" + nav + """theme:
  name: material
  font: false
plugins:
  - esg-report
  - search:
      separator: '[\\s\\u200b\\-、。，．？！；：「」（）]+'
markdown_extensions:
  - attr_list
  - md_in_html
  - tables
  - footnotes
  - admonition
  - toc:
      permalink: true
validation:
  omitted_files: warn
  absolute_links: warn
  unrecognized_links: warn
  anchors: warn
"""


def _report_yml(meta: StarterMetadata, texts: dict[str, dict]) -> str:
    year = meta.year
    money = {"scale": meta.money_scale, "decimals": meta.money_decimals}
    data = {
        "company": {"name": {code: meta.company[code] for code in EDITIONS},
                    "short_name": {code: meta.short_name[code] for code in EDITIONS},
                    "stock_codes": [{"exchange": exchange, "code": code} for exchange, code in meta.stock_codes]},
        "report": {"title": {code: texts[code]["title"].replace("{year}", str(year)) for code in EDITIONS},
                   "year": year, "period_start": meta.period_start, "period_end": meta.period_end,
                   "approved": meta.approved, "framework": meta.framework, "currency": meta.currency,
                   "money": {code: {**money, "pattern": meta.money[code]} for code in EDITIONS},
                   "pdf_name": "esg-report"},
        "editions": list(meta.editions),
    }
    return "# Report metadata (field reference: docs/authoring-guide.md, \"Report metadata\").\n" + \
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _kpis_yml(examples: dict, year: int, editions: list[str], texts: dict[str, dict]) -> str:
    note = {code: texts[code]["placeholder_note"] for code in editions}
    kpis = []
    for code, spec in examples.items():
        values = {}
        for offset, amount in enumerate(spec["values"]):
            values[year - 2 + offset] = {"value": amount, "note": note} if offset == 2 else amount
        kpis.append({"id": spec["id"], "name": spec["name"], "unit": spec["unit"], "decimals": spec["decimals"],
                     "disclose": [code], "source": "PLACEHOLDER", "values": values})
    document = {"group": "example", "title": {code: texts[code]["kpi_group"] for code in editions}, "kpis": kpis}
    return "# Placeholder figures of the starter report (source: PLACEHOLDER). Replace them with your data.\n" + \
        yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _pages(framework: Framework, examples: dict, edition: str, texts: dict) -> dict[str, str]:
    t, box = texts["pages"], texts["starter_box"]
    # Mandatory provisions outside any aspect (the Board statement, principles, boundary) open the
    # report; a mandatory one inside an aspect (the 2025 code's Scope 1 and 2 emissions) stays there.
    mandatory = [p for p in framework.provisions.values() if p.level == "mandatory" and not p.aspect]
    about = [f"# {t['about']} {{ #about-this-report }}\n", box]
    anchors = {"MDR-13": ("board", "board-statement"), "MDR-14": ("principles", "reporting-principles"),
               "MDR-15": ("boundary", "reporting-boundary")}
    for provision in mandatory:
        key, anchor = anchors.get(provision.code, (None, provision.code.lower()))
        title = t[key] if key else provision.description[edition]
        about.append(f"## {title} {{ #{anchor} data-disclose=\"{provision.code}\" }}\n\n{provision.description[edition]}\n")
    pages = {
        "index.md": (f"---\nprint: false\n---\n# {{{{ report_title }}}} {{ #home }}\n\n{{{{ company_name }}}}"
                     f" ({{{{ stock_codes }}}})\n\n{t['period']}\n\n{box}"),
        "about-this-report.md": "\n".join(about),
    }
    for area, (filename, key) in _AREA_PAGES.items():
        if not any(aspect_id.startswith(area) for aspect_id in framework.aspects):
            continue
        title = t[key]
        lines = [f"# {title} {{ #{filename[:-3]} }}\n", box]
        for aspect_id, aspect in framework.aspects.items():
            if not aspect_id.startswith(area):
                continue
            provisions = [p for p in framework.provisions.values() if p.aspect == aspect_id]
            tagged = [p.code for p in provisions if p.code not in examples]
            lines.append(f"## {aspect['title'][edition]} {{ #{aspect_id.lower()} data-disclose=\"{' '.join(tagged)}\" }}\n")
            lines.append(t["describe"] + "\n")
            colon = texts["code_colon"]
            lines.extend(f"- {p.code}{colon}{p.description[edition]}" for p in provisions if p.code in tagged)
            kpi_ids = [examples[p.code]["id"] for p in provisions if p.code in examples]
            if kpi_ids:
                lines.append(f"\n{{{{ kpi_table({kpi_ids!r}) }}}}\n")
            lines.append("")
        pages[filename] = "\n".join(lines)
    pages["content-index.md"] = f"# {t['index']} {{ #content-index }}\n\n{{{{ content_index() }}}}\n"
    return pages
