"""disclosures.py and the comply-or-explain rules, on the starter report."""

import json
import re
from pathlib import Path

import yaml

from build_tools.disclosures import load_framework, scan_page
from build_tools.pipeline import build_report
from build_tools.project import Project


def build_sites(report: Path, tmp_path: Path):
    return build_report(Project.at(report), pdf=False, output=tmp_path / "out" / "site")


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), "utf-8")


def test_frameworks_have_the_documented_provisions():
    fy2024 = load_framework("hkex-esg-2024")
    assert len(fy2024.provisions) == 51
    levels = [p.level for p in fy2024.provisions.values()]
    assert levels.count("mandatory") == 3 and levels.count("comply_or_explain") == 48
    fy2025 = load_framework("hkex-esg-2025")
    assert {"D-GOV", "D-MT-GHG12"} <= set(fy2025.provisions)
    assert fy2025.provisions["D-MT-GHG12"].level == "mandatory"
    assert "A4.1" not in fy2025.provisions
    assert all(p.unverified for p in fy2025.provisions.values() if p.kind == "climate")


def test_scan_page_attaches_blocks_to_their_heading():
    html = ('<h1 id="top">3.3 Supply Chain</h1><p>x</p>'
            '<h2 id="sustainable" data-disclose="B5.3">3.3.2 Sustainable Supply Chain</h2>'
            '<p><span class="kpi" data-disclose="B5.1">1,075</span></p>')
    headings, locations = scan_page(html, "supply.md", "supply/")
    assert [(h.number, h.title) for h in headings] == [("3.3", "Supply Chain"), ("3.3.2", "Sustainable Supply Chain")]
    assert [(l.code, l.anchor, l.number) for l in locations] == [("B5.3", "sustainable", "3.3.2"), ("B5.1", "sustainable", "3.3.2")]


def test_starter_index_lists_every_provision(starter, tmp_path):
    _, problems = build_sites(starter, tmp_path)
    assert not problems.items, [d.format() for d in problems.items]
    for edition in ("en", "zh-Hant"):
        exported = json.loads((tmp_path / "out" / "site" / edition / "downloads" / "content-index.json").read_text("utf-8"))
        codes = [row["code"] for row in exported["provisions"]]
        assert codes == list(load_framework("hkex-esg-2024").provisions)
        assert all(row["status"] == "disclosed" and row["locations"] for row in exported["provisions"])


def test_untagged_unexplained_provision_fails_naming_it(starter, tmp_path):
    for edition in ("en", "zh-Hant"):
        replace_in(starter / "content" / edition / "social.md", 'data-disclose="B4 B4.1 B4.2"', "")
    _, problems = build_sites(starter, tmp_path)
    [error] = problems.errors
    assert error.code == "index.unexplained"
    assert error.message == "3 provision(s) of hkex-esg-2024 are neither disclosed nor explained: B4, B4.1, B4.2"
    assert not (tmp_path / "out" / "site").exists()


def test_explanation_satisfies_comply_or_explain(starter, tmp_path):
    for edition in ("en", "zh-Hant"):
        replace_in(starter / "content" / edition / "social.md", 'data-disclose="B4 B4.1 B4.2"', "")
    explanations = {code: {"en": "No such risk in our operations.", "zh-Hant": "本集團業務並無此風險。"}
                    for code in ("B4", "B4.1", "B4.2")}
    (starter / "data" / "disclosures.yml").write_text(yaml.safe_dump({"explanations": explanations}, allow_unicode=True), "utf-8")
    _, problems = build_sites(starter, tmp_path)
    assert not problems.errors
    exported = json.loads((tmp_path / "out" / "site" / "zh-Hant" / "downloads" / "content-index.json").read_text("utf-8"))
    row = next(r for r in exported["provisions"] if r["code"] == "B4.1")
    assert (row["status"], row["explanation"]) == ("explained", "本集團業務並無此風險。")
    page = (tmp_path / "out" / "site" / "en" / "content-index" / "index.html").read_text("utf-8")
    assert "No such risk in our operations." in page


def test_unknown_tag_fails_with_suggestion(starter, tmp_path):
    page = starter / "content" / "en" / "social.md"
    replace_in(page, 'data-disclose="B5 B5.2', 'data-disclose="B5 B52')
    _, problems = build_sites(starter, tmp_path)
    unknown = [e for e in problems.errors if e.code == "index.unknown-code"]
    assert len(unknown) == 1
    assert unknown[0].message == "'B52' is not a provision of hkex-esg-2024"
    assert unknown[0].hint == "did you mean 'B5.2'?"
    assert unknown[0].file == str(page)
    assert 'data-disclose="B5 B52' in page.read_text("utf-8").splitlines()[unknown[0].line - 1]


