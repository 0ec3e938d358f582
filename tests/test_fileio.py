"""fileio.py: atomic writes, and CSV cells that no spreadsheet runs as a formula."""

import os
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from build_tools import fileio
from build_tools.fileio import FORMULA_STARTS, neutralise_cell, restore_cell, write_atomically
from build_tools.i18n import display_width


@pytest.mark.parametrize("text, written", [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("'=1", "''=1"),  # a text that already starts with a quote keeps it
    ("-12.5", "-12.5"), ("+3", "+3"), ("-1E+16", "-1E+16"), ("-.5", "-.5"),  # numbers stay numbers
    ("Scope 1 - direct", "Scope 1 - direct"), ("'quoted'", "'quoted'"), ("", ""),
])
def test_neutralise_and_restore(text, written):
    assert neutralise_cell(text) == written
    assert restore_cell(written) == text


def test_numbers_and_none():
    assert neutralise_cell(-0.125) == "-0.125"
    assert neutralise_cell(None) == ""


@given(st.text())
def test_restore_undoes_neutralise_and_nothing_starts_a_formula(text):
    written = neutralise_cell(text)
    assert restore_cell(written) == text
    assert written[:1] not in FORMULA_STARTS or fileio._NUMBER.fullmatch(written)


def test_write_atomically_gives_ordinary_permissions(tmp_path):
    target = tmp_path / "out.txt"
    old = os.umask(0o022)
    try:
        write_atomically(target, "名稱\n")
    finally:
        os.umask(old)
    assert target.read_text("utf-8") == "名稱\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    target.chmod(0o600)  # a file someone made private stays private when rewritten
    write_atomically(target, b"new")
    assert (target.read_bytes(), stat.S_IMODE(target.stat().st_mode)) == (b"new", 0o600)


def test_a_failed_write_leaves_the_old_file_and_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "kpis.csv"
    target.write_bytes(b"old")

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", full_disk)
    with pytest.raises(OSError):
        write_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["kpis.csv"]


def test_display_width_counts_wide_characters_twice():
    assert display_width("Appendix II") == len("Appendix II")
    assert display_width("附錄二 內容索引") == 2 * 7 + 1
    assert display_width("《指引》、") == 10  # CJK punctuation is wide too
    assert display_width("ＡＢ") == 4  # fullwidth Latin


def test_downloads_csv_files_hold_no_formulas(starter):
    """kpis.csv and content-index.csv of a built site: hostile texts quoted, figures still figures."""
    import csv
    import io

    from support import run_cli

    kpis = starter / "data" / "kpis" / "example.yml"
    name = "=HYPERLINK(\"http://example.invalid\",\"click\")"
    kpis.write_text(kpis.read_text("utf-8").replace("en: Nitrogen oxides emissions", f"en: '{name}'", 1), "utf-8")
    explanation = "@SUM(1+1)*cmd|' /C calc'!A0"
    (starter / "data" / "disclosures.yml").write_text(
        f"explanations:\n  A1.6: {{en: \"{explanation}\", zh-Hant: \"-2+3\"}}\n", "utf-8")
    for edition in ("en", "zh-Hant"):
        page = starter / "content" / edition / "environmental.md"
        page.write_text(page.read_text("utf-8").replace('data-disclose="A1 A1.5 A1.6"', 'data-disclose="A1 A1.5"'), "utf-8")
    code, out, err = run_cli("build", str(starter), "--no-pdf")
    assert code == 0, err
    assert "Traceback" not in out + err

    def rows(path):
        return list(csv.DictReader(io.StringIO(path.read_text("utf-8"), newline="")))

    downloads = starter / "site" / "en" / "downloads"
    kpi_rows = rows(downloads / "kpis.csv")
    assert {r["name"] for r in kpi_rows if r["kpi"] == "nox_emissions"} == {"'" + name}
    values = [r["value"] for r in kpi_rows if r["value"]]
    assert values and all(fileio._NUMBER.fullmatch(v) for v in values)
    for row in kpi_rows:
        assert all(cell[:1] not in FORMULA_STARTS or fileio._NUMBER.fullmatch(cell) for cell in row.values())
    [a16] = [r for r in rows(downloads / "content-index.csv") if r["code"] == "A1.6"]
    assert a16["explanation"] == "'" + explanation
    [a16] = [r for r in rows(starter / "site" / "zh-Hant" / "downloads" / "content-index.csv") if r["code"] == "A1.6"]
    assert a16["explanation"] == "'-2+3"


def test_a_writer_that_fails_half_way_leaves_the_old_file(tmp_path):
    """The PDF is streamed into the temporary file; an engine error half-way changes nothing."""
    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF old")

    def half_then_fail(file):
        file.write(b"%PDF new, half")
        raise RuntimeError("engine failed")

    with pytest.raises(RuntimeError):
        write_atomically(target, half_then_fail)
    assert target.read_bytes() == b"%PDF old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]
    write_atomically(target, lambda file: file.write(b"%PDF new"))
    assert target.read_bytes() == b"%PDF new"


def test_csv_downloads_neutralise_formulas_and_keep_numbers():
    import csv
    import io

    from build_tools.fileio import csv_text

    text = csv_text(["name", "value"], [{"name": '=HYPERLINK("http://x")', "value": -12.5}, {"name": "Water", "value": 3}])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows == [{"name": "'=HYPERLINK(\"http://x\")", "value": "-12.5"}, {"name": "Water", "value": "3"}]
