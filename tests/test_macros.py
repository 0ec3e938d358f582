"""macros.py: writers' macros, sandboxing, and errors located in the chapter."""

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml

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
