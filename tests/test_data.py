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
    # At the line of the total's value for the year that does not add up.
    assert (error.code, error.file, error.line) == ("data.breakdown-sum", str(path), 8)
    assert error.message == "the breakdown of 'staff' adds up to 101 for 2024, but the total is 100"


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
        unit: pints
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
    report.write_text(report.read_text("utf-8").replace("  pdf_name:", "  yoy_threshold: 0.9\n  pdf_name:"), "utf-8")
    write_kpis(starter, GROUP + """
      - id: water
        name: {en: Water, zh-Hant: 水}
        unit: m3
        values: {2023: 100, 2024: 180}
    """)
    assert not load_report_data(starter / "data").warnings.items


HEADCOUNT = GROUP + """
  - id: staff
    name: {en: Staff, zh-Hant: 員工}
    unit: employees
    breakdowns:
      gender: [staff_men, staff_women]
      age_group: [staff_young, staff_mid, staff_old]
      region: [staff_hk, staff_cn]
    values:
      2023: 90
      2024: 100
"""


def part(kpi_id: str, values: dict) -> str:
    years = ", ".join(f"{y}: {v}" for y, v in values.items())
    return f"""
  - id: {kpi_id}
    name: {{en: {kpi_id}, zh-Hant: {kpi_id}}}
    unit: employees
    values: {{{years}}}
"""


def test_each_of_three_breakdowns_is_checked_every_year(starter):
    body = HEADCOUNT + "".join([
        part("staff_men", {2023: 40, 2024: 45}), part("staff_women", {2023: 50, 2024: 55}),
        part("staff_young", {2023: 30, 2024: 30}), part("staff_mid", {2023: 30, 2024: 40}),
        part("staff_old", {2023: 30, 2024: 30}),
        part("staff_hk", {2023: 60, 2024: 70}), part("staff_cn", {2023: 29, 2024: 30}),
    ])
    path = starter / "data" / "kpis" / "test.yml"
    path.write_text(body.lstrip(), encoding="utf-8")
    lines = path.read_text("utf-8").splitlines()
    [error] = errors_of(starter)
    assert error.code == "data.breakdown-sum"
    assert error.message == "the 'region' breakdown of 'staff' adds up to 89 for 2023, but the total is 90"
    assert (error.file, lines[error.line - 1].strip()) == (str(path), "2023: 90")


def test_breakdown_tree_is_known_to_the_data(starter):
    body = HEADCOUNT.replace("      region: [staff_hk, staff_cn]\n", "") + "".join([
        part("staff_men", {2023: 40, 2024: 45}), part("staff_women", {2023: 50, 2024: 55}),
        part("staff_young", {2023: 30, 2024: 30}), part("staff_mid", {2023: 30, 2024: 40}),
        part("staff_old", {2023: 30, 2024: 30}),
    ])
    (starter / "data" / "kpis" / "test.yml").write_text(body.lstrip(), encoding="utf-8")
    data = load_report_data(starter / "data")
    assert data.breakdowns("staff") == {"gender": ["staff_men", "staff_women"],
                                        "age_group": ["staff_young", "staff_mid", "staff_old"]}
    assert data.parent_of("staff_mid") == ("staff", "age_group")
    assert data.parent_of("staff") is None
    # A table listing parts before their total shows them under it, breakdown by breakdown.
    assert data.outline(["staff_old", "staff_women", "water_consumption", "staff", "staff_men"]) == [
        ("water_consumption", 0), ("staff", 0), ("staff_men", 1), ("staff_women", 1), ("staff_old", 1)]
    assert data.outline(["staff_women", "staff_men"]) == [("staff_women", 0), ("staff_men", 0)]


def test_breakdown_naming_itself(starter):
    path = write_kpis(starter, GROUP + """
      - id: staff
        name: {en: Staff, zh-Hant: 員工}
        unit: persons
        breakdowns:
          gender: [staff, staff_women]
        values: {2024: 100}
      - id: staff_women
        name: {en: Women, zh-Hant: 女性}
        unit: persons
        breakdown_of: staff_women
        values: {2024: 60}
    """)
    errors = errors_of(starter)
    assert [(e.code, e.line) for e in errors] == [("data.breakdown-self", 9), ("data.breakdown-self", 11)]
    assert errors[0].message == "the 'gender' breakdown of 'staff' names the total itself"
    assert errors[1].message == "KPI 'staff_women' is a breakdown of itself"


def test_breakdown_naming_unknown_part_suggests(starter):
    path = write_kpis(starter, GROUP + """
      - id: staff
        name: {en: Staff, zh-Hant: 員工}
        unit: persons
        breakdowns:
          gender: [staff_woman]
        values: {2024: 100}
      - id: staff_women
        name: {en: Women, zh-Hant: 女性}
        unit: persons
        values: {2024: 100}
    """)
    [error] = errors_of(starter)
    assert (error.code, error.line, error.hint) == ("data.breakdown-unknown", 9, "did you mean 'staff_women'?")


# --- report-defined units ---------------------------------------------------------

def write_units(starter: Path, body: str) -> Path:
    path = starter / "data" / "units.yml"
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


