"""spreadsheet.py: KPI data exported to and imported from .xlsx / .csv, and the CLI commands."""

import csv
import errno
import io
import os
import re
import shutil
import tempfile
import textwrap
import time
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from support import run_cli

from build_tools.data import load_report_data
from build_tools import fileio, spreadsheet
from build_tools.errors import DataError
from build_tools.project import TOOLCHAIN_ROOT
from build_tools.spreadsheet import COLUMNS, export_workbook, import_workbook


@pytest.fixture
def sample_data(tmp_path) -> Path:
    """A private copy of the sample report's data/ (the repository's own is never written)."""
    target = tmp_path / "sample" / "data"
    shutil.copytree(TOOLCHAIN_ROOT / "data", target)
    return target


def kpi_files(data_dir: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((data_dir / "kpis").glob("*.yml"))}


def snapshot(data_dir: Path) -> dict:
    """Everything load_report_data knows about the KPIs, to compare before and after an import."""
    data = load_report_data(data_dir)
    return {
        kpi.id: (kpi.group, kpi.name, kpi.unit, kpi.decimals, kpi.disclose, kpi.formula, kpi.breakdown_of, kpi.breakdowns,
                 kpi.min, kpi.source, kpi.boundary, {year: (v.amount, v.status, v.note, v.reason) for year, v in kpi.values.items()})
        for kpi in data.kpis.values()
    } | {"groups": {g.id: (g.title, g.kpi_ids) for g in data.groups.values()}}


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text("utf-8-sig"), newline="")))


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    return path


def import_errors(path: Path, data_dir: Path) -> list:
    before = kpi_files(data_dir)
    with pytest.raises(DataError) as caught:
        import_workbook(path, data_dir)
    assert kpi_files(data_dir) == before, "a failed import must write nothing"
    return caught.value.diagnostics.errors


@pytest.fixture
def derived_starter(starter) -> Path:
    """The starter report plus a derived KPI (no values) and a value with note and a not_available year."""
    (starter / "data" / "kpis" / "derived.yml").write_text(textwrap.dedent("""
        group: derived
        title: {en: Derived, zh-Hant: 衍生}
        kpis:
          - id: ghg_per_employee
            name: {en: GHG per employee, zh-Hant: 每名僱員溫室氣體排放}
            unit: tCO2e/employee
            decimals: 2
            formula: ghg_scope1_2 / employees_total
          - id: hours_exact
            name: {en: "Hours, exact", zh-Hant: 時數}
            unit: "%"  # may be negative (units such as hours have min: 0)
            decimals: 3
            boundary: Hong Kong office
            values:
              2022: {status: not_available, reason: {en: "Not tracked: new system.", zh-Hant: 未有記錄。}}
              2023: 8.750
              2024: {value: -0.125, note: {en: Restated., zh-Hant: 經重列。}}
          - id: staff_split
            name: {en: Staff by site, zh-Hant: 各廠員工}
            unit: employees
            min: 1
            breakdowns:
              site: [staff_site_a, staff_site_b]
              contract: [staff_site_b, staff_site_a]
            values: {2024: 5}
          - {id: staff_site_a, name: {en: Site A, zh-Hant: 甲廠}, unit: employees, min: 0.5, values: {2024: 2}}
          - {id: staff_site_b, name: {en: Site B, zh-Hant: 乙廠}, unit: employees, values: {2024: 3}}
        """).lstrip(), "utf-8")
    return starter


# --- round trips --------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
@pytest.mark.parametrize("report", ["sample", "starter"])
def test_export_import_export_is_byte_identical(report, suffix, sample_data, derived_starter, tmp_path):
    data_dir = sample_data if report == "sample" else derived_starter / "data"
    first, second = tmp_path / "first" / f"kpis{suffix}", tmp_path / "second" / f"kpis{suffix}"
    export_workbook(data_dir, first)
    import_workbook(first, data_dir)
    imported = kpi_files(data_dir)
    export_workbook(data_dir, second)
    assert first.read_bytes() == second.read_bytes()
    # import -> export -> import changes nothing either: same YAML, byte for byte, and no file rewritten.
    result = import_workbook(second, data_dir)
    assert kpi_files(data_dir) == imported
    assert result.changed == []


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_import_keeps_every_kpi_value(suffix, sample_data, tmp_path):
    before = snapshot(sample_data)
    sheet = tmp_path / f"kpis{suffix}"
    assert export_workbook(sample_data, sheet) == len(before) - 1
    result = import_workbook(sheet, sample_data)
    assert result.kpis == len(before) - 1
    assert snapshot(sample_data) == before
    highlights = (sample_data / "kpis" / "highlights.yml").read_text("utf-8")
    assert highlights.startswith(f"# generated by esg-report import from kpis{suffix}; edit either the spreadsheet "
                                 "or this file\ngroup: highlights\n")
    assert "      2024: 947200000\n" in highlights
    assert "      2024: 8.75\n" in highlights


