"""Files the toolchain writes, and text in them that other programs will interpret.

``write_atomically``: readers, and a crash half-way, see the old file or the new one,
never half of one. ``neutralise_cell`` / ``restore_cell``: a CSV (or workbook) cell a
spreadsheet would run as a formula is written with a leading ``'`` (the OWASP advice for
CSV injection), and reading it back removes exactly that quote.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import secrets
import shutil
import stat
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

# What makes Excel, LibreOffice and Google Sheets start a formula (OWASP "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def why_not_written(folder: Path, exc: OSError) -> str:
    """Why a new folder could not be made, in the writer's terms: a file in the way says which."""
    for above in Path(os.path.abspath(folder)).parents:
        if above.exists():
            if not above.is_dir():
                return f"{above} is a file, not a folder"
            break
    return f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")


@contextlib.contextmanager
def staged_folder(target: Path, purpose: str) -> Iterator[Path]:
    """A new folder made beside ``target`` and renamed into place when the block succeeds (into an
    existing empty ``target``, its entries are moved); on any failure or interruption it is
    removed: no half-written folder.

    ``os.mkdir`` rather than ``tempfile.mkdtemp``: the folder keeps the usual 0777-minus-umask
    (mkdtemp's 0700 would be the finished report's). OSError from making it is the caller's to word.
    """
    target = Path(os.path.abspath(target))  # '.' has no name to put beside
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{purpose}-{secrets.token_hex(4)}")
    os.mkdir(staging)
    try:
        yield staging
        if target.is_dir():  # an empty folder the writer made (maybe the shell's current one): kept, filled
            for entry in staging.iterdir():
                entry.rename(target / entry.name)
            staging.rmdir()
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_atomically(path: Path, data: bytes | str | Callable[[BinaryIO], object]) -> None:
    """Write ``data`` (str as UTF-8; a callable writes into the open file) to ``path`` via a
    temporary file in the same folder.

    The temporary file gets the permissions of the file it replaces, or for a new file the
    usual 0666-minus-umask (mkstemp's 0600 would hide a published file from a web server); it is
    synced, then renamed over ``path``.
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    partial = path.with_name(f".{os.getpid()}.{secrets.token_hex(4)}.{path.name}.part")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            try:
                os.chmod(handle.fileno(), stat.S_IMODE(os.stat(path).st_mode))
            except FileNotFoundError:
                pass
            if callable(data):
                data(handle)
            else:
                handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable; not every file system lets a folder be synced
        folder = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(folder)
    except OSError:
        pass
    finally:
        os.close(folder)


def _needs_quote(text: str) -> bool:
    # Look past quotes already there, so that a text that itself starts with "'=" gets one
    # more and reading back gives it unchanged: neutralise and restore are exact inverses.
    rest = text.lstrip("'")
    return rest[:1] in FORMULA_STARTS and not _NUMBER.fullmatch(rest)


def neutralise_cell(value) -> str:
    """The text of a cell for a CSV file: '=SUM(A1)' becomes "'=SUM(A1)"; -12.5 stays -12.5."""
    text = "" if value is None else str(value)
    return "'" + text if _needs_quote(text) else text


def neutralise_row(row: dict) -> dict:
    return {name: neutralise_cell(value) for name, value in row.items()}


def csv_text(fields: list[str], rows) -> str:
    """A CSV download: a header, then each row (a mapping) with no cell a spreadsheet would run."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(neutralise_row(row) for row in rows)
    return buffer.getvalue()


def restore_cell(text: str) -> str:
    """The inverse of ``neutralise_cell``: drop the quote it added, and only that one."""
    if text[:1] == "'" and _needs_quote(text[1:]):
        return text[1:]
    return text
