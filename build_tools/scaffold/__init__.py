"""``esg-report new DIR``: a complete starter report that builds as it is.

Generated from the framework data, so the starter always covers the whole framework: one
section per aspect, tagged with its general disclosure and narrative KPIs, and a placeholder
KPI (marked as such in the data and on the page) for every quantitative KPI. The company's
metadata (names, stock codes, currency, period, dates) comes from ``StarterMetadata``: the
`new` command's flags or answers; only what is not given falls back to a neutral default.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from ..data import load_units
from ..disclosures import Framework, load_framework
from ..errors import Diagnostic, ReportError
from ..project import Project
from ..translation import mark_translated

_PLACEHOLDER_NOTE = {"en": "Placeholder figure: replace it with your data.", "zh-Hant": "預留數字：請以貴公司數據取代。"}
_STARTER_BOX = {
    "en": '!!! note "Starter content"\n    This starter page shows the structure. Replace the text and the placeholder '
          'figures in `data/kpis/example.yml` with your own.\n',
    "zh-Hant": '!!! note "範本內容"\n    本頁為起步範本，展示報告結構。請以貴公司的文字及數據取代本頁內容及 '
               '`data/kpis/example.yml` 的預留數字。\n',
}
# Money styles for the currencies Hong Kong issuers report in; any other code gets "<CODE>{amount} million".
MONEY_PATTERNS = {
    "HKD": {"en": "HK${amount} million", "zh-Hant": "港幣{amount}百萬元"},
    "RMB": {"en": "RMB{amount} million", "zh-Hant": "人民幣{amount}百萬元"},
    "USD": {"en": "US${amount} million", "zh-Hant": "美元{amount}百萬元"},
}


@dataclass
class StarterMetadata:
    """What `esg-report new` writes into data/report.yml (and the money unit of the KPIs)."""

    company: str = "Example Holdings Limited"
    company_zh: str = "示例控股有限公司"
    short_name: str | None = None  # default: the first word of the English name
    short_name_zh: str | None = None  # default: the Chinese name without 有限公司
    stock_codes: list[tuple[str, str]] = field(default_factory=lambda: [("HKEX", "0000")])
    currency: str = "RMB"
    money_en: str | None = None  # default: MONEY_PATTERNS[currency]
    money_zh: str | None = None
    money_scale: int = 1000000
    money_decimals: int = 1
    year: int | None = None  # default: last calendar year
    period_start: str | None = None  # default: 1 January of year
    period_end: str | None = None  # default: 31 December of year
    approved: str | None = None  # default: 31 March after the year
    framework: str = "hkex-esg-2024"

    def resolved(self) -> "StarterMetadata":
        year = self.year or dt.date.today().year - 1
        patterns = MONEY_PATTERNS.get(self.currency, {"en": f"{self.currency}{{amount}} million",
                                                       "zh-Hant": f"{self.currency}{{amount}}百萬元"})
        return StarterMetadata(
            company=self.company, company_zh=self.company_zh,
            short_name=self.short_name or self.company.split()[0],
            short_name_zh=self.short_name_zh or self.company_zh.removesuffix("有限公司") or self.company_zh,
            stock_codes=list(self.stock_codes), currency=self.currency,
            money_en=self.money_en or patterns["en"], money_zh=self.money_zh or patterns["zh-Hant"],
            money_scale=self.money_scale, money_decimals=self.money_decimals, year=year,
            period_start=self.period_start or f"{year}-01-01", period_end=self.period_end or f"{year}-12-31",
            approved=self.approved or f"{year + 1}-03-31", framework=self.framework)
_TEXT = {
    "en": {"about": "About this Report", "board": "Board Statement", "principles": "Reporting Principles",
           "boundary": "Reporting Boundary", "environmental": "Environmental", "social": "Social",
           "climate": "Climate-related Disclosures",
           "index": "Content Index", "describe": "Describe here how the company addresses this aspect:",
           "period": "Reporting period: {{ period_start }} to {{ period_end }}"},
    "zh-Hant": {"about": "關於本報告", "board": "董事會聲明", "principles": "匯報原則", "boundary": "匯報範圍",
                "environmental": "環境", "social": "社會", "climate": "氣候相關披露", "index": "內容索引",
                "describe": "請在此說明公司如何處理本層面的事宜：",
                "period": "匯報期間：{{ period_start }}至{{ period_end }}"},
}


# One page per framework area that has aspects: its file and its title in _TEXT.
_AREA_PAGES = {"A": ("environmental.md", "environmental"), "B": ("social.md", "social"), "D": ("climate.md", "climate")}


def create_report(target: Path, company: str | None = None, year: int | None = None,
                  framework_id: str | None = None, metadata: StarterMetadata | None = None) -> None:
    """Write a starter report into ``target`` (which must not exist or be empty)."""
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ReportError(Diagnostic("error", "new.not-empty", f"{target} exists and is not empty", file=str(target),
                                     hint="name a new folder; `new` never writes over existing files"))
    metadata = metadata or StarterMetadata()
    if company:
        metadata.company = company
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
    (target / "data" / "kpis").mkdir(parents=True)
    _write(target / "mkdocs.yml", _mkdocs_yml(list(_pages(framework, examples, "en"))))
    _write(target / "data" / "report.yml", _report_yml(meta))
    if money_unit not in load_units():
        # A currency the toolchain has no unit for becomes the report's own money unit.
        _write(target / "data" / "units.yml", yaml.safe_dump(
            {money_unit: {"label": {"en": money_unit, "zh-Hant": money_unit}, "money": True}}, allow_unicode=True))
    _write(target / "data" / "kpis" / "example.yml", _kpis_yml(examples, meta.year))
    _write(target / "data" / "disclosures.yml", "# Explanations for provisions this report does not disclose.\nexplanations: {}\n")
    for edition in ("en", "zh-Hant"):
        pages = _pages(framework, examples, edition)
        for name, text in pages.items():
            _write(target / "content" / edition / name, text)
    project = Project.at(target)
    for name in _pages(framework, examples, "en"):
        mark_translated(project, "en", "zh-Hant", name)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _mkdocs_yml(pages: list[str]) -> str:
    nav = "".join(f"  - {page}\n" for page in pages)
    return """site_name: ESG Report