def test_derived_and_valueless_kpis_and_exact_decimals(derived_starter, tmp_path):
    data_dir = derived_starter / "data"
    before = snapshot(data_dir)
    sheet = tmp_path / "kpis.csv"
    export_workbook(data_dir, sheet)
    rows = read_csv(sheet)
    assert tuple(rows[0]) == COLUMNS
    by_id = {}
    for row in rows[1:]:
        by_id.setdefault(row[COLUMNS.index("id")], []).append(dict(zip(COLUMNS, row)))
    [derived] = by_id["ghg_per_employee"]
    assert derived["formula"] == "ghg_scope1_2 / employees_total"
    assert (derived["year"], derived["value"], derived["status"]) == ("", "", "")
    hours = by_id["hours_exact"]
    assert [(r["year"], r["value"], r["status"]) for r in hours] == [
        ("2022", "", "not_available"), ("2023", "8.750", ""), ("2024", "-0.125", "")]
    assert (hours[0]["reason_en"], hours[2]["note_zh-Hant"]) == ("Not tracked: new system.", "經重列。")
    assert by_id["nox_emissions"][0]["disclose"] == "A1.1"
    [split] = by_id["staff_split"]
    assert (split["breakdowns"], split["min"]) == ("site: staff_site_a staff_site_b; contract: staff_site_b staff_site_a", "1")

    import_workbook(sheet, data_dir)
    assert snapshot(data_dir) == before
    text = (data_dir / "kpis" / "derived.yml").read_text("utf-8")
    assert "      2023: 8.750\n" in text  # trailing zero kept through CSV
    assert "    formula: ghg_scope1_2 / employees_total\n" in text
    assert "  - id: ghg_per_employee\n" in text and "values" not in text.split("- id: hours_exact")[0]


def test_import_writes_the_named_report_and_nothing_else(starter, sample_data, tmp_path, monkeypatch):
    """Run from inside another report: only the named report's data/ changes, to the sheet's figure,
    and no temporary file is left beside it."""
    sheet = tmp_path / "kpis.csv"
    export_workbook(starter / "data", sheet)
    rows = read_csv(sheet)
    col = {name: i for i, name in enumerate(COLUMNS)}
    row = next(r for r in rows[1:] if r[col["value"]])
    changed = Decimal(row[col["value"]]) + Decimal("1.25")
    row[col["value"]] = str(changed)
    write_csv(sheet, rows)
    neighbour, repository = data_tree(sample_data), data_tree(TOOLCHAIN_ROOT / "data")
    names = set(data_tree(starter / "data"))
    monkeypatch.chdir(sample_data.parent)
    code, out, err = run_cli("import", str(sheet), str(starter))
    assert (code, err) == (0, "")
    assert data_tree(sample_data) == neighbour
    assert data_tree(TOOLCHAIN_ROOT / "data") == repository
    assert set(data_tree(starter / "data")) == names
    kpi = load_report_data(starter / "data").kpi(row[col["id"]])
    assert kpi.value(int(row[col["year"]])).amount == changed


# --- errors, located in the spreadsheet ---------------------------------------------------

@pytest.fixture
def exported(starter, tmp_path) -> tuple[Path, list[list[str]]]:
    sheet = tmp_path / "kpis.csv"
    export_workbook(starter / "data", sheet)
    return sheet, read_csv(sheet)


def test_breakdowns_and_minimum_cells_are_checked(starter, exported):
    sheet, rows = exported
    breakdowns, minimum = COLUMNS.index("breakdowns"), COLUMNS.index("min")
    rows[5][breakdowns] = "gender staff_men"
    rows[6][minimum] = "zero"
    errors = import_errors(write_csv(sheet, rows), starter / "data")
    assert [(e.line, e.col) for e in errors] == [(6, breakdowns + 1), (7, minimum + 1)]
    assert errors[0].message == "breakdowns 'gender staff_men' is not 'name: part part; name: part ...'"
    assert errors[1].message == "min 'zero' is not a number"


