"""Translation status of the chapters: which pages of an edition are missing or stale.

Each translated page records which version of its source page it translates, as
``translated_from: <hash>`` in its front matter (the first 12 hex digits of the SHA-256 of
the source file). When the source page changes, the translation is stale until the translator
updates it and records the new hash (``esg-report translations --mark PAGE``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import Diagnostics
from .fileio import write_atomically
from .i18n import source_edition
from .project import Project

_FRONT_MATTER = re.compile(r"\A---\n(.*?\n)?---\n", re.S)
_RECORD = re.compile(r"^translated_from:[ \t]*([0-9a-f]+)[ \t]*$", re.M)


def source_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def recorded_hash(path: Path) -> str | None:
    match = _FRONT_MATTER.match(path.read_text("utf-8"))
    if not match:
        return None
    record = _RECORD.search(match.group(1) or "")
    return record.group(1) if record else None


@dataclass
class PageStatus:
    page: str
    edition: str
    state: str  # current | stale | missing | untracked | orphan


def page_status(project: Project, editions: list[str]) -> list[PageStatus]:
    """The state of every page of each edition but the source (the report's first edition)."""
    source = source_edition(editions)
    source_dir = project.content_dir(source)
    sources = sorted(p.relative_to(source_dir).as_posix() for p in source_dir.rglob("*.md"))
    result = []
    for edition in editions:
        if edition == source:
            continue
        target_dir = project.content_dir(edition)
        for page in sources:
            target = target_dir / page
            if not target.exists():
                state = "missing"
            else:
                recorded = recorded_hash(target)
                state = "untracked" if recorded is None else (
                    "current" if recorded == source_hash(source_dir / page) else "stale")
            result.append(PageStatus(page, edition, state))
        for extra in sorted(p.relative_to(target_dir).as_posix() for p in target_dir.rglob("*.md")):
            if extra not in sources:
                result.append(PageStatus(extra, edition, "orphan"))
    return result


def report_problems(project: Project, editions: list[str], problems: Diagnostics) -> None:
    """Stale or untracked translations are warnings (errors under --strict); missing pages are
    reported by the build's edition comparison."""
    source = source_edition(editions)
    for status in page_status(project, editions):
        path = project.content_dir(status.edition) / status.page
        if status.state == "stale":
            problems.warning("translation.stale", f"translation is stale: {source}/{status.page} changed since it was translated",
                             file=str(path), line=1,
                             hint=f"update the translation, then run: esg-report translations --mark {status.page}")
        elif status.state == "untracked":
            problems.warning("translation.untracked", "the page does not record which version of its source it translates",
                             file=str(path), line=1, hint=f"run: esg-report translations --mark {status.page}")


def mark_translated(project: Project, source: str, edition: str, page: str) -> Path:
    """Record in the translation that it matches the current page of the ``source`` edition."""
    target = project.content_dir(edition) / page
    digest = source_hash(project.content_dir(source) / page)
    text = target.read_text("utf-8")
    match = _FRONT_MATTER.match(text)
    if match is None:
        text = f"---\ntranslated_from: {digest}\n---\n{text}"
    else:
        body = match.group(1) or ""
        body = _RECORD.sub(f"translated_from: {digest}", body) if _RECORD.search(body) else body + f"translated_from: {digest}\n"
        text = f"---\n{body}---\n" + text[match.end():]
    write_atomically(target, text)
    return target


def as_rows(statuses: list[PageStatus]) -> list[dict]:
    return [asdict(s) for s in statuses]
