"""data.py: loading and validating data/ — each error class with its exact message and line."""

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from build_tools.data import load_report_data
from build_tools.errors import DataError
from support import report_meta


def write_kpis(starter: Path, body: str, name: str = "test.yml") -> Path:
    path = starter / "data" / "kpis" / name
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


def typed_values(starter: Path) -> dict[str, dict[int, Decimal]]:
    """The starter's example figures as the file types them (read with plain YAML, not the loader)."""
    document = yaml.safe_load((starter / "data" / "kpis" / "example.yml").read_text("utf-8"))
    return {kpi["id"]: {year: Decimal(str(value["value"] if isinstance(value, dict) else value))
                        for year, value in kpi["values"].items()} for kpi in document["kpis"]}


def errors_of(starter: Path) -> list:
    with pytest.raises(DataError) as caught:
        load_report_data(starter / "data")
    return caught.value.diagnostics.errors


GROUP = """
group: test
title: {en: Test, zh-Hant: 測試}
kpis:
"""


def test_starter_data_loads_with_derived_years(starter):
    typed, year = typed_values(starter), report_meta(starter)["report"]["year"]
    data = load_report_data(starter / "data")
    assert data.year == year
    assert data.years == sorted({y for values in typed.values() for y in values})
    assert {(kpi, y): data.kpis[kpi].value(y).amount for kpi in typed for y in typed[kpi]} == \
        {(kpi, y): amount for kpi, values in typed.items() for y, amount in values.items()}


def test_wrong_type_names_file_line_and_field(starter):
    path = write_kpis(starter, GROUP + """
      - id: water
        name: {en: Water, zh-Hant: 水}
        unit: m3
        decimals: two
        values: {2024: 10}
    """)
    [error] = errors_of(starter)
    assert error.code == "data.schema"
    assert error.file == str(path)
    assert error.line == 8
    assert error.message == "kpis/0/decimals: 'two' is not of type 'integer'"


def test_unknown_unit_suggests_the_closest(starter):
    path = write_kpis(starter, GROUP + """
      - id: water
        name: {en: Water, zh-Hant: 水}
        unit: m³
        values: {2024: 10}
    """)
    [error] = errors_of(starter)
    assert (error.code, error.file, error.line) == ("data.unknown-unit", str(path), 7)
    assert error.message == "KPI 'water': unknown unit 'm³'"
    assert error.hint == "did you mean 'm3'?"


def test_missing_reporting_year_value_without_reason(starter):
    path = write_kpis(starter, GROUP + """
      - id: water
        name: {en: Water, zh-Hant: 水}
        unit: m3
        values: {2023: 10}
    """)
    [error] = errors_of(starter)
    assert (error.code, error.file, error.line) == ("data.missing-value", str(path), 5)
    assert error.message == "KPI 'water' has no value for the reporting year 2024"


def test_reporting_year_not_available_with_reason_is_fine(starter):
    write_kpis(starter, GROUP + """
      - id: water
        name: {en: Water, zh-Hant: 水}
        unit: m3
        values:
          2024: {status: not_available, reason: {en: Meter replaced., zh-Hant: 水錶更換。}}
    """)
    data = load_report_data(starter / "data")
    assert data.kpis["water"].value(2024).status == "not_available"


def test_duplicate_id_across_files(starter):
    path = write_kpis(starter, GROUP + """
      - id: suppliers_total
        name: {en: Suppliers, zh-Hant: 供應商}
        unit: suppliers
        values: {2024: 10}
    """)
    [error] = errors_of(starter)
    assert (error.code, error.file, error.line) == ("data.duplicate-id", str(path), 5)
    assert error.message.startswith("KPI 'suppliers_total' is defined twice (first in ")


def test_duplicate_key_in_one_mapping(starter):
    path = write_kpis(starter, GROUP + """
      - id: water
        name: {en: Water, zh-Hant: 水}
        unit: m3
        unit: t
        values: {2024: 10}
    """)
    [error] = errors_of(starter)
    assert (error.code, error.file, error.line) == ("data.duplicate-key", str(path), 8)
    assert error.message == "duplicate key 'unit' (first on line 7)"


def test_formula_naming_unknown_kpi(starter):
    path = write_kpis(starter, GROUP + """
      - id: intensity
        name: {en: Intensity, zh-Hant: 密度}
        unit: tCO2e/employee
        formula: ghg_scope1_2 / employes_total
    """)
    [error] = errors_of(starter)
    assert (error.code, error.file, error.line) == ("data.formula-unknown", str(path), 5)
    assert error.message == "KPI 'intensity': formula names unknown KPI 'employes_total'"
    assert error.hint == "did you mean 'employees_total'?"


def test_formula_cycle(starter):
    write_kpis(starter, GROUP + """
      - id: a
        name: {en: A, zh-Hant: 甲}
        unit: count
        formula: b + 1
      - id: b
        name: {en: B, zh-Hant: 乙}
        unit: count
        formula: a * 2
    """)
    [error] = errors_of(starter)
    assert error.code == "data.formula-cycle"
    assert error.message == "formulas form a cycle: a -> b -> a"