def test_bad_value_is_reported_at_its_row_and_column(starter, exported):
    sheet, rows = exported
    value = COLUMNS.index("value")
    assert rows[5][COLUMNS.index("id")] == "ghg_scope1_2"
    rows[5][value] = "4,980.1"
    [error] = import_errors(write_csv(sheet, rows), starter / "data")
    assert (error.code, error.file, error.line, error.col) == ("import.not-a-number", str(sheet), 6, value + 1)
    assert error.message == "KPI 'ghg_scope1_2': value '4,980.1' is not a number"
    assert error.hint == "type the figure in digits, without thousands separators, units or %, e.g. 947200000 or 8.75"
    assert error.format() == (f"{sheet}:6:15: error: KPI 'ghg_scope1_2': value '4,980.1' is not a number "
                              "[import.not-a-number]\n    hint: type the figure in digits, without thousands separators, "
                              "units or %, e.g. 947200000 or 8.75")


def test_bad_value_in_a_workbook_is_reported_at_its_cell(starter, tmp_path):
    sheet = tmp_path / "kpis.xlsx"
    export_workbook(starter / "data", sheet)
    workbook = openpyxl.load_workbook(sheet)
    workbook["KPIs"]["O9"] = "12.5%"
    workbook["KPIs"]["N10"] = "FY2023"
    workbook.save(sheet)
    errors = import_errors(sheet, starter / "data")
    assert [(e.line, e.col, e.message) for e in errors] == [
        (9, 15, f"KPI '{workbook['KPIs']['D9'].value}': value '12.5%' is not a number"),
        (10, 14, "year 'FY2023' is not a year from 1900 to 2099"),
    ]


def test_unknown_and_missing_columns(starter, exported):
    sheet, rows = exported
    rows[0][COLUMNS.index("unit")] = "units"
    rows[0][COLUMNS.index("status")] = "Status"
    errors = import_errors(write_csv(sheet, rows), starter / "data")
    assert [(e.code, e.line, e.col, e.message, e.hint) for e in errors] == [
        ("import.missing-column", 1, None, "missing column: unit",
         "the first row names the columns; see docs/authoring-guide.md, 'Filling KPIs from a spreadsheet'"),
        ("import.unknown-column", 1, 7, "unknown column 'units'", "did you mean 'unit'?"),
        ("import.unknown-column", 1, 16, "unknown column 'Status'", "did you mean 'status'?"),
    ]


def test_rows_must_agree_and_statuses_need_reasons(starter, exported):
    sheet, rows = exported
    col = {name: i for i, name in enumerate(COLUMNS)}
    rows[3][col["unit"]] = "t"  # nox_emissions is in kg on rows 2 and 3
    rows[4][col["status"]] = "not_available"  # with its value still there and no reason
    rows.append(rows[6][:])  # ghg_scope1_2 2024 twice
    errors = import_errors(write_csv(sheet, rows), starter / "data")
    assert [(e.line, e.col, e.message) for e in errors] == [
        (4, col["unit"] + 1, "KPI 'nox_emissions': unit 't' differs from 'kg' on row 2"),
        (5, col["value"] + 1, "KPI 'ghg_scope1_2': a value with status not_available must be empty"),
        (5, col["reason_en"] + 1, "KPI 'ghg_scope1_2': status not_available needs a reason in reason_en and reason_zh-Hant"),
        (len(rows), col["year"] + 1, "KPI 'ghg_scope1_2' has two rows for 2024 (the first is row 7)"),
    ]


def test_data_problems_point_at_the_kpi_row(starter, exported):
    """Problems found by loading data/ as it would be after the import name the sheet's row and column."""
    sheet, rows = exported
    col = {name: i for i, name in enumerate(COLUMNS)}
    for row in rows[1:4]:
        row[col["unit"]] = "kgs"
    [error] = import_errors(write_csv(sheet, rows), starter / "data")
    assert (error.code, error.file, error.line, error.col) == ("data.unknown-unit", str(sheet), 2, col["unit"] + 1)
    assert (error.message, error.hint) == ("KPI 'nox_emissions': unknown unit 'kgs'", "did you mean 'kg'?")

    for row in rows[1:4]:
        row[col["unit"]] = "kg"
    derived = dict.fromkeys(COLUMNS, "") | {"group": "example", "id": "per_employee", "name_en": "Per employee",
                                            "name_zh-Hant": "每名僱員", "unit": "t", "formula": "ghg_scope1_2 / employee_total"}
    rows.append([derived[name] for name in COLUMNS])
    [error] = import_errors(write_csv(sheet, rows), starter / "data")
    assert (error.code, error.line, error.col) == ("data.formula-unknown", len(rows), col["formula"] + 1)
    assert (error.message, error.hint) == ("KPI 'per_employee': formula names unknown KPI 'employee_total'",
                                           "did you mean 'employees_total'?")