docs_dir: content/en
site_dir: site/en
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


def _report_yml(meta: StarterMetadata) -> str:
    year = meta.year
    money = {"scale": meta.money_scale, "decimals": meta.money_decimals}
    data = {
        "company": {"name": {"en": meta.company, "zh-Hant": meta.company_zh},
                    "short_name": {"en": meta.short_name, "zh-Hant": meta.short_name_zh},
                    "stock_codes": [{"exchange": exchange, "code": code} for exchange, code in meta.stock_codes]},
        "report": {"title": {"en": f"Environmental, Social and Governance Report {year}",
                             "zh-Hant": f"{year}年環境、社會及管治報告"},
                   "year": year, "period_start": meta.period_start, "period_end": meta.period_end,
                   "approved": meta.approved, "framework": meta.framework, "currency": meta.currency,
                   "money": {"en": {**money, "pattern": meta.money_en}, "zh-Hant": {**money, "pattern": meta.money_zh}},
                   "pdf_name": "esg-report"},
        "editions": ["en", "zh-Hant"],
    }
    return "# Report metadata (field reference: docs/authoring-guide.md, \"Report metadata\").\n" + \
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _kpis_yml(examples: dict, year: int) -> str:
    kpis = []
    for code, spec in examples.items():
        values = {}
        for offset, amount in enumerate(spec["values"]):
            values[year - 2 + offset] = {"value": amount, "note": _PLACEHOLDER_NOTE} if offset == 2 else amount
        kpis.append({"id": spec["id"], "name": spec["name"], "unit": spec["unit"], "decimals": spec["decimals"],
                     "disclose": [code], "source": "PLACEHOLDER", "values": values})
    document = {"group": "example", "title": {"en": "Starter KPIs", "zh-Hant": "範本關鍵績效指標"}, "kpis": kpis}
    return "# Placeholder figures of the starter report (source: PLACEHOLDER). Replace them with your data.\n" + \
        yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _pages(framework: Framework, examples: dict, edition: str) -> dict[str, str]:
    t = _TEXT[edition]
    # Mandatory provisions outside any aspect (the Board statement, principles, boundary) open the
    # report; a mandatory one inside an aspect (the 2025 code's Scope 1 and 2 emissions) stays there.
    mandatory = [p for p in framework.provisions.values() if p.level == "mandatory" and not p.aspect]
    about = [f"# {t['about']} {{ #about-this-report }}\n", _STARTER_BOX[edition]]
    anchors = {"MDR-13": ("board", "board-statement"), "MDR-14": ("principles", "reporting-principles"),
               "MDR-15": ("boundary", "reporting-boundary")}
    for provision in mandatory:
        key, anchor = anchors.get(provision.code, (None, provision.code.lower()))
        title = t[key] if key else provision.description[edition]
        about.append(f"## {title} {{ #{anchor} data-disclose=\"{provision.code}\" }}\n\n{provision.description[edition]}\n")
    pages = {
        "index.md": (f"---\nprint: false\n---\n# {{{{ report_title }}}} {{ #home }}\n\n{{{{ company_name }}}}"
                     f" ({{{{ stock_codes }}}})\n\n{t['period']}\n\n{_STARTER_BOX[edition]}"),
        "about-this-report.md": "\n".join(about),
    }
    for area, (filename, key) in _AREA_PAGES.items():
        if not any(aspect_id.startswith(area) for aspect_id in framework.aspects):
            continue
        title = t[key]
        lines = [f"# {title} {{ #{filename[:-3]} }}\n", _STARTER_BOX[edition]]
        for aspect_id, aspect in framework.aspects.items():
            if not aspect_id.startswith(area):
                continue
            provisions = [p for p in framework.provisions.values() if p.aspect == aspect_id]
            tagged = [p.code for p in provisions if p.code not in examples]
            lines.append(f"## {aspect['title'][edition]} {{ #{aspect_id.lower()} data-disclose=\"{' '.join(tagged)}\" }}\n")
            lines.append(t["describe"] + "\n")
            colon = "：" if edition == "zh-Hant" else ": "  # full-width after a code in Chinese text
            lines.extend(f"- {p.code}{colon}{p.description[edition]}" for p in provisions if p.code in tagged)
            kpi_ids = [examples[p.code]["id"] for p in provisions if p.code in examples]
            if kpi_ids:
                lines.append(f"\n{{{{ kpi_table({kpi_ids!r}) }}}}\n")
            lines.append("")
        pages[filename] = "\n".join(lines)
    pages["content-index.md"] = f"# {t['index']} {{ #content-index }}\n\n{{{{ content_index() }}}}\n"
    return pages
