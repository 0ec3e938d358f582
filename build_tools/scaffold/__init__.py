"""``esg-report new DIR``: a complete starter report that builds as it is.

Generated from the framework data, so the starter always covers the whole framework: one
section per aspect, tagged with its general disclosure and narrative KPIs, and an example KPI
(marked as such in the data and on the page) for every quantitative KPI.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import yaml

from ..disclosures import Framework, load_framework
from ..project import Project
from ..translation import mark_translated

_EXAMPLE_NOTE = {"en": "Example figure: replace it with your data.", "zh-Hant": "示例數字：請以貴公司數據取代。"}
_EXAMPLE_BOX = {
    "en": '!!! note "Example content"\n    This starter page shows the structure. Replace the text and the example figures '
          'in `data/kpis/example.yml` with your own.\n',
    "zh-Hant": '!!! note "示例內容"\n    本頁為起步範本，展示報告結構。請以貴公司的文字及數據取代本頁內容及 '
               '`data/kpis/example.yml` 的示例數字。\n',
}
_TEXT = {
    "en": {"about": "About this Report", "board": "Board Statement", "principles": "Reporting Principles",
           "boundary": "Reporting Boundary", "environmental": "Environmental", "social": "Social",
           "index": "Content Index", "describe": "Describe here how the company addresses this aspect:"},
    "zh-Hant": {"about": "關於本報告", "board": "董事會聲明", "principles": "匯報原則", "boundary": "匯報範圍",
                "environmental": "環境", "social": "社會", "index": "內容索引",
                "describe": "請在此說明公司如何處理本層面的事宜："},
}


def create_report(target: Path, company: str = "Example Holdings Limited", year: int | None = None,
                  framework_id: str = "hkex-esg-2024") -> None:
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} exists and is not empty")
    year = year or dt.date.today().year - 1
    framework = load_framework(framework_id)
    examples = yaml.safe_load(resources.files("build_tools").joinpath("scaffold", "example-kpis.yml").read_text("utf-8"))
    examples = {code: spec for code, spec in examples.items() if code in framework.provisions}
    (target / "data" / "kpis").mkdir(parents=True)
    _write(target / "mkdocs.yml", _mkdocs_yml())
    _write(target / "data" / "report.yml", _report_yml(company, year, framework_id))
    _write(target / "data" / "kpis" / "example.yml", _kpis_yml(examples, year))
    _write(target / "data" / "disclosures.yml", "# Explanations for provisions this report does not disclose.\nexplanations: {}\n")
    for edition in ("en", "zh-Hant"):
        pages = _pages(framework, examples, edition)
        for name, text in pages.items():
            _write(target / "content" / edition / name, text)
    project = Project.at(target)
    for name in _pages(framework, examples, "en"):
        mark_translated(project, "zh-Hant", name)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _mkdocs_yml() -> str:
    return """site_name: ESG Report
docs_dir: content/en
site_dir: site/en
nav:
  - index.md
  - about-this-report.md
  - environmental.md
  - social.md
  - content-index.md
theme:
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


def _report_yml(company: str, year: int, framework_id: str) -> str:
    data = {
        "company": {"name": {"en": company, "zh-Hant": "示例控股有限公司"},
                    "short_name": {"en": company.split()[0], "zh-Hant": "示例控股"},
                    "stock_codes": [{"exchange": "HKEX", "code": "0000"}]},
        "report": {"title": {"en": f"Environmental, Social and Governance Report {year}",
                             "zh-Hant": f"{year}年環境、社會及管治報告"},
                   "year": year, "period_start": f"{year}-01-01", "period_end": f"{year}-12-31",
                   "approved": f"{year + 1}-03-31", "framework": framework_id, "currency": "RMB",
                   "money": {"en": {"scale": 1000000, "decimals": 1, "pattern": "RMB{amount} million"},
                             "zh-Hant": {"scale": 1000000, "decimals": 1, "pattern": "人民幣{amount}百萬元"}},
                   "pdf_name": "esg-report", "example": True},
        "editions": ["en", "zh-Hant"],
    }
    return "# Report metadata. This is a starter report: replace every value.\n" + \
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _kpis_yml(examples: dict, year: int) -> str:
    kpis = []
    for code, spec in examples.items():
        values = {}
        for offset, amount in enumerate(spec["values"]):
            values[year - 2 + offset] = {"value": amount, "note": _EXAMPLE_NOTE} if offset == 2 else amount
        kpis.append({"id": spec["id"], "name": spec["name"], "unit": spec["unit"], "decimals": spec["decimals"],
                     "disclose": [code], "source": "EXAMPLE", "values": values})
    document = {"group": "example", "title": {"en": "Example KPIs", "zh-Hant": "示例關鍵績效指標"}, "kpis": kpis}
    return "# Example figures of the starter report (source: EXAMPLE). Replace them with your data.\n" + \
        yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _pages(framework: Framework, examples: dict, edition: str) -> dict[str, str]:
    t = _TEXT[edition]
    mandatory = [p for p in framework.provisions.values() if p.level == "mandatory"]
    about = [f"# {t['about']} {{ #about-this-report }}\n", _EXAMPLE_BOX[edition]]
    anchors = {"MDR-13": ("board", "board-statement"), "MDR-14": ("principles", "reporting-principles"),
               "MDR-15": ("boundary", "reporting-boundary")}
    for provision in mandatory:
        key, anchor = anchors.get(provision.code, (None, provision.code.lower()))
        title = t[key] if key else provision.description[edition]
        about.append(f"## {title} {{ #{anchor} data-disclose=\"{provision.code}\" }}\n\n{provision.description[edition]}\n")
    pages = {
        "index.md": f"---\nprint: false\n---\n# {{{{ report_title }}}} {{ #home }}\n\n{{{{ company_name }}}}\n\n{_EXAMPLE_BOX[edition]}",
        "about-this-report.md": "\n".join(about),
    }
    for area, filename in (("A", "environmental.md"), ("B", "social.md")):
        title = t["environmental" if area == "A" else "social"]
        lines = [f"# {title} {{ #{filename[:-3]} }}\n", _EXAMPLE_BOX[edition]]
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