def test_a_sheet_with_one_group_leaves_the_other_files_alone(sample_data, tmp_path):
    sheet = tmp_path / "kpis.csv"
    export_workbook(sample_data, sheet)
    rows = read_csv(sheet)
    only = [rows[0]] + [r for r in rows[1:] if r[0] == "supply_chain"]
    before = kpi_files(sample_data)
    result = import_workbook(write_csv(sheet, only), sample_data)
    assert result.files == [sample_data / "kpis" / "supply_chain.yml"]
    after = kpi_files(sample_data)
    assert {name for name in after if after[name] != before[name]} == {"supply_chain.yml"}
    load_report_data(sample_data)


# --- the commands ---------------------------------------------------------------------------

def test_cli_export_and_import(starter, tmp_path):
    sheet = tmp_path / "kpis.xlsx"
    code, out, err = run_cli("export", str(sheet), str(starter))
    assert (code, err) == (0, "")
    assert out == f"exported 18 KPIs to {sheet}\n"
    assert openpyxl.load_workbook(sheet).sheetnames == ["KPIs", "units"]
    code, out, err = run_cli("import", str(sheet), str(starter))
    assert (code, err) == (0, "")
    assert out == f"  wrote data/kpis/example.yml\nimported 18 KPIs from {sheet}\n"
    code, out, _ = run_cli("import", str(sheet), str(starter))
    assert (code, out) == (0, f"  unchanged data/kpis/example.yml\nimported 18 KPIs from {sheet}\n")


def test_cli_reports_sheet_errors_with_exit_1(starter, exported):
    sheet, rows = exported
    rows[2][COLUMNS.index("year")] = "two thousand"
    code, out, err = run_cli("import", str(write_csv(sheet, rows)), str(starter))
    assert code == 1
    assert f"{sheet}:3:14: error: year 'two thousand' is not a year from 1900 to 2099 [import.invalid]" in err
    assert err.endswith("1 error(s), 0 warning(s)\nfailed\n")


def test_cli_usage_errors_exit_2(starter, tmp_path):
    code, _, err = run_cli("import", str(tmp_path / "missing.csv"), str(starter))
    assert (code, err) == (2, f"esg-report: {tmp_path / 'missing.csv'}: no such file\n")
    code, _, err = run_cli("export", str(tmp_path / "kpis.ods"), str(starter))
    assert (code, err) == (2, f"esg-report: {tmp_path / 'kpis.ods'}: the spreadsheet must be an .xlsx or .csv file\n")
    code, _, _ = run_cli("import")
    assert code == 2
    (tmp_path / "folder.xlsx").mkdir()
    code, _, err = run_cli("import", str(tmp_path / "folder.xlsx"), str(starter))
    assert (code, err) == (2, f"esg-report: {tmp_path / 'folder.xlsx'}: not a file (a folder, a pipe or a device)\n")


@pytest.mark.parametrize("name, content", [("budget.xlsx", b"PK\x03\x04 not ours"), ("notes.csv", b"date,amount\n")])
def test_export_never_replaces_a_file_it_did_not_write(name, content, starter, tmp_path):
    theirs = tmp_path / name
    theirs.write_bytes(content)
    code, _, err = run_cli("export", str(theirs), str(starter))
    assert code == 2 and f"{theirs}: error: the file exists and is not a spreadsheet esg-report exported" in err, err
    assert theirs.read_bytes() == content


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_replaces_a_sheet_it_exported_before(suffix, starter, tmp_path):
    sheet = tmp_path / f"kpis{suffix}"
    assert run_cli("export", str(sheet), str(starter))[0] == 0
    code, out, err = run_cli("export", str(sheet), str(starter))
    assert (code, out) == (0, f"exported 18 KPIs to {sheet}\n"), err


def test_cli_export_of_invalid_data_exits_1(starter, tmp_path):
    (starter / "data" / "kpis" / "broken.yml").write_text("group: broken\ntitle: {en: B, zh-Hant: 乙}\nkpis: 3\n", "utf-8")
    code, _, err = run_cli("export", str(tmp_path / "kpis.csv"), str(starter))
    assert code == 1
    assert "data/kpis/broken.yml:3: error: kpis: 3 is not of type 'array' [data.schema]" in err
    assert not (tmp_path / "kpis.csv").exists()


