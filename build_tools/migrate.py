"""Move a report to another version of its framework (``esg-report migrate DIR --to ID``).

What became of each provision between two versions is data beside the framework files
(``frameworks/<from>-to-<to>.yml``: the provisions that moved, with their sources; everything
else is kept or new). ``migrate`` rewrites the ``data-disclose`` tags of every chapter of every
edition, the ``disclose:`` lists of ``data/kpis/*.yml``, the explanations' codes in
``data/disclosures.yml`` and ``framework:`` in ``data/report.yml``, and says which new provisions
still need a section or an explanation. The same data words the "unknown code" messages of
disclosures.py: a code the mapping knows gets its history, not a spelling guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from .disclosures import CodeMapping, Move, find_mapping, known_frameworks, mappings
from .errors import Diagnostic, ReportError
from .fileio import write_atomically
from .i18n import source_edition
from .project import Project
from .rollover import _dump, _yaml
from .translation import mark_translated, page_status
from .yamlsource import load_yaml

_TAG = re.compile(r'data-disclose="([^"]*)"')


@dataclass
class Change:
    file: Path
    line: int
    old: str
    new: str


@dataclass
class Migration:
    source: str
    target: str
    changes: list[Change] = field(default_factory=list)
    moved: list[Move] = field(default_factory=list)  # the moves this report used
    new: list[str] = field(default_factory=list)  # new provisions of the target
    open: list[str] = field(default_factory=list)  # ... still neither tagged nor explained
    files: dict[Path, str] = field(default_factory=dict)  # file -> new text


def migrate(root: Path, target: str, write: bool = True) -> Migration:
    project = Project.at(root)
    report_file = project.data_dir / "report.yml"
    meta = load_yaml(report_file)
    source = meta["report"]["framework"]
    where = {"file": str(report_file), "line": meta["report"].line_of("framework")}
    if target not in known_frameworks():
        raise ReportError(Diagnostic("error", "migrate.unknown-framework", f"unknown framework '{target}'",
                                     hint=f"the toolchain knows: {', '.join(known_frameworks())}"))
    mapping = find_mapping(source, target)
    if source == target:
        mapping = CodeMapping(source, target, {})
    elif mapping is None:
        known = ", ".join(f"{m.source} -> {m.target}" for m in mappings()) or "none"
        raise ReportError(Diagnostic("error", "migrate.no-mapping", f"no mapping from {source} to {target}", **where,
                                     hint=f"mappings known: {known} (build_tools/frameworks/<from>-to-<to>.yml)"))
    result = Migration(source, target)
    used: set[str] = set()
    tagged: set[str] = set()
    for edition in meta["editions"]:
        for page in sorted(project.content_dir(edition).rglob("*.md")):
            text = page.read_text("utf-8")

            def rewrite(match: re.Match, page=page, text=text) -> str:
                codes = match.group(1).split()
                renamed = list(dict.fromkeys(new for code in codes for new in mapping.rename(code)))
                tagged.update(renamed)
                if renamed != codes:
                    used.update(c for c in codes if c in mapping.moved)
                    line = text.count("\n", 0, match.start()) + 1
                    result.changes.append(Change(page, line, " ".join(codes), " ".join(renamed)))
                return f'data-disclose="{" ".join(renamed)}"'

            new_text = _TAG.sub(rewrite, text)
            if new_text != text:
                result.files[page] = new_text
    ryaml = _yaml()
    for kpi_file in sorted((project.data_dir / "kpis").glob("*.yml")):
        document = ryaml.load(kpi_file.read_text("utf-8"))
        changed = False
        for kpi in document.get("kpis") or []:
            codes = list(kpi.get("disclose") or [])
            renamed = list(dict.fromkeys(new for code in codes for new in mapping.rename(code)))
            tagged.update(renamed)
            if renamed != codes:
                used.update(c for c in codes if c in mapping.moved)
                result.changes.append(Change(kpi_file, kpi.lc.key("disclose")[0] + 1, " ".join(codes), " ".join(renamed)))
                kpi["disclose"][:] = renamed
                changed = True
        if changed:
            result.files[kpi_file] = _dump(ryaml, document)
    explained = _migrate_explanations(ryaml, project.data_dir / "disclosures.yml", mapping, result, used)
    if source != target:
        document = ryaml.load(report_file.read_text("utf-8"))
        document["report"]["framework"] = target
        result.changes.append(Change(report_file, where["line"], source, target))
        result.files[report_file] = _dump(ryaml, document)
    result.moved = [mapping.moved[c] for c in mapping.moved if c in used]
    result.new = mapping.new()
    result.open = [c for c in result.new if c not in tagged and c not in explained]
    if write:
        editions = list(meta["editions"])
        # A translation that was current stays current: migrate rewrites the tags of every edition alike.
        current = [s for s in page_status(project, editions) if s.state == "current"]
        for path, text in result.files.items():
            write_atomically(path, text.encode("utf-8"))
        source_dir = project.content_dir(source_edition(editions))
        for status in current:
            if source_dir / status.page in result.files:
                mark_translated(project, source_edition(editions), status.edition, status.page)
    return result


def _migrate_explanations(ryaml, path: Path, mapping: CodeMapping, result: Migration, used: set[str]) -> set[str]:
    if not path.exists():
        return set()
    document = ryaml.load(path.read_text("utf-8"))
    explanations = (document or {}).get("explanations") or {}
    renamed = CommentedMap()
    changed = False
    for code, text in explanations.items():
        targets = mapping.rename(str(code))
        if targets != (code,):
            used.add(str(code))
            changed = True
            result.changes.append(Change(path, explanations.lc.key(code)[0] + 1, str(code), " ".join(targets)))
        for target in targets:
            renamed.setdefault(target, text)
    if changed:
        document["explanations"] = renamed
        if document.get("review"):
            document["review"] = list(dict.fromkeys(t for c in document["review"] for t in mapping.rename(str(c))))
        result.files[path] = _dump(ryaml, document)
    return set(renamed)
