"""rollover (`esg-report rollover`), pending values and the per-owner data requests (collect.py)."""

import html
import json
import re
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from build_tools.data import load_report_data
from build_tools.i18n import get_edition, load_translations
from build_tools.project import TOOLCHAIN_ROOT
from support import pdf_text, report_meta, run_cli

OWNER = "Procurement Department"


def catalog_text(edition: str, msgid: str) -> str:
    """The edition's translation of a UI string, from the toolchain's catalogs (as a build reads them)."""
    return load_translations([TOOLCHAIN_ROOT / "translations"], get_edition(edition)).gettext(msgid)


@pytest.fixture
def rolled(starter, tmp_path) -> Path:
    new = tmp_path / "next"
    code, out, err = run_cli("rollover", str(starter), str(new))
    assert code == 0, out + err
    return new


def problems(report: Path, *flags: str) -> tuple[int, list[dict]]:
    code, out, _ = run_cli("check", str(report), "--format", "json", *flags)
    return code, json.loads(out)


def test_rollover_moves_the_year_on_and_marks_everything_to_do(starter, rolled):
    old, new = report_meta(starter)["report"], report_meta(rolled)["report"]
    year = old["year"] + 1
    assert new["year"] == year
    assert (new["period_start"], new["period_end"]) == tuple(
        old[k].replace(str(year - 1), str(year), 1) for k in ("period_start", "period_end"))
    assert new["approved"] == "pending"
    for edition, title in old["title"].items():
        assert new["title"][edition] == title.replace(str(year - 1), str(year)) != title

    before = load_report_data(starter / "data")
    typed = [k for k in before.kpis.values() if not k.formula]
    code, found = problems(rolled)
    assert code == 0  # a draft: warnings only
    pending = sorted(re.match(r"KPI '(\w+)'", p["message"]).group(1) for p in found
                     if p["code"] == "data.pending" and p["message"].startswith("KPI"))
    assert pending == sorted(k.id for k in typed)
    assert all(f"the {year} value is pending" in p["message"] for p in found
               if p["code"] == "data.pending" and p["message"].startswith("KPI"))
    assert [p["file"] for p in found if p["code"] == "data.pending" and "approval" in p["message"]] == [
        str(rolled / "data" / "report.yml")]
    editions = report_meta(starter)["editions"]
    pages = sorted(str(p) for e in editions for p in (rolled / "content" / e).rglob("*.md"))
    assert sorted(p["file"] for p in found if p["code"] == "review.page") == pages
    # The translations show the pages as stale: their source changed.
    stale = {p["file"] for p in found if p["code"] == "translation.stale"}
    assert stale == {f for f in pages if f"/content/{editions[0]}/" not in f}
    # Earlier years are kept: the tables show the three years ending with the new one.
    after = load_report_data(rolled / "data")
    assert after.years == [year - 2, year - 1, year]
    for kpi in typed:
        assert {y: v for y, v in after.kpis[kpi.id].values.items() if y < year} == kpi.values
        assert after.kpis[kpi.id].source == kpi.source
    # Derived KPIs are pending while their inputs are.
    assert all(k.values[year].status == "pending" for k in after.kpis.values() if k.formula)

    code, _ = problems(rolled, "--strict")
    assert code == 1
    code, _, _ = run_cli("build", str(rolled), "--strict", "--no-pdf")
    assert code == 1


def test_rollover_refuses_an_existing_folder(starter, tmp_path):
    existing = tmp_path / "taken"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine", "utf-8")
    code, _, err = run_cli("rollover", str(starter), str(existing))
    assert code == 1
    assert f"{existing}: error: the new report's folder already exists [rollover.exists]" in err
    assert [p.name for p in existing.iterdir()] == ["notes.txt"]


