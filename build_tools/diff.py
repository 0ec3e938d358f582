"""What changed between two versions of a report: ``esg-report diff``.

Both sides are rendered by the toolchain itself (each edition's MkDocs build into a temporary
folder, no PDF, no search index), so macros are resolved and the comparison is of what readers
see: KPI values as each edition formats them, section text (word by word in English, character
by character in Chinese), headings and their numbers, disclosure tags, explanations, and pages.
Git revisions are exported with ``git archive`` into temporary folders: the user's work tree
and repository are only read.
"""

from __future__ import annotations

import difflib
import json
import os
import posixpath
import re
import subprocess
import tarfile
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .disclosures import HEADING_TAGS, heading_text, parse_fragment, split_number
from .errors import ReportError
from .html import WEB_ONLY
from .project import Project

_BLOCK_TAGS = {"p", "li", "ul", "ol", "tr", "table", "thead", "tbody", "div", "blockquote", "pre", "caption",
               "dl", "dt", "dd", "figure", "figcaption", "details", "summary", "section", "br", "hr"}
_SKIPPED_TAGS = {"script", "style"}
# Word level: a number with its separators is one word ('4,980.1'), punctuation stands alone.
_WORDS = re.compile(r"\n|[ \t]+|\w+(?:[.,'’]\w+)*|.", re.S)
# Chinese has no spaces between words: one token per character, but Latin words and numbers whole.
_CHARACTERS = re.compile(r"\n|[ \t]+|[A-Za-z0-9]+(?:[.,][A-Za-z0-9]+)*|.", re.S)
CONTEXT_TOKENS = 8


class DiffUsageError(Exception):
    """A revision or folder that cannot be compared (the CLI's exit code 2)."""


class SideError(Exception):
    """One side's report cannot be rendered: its problems, located in that side (the CLI's exit code 1)."""

    def __init__(self, label: str, problems: list[str]):
        super().__init__(label, problems)
        self.label, self.problems = label, problems


# --- one side, rendered ------------------------------------------------------------

@dataclass
class Section:
    anchor: str
    number: str
    title: str
    text: str


@dataclass
class PageSnapshot:
    src: str
    url: str
    title: str
    sections: list[Section]


@dataclass
class EditionSnapshot:
    edition: str
    pages: list[PageSnapshot]
    kpis: dict[str, dict]  # id -> {name, values: {year: formatted}}
    tags: dict[str, list[str]]  # provision code -> ['page.md#anchor', ...]
    explanations: dict[str, str]
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # the side could not be rendered at all

    def page(self, src: str) -> PageSnapshot | None:
        return next((p for p in self.pages if p.src == src), None)


def _page_sections(html: str, title: str) -> list[Section]:
    root = parse_fragment(html)
    sections = [Section("", "", title, "")]
    parts: list[list[str]] = [[]]
    if root is None:
        return []

    def walk(element) -> None:
        if not isinstance(element.tag, str) or element.tag in _SKIPPED_TAGS or WEB_ONLY in (element.get("class") or "").split():
            return
        if element.tag in HEADING_TAGS:
            number, heading = split_number(heading_text(element))
            sections.append(Section(element.get("id") or "", number, heading, ""))
            parts.append([])
            return
        block = element.tag in _BLOCK_TAGS
        if block:
            parts[-1].append("\n")
        if element.tag in ("td", "th"):
            parts[-1].append(" ")
        if element.text:
            parts[-1].append(element.text)
        for child in element:
            walk(child)
            if child.tail:
                parts[-1].append(child.tail)
        if block:
            parts[-1].append("\n")

    for child in root:
        walk(child)
        if child.tail:
            parts[-1].append(child.tail)
    for section, pieces in zip(sections, parts):
        lines = (" ".join(line.split()) for line in "".join(pieces).split("\n"))
        section.text = "\n".join(line for line in lines if line)
    return [s for i, s in enumerate(sections) if i > 0 or s.text]


