"""KPI data to and from a spreadsheet (.xlsx or .csv), for data owners who live in Excel.

A converter, not a second validator: ``export_workbook`` turns the KPI files (each read by the
data layer and checked against its schema) into one row per KPI and year; ``import_workbook``
turns those rows back into one ``data/kpis/<group>.yml`` per group, checks what it can only
check in the sheet (cells, columns, rows that disagree) with errors naming the spreadsheet,
row and column, then loads a staging copy of ``data/`` with the new files through the build's
own loader (``data.load_report_data``) and writes the real files, atomically, only if that
adds no problem. The layout is documented in docs/authoring-guide.md ("Filling KPIs from a
spreadsheet").

Figures keep their digits: the YAML loader remembers how a float was written and the writer
emits that text, never float arithmetic, so 8.75 stays 8.75 and 947200000 stays 947200000.
A .csv file keeps the digits themselves (8.750); a workbook holds numbers as doubles, exact
up to 15 significant digits, which is the most ``import`` accepts. Texts a spreadsheet would
run as a formula are written with a leading ``'`` (``fileio.neutralise_cell``) and read back
without it. A workbook from outside is bounded before openpyxl sees it (``_inspect_workbook``).
"""

from __future__ import annotations

import csv
import io
import math
import re
import shutil
import tempfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from .data import load_report_data, load_units, read_kpi_file, schema, suggest
from .errors import DataError, Diagnostic, Diagnostics
from .fileio import neutralise_cell, restore_cell, write_atomically
from .i18n import EDITIONS
from .yamlsource import SourceFloat, load_yaml



def _text_languages() -> tuple[str, ...]:
    """The languages a KPI file writes each text in (the KPI schema's ``text``: one per edition)."""
    return tuple(schema("kpis.schema.json")["$defs"]["text"]["required"])


#: Each text of a KPI file has one column per language: name_en, name_zh-Hant, ...
LANGUAGES = _text_languages()


def _texts(prefix: str) -> tuple[str, ...]:
    return tuple(f"{prefix}_{lang}" for lang in LANGUAGES)


COLUMNS = ("group", *_texts("group_title"), "id", *_texts("name"), "unit", "decimals",
           "disclose", "source", "boundary", "formula", "breakdown_of", "year", "value", "status",
           *_texts("note"), *_texts("reason"), "breakdowns", "min")
REQUIRED = ("group", *_texts("group_title"), "id", *_texts("name"), "unit", "year", "value")
SHEET = "KPIs"
STATUSES = ("reported", "not_available", "not_applicable", "pending")
MAX_DIGITS = 15  # what a spreadsheet and a YAML float both keep exactly
LIMIT = Decimal(10) ** 15
# Bounds for reading a spreadsheet from anyone: a KPI sheet is a few hundred rows of 20 columns,
# and a workbook is a zip that can expand a thousandfold (1.6 GB of shared strings fit in 4 MB).
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED = 32 * 1024 * 1024
MAX_XLSX_PARTS = 1000
MAX_CELLS = 500_000
_XLSX_HINT = ("save it as 'Excel Workbook (.xlsx)' from Excel or LibreOffice, without a password, or use "
              "`esg-report export` for a fresh one")

_GROUP_ATTRS = _texts("group_title")
_KPI_ATTRS = (*_texts("name"), "unit", "decimals", "disclose", "source", "boundary", "formula", "breakdown_of",
              "breakdowns", "min")
_VALUE_CELLS = ("value", "status", *_texts("note"), *_texts("reason"))
_ID = re.compile(r"[a-z][a-z0-9_]*")
_YEAR = re.compile(r"(19|20)[0-9]{2}")
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_FIXED_TIME = "2000-01-01T00:00:00Z"  # document properties of an exported workbook: no clock, same bytes
_GUIDE = "see docs/authoring-guide.md, 'Filling KPIs from a spreadsheet'"
_NUMBER_HINT = "type the figure in digits, without thousands separators, units or %, e.g. 947200000 or 8.75"
# Where a data/ problem about one KPI points in its row.
_COLUMN_OF_CODE = {"data.unknown-unit": "unit", "data.formula-syntax": "formula", "data.formula-unknown": "formula",
                   "data.formula-cycle": "formula", "data.division-by-zero": "formula", "data.breakdown-unknown": "breakdown_of",
                   "data.breakdown-sum": "value", "data.missing-value": "year", "data.duplicate-id": "id",
                   "data.not-a-number": "value", "data.breakdown-self": "breakdowns", "data.below-minimum": "value",
                   "data.implausible": "value", "data.future-year": "year", "data.formula-values": "formula"}


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ValueError(f"{path.name}: a spreadsheet must be .xlsx or .csv")
    return suffix[1:]


def _number_text(amount: Decimal) -> str:
    """Plain digits, never an exponent: a YAML int when the number has no decimal places, else a float."""
    if amount.as_tuple().exponent >= 0:
        return str(int(amount))
    return format(amount, "f")


def _fits(amount: Decimal) -> bool:
    # Count the digits from the tuple: normalize() would round to the context's 28 digits first.
    digits = "".join(map(str, amount.as_tuple().digits)).strip("0")
    return len(digits) <= MAX_DIGITS and amount.copy_abs() < LIMIT


