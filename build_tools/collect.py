"""Collecting the year's figures from their owners: a workbook per owner of only that owner's
pending values (``esg-report export --pending --owner NAME FILE.xlsx``), read back by
``esg-report import FILE.xlsx``, and the collection status that ``check`` prints.

A request is not the full KPI sheet of spreadsheet.py: no one gets the whole data set, and what
comes back changes only the pending values it names (each a line in its KPI file, edited with
ruamel.yaml's round trip so comments and layout stay). The result goes through the data loader
on a staging copy before anything is written, as spreadsheet.py's import does.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
import zipfile
import zlib
from collections import Counter
from decimal import Decimal, InvalidOperation
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from ruamel.yaml.comments import CommentedMap

from .data import PENDING, ReportData, load_report_data, pending_values
from .errors import DataError, Diagnostic, Diagnostics
from .fileio import neutralise_cell, write_atomically
from .rollover import _dump, _yaml
from .spreadsheet import _inspect_workbook

SHEET = "Pending"


def columns(editions: list[str]) -> list[str]:
    """The request's columns: context first, then what the owner fills (value, a note per edition)."""
    return ["id", *(f"name_{e}" for e in editions), "unit", "codes", "owner", "year", "last_year", "last_year_value",
            "value", *(f"note_{e}" for e in editions)]


def owners(data: ReportData) -> Counter:
    """Pending values per owner (None: no owner named)."""
    return Counter(kpi.responsible for kpi, _year in pending_values(data.kpis))


def collection_status(data: ReportData) -> list[str]:
    """The short status `check` prints while anything is pending: per owner, the reporting year's
    typed values filled so far and those still pending."""
    counts = owners(data)
    if not counts:
        return []
    typed = [k for k in data.kpis.values() if not k.formula and k.value(data.year) is not None]
    filled = Counter(k.responsible for k in typed if k.value(data.year).status != PENDING)
    lines = [f"collection for {data.year}: {len(typed) - sum(counts.values())} of {len(typed)} values in, "
             f"{sum(counts.values())} pending"]
    for owner in sorted(set(counts) | set(filled), key=lambda o: (o is None, o or "")):
        lines.append(f"  {owner or '(no owner)'}: {filled[owner]} in, {counts[owner]} pending")
    return lines


def export_request(data: ReportData, owner: str, path: Path) -> int:
    """Write the pending values of ``owner`` to the workbook ``path``; return how many."""
    known = owners(data)
    if owner not in known:
        names = ", ".join(sorted(o for o in known if o)) or "none"
        raise DataError(Diagnostic("error", "export.owner", f"no pending values for '{owner}'",
                                   hint=f"owners with pending values: {names}"))
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    editions = list(data.meta["editions"])
    header = columns(editions)
    to_fill = ["value", *(f"note_{e}" for e in editions)]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    rows = 0
    fill = PatternFill("solid", fgColor="FFF3CD")
    for kpi, year in pending_values(data.kpis):
        if kpi.responsible != owner:
            continue
        before = kpi.value(year - 1)
        last = before.amount if before is not None and before.amount is not None else None
        sheet.append([neutralise_cell(str(x)) if isinstance(x, str) else x for x in (
            kpi.id, *(kpi.name[e] for e in editions), kpi.unit, " ".join(kpi.disclose), owner, year, year - 1,
            float(last) if last is not None else None, None, *(None for _ in editions))])
        rows += 1
        for name in to_fill:
            sheet.cell(row=rows + 1, column=header.index(name) + 1).fill = fill
    column = chr(ord("A") + header.index("value"))
    numbers = DataValidation(type="decimal", operator="between", formula1="-1E15", formula2="1E15", allow_blank=True,
                             error="Type the figure in digits", errorTitle="Not a number")
    numbers.add(f"{column}2:{column}{rows + 1}")
    sheet.add_data_validation(numbers)
    buffer = io.BytesIO()
    book.save(buffer)
    write_atomically(path, buffer.getvalue())
    return rows


def is_request(path: Path) -> bool:
    """A workbook written by export_request (its one sheet is named 'Pending'). Read with zipfile,
    a bounded look at one small part: openpyxl opens nothing before spreadsheet.py's inspection."""
    if path.suffix.lower() != ".xlsx":
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("xl/workbook.xml")
            if info.file_size > 1 << 20:
                return False
            names = re.findall(rb'<sheet [^>]*name="([^"]*)"', archive.read(info))
    except (zipfile.BadZipFile, KeyError, OSError, zlib.error, EOFError, RuntimeError, ValueError):
        return False  # not a request; spreadsheet.py reports a broken workbook with its location
    return names == [SHEET.encode()]