# --- exact numbers, for any figure the layout accepts ------------------------------------------

figures = st.decimals(min_value=Decimal("-999999999999999"), max_value=Decimal("999999999999999"),
                      allow_nan=False, allow_infinity=False).filter(lambda d: len("".join(map(str, d.as_tuple().digits)).strip("0")) <= 15)


@settings(max_examples=40, deadline=None)
@given(amounts=st.lists(figures, min_size=1, max_size=8), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_any_accepted_figure_survives_import_and_export(amounts, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        data_dir, sheet = Path(tmp) / "data", Path(tmp) / f"in{suffix}"
        row = dict.fromkeys(COLUMNS, "") | {"group": "g", "group_title_en": "G", "group_title_zh-Hant": "甲",
                                            "name_en": "K", "name_zh-Hant": "乙", "unit": "t"}
        rows = [[(row | {"id": f"k{i}", "year": "2024", "value": format(amount, "f")})[name] for name in COLUMNS]
                for i, amount in enumerate(amounts)]
        if suffix == ".csv":
            write_csv(sheet, [list(COLUMNS), *rows])
        else:  # numbers as a spreadsheet holds them: doubles
            workbook = openpyxl.Workbook()
            workbook.active.append(COLUMNS)
            for values, amount in zip(rows, amounts):
                values[COLUMNS.index("value")] = float(amount)
                workbook.active.append(values)
            workbook.save(sheet)
        import_workbook(sheet, data_dir)
        loaded = yaml.safe_load((data_dir / "kpis" / "g.yml").read_text("utf-8"))
        for kpi, amount in zip(loaded["kpis"], amounts):
            assert Decimal(str(kpi["values"][2024])) == amount  # what data.py reads: no float artefacts
        export_workbook(data_dir, Path(tmp) / "out.csv")
        exported = [Decimal(r[COLUMNS.index("value")]) for r in read_csv(Path(tmp) / "out.csv")[1:]]
        assert exported == amounts
        if suffix == ".csv":  # text keeps the digits themselves, trailing zeros included
            assert [r[COLUMNS.index("value")] for r in read_csv(Path(tmp) / "out.csv")[1:]] == \
                   [r[COLUMNS.index("value")] for r in rows]


def test_figures_beyond_what_a_spreadsheet_keeps_are_refused(starter, exported):
    sheet, rows = exported
    value = COLUMNS.index("value")
    rows[1][value] = "0.1234567890123456"
    rows[2][value] = "1E+15"
    rows[3][value] = "NaN"
    errors = import_errors(write_csv(sheet, rows), starter / "data")
    assert [(e.line, e.col, e.message) for e in errors] == [
        (2, value + 1, "KPI 'nox_emissions': value '0.1234567890123456' has more than 15 significant digits "
                       "or is 1,000,000,000,000,000 or more"),
        (3, value + 1, "KPI 'nox_emissions': value '1E+15' has more than 15 significant digits "
                       "or is 1,000,000,000,000,000 or more"),
        (4, value + 1, "KPI 'nox_emissions': value 'NaN' is not a number"),
    ]


def test_export_refuses_values_that_are_not_figures(starter, tmp_path):
    path = starter / "data" / "kpis" / "odd.yml"
    path.write_text("group: odd\ntitle: {en: Odd, zh-Hant: 奇}\nkpis:\n  - id: odd\n    name: {en: Odd, zh-Hant: 奇}\n"
                    "    unit: t\n    values:\n      2024: .nan\n", "utf-8")
    with pytest.raises(DataError) as caught:
        export_workbook(starter / "data", tmp_path / "kpis.csv")
    [error] = caught.value.diagnostics.errors
    assert (error.code, error.file, error.line) == ("data.not-a-number", str(path), 8)
    assert error.message == "KPI 'odd': the 2024 value is not a finite number"


# --- formulas: texts that a spreadsheet would run are written as text, and read back unchanged ----

HOSTILE = {"name_en": "=HYPERLINK(\"http://example.invalid\",\"x\")", "boundary": "+cmd|' /C calc'!A0",
           "source": "@SUM(A1)", "note_en": "-restated", "note_zh-Hant": "'=already quoted"}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_formula_texts_are_neutralised_and_come_back_unchanged(suffix, derived_starter, tmp_path):
    data_dir = derived_starter / "data"
    path = data_dir / "kpis" / "derived.yml"
    text = path.read_text("utf-8").replace("{en: \"Hours, exact\"", "{en: '" + HOSTILE["name_en"] + "'")
    text = text.replace("boundary: Hong Kong office", "boundary: \"" + HOSTILE["boundary"] + "\"\n    source: '@SUM(A1)'")
    text = text.replace("note: {en: Restated., zh-Hant: 經重列。}", "note: {en: '-restated', zh-Hant: \"'=already quoted\"}")
    path.write_text(text, "utf-8")
    before = snapshot(data_dir)
    sheet = tmp_path / f"kpis{suffix}"
    export_workbook(data_dir, sheet)
    if suffix == ".csv":
        rows = [dict(zip(COLUMNS, row)) for row in read_csv(sheet)[1:]]
    else:
        cells = list(openpyxl.load_workbook(sheet)["KPIs"].iter_rows(min_row=2))
        assert {c.data_type for row in cells for c in row if isinstance(c.value, str)} == {"s"}  # no formula cells
        rows = [dict(zip(COLUMNS, (c.value for c in row))) for row in cells]
    hours = [row for row in rows if row["id"] == "hours_exact"]
    for column, original in HOSTILE.items():
        shown = {row[column] for row in hours if row[column]}
        assert shown == {"'" + original}, column
    assert [row["value"] for row in hours if row["value"] not in ("", None)] in (["8.750", "-0.125"], [8.75, -0.125])
    import_workbook(sheet, data_dir)
    assert snapshot(data_dir) == before


# --- hostile and broken workbooks: refused quickly, located, data/ untouched ---------------------

def data_tree(data_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data_dir)): p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file()}