def snapshot_edition(root: str, edition: str) -> EditionSnapshot:
    """Render one edition of the report at ``root`` and keep what a reader sees. Runs in a worker."""
    from .data import load_report_data
    from .edition import EditionContext
    from .engine import engine_for
    from .trace import collect_places

    project = Project.at(root)
    try:
        context = EditionContext(project, edition, load_report_data(project.data_dir))
        with tempfile.TemporaryDirectory(prefix="esg-diff-site-") as tmp:
            engine_for(project).build_site(context, Path(tmp) / edition, search=False)
    except ReportError as exc:
        return EditionSnapshot(edition, [], {}, {}, {}, failed=[d.format(project.root) for d in exc.diagnostics.items])
    if context.render_failed:
        return EditionSnapshot(edition, [], {}, {}, {}, failed=[d.format(project.root) for d in context.problems.errors])
    pages = [PageSnapshot(p.src, p.url, p.title, _page_sections(p.html, p.title)) for p in context.ordered_pages]
    first_shown: dict[str, str] = {}
    for place in collect_places(context):
        first_shown.setdefault(place.kpi, place.url)
    kpis = {kpi.id: {"name": kpi.name[edition], "url": first_shown.get(kpi.id),
                     "values": {str(year): context.renderer.format_value(kpi, year) for year in sorted(kpi.values)}}
            for kpi in context.data.kpis.values()}
    tags: dict[str, set[str]] = {}
    for loc in context.locations:
        tags.setdefault(loc.code, set()).add(f"{loc.page_src}#{loc.anchor}" if loc.anchor else loc.page_src)
    explanations = {code: text.get(edition, "") for code, text in context.explanations.items()}
    return EditionSnapshot(edition, pages, kpis, {c: sorted(v) for c, v in tags.items()}, explanations,
                           [d.format(project.root) for d in context.problems.errors])


# --- getting the two sides ------------------------------------------------------------

def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True)


def export_revision(project_dir: Path, revision: str, target: Path) -> Path:
    """The report at ``revision`` as a folder under ``target`` (``git archive``; nothing else is touched)."""
    top = _git(project_dir, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise DiffUsageError(f"{project_dir} is not in a git repository: compare two report folders instead")
    prefix = _git(project_dir, "rev-parse", "--show-prefix").stdout.strip()
    commit = _git(project_dir, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if commit.returncode != 0:
        raise DiffUsageError(f"unknown revision '{revision}' in {top.stdout.strip()}")
    command = ["git", "-C", top.stdout.strip(), "archive", "--format=tar", commit.stdout.strip()]
    if prefix:
        command += ["--", prefix]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as process:
        with tarfile.open(fileobj=process.stdout, mode="r|") as archive:
            archive.extractall(target, filter="data")
    side = target / prefix
    if not (side / "data" / "report.yml").is_file():
        raise DiffUsageError(f"revision '{revision}' has no report in {prefix or 'the repository root'} (no data/report.yml)")
    return side


def _editions(root: Path, label: str) -> list[str]:
    from .data import load_report_data

    try:
        return list(load_report_data(root / "data").meta["editions"])
    except ReportError as exc:
        raise SideError(label, [d.format(root) for d in exc.diagnostics.items]) from None


def snapshots(old_root: Path, new_root: Path, editions: list[str] | None = None, jobs: int | None = None,
              labels: tuple[str, str] = ("old", "new")):
    """Both sides, every edition rendered (in parallel processes, as the pipeline builds)."""
    old_editions, new_editions = _editions(old_root, labels[0]), _editions(new_root, labels[1])
    unknown = [e for e in editions or [] if e not in old_editions + new_editions]
    if unknown:
        raise DiffUsageError(f"neither side has the {', '.join(unknown)} edition "
                             f"(they have {', '.join(dict.fromkeys(old_editions + new_editions))})")
    wanted = [e for e in new_editions if e in old_editions and (not editions or e in editions)]
    tasks = [(str(root), e) for e in wanted for root in (old_root, new_root)]
    jobs = jobs or min(2, os.cpu_count() or 1)
    if jobs > 1 and len(tasks) > 1:
        # No more processes than renderings: under fork the pool starts all of max_workers at once.
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks))) as pool:
            rendered = list(pool.map(snapshot_edition, *zip(*tasks)))
    else:
        rendered = [snapshot_edition(*task) for task in tasks]
    for index, snapshot in enumerate(rendered):
        if snapshot.failed:
            raise SideError(labels[index % 2], snapshot.failed)
    pairs = [(rendered[2 * i], rendered[2 * i + 1]) for i in range(len(wanted))]
    return pairs, {"added": [e for e in new_editions if e not in old_editions],
                   "removed": [e for e in old_editions if e not in new_editions]}