# --- export --------------------------------------------------------------------------------

def _exact(figure) -> Decimal:
    """A figure as its YAML file writes it: the loader keeps a float's digits (8.750 stays 8.750)."""
    return Decimal(figure.text if isinstance(figure, SourceFloat) else figure)


def _year_of(key) -> int | None:
    return int(key) if not isinstance(key, bool) and _YEAR.fullmatch(str(key)) else None


def _cells(prefix: str, text: dict) -> dict:
    """A text of a KPI file ({en: ..., zh-Hant: ...}) as its columns (name_en, name_zh-Hant)."""
    return {f"{prefix}_{lang}": text[lang] for lang in LANGUAGES}


def _export_rows(data_dir: Path) -> tuple[list[dict], int]:
    files = sorted((data_dir / "kpis").glob("*.yml"))
    if not files:
        raise DataError(Diagnostic("error", "export.no-kpis", "no KPI files to export", file=str(data_dir / "kpis"),
                                   hint="KPIs live in data/kpis/<group>.yml (see docs/authoring-guide.md)"))
    problems = Diagnostics()
    rows: list[dict] = []
    groups: dict[str, Path] = {}
    count = 0
    for path in files:
        # Each file on its own, checked against the schema: data that does not build yet (a new
        # reporting year without its values) can still be handed out to be filled in.
        document = read_kpi_file(path, problems)
        if document is None:
            continue
        if document["group"] in groups:
            problems.error("data.duplicate-group", f"KPI group '{document['group']}' is also defined in {groups[document['group']]}",
                           file=str(path), line=document.line_of("group"), hint="give each group file its own `group` id")
            continue
        groups[document["group"]] = path
        for index, raw in enumerate(document["kpis"]):
            count += 1
            base = {
                "group": document["group"], **_cells("group_title", document["title"]), "id": raw["id"],
                **_cells("name", raw["name"]), "unit": raw["unit"], "decimals": int(raw.get("decimals", 0)),
                "disclose": " ".join(raw.get("disclose", [])), "source": raw.get("source"),
                "boundary": raw.get("boundary"), "formula": raw.get("formula"), "breakdown_of": raw.get("breakdown_of"),
                "breakdowns": "; ".join(f"{name}: {' '.join(ids)}" for name, ids in (raw.get("breakdowns") or {}).items()),
                "min": raw.get("min"),
                "_where": (str(path), document["kpis"].line_of(index)),
            }
            values = {} if raw.get("formula") else (raw.get("values") or {})
            by_year: dict[int, dict] = {}
            for key, value in values.items():
                year = _year_of(key)
                line = values.line_of(key)
                if year is None or year in by_year:  # a sheet row needs one year per KPI
                    problems.error("data.schema", f"kpis/{index}/values: {key!r} is not a year or is given twice",
                                   file=str(path), line=line, hint="years are written 2024 (1900 to 2099), once each")
                    continue
                by_year[year] = row = dict(base, year=year, _where=(str(path), line))
                if isinstance(value, dict) and value.get("status") == "pending":  # to be collected (collect.py)
                    row["status"] = "pending"
                    continue
                if isinstance(value, dict) and "status" in value:
                    row.update({"status": value["status"], **_cells("reason", value["reason"])})
                    continue
                if isinstance(value, dict):
                    if value.get("note"):
                        row.update(_cells("note", value["note"]))
                    value = value["value"]
                if isinstance(value, float) and not math.isfinite(value):  # .nan, .inf, 1e999: no cell holds them
                    problems.error("data.not-a-number", f"KPI '{raw['id']}': the {year} value is not a finite number",
                                   file=str(path), line=line, hint="write the figure as digits (.nan and .inf are not figures)")
                    continue
                row["value"] = _exact(value)
            rows.extend(by_year[year] for year in sorted(by_year))
            if not by_year:
                rows.append(base)
    if problems.errors:
        raise DataError(problems)
    return rows, count


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return _number_text(value)
    return neutralise_cell(value)


def _csv_bytes(rows: list[dict]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell_text(row.get(name)) for name in COLUMNS])
    # The byte order mark makes Excel read the file as UTF-8 (the Chinese columns).
    return buffer.getvalue().encode("utf-8-sig")


# Text columns: wider for a language that spaces its words (English) than for one that does not (Chinese).
_TEXT_WIDTHS = {"group_title": (22, 16), "name": (48, 32), "note": (36, 28), "reason": (36, 28)}
_WIDTHS = {"group": 14, "id": 32, "unit": 12, "decimals": 9, "disclose": 12, "source": 22, "boundary": 18, "formula": 30,
           "breakdown_of": 24, "breakdowns": 36, "min": 7, "year": 7, "value": 14, "status": 15,
           **{f"{prefix}_{lang}": spaced if lang in EDITIONS and EDITIONS[lang].unit_space else unspaced
              for prefix, (spaced, unspaced) in _TEXT_WIDTHS.items() for lang in LANGUAGES}}