def test_formula_division_by_zero(starter):
    write_kpis(starter, GROUP + """
      - id: nobody
        name: {en: Nobody, zh-Hant: 無人}
        unit: persons
        values: {2024: 0}
      - id: per_nobody
        name: {en: Per nobody, zh-Hant: 每人}
        unit: tCO2e/employee
        formula: ghg_scope1_2 / nobody
    """)
    [error] = errors_of(starter)
    assert error.code == "data.division-by-zero"
    assert error.message == "KPI 'per_nobody': formula divides by zero for 2024"


def test_formula_is_computed_never_typed(starter):
    write_kpis(starter, GROUP + """
      - id: ghg_per_employee
        name: {en: GHG per employee, zh-Hant: 每名僱員溫室氣體排放}
        unit: tCO2e/employee
        decimals: 2
        formula: ghg_scope1_2 / employees_total
    """)
    data = load_report_data(starter / "data")
    typed = typed_values(starter)
    for year in data.years:
        value = data.kpis["ghg_per_employee"].value(year)
        assert value.status == "derived"
        assert round(value.amount, 4) == round(typed["ghg_scope1_2"][year] / typed["employees_total"][year], 4)


def test_formula_may_not_call_code(starter):
    write_kpis(starter, GROUP + """
      - id: evil
        name: {en: Evil, zh-Hant: 惡}
        unit: count
        formula: __import__('os').getcwd()
    """)
    [error] = errors_of(starter)
    assert error.code == "data.formula-syntax"


def test_breakdown_must_add_up(starter):
    path = write_kpis(starter, GROUP + """
      - id: staff
        name: {en: Staff, zh-Hant: 員工}
        unit: persons
        values: {2024: 100}
      - id: staff_women
        name: {en: Women, zh-Hant: 女性}
        unit: persons
        breakdown_of: staff
        values: {2024: 60}
      - id: staff_men
        name: {en: Men, zh-Hant: 男性}
        unit: persons
        breakdown_of: staff
        values: {2024: 41}
    """)
    [error] = errors_of(starter)
    assert (error.code, error.file, error.line) == ("data.breakdown-sum", str(path), 5)
    assert error.message == "the parts of 'staff' add up to 101 for 2024, but the total is 100"


def test_breakdown_within_rounding_is_accepted(starter):
    write_kpis(starter, GROUP + """
      - id: share
        name: {en: Share, zh-Hant: 比例}
        unit: "%"
        decimals: 1
        values: {2024: 100.0}
      - id: share_a
        name: {en: A, zh-Hant: 甲}
        unit: "%"
        decimals: 1
        breakdown_of: share
        values: {2024: 33.3}
      - id: share_b
        name: {en: B, zh-Hant: 乙}
        unit: "%"
        decimals: 1
        breakdown_of: share
        values: {2024: 66.7}
    """)
    load_report_data(starter / "data")


def test_yaml_syntax_error_is_located(starter):
    path = write_kpis(starter, "group: test\ntitle: {en: Test, zh-Hant: 測試\nkpis: []\n")
    [error] = errors_of(starter)
    assert (error.code, error.file) == ("data.yaml-syntax", str(path))
    assert error.line == 3


def test_every_problem_is_reported_at_once(starter):
    write_kpis(starter, GROUP + """
      - id: one
        name: {en: One, zh-Hant: 一}
        unit: litres
        values: {2024: 1}
      - id: two
        name: {en: Two, zh-Hant: 二}
        unit: gallons
        values: {2024: 2}
    """)
    assert [e.code for e in errors_of(starter)] == ["data.unknown-unit", "data.unknown-unit"]


def test_large_change_without_note_is_a_warning(starter):
    path = write_kpis(starter, GROUP + """
      - id: water
        name: {en: Water, zh-Hant: 水}
        unit: m3
        values: {2022: 100, 2023: 100, 2024: 180}
      - id: energy
        name: {en: Energy, zh-Hant: 能源}
        unit: MWh
        values:
          2023: 100
          2024: {value: 300, note: {en: New plant., zh-Hant: 新廠房。}}
    """)
    data = load_report_data(starter / "data")
    [warning] = data.warnings.items
    assert (warning.code, warning.file, warning.line) == ("data.yoy-change", str(path), 5)
    assert warning.message == "KPI 'water' changes by +80% from 2023 to 2024 with no note"


def test_year_on_year_threshold_is_configurable(starter):
    report = starter / "data" / "report.yml"
    report.write_text(report.read_text("utf-8").replace("  example: true", "  example: true\n  yoy_threshold: 0.9"), "utf-8")
    write_kpis(starter, GROUP + """
      - id: water
        name: {en: Water, zh-Hant: 水}
        unit: m3
        values: {2023: 100, 2024: 180}
    """)
    assert not load_report_data(starter / "data").warnings.items