# --- comparing ------------------------------------------------------------------------

def redline(old: str, new: str, edition: str) -> list[list[str]]:
    """``[[op, text], ...]`` with op '=' (unchanged), '-' (deleted) or '+' (inserted)."""
    pattern = _CHARACTERS if edition.startswith("zh") else _WORDS
    a, b = pattern.findall(old), pattern.findall(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    ops: list[list[str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        deleted, inserted = "".join(a[i1:i2]), "".join(b[j1:j2])
        if tag == "equal":
            ops.append(["=", deleted])
            continue
        if deleted:
            ops.append(["-", deleted])
        if inserted:
            ops.append(["+", inserted])
    # A change word, space, change word reads as one change: fold the lone space into it.
    merged: list[list[str]] = []
    for index, (op, text) in enumerate(ops):
        between = 0 < index < len(ops) - 1 and op == "=" and not text.strip() and ops[index - 1][0] != "=" \
            and ops[index + 1][0] != "="
        if between:
            merged += [["-", text], ["+", text]]
        else:
            merged.append([op, text])
    result: list[list[str]] = []
    pending = {"-": "", "+": ""}  # one change: its deletions, then its insertions

    def flush() -> None:
        for op in ("-", "+"):
            if pending[op]:
                result.append([op, pending[op]])
                pending[op] = ""

    for op, text in merged:
        if op == "=":
            flush()
            result.append([op, text])
        else:
            pending[op] += text
    flush()
    return result


def changes_in(segments: list[list[str]], edition: str) -> list[dict]:
    """Each change with a little context, for the terminal and JSON."""
    pattern = _CHARACTERS if edition.startswith("zh") else _WORDS
    found = []
    index = 0
    while index < len(segments):
        if segments[index][0] == "=":
            index += 1
            continue
        change = {"deleted": "", "inserted": ""}
        before = pattern.findall(segments[index - 1][1])[-CONTEXT_TOKENS:] if index and segments[index - 1][0] == "=" else []
        while index < len(segments) and segments[index][0] != "=":
            change["deleted" if segments[index][0] == "-" else "inserted"] += segments[index][1]
            index += 1
        after = pattern.findall(segments[index][1])[:CONTEXT_TOKENS] if index < len(segments) else []
        change["before"], change["after"] = "".join(before), "".join(after)
        found.append(change)
    return found


def _heading(section: Section) -> str:
    return " ".join(x for x in (section.number, section.title) if x)


def compare(old: EditionSnapshot, new: EditionSnapshot) -> dict:
    """The changes of one edition, as plain data (the JSON output)."""
    edition = new.edition
    result: dict = {"edition": edition, "errors": {"old": old.errors, "new": new.errors},
                    "kpi_values": [], "kpis_added": [], "kpis_removed": [],
                    "pages_added": [], "pages_removed": [], "pages_moved": [],
                    "headings": [], "text": [], "tags": [], "explanations": []}
    for kpi_id, kpi in new.kpis.items():
        if kpi_id not in old.kpis:
            result["kpis_added"].append({"kpi": kpi_id, "name": kpi["name"], "url": kpi["url"]})
            continue
        before = old.kpis[kpi_id]["values"]
        for year in sorted(set(before) | set(kpi["values"])):
            if before.get(year) != kpi["values"].get(year):
                result["kpi_values"].append({"kpi": kpi_id, "name": kpi["name"], "year": year, "url": kpi["url"],
                                             "old": before.get(year), "new": kpi["values"].get(year)})
    result["kpis_removed"] = [{"kpi": k, "name": v["name"]} for k, v in old.kpis.items() if k not in new.kpis]

    old_srcs, new_srcs = [p.src for p in old.pages], [p.src for p in new.pages]
    result["pages_added"] = [{"page": p.src, "title": p.title, "url": p.url} for p in new.pages if p.src not in old_srcs]
    result["pages_removed"] = [{"page": p.src, "title": p.title} for p in old.pages if p.src not in new_srcs]
    common_old = [s for s in old_srcs if s in new_srcs]
    common_new = [s for s in new_srcs if s in old_srcs]
    matcher = difflib.SequenceMatcher(None, common_old, common_new, autojunk=False)
    kept = {src for block in matcher.get_matching_blocks() for src in common_old[block.a:block.a + block.size]}
    result["pages_moved"] = [{"page": src, "title": new.page(src).title, "url": new.page(src).url,
                              "old_position": old_srcs.index(src) + 1, "new_position": new_srcs.index(src) + 1}
                             for src in common_new if src not in kept]

    for src in dict.fromkeys(new_srcs + old_srcs):
        old_page, new_page = old.page(src), new.page(src)
        old_sections = {s.anchor: s for s in old_page.sections} if old_page else {}
        new_sections = {s.anchor: s for s in new_page.sections} if new_page else {}
        page_change = None if old_page and new_page else ("added" if new_page else "removed")
        for anchor in dict.fromkeys([*new_sections, *old_sections]):
            before, after = old_sections.get(anchor), new_sections.get(anchor)
            url = f"{new_page.url}#{anchor}" if new_page and after else (new_page.url if new_page else None)
            if before and after and _heading(before) != _heading(after):
                result["headings"].append({"page": src, "anchor": anchor, "url": url,
                                           "old": _heading(before), "new": _heading(after)})
            old_text, new_text = before.text if before else "", after.text if after else ""
            if old_text == new_text and bool(before) == bool(after):
                continue
            segments = redline(old_text, new_text, edition)
            result["text"].append({
                "page": src, "anchor": anchor, "section": _heading(after or before), "url": url,
                "page_change": page_change,
                "section_change": None if (before and after) else ("added" if after else "removed"),
                "changes": changes_in(segments, edition), "segments": segments})

    urls = {p.src: p.url for p in new.pages}
    for code in sorted(set(old.tags) | set(new.tags)):
        if old.tags.get(code, []) != new.tags.get(code, []):
            first = next((where for where in new.tags.get(code, []) if where not in old.tags.get(code, [])),
                         (new.tags.get(code) or [None])[0])
            url = None
            if first:
                src, _, anchor = first.partition("#")
                url = urls.get(src, "") + (f"#{anchor}" if anchor else "") if src in urls else None
            result["tags"].append({"code": code, "old": old.tags.get(code, []), "new": new.tags.get(code, []), "url": url})
    for code in sorted(set(old.explanations) | set(new.explanations)):
        if old.explanations.get(code) != new.explanations.get(code):
            result["explanations"].append({"code": code, "old": old.explanations.get(code),
                                           "new": new.explanations.get(code)})
    return result


_COUNTED = ["kpi_values", "kpis_added", "kpis_removed", "pages_added", "pages_removed", "pages_moved",
            "headings", "text", "tags", "explanations"]


def count_changes(report: dict) -> int:
    return len(report["editions_added"]) + len(report["editions_removed"]) + sum(
        len(edition[key]) for edition in report["editions"] for key in _COUNTED)


def diff_reports(old_root: Path, new_root: Path, old_label: str, new_label: str,
                 editions: list[str] | None = None, jobs: int | None = None) -> dict:
    pairs, edition_changes = snapshots(old_root, new_root, editions, jobs, (old_label, new_label))
    report = {"old": old_label, "new": new_label, "editions_added": edition_changes["added"],
              "editions_removed": edition_changes["removed"], "editions": [compare(a, b) for a, b in pairs]}
    report["changes"] = count_changes(report)
    return report


def diff_revisions(project_dir: Path, old_rev: str, new_rev: str, editions: list[str] | None = None,
                   jobs: int | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="esg-diff-") as tmp:
        old_root = export_revision(project_dir, old_rev, Path(tmp) / "old")
        new_root = export_revision(project_dir, new_rev, Path(tmp) / "new")
        return diff_reports(old_root, new_root, old_rev, new_rev, editions, jobs)


# --- output --------------------------------------------------------------------------

def to_json(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2)


def _show(value) -> str:
    return "—" if value is None else str(value)


def _clip(text: str, limit: int = 160) -> str:
    """A terminal line shows the start of a long insertion or deletion (the JSON and HTML keep all of it)."""
    return text if len(text) <= limit else text[:limit] + f"… (+{len(text) - limit} characters)"


def format_text(report: dict) -> list[str]:
    lines = [f"diff {report['old']} -> {report['new']}: {report['changes']} change(s)"]
    for code in report["editions_added"]:
        lines.append(f"edition added: {code}")
    for code in report["editions_removed"]:
        lines.append(f"edition removed: {code}")
    for edition in report["editions"]:
        lines.append(f"{edition['edition']}:")
        for side in ("old", "new"):
            for error in edition["errors"][side]:
                lines.append(f"  ({side} side has a build error) {error.splitlines()[0]}")
        for item in edition["kpi_values"]:
            lines.append(f"  KPI {item['kpi']} {item['year']}: {_show(item['old'])} -> {_show(item['new'])}  ({item['name']})")
        lines += [f"  KPI added: {k['kpi']} ({k['name']})" for k in edition["kpis_added"]]
        lines += [f"  KPI removed: {k['kpi']} ({k['name']})" for k in edition["kpis_removed"]]
        lines += [f"  page added: {p['page']} “{p['title']}”" for p in edition["pages_added"]]
        lines += [f"  page removed: {p['page']} “{p['title']}”" for p in edition["pages_removed"]]
        lines += [f"  page moved: {p['page']} from position {p['old_position']} to {p['new_position']}"
                  for p in edition["pages_moved"]]
        lines += [f"  heading {h['page']}#{h['anchor']}: “{h['old']}” -> “{h['new']}”" for h in edition["headings"]]
        for item in edition["text"]:
            if item["page_change"]:
                continue  # the page itself is listed as added or removed
            where = f"{item['page']}#{item['anchor']}" if item["anchor"] else item["page"]
            state = f" (section {item['section_change']})" if item["section_change"] else ""
            lines.append(f"  text {where} “{item['section']}”{state}:")
            for change in item["changes"]:
                deleted = f"[-{_clip(change['deleted'])}-]" if change["deleted"] else ""
                inserted = f"{{+{_clip(change['inserted'])}+}}" if change["inserted"] else ""
                text = f"…{change['before']}{deleted}{inserted}{change['after']}…"
                lines.append("    " + " ".join(text.split("\n")))
        for tag in edition["tags"]:
            lines.append(f"  tag {tag['code']}: {', '.join(tag['old']) or 'nowhere'} -> {', '.join(tag['new']) or 'nowhere'}")
        for item in edition["explanations"]:
            lines.append(f"  explanation {item['code']}: {_show(item['old'])} -> {_show(item['new'])}")
    return lines


def section_href(site_dir: Path, edition: str, url: str | None, html_file: Path) -> str | None:
    """A relative link from the redline file to a section of the site (works from file://, offline)."""
    if url is None:
        return None
    path, _, anchor = url.partition("#")
    page = posixpath.join(edition, path)
    page = posixpath.join(page, "index.html") if not path or path.endswith("/") else page
    target = os.path.relpath(site_dir / page, html_file.resolve().parent)
    return Path(target).as_posix() + (f"#{anchor}" if anchor else "")


def write_html(report: dict, target: Path, site_dir: Path, project: Project) -> None:
    """The redline: one self-contained page, every value escaped once by the autoescaped template."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader([str(d) for d in project.template_dirs]), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["href"] = lambda edition, url: section_href(site_dir, edition, url, target)
    page = env.get_template("review/diff.html").render(report=report, show=_show)
    target.write_text(page, "utf-8")