def _xlsx_bytes(rows: list[dict], units_spec: dict | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.exceptions import IllegalCharacterError
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    letter = {name: get_column_letter(i) for i, name in enumerate(COLUMNS, start=1)}
    for column, name in enumerate(COLUMNS, start=1):
        sheet.cell(row=1, column=column, value=name).font = Font(bold=True)
        sheet.column_dimensions[letter[name]].width = _WIDTHS[name]
    for number, row in enumerate(rows, start=2):
        for column, name in enumerate(COLUMNS, start=1):
            value = row.get(name)
            if isinstance(value, Decimal):
                # A number Excel can hold exactly is a number; anything longer stays text (import rejects it).
                value = (int(value) if value.as_tuple().exponent >= 0 else float(value)) if _fits(value) else _number_text(value)
            elif isinstance(value, str):
                value = neutralise_cell(value)  # as in the CSV: the cell stays text when someone edits it
            try:
                cell = sheet.cell(row=number, column=column, value=value if value != "" else None)
            except IllegalCharacterError:
                file, line = row["_where"]
                raise DataError(Diagnostic("error", "export.control-character",
                                           f"KPI '{row['id']}': {name} contains a control character a spreadsheet cannot hold",
                                           file=file, line=line, hint="remove the character from the text")) from None
            if isinstance(value, str):
                cell.data_type = "s"  # text, even when it starts with '=' (no formulas from data)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{letter[COLUMNS[-1]]}{len(rows) + 1}"

    units = workbook.create_sheet("units")
    units.append(["unit", *LANGUAGES])
    for unit, spec in (units_spec or load_units()).items():
        units.append([unit, *(spec["label"][lang] for lang in LANGUAGES)])
    for cell in units[1]:
        cell.font = Font(bold=True)
    for column in range(1, len(LANGUAGES) + 2):
        units.column_dimensions[get_column_letter(column)].width = 24
    last = len(rows) + 1000  # room for rows the data owner adds
    status = DataValidation(type="list", formula1='"' + ",".join(STATUSES) + '"', allow_blank=True)
    status.add(f"{letter['status']}2:{letter['status']}{last}")
    unit = DataValidation(type="list", formula1=f"units!$A$2:$A${units.max_row}", allow_blank=True)
    unit.add(f"{letter['unit']}2:{letter['unit']}{last}")
    sheet.add_data_validation(status)
    sheet.add_data_validation(unit)

    saved = io.BytesIO()
    workbook.save(saved)
    return _reproducible_zip(saved.getvalue())


def _reproducible_zip(data: bytes) -> bytes:
    """The same workbook gives the same bytes: fixed member times and document timestamps."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + _FIXED_TIME.encode(), content)
            member = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = info.external_attr
            target.writestr(member, content)
    return out.getvalue()


def export_workbook(data_dir: Path, path: Path) -> int:
    """Write the KPIs of ``data_dir`` to ``path`` (.xlsx or .csv); return how many KPIs were written.

    Reads the KPI files as they are (each checked against the schema), so data that does not
    build yet, e.g. a new reporting year without its values, can still be handed out.
    """
    data_dir, path = Path(data_dir), Path(path)
    kind = _kind(path)
    rows, count = _export_rows(data_dir)
    # The units sheet lists the report's own units too: its drop-down must accept them.
    _write(path, _csv_bytes(rows) if kind == "csv" else _xlsx_bytes(rows, load_units(data_dir)), [])
    return count


def made_by_export(path: Path) -> bool:
    """Whether ``path`` looks like a sheet an earlier ``export`` wrote (and the writer may have
    filled in since): the KPI columns in a .csv's first row, or a workbook whose first sheet is
    ``KPIs`` (``export``) or whose one sheet is ``Pending`` (``export --pending``). Any other file
    is the writer's own, which ``export`` must not replace. Sheet names are read with zipfile, a
    bounded look at one small part, as ``collect.is_request`` does."""
    try:
        if path.suffix.lower() == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as file:  # Excel's "CSV UTF-8" starts with a BOM
                header = next(csv.reader([file.readline(1 << 16)]), [])
            return {"group", "id", "year", "value"} <= set(header)
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("xl/workbook.xml")
            if info.file_size > 1 << 20:
                return False
            names = re.findall(rb'<sheet [^>]*name="([^"]*)"', archive.read(info))
    except (OSError, UnicodeDecodeError, csv.Error, zipfile.BadZipFile, KeyError, zlib.error, EOFError, RuntimeError,
            ValueError):
        return False
    return names[:1] == [SHEET.encode()] or names == [b"Pending"]


def _write(path: Path, data: bytes, written: list[Path]) -> None:
    """Write one file atomically; a full disk or a read-only folder is the user's to fix, not a crash."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
    except OSError as exc:
        done = f"; already written: {', '.join(map(str, written))}" if written else ""
        raise DataError(Diagnostic("error", "write.failed", f"cannot write the file: {exc.strerror or exc}{done}",
                                   file=str(path), hint="the file as it was is untouched; free some space or make "
                                   "the folder writable, then run the command again")) from None


# --- import --------------------------------------------------------------------------------

@dataclass
class _Kpi:
    id: str
    group: str
    row: int
    attrs: dict = field(default_factory=dict)  # column -> (value, row)
    lines: list = field(default_factory=list)  # (row, {column: cell}) of the rows with value columns


@dataclass
class _Group:
    id: str
    row: int
    attrs: dict = field(default_factory=dict)
    kpis: list = field(default_factory=list)


@dataclass
class ImportResult:
    files: list[Path]  # one per group of the spreadsheet
    changed: list[Path]  # those whose content changed
    kpis: int


class _Reader:
    def __init__(self, path: Path):
        self.path = path
        self.problems = Diagnostics()
        self.columns: dict[str, int] = {}

    def error(self, row: int, column: str | int | None, message: str, hint: str, code: str = "import.invalid") -> None:
        col = self.columns[column] + 1 if isinstance(column, str) else column
        self.problems.error(code, message, file=str(self.path), line=row, col=col, hint=hint)

    def fail_if_errors(self) -> None:
        if self.problems.errors:
            ordered = Diagnostics()
            for item in sorted(self.problems.items, key=lambda d: (d.line or 0, d.col or 0)):
                ordered.add(item)
            raise DataError(ordered)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _shown(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _text(value) -> str | None:
    return None if _blank(value) else _shown(value)


def _refuse(path: Path, code: str, message: str, hint: str = _XLSX_HINT, line: int | None = None,
            col: int | None = None) -> DataError:
    return DataError(Diagnostic("error", code, message, file=str(path), line=line, col=col, hint=hint))


def _inspect_workbook(path: Path) -> None:
    """Look inside the zip before openpyxl does: its size, its parts, and no DTD in any XML part.

    zipfile never returns more bytes than an entry declares, so the declared sizes bound the
    work; reading each XML part once also finds corrupt deflate data and bad checksums.
    An XML part with a DOCTYPE (entity declarations, "billion laughs", external entities) is
    refused outright: Office never writes one. defusedxml would do the same inside openpyxl,
    but this check needs no new dependency and fails before any XML is parsed.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refuse(path, "import.xlsx", f"the file is not an Excel workbook (not a valid zip archive: {exc})") from None
    with archive:
        parts = archive.infolist()
        if len(parts) > MAX_XLSX_PARTS:
            raise _refuse(path, "import.xlsx-too-large", f"the workbook has {len(parts):,} parts; at most "
                          f"{MAX_XLSX_PARTS:,} are read")
        total = sum(part.file_size for part in parts)
        if total > MAX_XLSX_UNCOMPRESSED:
            largest = max(parts, key=lambda part: part.file_size)
            raise _refuse(path, "import.xlsx-too-large",
                          f"the workbook expands to {total:,} bytes ({largest.filename}: {largest.file_size:,}); at most "
                          f"{MAX_XLSX_UNCOMPRESSED:,} are read", hint="a KPI sheet is a few hundred rows; "
                          "copy the KPI rows into a new workbook, or use `esg-report export` for a fresh one")
        needles = [word.encode(encoding) for word in ("<!DOCTYPE", "<!ENTITY")
                   for encoding in ("utf-8", "utf-16-le", "utf-16-be")]
        overlap = max(map(len, needles)) - 1
        for part in parts:
            if part.is_dir():
                continue
            try:
                with archive.open(part) as member:
                    tail = b""
                    while chunk := member.read(1 << 20):
                        window = tail + chunk
                        if part.filename.endswith((".xml", ".rels", ".vml")) and any(n in window for n in needles):
                            raise _refuse(path, "import.xlsx-dtd", f"{part.filename} declares a DOCTYPE or entities, "
                                          "which a workbook from Excel never has; it is not read")
                        tail = window[-overlap:]
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError,
                    OSError) as exc:
                raise _refuse(path, "import.xlsx", f"{part.filename} in the workbook is damaged ({exc})") from None


def _counted(path: Path, what: str, rows, into: list | None = None) -> list[tuple[int, list]]:
    """Number the rows, stopping once they hold more than ``MAX_CELLS`` cells."""
    into = [] if into is None else into
    cells = 0
    for number, row in enumerate(rows, start=1):
        cells += max(len(row), 1)  # an empty row costs a little too: a million of them is a bomb as well
        if cells > MAX_CELLS:
            raise _refuse(path, "import.too-many-cells", f"{what} has more than {MAX_CELLS:,} cells "
                          "(empty ones up to the last used column count too)", line=number,
                          hint="delete the rows and columns below and beside the KPI rows, or copy the KPI rows "
                               "into a new file")
        into.append((number, row))
    return into


def _workbook_rows(path: Path) -> list[tuple[int, list]]:
    # openpyxl warns about parts it drops (Excel's data-validation extensions, odd definitions);
    # they change nothing in the KPI rows, so the data owner is not shown them.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _read_workbook(path)


def _read_workbook(path: Path) -> list[tuple[int, list]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _inspect_workbook(path)
    try:
        # read_only streams the rows: the cell limit below can stop before the sheet is in memory;
        # data_only: a formula cell gives its last computed value.
        workbook = load_workbook(path, read_only=True, data_only=True)
    # openpyxl reports a malformed package in many ways (found by mutating exported workbooks)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError, SyntaxError, OSError,
            IndexError, AttributeError) as exc:
        raise _refuse(path, "import.xlsx", f"the file cannot be read as an Excel workbook ({exc})") from None
    try:
        if not workbook.worksheets:
            raise _refuse(path, "import.xlsx", "the workbook has no worksheet", hint=f"put the KPI rows on a sheet; {_GUIDE}")
        sheet = workbook[SHEET] if SHEET in workbook.sheetnames else workbook.worksheets[0]
        sheet.reset_dimensions()  # read every row there is, not what the file's <dimension> claims
        rows: list = []
        try:
            return _counted(path, f"sheet '{sheet.title}'", (
                [restore_cell(cell) if isinstance(cell, str) else cell for cell in row]
                for row in sheet.iter_rows(values_only=True)), rows)
        except (SyntaxError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:  # bad XML, odd cell
            raise _refuse(path, "import.xlsx", f"sheet '{sheet.title}' cannot be read after row {len(rows)} ({exc})",
                          line=len(rows) + 1) from None
    finally:
        workbook.close()


def _table(path: Path) -> list[tuple[int, list]]:
    """(row number, cells) of the spreadsheet's first sheet (or its 'KPIs' sheet)."""
    where = {"file": str(path)}
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _refuse(path, "import.too-large", f"the file is {size:,} bytes; at most {MAX_FILE_BYTES:,} are read",
                      hint="a KPI sheet is a few hundred rows; check that this is the right file")
    if _kind(path) == "csv":
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DataError(Diagnostic("error", "import.encoding", "the file is not UTF-8 text",
                                       line=data[:exc.start].count(b"\n") + 1, hint="save it as 'CSV UTF-8'", **where)) from None
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            return _counted(path, "the CSV file", ([restore_cell(cell) for cell in row] for row in reader))
        except csv.Error as exc:
            raise DataError(Diagnostic("error", "import.csv", f"the CSV file cannot be read: {exc}", line=reader.line_num,
                                       hint="save it again as 'CSV UTF-8'", **where)) from None
    return _workbook_rows(path)


def _read_header(reader: _Reader, header: list) -> set[int]:
    used = set()
    for index, cell in enumerate(header):
        name = _text(cell)
        if name is None:
            continue
        used.add(index)
        if name not in COLUMNS:
            hint = suggest(name, COLUMNS) or f"the columns are: {', '.join(COLUMNS)}"
            if ";" in name:
                hint = "the columns seem separated by ';': save the file as 'CSV UTF-8 (comma delimited)'"
            reader.error(1, index + 1, f"unknown column '{name}'", hint, "import.unknown-column")
        elif name in reader.columns:
            reader.error(1, index + 1, f"column '{name}' appears twice (first in column {reader.columns[name] + 1})",
                         "keep one of the two columns", "import.duplicate-column")
        else:
            reader.columns[name] = index
    missing = [name for name in REQUIRED if name not in reader.columns]
    if missing:
        reader.error(1, None, f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
                     f"the first row names the columns; {_GUIDE}", "import.missing-column")
    reader.fail_if_errors()
    return used


def _parse_decimals(reader: _Reader, row: int, cell) -> int | None:
    if _blank(cell):
        return None
    text = _shown(cell)
    if isinstance(cell, bool) or not re.fullmatch(r"[0-6]", text):
        reader.error(row, "decimals", f"decimals '{text}' is not a whole number from 0 to 6",
                     "the number of decimal places shown in the report, e.g. 1")
        return None
    return int(text)


def _parse_year(reader: _Reader, row: int, cell) -> int | None:
    text = _shown(cell)
    if isinstance(cell, bool) or not _YEAR.fullmatch(text):
        reader.error(row, "year", f"year '{text}' is not a year from 1900 to 2099",
                     "type the year as four digits, e.g. 2024 (a text or number cell, not a date)")
        return None
    return int(text)


def _parse_number(reader: _Reader, row: int, kpi_id: str, cell) -> Decimal | None:
    amount = None
    if isinstance(cell, int) and not isinstance(cell, bool):
        amount = Decimal(cell)
    elif isinstance(cell, float):
        # A spreadsheet stores numbers as doubles; repr is the shortest text that is that double.
        amount = Decimal(repr(cell)) if cell == cell and cell not in (float("inf"), float("-inf")) else None
    elif isinstance(cell, str) and _NUMBER.fullmatch(cell.strip()):
        try:
            amount = Decimal(cell.strip())
        except InvalidOperation:  # an exponent beyond Decimal's range
            amount = None
    if amount is None:
        reader.error(row, "value", f"KPI '{kpi_id}': value '{_shown(cell)}' is not a number", _NUMBER_HINT,
                     "import.not-a-number")
        return None
    if not _fits(amount):
        reader.error(row, "value", f"KPI '{kpi_id}': value '{_shown(cell)}' has more than {MAX_DIGITS} significant "
                     f"digits or is {LIMIT:,.0f} or more", "round it, or state it in a larger unit",
                     "import.not-a-number")
        return None
    return amount


def _parse_breakdowns(reader: _Reader, row: int, cell) -> tuple | None:
    """'gender: staff_men staff_women; age: a b c' -> (('gender', ('staff_men', 'staff_women')), ...)."""
    text = _text(cell)
    if not text:
        return None
    named = []
    for part in (p.strip() for p in text.split(";") if p.strip()):
        name, colon, ids = part.partition(":")
        members = tuple(i for i in re.split(r"[\s,]+", ids) if i)
        if not colon or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", name.strip()) or not members:
            reader.error(row, "breakdowns", f"breakdowns '{text}' is not 'name: part part; name: part ...'",
                         "e.g. gender: employees_male employees_female; age_group: employees_under_30 employees_over_30")
            return None
        named.append((name.strip(), members))
    return tuple(named)


def _cell_value(reader: _Reader, name: str, row: int, cell):
    if name == "decimals":
        return _parse_decimals(reader, row, cell)
    if name == "breakdowns":
        return _parse_breakdowns(reader, row, cell)
    if name == "min":
        if _blank(cell):
            return None
        text = _shown(cell)
        if isinstance(cell, bool) or not _NUMBER.fullmatch(text):
            reader.error(row, "min", f"min '{text}' is not a number", "the lowest plausible value, e.g. 0")
            return None
        return Decimal(text)
    if name == "disclose":
        codes = tuple(code for code in re.split(r"[\s,;]+", _text(cell) or "") if code)
        return codes or None
    return _text(cell)


def _merge(reader: _Reader, attrs: dict, name: str, value, row: int, owner: str) -> None:
    if value is None:
        return
    if name not in attrs:
        attrs[name] = (value, row)
    elif attrs[name][0] != value:
        shown = " ".join(value) if isinstance(value, tuple) else value
        first = " ".join(attrs[name][0]) if isinstance(attrs[name][0], tuple) else attrs[name][0]
        reader.error(row, name, f"{owner}: {name} '{shown}' differs from '{first}' on row {attrs[name][1]}",
                     "a KPI's (and a group's) columns must hold the same on each of its rows, or be left empty",
                     "import.inconsistent")


def _read_rows(reader: _Reader, table: list[tuple[int, list]]) -> tuple[dict[str, _Group], dict[str, _Kpi]]:
    used = _read_header(reader, table[0][1] if table else [])
    groups: dict[str, _Group] = {}
    kpis: dict[str, _Kpi] = {}
    for number, cells in table[1:]:
        if all(_blank(cell) for cell in cells):
            continue
        for index, cell in enumerate(cells):
            if index not in used and not _blank(cell):
                reader.error(number, index + 1, "this cell has no column name in row 1", "name the column or clear the cell")
        row = {name: cells[index] if index < len(cells) else None for name, index in reader.columns.items()}
        group_id, kpi_id = _text(row["group"]), _text(row["id"])
        ok = True
        for name, value in (("group", group_id), ("id", kpi_id)):
            if value is None:
                reader.error(number, name, f"the {name} is missing", f"every row names its KPI {name}", "import.missing")
                ok = False
            elif not _ID.fullmatch(value):
                reader.error(number, name, f"{name} '{value}' is not a valid id",
                             "lower-case letters, digits and _, starting with a letter, e.g. supply_chain")
                ok = False
        if not ok:
            continue
        if kpi_id in kpis and kpis[kpi_id].group != group_id:
            first = kpis[kpi_id]
            reader.error(number, "group", f"KPI '{kpi_id}' is in group '{first.group}' on row {first.row}",
                         "a KPI belongs to one group: use the same group on each of its rows", "import.inconsistent")
            continue
        group = groups.setdefault(group_id, _Group(group_id, number))
        for name in _GROUP_ATTRS:
            if name in row:
                _merge(reader, group.attrs, name, _text(row[name]), number, f"group '{group_id}'")
        if kpi_id not in kpis:
            kpis[kpi_id] = _Kpi(kpi_id, group_id, number)
            group.kpis.append(kpi_id)
        kpi = kpis[kpi_id]
        for name in _KPI_ATTRS:
            if name in row:
                _merge(reader, kpi.attrs, name, _cell_value(reader, name, number, row[name]), number, f"KPI '{kpi_id}'")
        kpi.lines.append((number, {name: row.get(name) for name in ("year", *_VALUE_CELLS)}))
    if not kpis:
        reader.error(2, None, "no KPI rows below the header row", f"one row per KPI and year; {_GUIDE}", "import.empty")
    return groups, kpis


_ALL_LANGUAGES = "both languages" if len(LANGUAGES) == 2 else "every language"


def _all_of(names: tuple[str, ...]) -> str:
    """'both note_en and note_zh-Hant' (the columns of a text)."""
    if len(names) == 2:
        return f"both {names[0]} and {names[1]}"
    return " and ".join(filter(None, [", ".join(names[:-1]), names[-1]]))


def _pair(reader: _Reader, number: int, kpi_id: str, cells: dict, prefix: str) -> dict | None:
    texts = {lang: _text(cells.get(f"{prefix}_{lang}")) for lang in LANGUAGES}
    if not any(texts.values()):
        return None
    for lang, text in texts.items():
        if text is None:
            reader.error(number, f"{prefix}_{lang}" if f"{prefix}_{lang}" in reader.columns else None,
                         f"KPI '{kpi_id}': a {prefix} needs {_all_of(_texts(prefix))}",
                         f"write it in {_ALL_LANGUAGES}", "import.missing")
            return None
    return texts


def _read_values(reader: _Reader, kpi: _Kpi) -> dict[int, object]:
    values: dict[int, object] = {}
    first_row: dict[int, int] = {}
    derived = kpi.attrs.get("formula") is not None
    for number, cells in kpi.lines:
        filled = [name for name in _VALUE_CELLS if name in reader.columns and not _blank(cells.get(name))]
        if _blank(cells["year"]):
            if filled:
                reader.error(number, filled[0], f"KPI '{kpi.id}': {filled[0]} without a year",
                             "fill in the year, or clear this cell", "import.missing")
            continue
        year = _parse_year(reader, number, cells["year"])
        if year is None:
            continue
        if derived:
            reader.error(number, "year", f"KPI '{kpi.id}' is derived (it has a formula): its values are computed, not typed",
                         "leave year, value and status empty on the rows of a derived KPI", "import.derived-value")
            continue
        if year in first_row:
            reader.error(number, "year", f"KPI '{kpi.id}' has two rows for {year} (the first is row {first_row[year]})",
                         "keep one row per KPI and year", "import.duplicate-year")
            continue
        first_row[year] = number
        status = _text(cells.get("status")) or "reported"
        if status not in STATUSES:
            reader.error(number, "status", f"KPI '{kpi.id}': status '{status}' is not one of {', '.join(STATUSES)}",
                         suggest(status, STATUSES) or "leave it empty for a reported figure")
            continue
        if status == "pending":  # still to collect: kept as it is
            values[year] = _Flow(status=status)
            continue
        if status == "reported":
            if _blank(cells.get("value")):
                reader.error(number, "value", f"KPI '{kpi.id}': no value for {year}",
                             "type the figure, or set status to not_available or not_applicable and give a reason",
                             "import.missing")
                continue
            amount = _parse_number(reader, number, kpi.id, cells["value"])
            for name in _texts("reason"):
                if name in filled:
                    reader.error(number, name, f"KPI '{kpi.id}': a reason goes with status not_available or not_applicable",
                                 "clear the reason, or set the status", "import.invalid")
            note = _pair(reader, number, kpi.id, cells, "note")
            if amount is not None:
                values[year] = _Flow(value=amount, note=_Flow(note)) if note else amount
            continue
        if not _blank(cells.get("value")):
            reader.error(number, "value", f"KPI '{kpi.id}': a value with status {status} must be empty",
                         "clear the value, or clear the status for a reported figure", "import.invalid")
        reasons = _texts("reason")
        for name in _texts("note"):
            if name in filled:
                reader.error(number, name, f"KPI '{kpi.id}': a note goes with a value; status {status} takes a reason",
                             f"move the text to {' and '.join(reasons)}", "import.invalid")
        reason = _pair(reader, number, kpi.id, cells, "reason")
        if reason is None and not any(name in filled for name in reasons):
            reader.error(number, reasons[0] if reasons[0] in reader.columns else None,
                         f"KPI '{kpi.id}': status {status} needs a reason in {' and '.join(reasons)}",
                         f"say why there is no figure, in {_ALL_LANGUAGES}",
                         "import.missing")
        if reason is not None:
            values[year] = _Flow(status=status, reason=_Flow(reason))
    return dict(sorted(values.items()))


# --- YAML ----------------------------------------------------------------------------------

class _Flow(dict):
    """A mapping written on one line: {en: ..., zh-Hant: ...}."""


class _FlowList(list):
    pass


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)  # "kpis:\n  - id:" as in the hand-written files


_Dumper.add_representer(_Flow, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True))
_Dumper.add_representer(_FlowList, lambda d, data: d.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True))
_Dumper.add_representer(Decimal, lambda d, data: d.represent_scalar(
    "tag:yaml.org,2002:float" if "." in _number_text(data) else "tag:yaml.org,2002:int", _number_text(data)))


