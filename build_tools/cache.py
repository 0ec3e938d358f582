"""Rebuild only what changed: the last successful build's keys and editions, beside the output.

The cache lives in ``.<output>-cache/`` next to the staging folders (``publish.Publication``) and
holds, for the last successful build:

- ``state.json``: the key of the whole build, the key of each edition, what each edition's
  build returned (pages, headings, disclosures, KPIs, fonts, its warnings), the build's
  problems, and the size and time of every file published, so a site changed or removed since
  is noticed;
- ``editions/<code>/``: each edition's folder as it was published (hard links to the published
  files where the file system allows).

A key is the SHA-256 of every input that can change an output: the report's files
(``manifest.input_files``: mkdocs.yml, content, data, templates, catalogs), the toolchain's own
files and version, the Python and engine versions, the fonts fontconfig offers (file, family,
size, time), and the build's options. An edition's key has the shared inputs and the content of
that edition and of the source edition (translations are checked against it); so a change to a
Chinese chapter rebuilds the Chinese edition only, and the English PDF is reused byte for byte.
A cache written by another toolchain version is never read. ``build --clean`` does not read it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

from . import __version__
from .errors import Diagnostic, Diagnostics
from .i18n import source_edition
from .manifest import engine_versions, input_files
from .project import Project

CACHE_FORMAT = 1
MARKER = ".esg-report-cache"
#: The toolchain's own files (code, framework data, fragments): a change to them changes every output.
_TOOLCHAIN = Path(__file__).resolve().parent


def cache_dir(output: Path) -> Path:
    output = Path(os.path.abspath(output))
    return output.parent / f".{output.name}-cache"


def _digest(items) -> str:
    return hashlib.sha256(json.dumps(items, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def toolchain_digest() -> str:
    files = sorted(p for p in _TOOLCHAIN.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                   and p.suffix != ".pyc")
    return _digest([[p.relative_to(_TOOLCHAIN).as_posix(), _file_digest(p)] for p in files])


def font_state() -> list:
    """The fonts fontconfig offers WeasyPrint: file, family and style, size and time of each.

    Fonts are tens of megabytes: their size and modification time stand for their content.
    """
    try:
        listing = subprocess.run(["fc-list", "--format", "%{file}|%{family}|%{style}\n"], capture_output=True,
                                 text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ["fc-list unavailable"]
    fonts = []
    for line in sorted(set(listing.splitlines())):
        path = line.split("|", 1)[0]
        try:
            stat = os.stat(path)
            fonts.append([line, stat.st_size, stat.st_mtime_ns])
        except OSError:
            fonts.append([line, None, None])
    return fonts


def compute_keys(project: Project, meta: dict, editions: list[str], options: dict) -> tuple[str, dict[str, str]]:
    """The key of the whole build and of each edition in ``editions``."""
    all_editions = list(meta.get("editions") or [])
    source = source_edition(all_editions) if all_editions else None
    own: dict[str, list] = {code: [] for code in all_editions}
    shared = []
    for label, path in sorted(input_files(project, meta).items()):
        entry = [label, _file_digest(path)]
        for code in all_editions:
            if path.resolve().is_relative_to(project.content_dir(code).resolve()):
                own[code].append(entry)
                break
        else:
            shared.append(entry)
    catalogs = [[p.relative_to(d).as_posix(), _file_digest(p)] for d in project.translation_dirs
                for p in sorted(d.rglob("*.mo"))]
    common = {"format": CACHE_FORMAT, "toolchain": __version__, "toolchain_files": toolchain_digest(),
              "python": platform.python_version(), "engines": engine_versions(), "fonts": font_state(),
              "inputs": shared, "catalogs": catalogs, "options": options}
    keys = {code: _digest({**common, "edition": code, "content": own.get(code, []),
                           "source": own.get(source, []) if source != code else []})
            for code in editions}
    return _digest({**common, "editions": editions, "edition_keys": keys}), keys


def _link_or_copy(source: str, target: str) -> None:
    """The cache shares the published files' storage (hard links; a copy across file systems):
    keeping it costs no disk space. The toolchain never writes a published file in place, and a
    file changed by hand changes the size or time checked before anything is reused."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _tree_state(folder: Path) -> dict[str, list[int]]:
    return {p.relative_to(folder).as_posix(): [p.stat().st_size, p.stat().st_mtime_ns]
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def diagnostics_to_json(problems: Diagnostics) -> list[dict]:
    return [asdict(item) for item in problems.items]


def diagnostics_from_json(items: list[dict]) -> Diagnostics:
    return Diagnostics([Diagnostic(**item) for item in items])


def _well_formed(state) -> bool:
    """The containers ``unchanged`` and ``reusable`` read are of the types ``store`` and ``published`` write."""
    if not isinstance(state, dict):
        return False
    editions, results, problems = state.get("editions", {}), state.get("results", []), state.get("problems", [])
    fields = set(Diagnostic.__dataclass_fields__)
    return isinstance(editions, dict) and all(
        isinstance(entry, dict) and isinstance(entry.get("result", {}), dict) for entry in editions.values()) \
        and isinstance(results, list) and all(isinstance(result, dict) for result in results) \
        and isinstance(problems, list) and all(isinstance(item, dict) and item.keys() <= fields for item in problems)


class BuildCache:
    """The cache of one output folder; ``read=False`` (``build --clean``) ignores what it holds."""

    def __init__(self, project: Project, output: Path, meta: dict, editions: list[str], options: dict,
                 read: bool = True):
        self.output = Path(os.path.abspath(output))
        self.folder = cache_dir(self.output)
        self.build_key, self.edition_keys = compute_keys(project, meta, editions, options)
        self.state = self._load() if read else {}

    def _load(self) -> dict:
        try:
            if not (self.folder / MARKER).is_file():
                return {}
            state = json.loads((self.folder / "state.json").read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        if not _well_formed(state):
            return {}  # damaged (a hand edit, a disk error): the build is a full one, as with no cache
        if state.get("format") != CACHE_FORMAT or state.get("toolchain") != __version__:
            return {}  # never trusted across toolchain versions
        return state

    # --- reading ---------------------------------------------------------------------------
    def unchanged(self) -> tuple[list[dict], Diagnostics] | None:
        """What the last build returned, when it had these inputs and its output is as it left it."""
        state = self.state
        if not state or state.get("build_key") != self.build_key or not self.output.is_dir():
            return None
        if _tree_state(self.output) != state.get("published"):
            return None
        return state["results"], diagnostics_from_json(state["problems"])

    def reusable(self, edition: str) -> dict | None:
        """The last build's result of ``edition`` when its key is unchanged and its folder is kept."""
        entry = self.state.get("editions", {}).get(edition)
        if not entry or entry.get("key") != self.edition_keys.get(edition):
            return None
        if _tree_state(self.folder / "editions" / edition) != entry.get("files"):
            return None
        return entry["result"]

    def restore(self, edition: str, staging: Path) -> None:
        shutil.copytree(self.folder / "editions" / edition, staging / edition, copy_function=_link_or_copy)

    # --- writing ---------------------------------------------------------------------------
    def store(self, staging: Path, results: list[dict], problems: Diagnostics) -> None:
        """Keep each edition of the staging folder and what the build returned (before publishing)."""
        self._prepare_folder()
        editions = {}
        for result in results:
            code = result["edition"]
            kept = self.folder / "editions" / code
            if kept.exists():
                shutil.rmtree(kept)
            shutil.copytree(staging / code, kept, copy_function=_link_or_copy)
            editions[code] = {"key": self.edition_keys.get(code), "result": result, "files": _tree_state(kept)}
        self.pending = {"format": CACHE_FORMAT, "toolchain": __version__, "build_key": self.build_key,
                        "editions": editions, "problems": diagnostics_to_json(problems)}

    def published(self, results: list[dict]) -> None:
        """After the switch: the output as published, so a later build can tell it is untouched."""
        state = dict(self.pending, results=results, published=_tree_state(self.output))
        temporary = self.folder / "state.json.tmp"
        temporary.write_text(json.dumps(state, ensure_ascii=False), "utf-8")
        os.replace(temporary, self.folder / "state.json")

    def drop(self) -> None:
        """A cache that could not be written is removed (its space given back); the next build is full."""
        if (self.folder / MARKER).is_file():
            shutil.rmtree(self.folder, ignore_errors=True)

    def _prepare_folder(self) -> None:
        if self.folder.exists() and not (self.folder / MARKER).is_file():
            # not ours (the toolchain never removes what it did not create): keep no cache
            raise FileExistsError(f"{self.folder} exists and was not made by esg-report")
        (self.folder / "editions").mkdir(parents=True, exist_ok=True)
        (self.folder / MARKER).write_text("made by esg-report build: the last build, reused by the next\n", "utf-8")
        (self.folder / "state.json").unlink(missing_ok=True)  # invalid until published() writes it
