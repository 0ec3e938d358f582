"""macros.py: writers' macros, sandboxing, and errors located in the chapter."""

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml
from lxml import html as lxml_html

from build_tools.data import load_report_data
from build_tools.errors import RenderError
from build_tools.project import Project
from build_tools.edition import EditionContext


@pytest.fixture
def renderers(starter):
    project = Project.at(starter)
    return {e: EditionContext(project, e).renderer for e in ("en", "zh-Hant")}


@pytest.fixture
def data(starter):
    """The starter's data, from which the expected figures come."""
    return load_report_data(starter / "data")


def render(renderer, source: str) -> str:
    return renderer.render(source, Path("content/en/page.md"))


def error_of(renderer, source: str):
    with pytest.raises(RenderError) as caught:
        render(renderer, source)
    [diagnostic] = caught.value.diagnostics.items
    return diagnostic


def test_kpi_value_per_edition(renderers, data):
    suppliers = data.kpis["suppliers_total"].value(data.year).amount  # a whole number below 1,000
    assert f">{suppliers} suppliers</span>" in render(renderers["en"], '{{ kpi("suppliers_total") }}')
    assert f">{suppliers}家</span>" in render(renderers["zh-Hant"], '{{ kpi("suppliers_total") }}')


def test_kpi_marks_its_disclosure(renderers, data):
    kpi, year = data.kpis["suppliers_total"], data.year - 1
    [code] = kpi.disclose
    html = render(renderers["en"], f'{{{{ kpi("suppliers_total", year={year}, unit=False) }}}}')
    assert html == (f'<span class="kpi" data-kpi="suppliers_total" data-year="{year}" data-disclose="{code}">'
                    f'{kpi.value(year).amount}</span>')


def test_zero_wording(renderers, data):
    assert data.kpis["corruption_cases"].value(data.year).amount == 0
    assert ">no</span>" in render(renderers["en"], '{{ kpi("corruption_cases", zero="no") }}')
    suppliers = data.kpis["suppliers_total"].value(data.year).amount
    assert f">{suppliers} suppliers<" in render(renderers["en"], '{{ kpi("suppliers_total", zero="no") }}')