def _group_yaml(reader: _Reader, group: _Group, kpis: dict[str, _Kpi], source: str) -> str:
    entries = []
    for kpi_id in group.kpis:
        kpi = kpis[kpi_id]
        attr = {name: value for name, (value, _) in kpi.attrs.items()}
        entry = {"id": kpi_id, "name": _Flow({lang: attr.get(f"name_{lang}") for lang in LANGUAGES}),
                 "unit": attr.get("unit")}
        if attr.get("decimals"):
            entry["decimals"] = attr["decimals"]
        if attr.get("disclose"):
            entry["disclose"] = _FlowList(attr["disclose"])
        for name in ("source", "boundary", "formula", "breakdown_of"):
            if attr.get(name):
                entry[name] = attr[name]
        if attr.get("breakdowns"):
            entry["breakdowns"] = {name: _FlowList(ids) for name, ids in attr["breakdowns"]}
        if attr.get("min") is not None:
            entry["min"] = attr["min"]
        values = _read_values(reader, kpi)
        if values:
            entry["values"] = values
        entries.append(entry)
    document = {"group": group.id,
                "title": {lang: group.attrs.get(f"group_title_{lang}", ("",))[0] for lang in LANGUAGES},
                "kpis": entries}
    header = f"# generated by esg-report import from {source}; edit either the spreadsheet or this file\n"
    return header + yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False,
                              width=1 << 30)