def test_draft_shows_the_placeholder_in_both_editions(rolled, tmp_path):
    """In text, tables and charts of the site, and in the PDF, in each edition's language."""
    data = load_report_data(rolled / "data")
    first = next(k for k in data.kpis.values() if not k.formula)
    editions = report_meta(rolled)["editions"]
    for edition in editions:
        page = rolled / "content" / edition / "social.md"
        page.write_text(page.read_text("utf-8") + f"\n{{{{ kpi('{first.id}') }}}}\n\n{{{{ kpi_chart(['{first.id}']) }}}}\n", "utf-8")
    output = tmp_path / "site"
    code, out, err = run_cli("build", str(rolled), "--output", str(output))
    assert code == 0, out + err
    for edition in editions:
        placeholder = catalog_text(edition, "[pending]")
        page = (output / edition / "social" / "index.html").read_text("utf-8")
        cells = re.findall(r'<td class="num kpi-pending" data-kpi="(\w+)" data-year="(\d+)">([^<]*)</td>', page)
        assert cells and {(int(y), html.unescape(text)) for _, y, text in cells} == {(data.year, placeholder)}
        [text] = re.findall(rf'<span class="kpi kpi-pending" data-kpi="{first.id}" data-year="{data.year}"[^>]*>([^<]*)</span>', page)
        assert html.unescape(text) == placeholder
        [mark] = re.findall(r'<text [^>]*class="chart-value kpi-pending"[^>]*>([^<]*)</text>', page)
        assert html.unescape(mark) == placeholder
        pdf = next((output / edition).glob("*.pdf"))
        assert pdf_text(pdf).count(placeholder) >= len(cells) + 2
    assert catalog_text(editions[-1], "[pending]") != catalog_text(editions[0], "[pending]")


def test_owner_request_round_trip_fills_only_that_owner(rolled, tmp_path):
    # Give the first typed KPI its own owner: the request holds its pending value only.
    kpi_file = rolled / "data" / "kpis" / "example.yml"
    data = load_report_data(rolled / "data")
    first = next(k for k in data.kpis.values() if not k.formula)
    text = kpi_file.read_text("utf-8")
    text = text.replace(f"- id: {first.id}\n", f"- id: {first.id}\n  owner: {OWNER}\n", 1)
    kpi_file.write_text(text, "utf-8")
    code, out, _ = run_cli("check", str(rolled))
    assert f"  {OWNER}: 0 in, 1 pending" in out

    request = tmp_path / "request.xlsx"
    code, out, err = run_cli("export", "--pending", "--owner", OWNER, str(request), str(rolled))
    assert code == 0, out + err
    sheet = load_workbook(request)["Pending"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]
    assert [(r["id"], r["year"]) for r in rows] == [(first.id, data.year)]
    assert rows[0]["last_year_value"] == float(first.value(data.year - 1).amount)
    sheet.cell(row=2, column=header.index("value") + 1).value = 12.5
    sheet.parent.save(request)
    code, out, err = run_cli("import", str(request), str(rolled))
    assert code == 0, out + err
    after = load_report_data(rolled / "data")
    assert str(after.kpis[first.id].value(data.year).amount) == "12.5"
    others = [k for k in after.kpis.values() if not k.formula and k.id != first.id]
    assert all(k.value(data.year).status == "pending" for k in others)
    code, out, _ = run_cli("check", str(rolled))
    assert f"  {OWNER}: 1 in, 0 pending" in out
    assert f"collection for {data.year}: 1 of {len(others) + 1} values in, {len(others)} pending" in out


def test_rollover_of_the_sample_report(tmp_path):
    new = tmp_path / "sample-next"
    code, out, err = run_cli("rollover", str(TOOLCHAIN_ROOT), str(new))
    assert code == 0, out + err
    assert sorted(p.name for p in new.iterdir()) == ["content", "data", "mkdocs.yml", "templates", "translations"]
    data = load_report_data(TOOLCHAIN_ROOT / "data")
    code, found = problems(new)
    assert code == 0, [p for p in found if p["severity"] == "error"]
    pending = [p for p in found if p["code"] == "data.pending" and p["message"].startswith("KPI")]
    assert len(pending) == len([k for k in data.kpis.values() if not k.formula])
    explained = yaml.safe_load((TOOLCHAIN_ROOT / "data" / "disclosures.yml").read_text("utf-8"))["explanations"]
    assert len([p for p in found if p["code"] == "review.explanation"]) == len(explained)
    meta = report_meta(new)["report"]
    assert meta["pdf_name"] == report_meta(TOOLCHAIN_ROOT)["report"]["pdf_name"].replace(str(data.year), str(data.year + 1))


