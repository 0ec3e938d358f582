"""Diagnostics and the exception hierarchy.

Checks never print or exit: they append ``Diagnostic`` objects to a ``Diagnostics``
collection; the CLI reports all of them once, compiler style, and owns the exit code.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a report, located like a compiler message."""

    severity: str  # "error" | "warning"
    code: str  # category, e.g. "data.unknown-kpi", "jinja.syntax", "index.unexplained"
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    hint: str | None = None

    def format(self, root: Path | None = None) -> str:
        location = ""
        if self.file:
            path = self.file
            if root is not None:
                try:
                    path = str(Path(self.file).resolve().relative_to(root.resolve()))
                except ValueError:
                    pass
            location = path
            if self.line:
                location += f":{self.line}"
                if self.col:
                    location += f":{self.col}"
            location += ": "
        text = f"{location}{self.severity}: {self.message} [{self.code}]"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


@dataclass
class Diagnostics:
    """An ordered, de-duplicated collection of diagnostics."""

    items: list[Diagnostic] = field(default_factory=list)

    def __post_init__(self):
        # A set beside the list: a large report can have thousands of findings, and a list
        # membership test per addition made collecting them quadratic.
        self._seen = set(self.items)

    def add(self, diagnostic: Diagnostic) -> None:
        if diagnostic not in self._seen:
            self._seen.add(diagnostic)
            self.items.append(diagnostic)

    def error(self, code: str, message: str, **where) -> None:
        self.add(Diagnostic("error", code, message, **where))

    def warning(self, code: str, message: str, **where) -> None:
        self.add(Diagnostic("warning", code, message, **where))

    def extend(self, other: "Diagnostics") -> None:
        for item in other.items:
            self.add(item)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def to_json(self) -> str:
        return json.dumps([asdict(d) for d in self.items], ensure_ascii=False, indent=2)

    def __len__(self) -> int:
        return len(self.items)


class ReportError(Exception):
    """Base class: the report cannot be built. Carries the diagnostics that explain why."""

    def __init__(self, diagnostics: Diagnostics | Diagnostic | str):
        if isinstance(diagnostics, str):
            diagnostics = Diagnostic("error", "build", diagnostics)
        if isinstance(diagnostics, Diagnostic):
            collected = Diagnostics()
            collected.add(diagnostics)
            diagnostics = collected
        self.diagnostics = diagnostics
        super().__init__("\n".join(d.format() for d in diagnostics.items))

    def __reduce__(self):
        # Raised in an edition's worker process: arrive in the CLI with the same located diagnostics.
        return type(self), (self.diagnostics,)


class DataError(ReportError):
    """``data/`` is invalid."""


class RenderError(ReportError):
    """A chapter could not be rendered (Jinja syntax, undefined name, macro misuse)."""


class PrintError(ReportError):
    """The PDF could not be produced."""


class UsageError(ReportError):
    """The command was asked to do something it must not (the CLI exits 2): an output that is
    not the toolchain's to replace, a page outside the report."""


class _LogCollector(logging.Handler):
    def __init__(self, problems: Diagnostics, translate: Callable[[logging.LogRecord], Diagnostic | None]):
        super().__init__(logging.WARNING)
        self.problems = problems
        self.translate = translate

    def emit(self, record: logging.LogRecord) -> None:
        diagnostic = self.translate(record)
        if diagnostic is not None:
            self.problems.add(diagnostic)


@contextmanager
def collect_logs(problems: Diagnostics, logger: str,
                 translate: Callable[[logging.LogRecord], Diagnostic | None]) -> Iterator[None]:
    """For the length of a step, an engine's log warnings become this build's diagnostics.

    The engines (MkDocs, WeasyPrint) report problems as log records; here they are collected
    like every other problem, so the CLI reports them once and ``--strict`` counts them.
    ``translate`` locates a record (or drops it by returning None).
    """
    handler = _LogCollector(problems, translate)
    target = logging.getLogger(logger)
    previous = target.propagate
    target.addHandler(handler)
    target.propagate = False  # reported once, by the CLI
    try:
        yield
    finally:
        target.removeHandler(handler)
        target.propagate = previous