def _check_required(reader: _Reader, groups: dict[str, _Group], kpis: dict[str, _Kpi]) -> None:
    for group in groups.values():
        for name in _GROUP_ATTRS:
            if name not in group.attrs:
                reader.error(group.row, name if name in reader.columns else None, f"group '{group.id}' has no {name}",
                             "give the group's title on at least one of its rows", "import.missing")
    for kpi in kpis.values():
        for name in (*_texts("name"), "unit"):
            if name not in kpi.attrs:
                reader.error(kpi.row, name if name in reader.columns else None, f"KPI '{kpi.id}' has no {name}",
                             "fill it in on at least one of the KPI's rows", "import.missing")


# --- the result goes through the one data loader before anything is written ---------------------

def _targets(data_dir: Path, reader: _Reader, groups: dict[str, _Group]) -> dict[str, Path]:
    """The file of each group: the existing file that defines it, else data/kpis/<group>.yml."""
    existing: dict[str, Path] = {}
    owner: dict[Path, str] = {}
    for path in sorted((data_dir / "kpis").glob("*.yml")):
        try:
            document = load_yaml(path)
        except DataError:  # a broken file is replaced only if the sheet names its group; the loader reports it
            continue
        if isinstance(document, dict) and isinstance(document.get("group"), str):
            existing.setdefault(document["group"], path)
            owner[path] = document["group"]
    targets = {}
    for group in groups.values():
        target = existing.get(group.id, data_dir / "kpis" / f"{group.id}.yml")
        if owner.get(target, group.id) != group.id:
            reader.error(group.row, "group", f"{target} holds group '{owner[target]}', not '{group.id}'",
                         "rename that file or this group", "import.file-taken")
        targets[group.id] = target
    return targets


