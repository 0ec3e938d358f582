"""Checks on chapter sources that need no rendering."""

from __future__ import annotations

import re
from decimal import Decimal

from .data import load_report_data
from .errors import Diagnostics
from .project import Project

# A figure: not part of a word, code, phone number or range ("APG-2575", "400-168-1351").
_NUMBER = re.compile(r"(?<![\w.,#/-])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+|\d{3,})(?!-\d)(?![\w.,%]*\w)")
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)


def typed_numbers(project: Project, problems: Diagnostics) -> None:
    """Warn about numbers typed in a chapter that equal a KPI value: they belong in data/."""
    data = load_report_data(project.data_dir)
    known: dict[Decimal, str] = {}
    for kpi in data.kpis.values():
        for year, value in kpi.values.items():
            if value.amount is not None and value.status == "reported" and abs(value.amount) >= 10:
                known.setdefault(value.amount.normalize(), f"{kpi.id} ({year})")
    years = {Decimal(y) for y in range(1990, 2101)}
    for edition in data.meta["editions"]:
        for path in sorted(project.content_dir(edition).rglob("*.md")):
            text = path.read_text("utf-8")
            for number, line in enumerate(text.splitlines(), start=1):
                stripped = _JINJA.sub(lambda m: " " * len(m.group(0)), line)
                for match in _NUMBER.finditer(stripped):
                    amount = Decimal(match.group(1).replace(",", "")).normalize()
                    if amount in years:
                        continue
                    if amount in known:
                        problems.warning("content.typed-number",
                                         f"the number {match.group(1)} is typed here but is the value of KPI {known[amount]}",
                                         file=str(path), line=number, col=match.start(1) + 1,
                                         hint=f"write {{{{ kpi(\"{known[amount].split()[0]}\") }}}} so both editions use data/")
