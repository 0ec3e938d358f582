"""Next year's report from this year's (``esg-report rollover DIR NEWDIR``), and the checks
that keep a rolled-over draft from passing as final.

The new report is a copy with the year moved on: reporting year + 1, the period a year later,
the approval date ``pending``, the year in titles and the PDF name replaced, every typed KPI
given the new year as ``{status: pending}`` (earlier years kept, so tables show the three years
ending with the new one), explanations in ``data/disclosures.yml`` listed under ``review:`` and
every chapter of every edition marked ``review: true`` in its front matter. Each of these is a
warning of ``check`` until someone sets it, so ``build --strict`` fails until the report is done.

Data files are edited with ruamel.yaml's round trip rather than PyYAML: the writers' comments,
key order and quoting survive, and the diff against last year shows only what moved.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from .data import PENDING, load_report_data
from .errors import Diagnostic, Diagnostics, ReportError
from .fileio import staged_folder, why_not_written, write_atomically
from .project import Project
from .yamlsource import load_yaml

_FRONT_MATTER = re.compile(r"\A---\n(.*?\n)?---\n", re.S)
_REVIEW = re.compile(r"^review:[ \t]*true[ \t]*$", re.M)
#: What makes a report (project.py): only these are carried over. Outputs, caches, version control
#: and anything else in the folder (the sample report's folder is the toolchain's repository) stay behind.
REPORT_PARTS = ("mkdocs.yml", "content", "data", "templates", "translations")
_NOT_COPIED = {"__pycache__", ".esg-report-site"}


@dataclass
class Rollover:
    year: int
    pending: int = 0  # KPI values set pending
    pages: list[str] = field(default_factory=list)  # content/<edition>/<page> marked for review
    explanations: list[str] = field(default_factory=list)  # provision codes marked for review
    changed: list[str] = field(default_factory=list)  # report.yml fields moved on, as "field: old -> new"


def _yaml() -> YAML:
    yaml = YAML()  # round trip: comments and order kept
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=2, offset=0)
    return yaml


def _dump(yaml: YAML, document) -> str:
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue()


def _next_year(value) -> str:
    date = dt.date.fromisoformat(str(value))
    try:
        return date.replace(year=date.year + 1).isoformat()
    except ValueError:  # 29 February
        return date.replace(year=date.year + 1, day=28).isoformat()


def _ignore(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n in _NOT_COPIED}


def rollover(source: Path, target: Path) -> Rollover:
    """Write next year's report from the report at ``source`` into the new folder ``target``."""
    source, target = Path(source).resolve(), Path(target).resolve()
    if target.exists():
        raise ReportError(Diagnostic("error", "rollover.exists", "the new report's folder already exists",
                                     file=str(target), hint="name a new folder: rollover never writes over one"))
    if target.is_relative_to(source):
        raise ReportError(Diagnostic("error", "rollover.inside", "the new report cannot be inside this year's",
                                     file=str(target), hint="name a folder beside it, e.g. ../esg-2025"))
    data = load_report_data(source / "data")  # a DataError (located) if this year's report is not valid
    try:
        with staged_folder(target, "rollover") as staging:  # an interrupted rollover leaves no half report
            result = _write_next_year(source, staging, data)
    except OSError as exc:  # a parent that is a file, a read-only or missing mount, a full disk
        raise _cannot_write(target, exc) from None
    return result


def _cannot_write(target: Path, exc: OSError) -> ReportError:
    return ReportError(Diagnostic("error", "rollover.write", f"cannot write the new report: {why_not_written(target, exc)}; "
                                  "nothing was created", file=str(target), hint="name a folder you can write to"))


def _write_next_year(source: Path, target: Path, data) -> Rollover:
    for part in REPORT_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, ignore=_ignore)
        elif (source / part).is_file():
            shutil.copy2(source / part, target / part)
    result = Rollover(data.year + 1)
    yaml = _yaml()
    _move_metadata(yaml, target / "data" / "report.yml", data.year, result)
    for kpi_file in sorted((target / "data" / "kpis").glob("*.yml")):
        _add_pending_year(yaml, kpi_file, result.year, result)
    _mark_explanations(yaml, target / "data" / "disclosures.yml", result)
    project = Project.at(target)
    for edition in data.meta["editions"]:
        content = project.content_dir(edition)
        for page in sorted(content.rglob("*.md")):
            mark_for_review(page)
            result.pages.append(page.relative_to(target).as_posix())
    return result