def test_filled_and_reviewed_report_builds_strict(rolled, tmp_path):
    """The whole cycle: every owner's request filled by import, pages reviewed, approval set."""
    data = load_report_data(rolled / "data")
    owners = {k.responsible for k in data.kpis.values() if not k.formula}
    for number, owner in enumerate(sorted(owners)):
        request = tmp_path / f"request-{number}.xlsx"
        code, out, err = run_cli("export", "--pending", "--owner", owner, str(request), str(rolled))
        assert code == 0, out + err
        book = load_workbook(request)
        sheet = book["Pending"]
        header = [c.value for c in sheet[1]]
        for row in sheet.iter_rows(min_row=2):
            row[header.index("value")].value = row[header.index("last_year_value")].value
        book.save(request)
        code, out, err = run_cli("import", str(request), str(rolled))
        assert code == 0, out + err
    code, _, _ = run_cli("build", str(rolled), "--strict", "--no-pdf", "--output", str(tmp_path / "s1"))
    assert code == 1  # pages still to review, approval still pending

    for page in rolled.glob("content/*/**/*.md"):
        text = page.read_text("utf-8")  # as the guide says: the line, and the front matter if that was all
        text = text.removeprefix("---\nreview: true\n---\n").replace("review: true\n", "")
        page.write_text(text, "utf-8")
    assert run_cli("translations", str(rolled), "--mark-all")[0] == 0
    report = rolled / "data" / "report.yml"
    report.write_text(report.read_text("utf-8").replace("approved: 'pending'", f"approved: '{data.year + 1}-03-31'"), "utf-8")
    disclosures = rolled / "data" / "disclosures.yml"
    document = yaml.safe_load(disclosures.read_text("utf-8")) or {}
    document.pop("review", None)
    disclosures.write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")
    code, out, err = run_cli("build", str(rolled), "--strict", "--no-pdf", "--output", str(tmp_path / "s2"))
    assert code == 0, out + err


def test_a_wrong_figure_in_a_request_is_located_at_its_row_and_nothing_is_written(rolled, tmp_path):
    data = load_report_data(rolled / "data")
    owner = next(k.responsible for k in data.kpis.values() if not k.formula)
    request = tmp_path / "request.xlsx"
    assert run_cli("export", "--pending", "--owner", owner, str(request), str(rolled))[0] == 0
    before = {p: p.read_bytes() for p in (rolled / "data").rglob("*.yml")}
    book = load_workbook(request)
    sheet = book["Pending"]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=2, column=header.index("value") + 1).value = 10
    sheet.cell(row=3, column=header.index("value") + 1).value = "12,5 t"
    book.save(request)
    code, _, err = run_cli("import", str(request), str(rolled))
    assert code == 1
    assert f"{request}:3: error: row 3: KPI '{sheet.cell(row=3, column=1).value}': '12,5 t' is not a number" in err
    assert {p: p.read_bytes() for p in (rolled / "data").rglob("*.yml")} == before


def test_export_pending_needs_an_owner_and_a_workbook(rolled, tmp_path):
    assert run_cli("export", "--pending", str(tmp_path / "r.xlsx"), str(rolled))[0] == 2
    assert run_cli("export", "--pending", "--owner", OWNER, str(tmp_path / "r.csv"), str(rolled))[0] == 2
    code, _, err = run_cli("export", "--pending", "--owner", "Nobody", str(tmp_path / "r.xlsx"), str(rolled))
    assert code == 1 and "no pending values for 'Nobody'" in err
    assert not (tmp_path / "r.xlsx").exists()


def test_rollover_under_a_file_is_a_located_error(starter, tmp_path):
    """A parent that is a file ended in a FileExistsError traceback."""
    (tmp_path / "notes").write_text("mine", "utf-8")
    code, _, err = run_cli("rollover", str(starter), str(tmp_path / "notes" / "esg-2025"))
    assert code == 1 and f"cannot write the new report: {tmp_path / 'notes'} is a file, not a folder" in err, err
    assert "Traceback" not in err and (tmp_path / "notes").read_text("utf-8") == "mine"