def test_editions_must_disclose_the_same(starter, tmp_path):
    replace_in(starter / "content" / "zh-Hant" / "social.md", 'data-disclose="B8 B8.1"', 'data-disclose="B8"')
    _, problems = build_sites(starter, tmp_path)
    [error] = [e for e in problems.errors if e.code == "editions.disclosures"]
    assert "social.md#b8: en=['B8', 'B8.1', 'B8.2'] zh-Hant=['B8', 'B8.2']" in error.message


def test_2025_code_adds_part_d(starter, tmp_path):
    replace_in(starter / "data" / "report.yml", "framework: hkex-esg-2024", "framework: hkex-esg-2025")
    _, problems = build_sites(starter, tmp_path)
    unknown = {re.search(r"'([^']+)',? (which )?is not a provision", e.message).group(1)
               for e in problems.errors if e.code == "index.unknown-code"}
    assert unknown == {"A1.2", "A4", "A4.1"}  # climate items moved to Part D
    unexplained = next(e for e in problems.errors if e.code == "index.unexplained")
    assert "D-GOV" in unexplained.message and "D-MT-GHG12" in unexplained.message


def test_editions_must_show_the_same_kpis(starter, tmp_path):
    replace_in(starter / "content" / "zh-Hant" / "social.md", "{{ kpi_table(['employees_total', 'employee_turnover_rate']) }}",
               "{{ kpi_table(['employees_total']) }}\n\n僱員流失比率：{{ kpi('employee_turnover_rate', year=2023) }}")
    replace_in(starter / "content" / "zh-Hant" / "social.md", "{{ kpi_table(['work_fatalities', 'lost_days_injury']) }}",
               "{{ kpi_table(['work_fatalities']) }}")
    _, problems = build_sites(starter, tmp_path)
    [warning] = [w for w in problems.warnings if w.code == "editions.kpis"]
    assert warning.message == ("the editions show different KPIs on social.md: only in en: ['lost_days_injury']; "
                               "only in zh-Hant: none")


def set_value(report: Path, kpi_id: str, year: int, value) -> None:
    path = report / "data" / "kpis" / "example.yml"
    document = yaml.safe_load(path.read_text("utf-8"))
    next(k for k in document["kpis"] if k["id"] == kpi_id)["values"][year] = value
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")


NOT_APPLICABLE = {"status": "not_applicable", "reason": {"en": "We sell no physical products.", "zh-Hant": "本集團不銷售實物產品。"}}
B61 = {"en": "B6.1 does not apply: we sell services only.", "zh-Hant": "B6.1不適用：本集團只提供服務。"}


def test_kpi_without_a_reporting_year_figure_discloses_nothing(starter, tmp_path):
    set_value(starter, "products_recalled", 2024, NOT_APPLICABLE)  # the only place B6.1 is shown
    _, problems = build_sites(starter, tmp_path)
    [error] = problems.errors
    assert error.code == "index.unexplained"
    assert error.message == "1 provision(s) of hkex-esg-2024 are neither disclosed nor explained: B6.1"
    assert error.hint.endswith("KPIs with no 2024 figure disclose nothing: products_recalled")


def test_explanation_shows_where_a_kpi_has_no_figure(starter, tmp_path):
    set_value(starter, "products_recalled", 2024, NOT_APPLICABLE)
    (starter / "data" / "disclosures.yml").write_text(yaml.safe_dump({"explanations": {"B6.1": B61}}, allow_unicode=True), "utf-8")
    _, problems = build_sites(starter, tmp_path)
    assert not problems.items, [d.format() for d in problems.items]
    for edition in ("en", "zh-Hant"):
        exported = json.loads((tmp_path / "out" / "site" / edition / "downloads" / "content-index.json").read_text("utf-8"))
        row = next(r for r in exported["provisions"] if r["code"] == "B6.1")
        assert (row["status"], row["locations"], row["explanation"]) == ("explained", [], B61[edition])


def test_provision_explained_and_disclosed_is_a_warning_naming_both(starter, tmp_path):
    path = starter / "data" / "disclosures.yml"
    path.write_text("explanations:\n  B6.1: {en: Not material., zh-Hant: 不重要。}\n", "utf-8")
    _, problems = build_sites(starter, tmp_path)
    assert not problems.errors
    [warning] = problems.warnings
    assert (warning.code, warning.file, warning.line) == ("index.explained-and-disclosed", str(path), 2)
    # B6.1 is shown through the products_recalled row of the B6 section's table in social.md.
    assert warning.message == "'B6.1' is explained in data/disclosures.yml and also disclosed in social.md#b6"


def test_appendix_numbers_map_in_both_languages():
    from build_tools.disclosures import canonical_number

    assert [canonical_number(f"Appendix {n}") for n in ("VI", "VII", "VIII", "IX", "X")] == ["A6", "A7", "A8", "A9", "A10"]
    assert [canonical_number(f"附錄{n}") for n in "六七八九十"] == ["A6", "A7", "A8", "A9", "A10"]