def _move_metadata(yaml: YAML, path: Path, year: int, result: Rollover) -> None:
    document = yaml.load(path.read_text("utf-8"))
    report = document["report"]

    def change(key, new, where=report, label=None):
        result.changed.append(f"{label or key}: {where[key]} -> {new}")
        where[key] = new

    change("year", year + 1)
    change("period_start", _next_year(report["period_start"]))
    change("period_end", _next_year(report["period_end"]))
    change("approved", PENDING)
    for key in ("title", "short_title"):
        for edition, text in list((report.get(key) or {}).items()):
            if str(year) in text:
                change(edition, text.replace(str(year), str(year + 1)), report[key], f"{key} ({edition})")
    if "pdf_name" in report and str(year) in str(report["pdf_name"]):
        change("pdf_name", str(report["pdf_name"]).replace(str(year), str(year + 1)))
    if "approval" in document:  # the Board approved last year's sources, not these
        result.changed.append("approval: removed (it recorded last year's approved revision)")
        del document["approval"]
    write_atomically(path, _dump(yaml, document).encode("utf-8"))


def _add_pending_year(yaml: YAML, path: Path, year: int, result: Rollover) -> None:
    document = yaml.load(path.read_text("utf-8"))
    for kpi in document.get("kpis") or []:
        if kpi.get("formula"):
            continue  # computed, and pending while its inputs are
        values = kpi.get("values")
        if values is None:
            values = kpi["values"] = CommentedMap()
        if year in values or str(year) in values:
            continue
        pending = CommentedMap(status=PENDING)
        pending.fa.set_flow_style()
        values[year] = pending
        result.pending += 1
    write_atomically(path, _dump(yaml, document).encode("utf-8"))


def _mark_explanations(yaml: YAML, path: Path, result: Rollover) -> None:
    if not path.exists():
        return
    document = yaml.load(path.read_text("utf-8"))
    explanations = (document or {}).get("explanations") or {}
    if not explanations:
        return
    codes = [str(code) for code in explanations]
    document["review"] = codes
    result.explanations = codes
    write_atomically(path, _dump(yaml, document).encode("utf-8"))


def mark_for_review(page: Path) -> None:
    """Add ``review: true`` to a chapter's front matter (creating the front matter if need be)."""
    text = page.read_text("utf-8")
    match = _FRONT_MATTER.match(text)
    if match and _REVIEW.search(match.group(1) or ""):
        return
    if match:
        text = "---\n" + (match.group(1) or "") + "review: true\n---\n" + text[match.end():]
    else:
        text = "---\nreview: true\n---\n" + text
    write_atomically(page, text.encode("utf-8"))


# --- what a rolled-over draft still needs -------------------------------------------------

def review_problems(project: Project, editions: list[str], problems: Diagnostics) -> None:
    """Pages and explanations carried over and not yet reviewed: warnings (errors under --strict)."""
    for edition in editions:
        content = project.content_dir(edition)
        for page in sorted(content.rglob("*.md")):
            text = page.read_text("utf-8")
            match = _FRONT_MATTER.match(text)
            review = _REVIEW.search(match.group(1) or "") if match else None
            if review:
                line = text[:match.start(1) + review.start()].count("\n") + 1
                problems.warning("review.page", f"{edition}/{page.relative_to(content).as_posix()} is carried over "
                                 "from last year's report and not yet reviewed", file=str(page), line=line,
                                 hint="update the text for the new year, then remove `review: true`")
    path = project.data_dir / "disclosures.yml"
    if not path.exists():
        return
    document = load_yaml(path)
    codes = document.get("review") if isinstance(document, dict) else None
    explanations = document.get("explanations") if isinstance(document, dict) else None
    for index, code in enumerate(codes or []):
        line = codes.line_of(index) if hasattr(codes, "line_of") else None
        if isinstance(explanations, dict) and code in explanations and hasattr(explanations, "line_of"):
            line = explanations.line_of(code)
        problems.warning("review.explanation", f"the explanation of {code} is carried over from last year's report "
                         "and not yet reviewed", file=str(path), line=line,
                         hint=f"check that it still holds, then remove {code} from `review:`")