def test_change_between_years(renderers, data):
    kpi = data.kpis["suppliers_total"]
    old, new = kpi.value(data.year - 1).amount, kpi.value(data.year).amount
    assert new > old
    percent = ((new - old) / old * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    assert f">increased by {percent}%<" in render(renderers["en"], '{{ change("suppliers_total") }}')
    assert f">上升{percent}%<" in render(renderers["zh-Hant"], '{{ change("suppliers_total") }}')


def test_unknown_kpi_id_names_line_and_suggests(renderers):
    error = error_of(renderers["en"], 'Intro.\n\nWe have {{ kpi("supliers_total") }} suppliers.\n')
    assert (error.code, error.file, error.line) == ("macro", "content/en/page.md", 3)
    assert error.message == "unknown KPI id 'supliers_total'"
    assert error.hint == "did you mean 'suppliers_total'?"


def test_jinja_syntax_error_names_line(renderers):
    error = error_of(renderers["en"], "One\nTwo {{ kpi('x' }}\n")
    assert (error.code, error.line) == ("jinja.syntax", 2)


def test_undefined_name_fails_instead_of_printing_nothing(renderers):
    error = error_of(renderers["en"], "Line one\n\nThe {{ compnay_name }} report\n")
    assert (error.code, error.line) == ("jinja.undefined", 3)
    assert "'compnay_name' is undefined" in error.message


def test_year_without_value(renderers):
    error = error_of(renderers["en"], '{{ kpi("suppliers_total", year=2019) }}')
    assert error.message == "KPI 'suppliers_total' has no value for 2019"


def test_sandbox_blocks_python_internals(renderers):
    error = error_of(renderers["en"], "{{ kpi.__globals__ }}")
    assert error.code.startswith("jinja")


def test_hostile_note_is_shown_literally(starter):
    kpis = starter / "data" / "kpis" / "example.yml"
    document = yaml.safe_load(kpis.read_text("utf-8"))
    supplier = next(k for k in document["kpis"] if k["id"] == "suppliers_total")
    supplier["values"][2024]["note"]["en"] = "<script>alert(1)</script> | *bold* {{ kpi('x') }}"
    kpis.write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")
    renderer = EditionContext(Project.at(starter), "en").renderer
    html = render(renderer, '{{ kpi_table(["suppliers_total"]) }}')
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &#124; &#42;bold&#42; &#123;&#123; kpi(&#39;x&#39;) &#125;&#125;" in html


def test_kpi_table_lists_years_units_and_codes(renderers, data):
    kpi = data.kpis["water_consumption"]
    html = render(renderers["zh-Hant"], '{{ kpi_table(["water_consumption"]) }}')
    assert "<th scope=\"col\">指標</th>" in html
    assert all(f">{year}</th>" in html for year in data.years)
    assert kpi.name["zh-Hant"] in html and "立方米" in html
    assert all(f">{kpi.value(year).amount:,}<" in html for year in data.years)  # whole cubic metres
    assert all(f'data-disclose="{code}"' in html for code in kpi.disclose)


def test_kpi_chart_has_text_alternative(renderers, data):
    kpi = data.kpis["water_consumption"]
    html = render(renderers["zh-Hant"], '{{ kpi_chart(["water_consumption"]) }}')
    assert 'role="img"' in html
    # full-width punctuation from the catalog
    assert f"{kpi.name['zh-Hant']}{data.year}年：{kpi.value(data.year).amount:,}立方米" in html


def test_change_styles_and_house_default(starter):
    report = starter / "data" / "report.yml"
    report.write_text(report.read_text("utf-8").replace("  pdf_name:", "  change_style: {en: noun}\n  pdf_name:"), "utf-8")
    project = Project.at(starter)
    en, zh = (EditionContext(project, e).renderer for e in ("en", "zh-Hant"))
    # suppliers_total: 326 -> 341 is +4.6%
    assert ">an increase of 4.6%<" in render(en, '{{ change("suppliers_total") }}')  # the house default
    assert ">上升4.6%<" in render(zh, '{{ change("suppliers_total") }}')  # no default for zh-Hant: verb
    assert ">up 4.6%<" in render(en, '{{ change("suppliers_total", style="short") }}')
    assert ">增加4.6%<" in render(zh, '{{ change("suppliers_total", style="noun") }}')
    error = error_of(en, '{{ change("suppliers_total", style="nown") }}')
    assert (error.code, error.message, error.hint) == ("macro", "unknown change style 'nown'", "did you mean 'noun'?")


def test_report_defined_unit_in_both_editions(starter):
    (starter / "data" / "units.yml").write_text(
        "containers:\n  label: {en: containers, zh-Hant: 個貨櫃}\n  singular: {en: container}\n", "utf-8")
    (starter / "data" / "kpis" / "boxes.yml").write_text(
        "group: boxes\ntitle: {en: Boxes, zh-Hant: 貨櫃}\nkpis:\n"
        "  - {id: boxes, name: {en: Boxes, zh-Hant: 貨櫃}, unit: containers, values: {2023: 1, 2024: 27}}\n", "utf-8")
    project = Project.at(starter)
    en, zh = (EditionContext(project, e).renderer for e in ("en", "zh-Hant"))
    assert ">27 containers</span>" in render(en, '{{ kpi("boxes") }}')
    assert ">1 container</span>" in render(en, '{{ kpi("boxes", year=2023) }}')
    assert ">27個貨櫃</span>" in render(zh, '{{ kpi("boxes") }}')
    assert ">27</span>" in render(zh, '{{ kpi("boxes", unit=False) }}')
    assert "個貨櫃" in render(zh, '{{ kpi_table(["boxes"]) }}')


def test_every_report_field_reaches_chapters(starter, renderers):
    meta = yaml.safe_load((starter / "data" / "report.yml").read_text("utf-8"))
    company, report = meta["company"], meta["report"]
    source = ("{{ company_name }}|{{ company_names['zh-Hant'] }}|{{ short_name }}|{{ report_title }}|{{ year }}|"
              "{{ period_start }}|{{ period_end }}|{{ approval_date }}|{{ stock_codes }}|{{ currency }}")
    code = company["stock_codes"][0]["code"]
    assert render(renderers["en"], source).split("|") == [
        company["name"]["en"], company["name"]["zh-Hant"], company["short_name"]["en"], report["title"]["en"],
        str(report["year"]), "January 1, 2024", "December 31, 2024", "March 31, 2025", f"HKEX: {code}", report["currency"]]
    assert render(renderers["zh-Hant"], source).split("|")[5:9] == [
        "2024年1月1日", "2024年12月31日", "2025年3月31日", f"香港聯交所：{code}"]


def test_year_must_be_a_whole_number(renderers):
    for bad in ("2023.5", "'twenty'", "True"):
        error = error_of(renderers["en"], f'{{{{ kpi("suppliers_total", year={bad}) }}}}')
        assert error.code == "macro" and "year must be a whole year" in error.message, bad


def test_zero_and_text_give_whole_phrases_in_either_case(renderers, data):
    """Chinese rebuilds the sentence around a zero: 並無接獲投訴, but 共接獲4宗投訴."""
    zh = renderers["zh-Hant"]
    zero_kpi = next(k for k in data.kpis.values() if k.value(data.year).amount == 0 and k.unit == "cases")
    other = next(k for k in data.kpis.values() if (k.value(data.year).amount or 0) > 0 and k.unit == "cases")
    call = '{{{{ kpi("{id}", zero="並無接獲投訴", text="共接獲{{value}}投訴") }}}}'
    assert ">並無接獲投訴</span>" in render(zh, call.format(id=zero_kpi.id))
    figure = f"{other.value(data.year).amount:,}"
    assert f">共接獲{figure}宗投訴</span>" in render(zh, call.format(id=other.id))
    error = error_of(zh, '{{ kpi("%s", text="共接獲投訴") }}' % other.id)
    assert error.message == "text= needs {value} where the figure goes"


def test_kpi_table_indents_the_parts_of_a_total_under_it(starter):
    (starter / "data" / "kpis" / "staff.yml").write_text(
        "group: staff\ntitle: {en: Staff, zh-Hant: 員工}\nkpis:\n"
        "  - {id: staff_men, name: {en: Men, zh-Hant: 男}, unit: persons, values: {2024: 6}}\n"
        "  - {id: staff_total, name: {en: Staff, zh-Hant: 員工}, unit: persons, values: {2024: 10},\n"
        "     breakdowns: {gender: [staff_men, staff_women]}}\n"
        "  - {id: staff_women, name: {en: Women, zh-Hant: 女}, unit: persons, values: {2024: 4}}\n", "utf-8")
    renderer = EditionContext(Project.at(starter), "en").renderer
    rows = lxml_html.fragment_fromstring(render(renderer, '{{ kpi_table("staff", years=[2024]) }}'),
                                         create_parent="div").xpath(".//tbody/tr")
    shown = [(row.xpath("string(th)").strip(), row.get("class")) for row in rows]
    assert shown == [("Staff", None), ("Men", "kpi-part kpi-depth-1"), ("Women", "kpi-part kpi-depth-1")]
