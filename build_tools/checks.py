"""Checks on chapter sources that need no rendering (terminology and punctuation: glossary.py)."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import opencc

from .brand import check_brand_files
from .data import ReportData
from .errors import Diagnostics
from .i18n import get_edition, source_edition
from .project import Project
from .sandbox import read_chapter

# A figure: not part of a word, code, phone number or range ("APG-2575", "400-168-1351").
_NUMBER = re.compile(r"(?<![\w.,#/-])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+|\d{3,})(?!-\d)(?![\w.,%]*\w)")
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)


def typed_numbers(project: Project, data: ReportData, problems: Diagnostics) -> None:
    """Warn about numbers typed in a chapter that equal a KPI value: they belong in data/."""
    known: dict[Decimal, str] = {}
    for kpi in data.kpis.values():
        for year, value in kpi.values.items():
            if value.amount is not None and value.status == "reported" and abs(value.amount) >= 10:
                known.setdefault(value.amount.normalize(), f"{kpi.id} ({year})")
    years = {Decimal(y) for y in range(1990, 2101)}
    for edition in data.meta["editions"]:
        for path in sorted(project.content_dir(edition).rglob("*.md")):
            text = read_chapter(path)
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


# --- Simplified characters in the Traditional Chinese edition ------------------------

@lru_cache(maxsize=1)
def _simplified_only() -> frozenset[str]:
    """Characters that are Simplified forms only, from OpenCC's own dictionaries.

    A character OpenCC converts from Simplified (STCharacters) is Simplified-only unless it is
    also one of its own Traditional candidates (台, 准, 里) or the standard Hong Kong or
    Taiwan form of a character (床, 秘, 峰): converting text and comparing would flag those.
    """
    folder = Path(opencc.__file__).parent / "dictionary"

    def entries(name):
        for line in (folder / name).read_text("utf-8").splitlines():
            key, _, values = line.partition("\t")
            yield key, values.split()

    standard_variants = {v for name in ("HKVariants.txt", "TWVariants.txt") for _, values in entries(name) for v in values}
    return frozenset(key for key, values in entries("STCharacters.txt")
                     if len(key) == 1 and key not in values and key not in standard_variants)


def _allowed_phrases(project: Project) -> list[str]:
    path = project.root / "translations" / "simplified-allowlist.txt"
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip() and not line.startswith("#")]


def simplified_characters(project: Project, problems: Diagnostics, edition: str) -> None:
    """Error for each Simplified-only character in the Chinese chapters (allow-listed phrases excepted)."""
    simplified = _simplified_only()
    allowed = _allowed_phrases(project)
    files = sorted(project.content_dir(edition).rglob("*.md")) + sorted(project.data_dir.rglob("*.yml"))
    for path in files:
        for number, line in enumerate(read_chapter(path).splitlines(), start=1):
            masked = line
            for phrase in allowed:
                masked = masked.replace(phrase, " " * len(phrase))
            for col, char in enumerate(masked, start=1):
                if char in simplified:
                    problems.error("i18n.simplified", f"Simplified character '{char}' in the Traditional Chinese edition",
                                   file=str(path), line=number, col=col,
                                   hint=f"use the Traditional form ({_to_traditional(char)}), or add the quoted name "
                                        "to translations/simplified-allowlist.txt")


def _to_traditional(char: str) -> str:
    return opencc.OpenCC("s2hk").convert(char)


def check_sources(project: Project, data: ReportData, problems: Diagnostics, editions: list[str]) -> None:
    """The checks that read the report's source files directly (no rendering needed)."""
    from .glossary import check_glossary
    from .translation import report_problems

    typed_numbers(project, data, problems)
    check_brand_files(data.meta, project.data_dir / "report.yml", project.root / "content", problems)
    for edition in editions:
        if get_edition(edition).traditional:
            simplified_characters(project, problems, edition)
            check_glossary(project, data, problems, edition, source_edition(list(data.meta["editions"])))
    report_problems(project, [e for e in data.meta["editions"] if e in editions], problems)
    from .rollover import review_problems  # pages and explanations carried over from last year
    review_problems(project, [e for e in data.meta["editions"] if e in editions], problems)
    from .manifest import check_approval  # the sources the board approved

    check_approval(project, data.meta, problems)