def _load_problems(data_dir: Path) -> list[Diagnostic]:
    """The errors the build's data loader finds in ``data_dir``. A folder without report.yml
    (KPIs kept apart from a report) has its KPI files checked one by one."""
    if (data_dir / "report.yml").is_file():
        try:
            load_report_data(data_dir)
        except DataError as exc:
            return exc.diagnostics.errors
        return []
    problems = Diagnostics()
    for path in sorted((data_dir / "kpis").glob("*.yml")):
        try:
            read_kpi_file(path, problems)
        except DataError as exc:
            problems.extend(exc.diagnostics)
    return problems.errors


def _only_yaml(folder: str, names: list[str]) -> set[str]:
    return {name for name in names if not name.endswith((".yml", ".yaml")) and not Path(folder, name).is_dir()}


def _check_result(data_dir: Path, reader: _Reader, texts: dict[str, str], targets: dict[str, Path],
                  kpis: dict[str, _Kpi]) -> None:
    """Load a staging copy of data/ with the import's files in it; report what the import would add.

    Problems that data/ already has are not the import's doing and do not stop it: an import
    never leaves data/ worse than it found it.
    """
    before = {(d.code, d.message) for d in _load_problems(data_dir)} if data_dir.is_dir() else set()
    with tempfile.TemporaryDirectory(prefix="esg-import-") as tmp:
        stage = Path(tmp) / "data"
        if data_dir.is_dir():
            shutil.copytree(data_dir, stage, ignore=_only_yaml)
        (stage / "kpis").mkdir(parents=True, exist_ok=True)
        staged = {}
        for group_id, target in targets.items():
            staged_path = stage / target.relative_to(data_dir)
            staged_path.write_text(texts[group_id], encoding="utf-8")
            staged[str(staged_path)] = group_id
        after = _load_problems(stage)
    for problem in after:
        message = problem.message.replace(str(stage), str(data_dir))
        if (problem.code, message) in before:
            continue
        if problem.file in staged:
            # Point at the KPI's first row: the line falls in the KPI entry that starts at or before it.
            lines = texts[staged[problem.file]].splitlines()
            starts = [(n, line[len("  - id: "):].strip("'\"")) for n, line in enumerate(lines, start=1)
                      if line.startswith("  - id: ")]
            owning = [kpi_id for n, kpi_id in starts if n <= (problem.line or 0)]
            column = _COLUMN_OF_CODE.get(problem.code)
            row = kpis[owning[-1]].row if owning else min(kpis[k].row for _, k in starts) if starts else 1
            reader.error(row, column if owning and column in reader.columns else None, message, problem.hint or "",
                         problem.code)
        else:
            file = problem.file.replace(str(stage), str(data_dir)) if problem.file else None
            reader.problems.error(problem.code, message, file=file, line=problem.line, col=problem.col, hint=problem.hint)


def import_workbook(path: Path, data_dir: Path) -> ImportResult:
    """Read ``path`` (.xlsx or .csv, the export layout) and write ``data_dir/kpis/<group>.yml``.

    Raises ``DataError`` (file, row, column and hint for each problem) and writes nothing when
    the sheet is invalid or its data would add a problem to ``data_dir``.
    """
    path, data_dir = Path(path), Path(data_dir)
    reader = _Reader(path)
    groups, kpis = _read_rows(reader, _table(path))
    _check_required(reader, groups, kpis)
    texts = {group.id: _group_yaml(reader, group, kpis, path.name) for group in groups.values()}
    reader.fail_if_errors()
    targets = _targets(data_dir, reader, groups)
    reader.fail_if_errors()
    _check_result(data_dir, reader, texts, targets, kpis)
    reader.fail_if_errors()
    changed = []
    for group_id, target in targets.items():
        data = texts[group_id].encode("utf-8")
        if not target.exists() or target.read_bytes() != data:
            _write(target, data, changed)
            changed.append(target)
    return ImportResult(files=list(targets.values()), changed=changed, kpis=len(kpis))