def test_report_defines_its_own_unit(starter):
    write_units(starter, """
      containers:
        label: {en: containers, zh-Hant: 個貨櫃}
        singular: {en: container}
        min: 0
    """)
    write_kpis(starter, GROUP + """
      - id: boxes
        name: {en: Boxes, zh-Hant: 貨櫃}
        unit: containers
        values: {2024: 12}
    """)
    data = load_report_data(starter / "data")
    assert data.units["containers"]["label"]["zh-Hant"] == "個貨櫃"
    assert "kg" in data.units  # merged with the built-in units
    assert starter / "data" / "units.yml" in data.files


def test_unit_clashing_with_a_builtin_is_located(starter):
    path = write_units(starter, """
      containers:
        label: {en: containers, zh-Hant: 個貨櫃}
      kg:
        label: {en: kilograms, zh-Hant: 千克}
    """)
    [error] = errors_of(starter)
    assert (error.code, error.file, error.line) == ("data.unit-clash", str(path), 3)
    assert error.message == "unit 'kg' is already a built-in unit"


def test_unit_with_an_unknown_field_is_located(starter):
    path = write_units(starter, """
      containers:
        label: {en: containers, zh-Hant: 個貨櫃}
        plural: {en: containers}
    """)
    [error] = errors_of(starter)
    assert (error.code, error.file, error.line) == ("data.schema", str(path), 1)
    assert "'plural' was unexpected" in error.message


# --- plausibility ---------------------------------------------------------------

def test_negative_value_of_a_unit_that_cannot_be_negative(starter):
    path = write_kpis(starter, GROUP + """
      - id: water
        name: {en: Water, zh-Hant: 水}
        unit: m3
        values:
          2023: 10
          2024: -5
    """)
    [error] = errors_of(starter)
    assert (error.code, error.file, error.line) == ("data.below-minimum", str(path), 10)
    assert error.message == "KPI 'water': the 2024 value -5 is below the minimum 0 of its unit 'm3'"


def test_kpi_level_minimum(starter):
    path = write_kpis(starter, GROUP + """
      - id: rate
        name: {en: Rate, zh-Hant: 比率}
        unit: "%"
        min: 0
        values:
          2024: -1.5
    """)
    [error] = errors_of(starter)
    assert (error.code, error.line) == ("data.below-minimum", 10)
    assert error.message == "KPI 'rate': the 2024 value -1.5 is below the minimum 0 of its KPI"


def test_negative_percentage_is_allowed_without_a_minimum(starter):
    write_kpis(starter, GROUP + """
      - id: rate
        name: {en: Rate, zh-Hant: 比率}
        unit: "%"
        values: {2024: -1.5}
    """)
    load_report_data(starter / "data")


def test_absurd_magnitude(starter):
    path = write_kpis(starter, GROUP + """
      - id: water
        name: {en: Water, zh-Hant: 水}
        unit: m3
        values:
          2024: 3.0e+18
    """)
    [error] = errors_of(starter)
    assert (error.code, error.line) == ("data.implausible", 9)


def test_value_after_the_reporting_year(starter):
    path = write_kpis(starter, GROUP + """
      - id: water
        name: {en: Water, zh-Hant: 水}
        unit: m3
        values:
          2024: 10
          2026: 8
    """)
    [error] = errors_of(starter)
    assert (error.code, error.file, error.line) == ("data.future-year", str(path), 10)
    assert error.message == "KPI 'water' has a value for 2026, after the reporting year 2024"


def test_typed_values_on_a_formula_kpi(starter):
    path = write_kpis(starter, GROUP + """
      - id: ghg_per_employee
        name: {en: GHG per employee, zh-Hant: 每名僱員溫室氣體排放}
        unit: tCO2e/employee
        formula: ghg_scope1_2 / employees_total
        values:
          2024: 12
    """)
    [error] = errors_of(starter)
    assert (error.code, error.file, error.line) == ("data.formula-values", str(path), 9)


def test_period_end_before_start(starter):
    report = starter / "data" / "report.yml"
    text = report.read_text("utf-8")
    report.write_text(text.replace("period_end: '2024-12-31'", "period_end: '2023-12-31'"), "utf-8")
    lines = report.read_text("utf-8").splitlines()
    [error] = errors_of(starter)
    assert error.code == "data.period"
    assert lines[error.line - 1].strip() == "period_end: '2023-12-31'"


def test_derived_value_without_inputs_has_no_prewritten_reason(starter):
    write_kpis(starter, GROUP + """
      - id: only_2024
        name: {en: Only 2024, zh-Hant: 只有2024}
        unit: count
        values: {2024: 3}
      - id: doubled
        name: {en: Doubled, zh-Hant: 雙倍}
        unit: count
        formula: only_2024 * 2
    """)
    data = load_report_data(starter / "data")
    value = data.kpis["doubled"].value(2023)
    assert value is None or (value.reason is None and value.depends_on == ("only_2024",))


def test_builtin_units_follow_the_report_units_format():
    """One format for both files: the built-in units pass the schema a report's units.yml must pass."""
    import jsonschema
    import yaml
    from importlib import resources

    from build_tools.data import schema

    builtin = yaml.safe_load(resources.files("build_tools").joinpath("units.yml").read_text("utf-8"))
    jsonschema.validate(builtin, schema("units.schema.json"))
    assert (builtin["kg"]["label"]["zh-Hant"], builtin["GJ"]["label"]["zh-Hant"],
            builtin["litres"]["label"]["zh-Hant"], builtin["employees"]["label"]["zh-Hant"]) == ("公斤", "吉焦耳", "公升", "名")