def import_request(path: Path, data_dir: Path) -> tuple[int, int]:
    """Fill the pending values an owner typed into ``path``; return (filled, still pending in it)."""
    data = load_report_data(data_dir)
    problems = Diagnostics()
    _inspect_workbook(path)  # the same bounds (size, parts, no DTD) as any imported workbook
    book = load_workbook(path, read_only=True, data_only=True)
    rows = list(book[SHEET].iter_rows(values_only=True))
    book.close()
    header = [str(c) if c is not None else "" for c in (rows[0] if rows else [])]
    missing = [c for c in ("id", "year", "value") if c not in header]
    if missing:
        raise DataError(Diagnostic("error", "import.header", f"the request has no column {', '.join(missing)}",
                                   file=str(path), line=1, hint="use the workbook `export --pending` wrote"))
    yaml = _yaml()
    documents: dict[str, object] = {}
    filled = waiting = 0
    rows_of: dict[str, int] = {}  # KPI id -> its row, where a problem of the filled data points
    for number, cells in enumerate(rows[1:], start=2):
        row = dict(zip(header, cells))
        if all(c is None for c in cells):
            continue
        where = {"file": f"{path}", "line": number}
        kpi = data.kpis.get(str(row["id"]))
        year = row["year"]
        if kpi is None or not isinstance(year, int) or year not in kpi.values:
            problems.error("import.unknown", f"row {number}: no KPI '{row['id']}' with a {year} value", **where,
                           hint="keep the id and year columns as exported")
            continue
        if row["value"] is None or str(row["value"]).strip() == "":
            waiting += 1
            continue
        try:
            amount = Decimal(str(row["value"]).strip())
            if not amount.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            problems.error("import.not-a-number", f"row {number}: KPI '{kpi.id}': '{row['value']}' is not a number",
                           **where, hint="type the figure in digits, without units or thousands separators")
            continue
        if kpi.values[year].status != PENDING:
            problems.error("import.not-pending", f"row {number}: KPI '{kpi.id}': the {year} value is no longer pending",
                           **where, hint="it was filled already; change it in its data file if it is wrong")
            continue
        if kpi.file not in documents:
            documents[kpi.file] = yaml.load(Path(kpi.file).read_text("utf-8"))
        entry = next(k for k in documents[kpi.file]["kpis"] if k["id"] == kpi.id)
        figure = int(amount) if amount == amount.to_integral_value() else float(amount)
        notes = {e: row.get(f"note_{e}") for e in data.meta["editions"]}
        if any(notes.values()):
            if not all(notes.values()):
                problems.error("import.missing", f"row {number}: KPI '{kpi.id}': a note needs "
                               f"{' and '.join('note_' + e for e in notes)}", **where, hint="write it in every edition's language")
                continue
            note = CommentedMap((k, str(v)) for k, v in notes.items())
            note.fa.set_flow_style()
            value = CommentedMap(value=figure, note=note)
            value.fa.set_flow_style()
            figure = value
        key = year if year in entry["values"] else str(year)
        entry["values"][key] = figure
        rows_of[kpi.id] = number
        filled += 1
    if problems.errors:
        raise DataError(problems)
    texts = {file: _dump(yaml, document) for file, document in documents.items()}
    _check_staged(data_dir, texts, path, rows_of)
    for file, text in texts.items():
        write_atomically(Path(file), text.encode("utf-8"))
    return filled, waiting


def _check_staged(data_dir: Path, texts: dict[str, str], sheet: Path, rows_of: dict[str, int]) -> None:
    """Load a copy of data/ with the filled files: an import never leaves data/ failing to load."""
    with tempfile.TemporaryDirectory(prefix="esg-collect-") as tmp:
        stage = Path(tmp) / "data"
        shutil.copytree(data_dir, stage)
        for file, text in texts.items():
            (stage / Path(file).resolve().relative_to(Path(data_dir).resolve())).write_text(text, encoding="utf-8")
        try:
            load_report_data(stage)
        except DataError as exc:
            fixed = Diagnostics()
            for item in exc.diagnostics.errors:
                named = re.match(r"KPI '(\w+)'", item.message)
                if named and named.group(1) in rows_of:  # a figure from the sheet: point at its row
                    fixed.error(item.code, item.message, file=str(sheet), line=rows_of[named.group(1)], hint=item.hint)
                    continue
                fixed.error(item.code, item.message, file=(item.file or "").replace(str(stage), str(data_dir)) or None,
                            line=item.line, hint=item.hint)
            raise DataError(fixed) from None