def refused_import(sheet: Path, report: Path, seconds: float = 5) -> str:
    """Run `import` and check what a user sees: exit 1, no traceback, data/ unchanged, quickly; return stderr."""
    before = data_tree(report / "data")
    started = time.monotonic()
    code, out, err = run_cli("import", str(sheet), str(report))
    elapsed = time.monotonic() - started
    assert code == 1, err
    assert "Traceback" not in out + err and "internal error" not in err
    assert data_tree(report / "data") == before
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    return err


def rezip(source: Path, target: Path, replace: dict) -> Path:
    """A copy of the workbook ``source`` with some parts replaced (name -> bytes)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info.filename)))
        for name in set(replace) - set(old.namelist()):
            new.writestr(name, replace[name])
    return target


@pytest.fixture
def workbook(starter, tmp_path) -> Path:
    sheet = tmp_path / "exported.xlsx"
    export_workbook(starter / "data", sheet)
    return sheet


def test_a_file_that_is_not_a_zip(starter, tmp_path):
    sheet = tmp_path / "kpis.xlsx"
    sheet.write_text("group,id\nexample,x\n", "utf-8")  # a CSV saved with the wrong suffix
    err = refused_import(sheet, starter)
    assert f"{sheet}: error: the file is not an Excel workbook (not a valid zip archive: File is not a zip file) " \
           "[import.xlsx]" in err


def test_corrupt_deflate_data_is_located_in_its_part(starter, workbook, tmp_path):
    sheet = tmp_path / "kpis.xlsx"
    data = bytearray(workbook.read_bytes())
    with zipfile.ZipFile(workbook) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for offset in range(start + 10, start + min(info.compress_size, 200)):
        data[offset] ^= 0x5A
    sheet.write_bytes(bytes(data))
    err = refused_import(sheet, starter)
    assert f"{sheet}: error: xl/worksheets/sheet1.xml in the workbook is damaged (" in err


ENTITY_BOMB = (b'<?xml version="1.0"?>\n<!DOCTYPE sst [\n <!ENTITY lol "lol">\n'
               + b"".join(b' <!ENTITY lol%d "%s">\n' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
                          for n in range(1, 10))
               + b']>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
                 b"<si><t>&lol9;</t></si></sst>")


@pytest.mark.parametrize("part", ["xl/sharedStrings.xml", "xl/worksheets/sheet1.xml"])
def test_xml_entity_declarations_are_refused(part, starter, workbook, tmp_path):
    # The exported workbook writes its texts inline; Excel's have a shared-strings part, which rezip adds.
    with zipfile.ZipFile(workbook) as archive:
        original = archive.read(part) if part in archive.namelist() else b""
    bomb = ENTITY_BOMB if part.endswith("sharedStrings.xml") else \
        b'<!DOCTYPE worksheet [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + original.replace(b"<t>id</t>", b"<t>&e;</t>")
    sheet = rezip(workbook, tmp_path / "kpis.xlsx", {part: bomb})
    err = refused_import(sheet, starter, seconds=1)
    assert f"{sheet}: error: {part} declares a DOCTYPE or entities, which a workbook from Excel never has; " \
           "it is not read [import.xlsx-dtd]" in err


def test_broken_xml_in_a_sheet_is_located(starter, workbook, tmp_path):
    with zipfile.ZipFile(workbook) as archive:
        original = archive.read("xl/worksheets/sheet1.xml")
    cut = original.index(b"<row r=\"4\"")
    sheet = rezip(workbook, tmp_path / "kpis.xlsx", {"xl/worksheets/sheet1.xml": original[:cut] + b"<row r=\"4\"><c"})
    err = refused_import(sheet, starter)
    assert f"{sheet}:4: error: sheet 'KPIs' cannot be read after row 3 (" in err


@pytest.mark.parametrize("limit, message", [
    ("MAX_XLSX_PARTS", "the workbook has {parts:,} parts; at most {limit:,} are read [import.xlsx-too-large]"),
    ("MAX_XLSX_UNCOMPRESSED", "the workbook expands to {total:,} bytes ("),
    ("MAX_FILE_BYTES", "the file is {size:,} bytes; at most {limit:,} are read [import.too-large]"),
])
def test_workbook_limits(limit, message, starter, workbook, monkeypatch):
    with zipfile.ZipFile(workbook) as archive:
        parts = archive.infolist()
    facts = {"parts": len(parts), "total": sum(p.file_size for p in parts), "size": workbook.stat().st_size}
    value = {"MAX_XLSX_PARTS": facts["parts"] - 1, "MAX_XLSX_UNCOMPRESSED": facts["total"] - 1,
             "MAX_FILE_BYTES": facts["size"] - 1}[limit]
    monkeypatch.setattr(spreadsheet, limit, value)
    err = refused_import(workbook, starter)
    assert f"{workbook}: error: " + message.format(limit=value, **facts) in err


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_cell_count_limit_names_the_row(suffix, starter, tmp_path, monkeypatch):
    sheet = tmp_path / f"kpis{suffix}"
    export_workbook(starter / "data", sheet)
    if suffix == ".csv":
        widths = [len(row) for row in read_csv(sheet)]
    else:  # a workbook row ends at its last filled cell
        widths = [max((c.column for c in row if c.value is not None), default=1)
                  for row in openpyxl.load_workbook(sheet)["KPIs"].iter_rows()]
    limit = 5 * len(COLUMNS)
    row = next(n for n in range(1, len(widths) + 1) if sum(widths[:n]) > limit)
    monkeypatch.setattr(spreadsheet, "MAX_CELLS", limit)
    err = refused_import(sheet, starter)
    what = "sheet 'KPIs'" if suffix == ".xlsx" else "the CSV file"
    assert f"{sheet}:{row}: error: {what} has more than {limit:,} cells" in err


def test_a_cell_far_away_does_not_make_a_huge_sheet(starter, workbook, tmp_path):
    """One cell at the last row and column: padding the rows would be 17 billion cells."""
    with zipfile.ZipFile(workbook) as archive:
        original = archive.read("xl/worksheets/sheet1.xml")
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    bomb = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', original.replace(b"</sheetData>", far))
    sheet = rezip(workbook, tmp_path / "kpis.xlsx", {"xl/worksheets/sheet1.xml": bomb})
    err = refused_import(sheet, starter)
    assert f"has more than {spreadsheet.MAX_CELLS:,} cells" in err


class _RepeatedBlock:
    """Stands in for zipfile's deflate compressor: after a full flush deflate forgets its history,
    so every copy of the same chunk compresses to the same bytes, computed once."""

    def __init__(self, chunk: bytes):
        self.chunk, self.deflate = chunk, zlib.compressobj(9, zlib.DEFLATED, -15)
        self.block = self.deflate.compress(chunk) + self.deflate.flush(zlib.Z_FULL_FLUSH)

    def compress(self, data: bytes) -> bytes:
        if data is self.chunk:
            return self.block
        return self.deflate.compress(data) + self.deflate.flush(zlib.Z_FULL_FLUSH)

    def flush(self) -> bytes:
        return self.deflate.flush()


def test_a_real_size_shared_strings_bomb_stops_in_well_under_a_second(starter, workbook, tmp_path):
    sheet = tmp_path / "kpis.xlsx"
    chunk = b"<si><t>lol</t></si>" * (1 << 16)
    copies = (1600 << 20) // len(chunk)
    with zipfile.ZipFile(workbook) as old, zipfile.ZipFile(sheet, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info.filename))
        bomb = zipfile.ZipInfo("xl/sharedStrings.xml")
        bomb.compress_type = zipfile.ZIP_DEFLATED
        with new.open(bomb, "w", force_zip64=True) as member:
            member._compressor = _RepeatedBlock(chunk)  # a real deflate stream, in 1 s instead of 10
            member.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            for _ in range(copies):
                member.write(chunk)
            member.write(b"</sst>")
    assert sheet.stat().st_size < 8 << 20
    with zipfile.ZipFile(sheet) as archive:
        expanded = archive.getinfo("xl/sharedStrings.xml").file_size
        total = sum(p.file_size for p in archive.infolist())
    assert expanded > 1600 << 20 - 1
    err = refused_import(sheet, starter, seconds=0.5)
    assert f"{sheet}: error: the workbook expands to {total:,} bytes (xl/sharedStrings.xml: {expanded:,}); at most " \
           f"{spreadsheet.MAX_XLSX_UNCOMPRESSED:,} are read [import.xlsx-too-large]" in err


@pytest.mark.parametrize("missing", ["xl/workbook.xml", "[Content_Types].xml"])
def test_a_workbook_without_its_main_part(missing, starter, workbook, tmp_path):
    sheet = tmp_path / "kpis.xlsx"
    with zipfile.ZipFile(workbook) as old, zipfile.ZipFile(sheet, "w") as new:
        for info in old.infolist():
            if info.filename != missing:
                new.writestr(info.filename, old.read(info.filename))
    err = refused_import(sheet, starter)
    assert f"{sheet}: error: the file cannot be read as an Excel workbook (" in err
    assert "without a password" in err


@pytest.mark.parametrize("command", ["export", "import"])
def test_a_full_disk_is_a_located_error_and_the_old_file_stays(command, starter, exported, monkeypatch):
    sheet, rows = exported
    rows[1][COLUMNS.index("value")] = "1.5"
    write_csv(sheet, rows)
    target = sheet if command == "export" else starter / "data" / "kpis" / "example.yml"
    before, data = target.read_bytes(), data_tree(starter / "data")

    def no_space(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fileio.os, "replace", no_space)
    code, out, err = run_cli(command, str(sheet), str(starter))
    assert code == 1
    assert f"error: cannot write the file: {os.strerror(errno.ENOSPC)} [write.failed]" in err
    shown = target.relative_to(starter) if target.is_relative_to(starter) else target
    assert f"{shown}: error: cannot write the file" in err
    assert "Traceback" not in out + err
    assert target.read_bytes() == before and data_tree(starter / "data") == data
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".part")]


# The header of a sheet exported before the columns were built from the editions: it must still import.
_HEADER_OF_2025 = ("group,group_title_en,group_title_zh-Hant,id,name_en,name_zh-Hant,unit,decimals,disclose,source,"
                   "boundary,formula,breakdown_of,year,value,status,note_en,note_zh-Hant,reason_en,reason_zh-Hant,"
                   "breakdowns,min").split(",")


def test_a_sheet_with_the_earlier_column_names_still_imports(sample_data, tmp_path):
    assert list(COLUMNS) == _HEADER_OF_2025
    group = yaml.safe_load(sorted((sample_data / "kpis").glob("*.yml"))[0].read_text("utf-8"))
    kpi = group["kpis"][0]
    row = dict.fromkeys(_HEADER_OF_2025, "") | {
        "group": group["group"], "group_title_en": group["title"]["en"], "group_title_zh-Hant": group["title"]["zh-Hant"],
        "id": "hand_typed", "name_en": "Hand-typed figure", "name_zh-Hant": "手填數字", "unit": kpi["unit"],
        "year": "2024", "value": "12.5", "note_en": "Typed in.", "note_zh-Hant": "手填。"}
    sheet = write_csv(tmp_path / "old.csv", [_HEADER_OF_2025, [row[name] for name in _HEADER_OF_2025]])
    import_workbook(sheet, sample_data)
    typed = load_report_data(sample_data).kpis["hand_typed"]
    assert typed.name == {"en": "Hand-typed figure", "zh-Hant": "手填數字"}
    assert (typed.values[2024].amount, typed.values[2024].note) == (Decimal("12.5"), {"en": "Typed in.", "zh-Hant": "手填。"})
