"""The build manifest: proof of which sources made which outputs, and the check of an approval.

Each build writes ``site/manifest.json``: the SHA-256 of every input (chapters, data,
``mkdocs.yml``, templates, catalogs, the framework file, and the font files WeasyPrint
embedded), the toolchain and engine versions, and the SHA-256 of the outputs that matter (the
PDFs and the CSV/JSON downloads). Builds are reproducible, so ``verify`` can rebuild from the
current sources and say, output by output, whether the published files are what they produce.

``data/report.yml`` may record the board's approval (``approval: {by, date, revision}``); a
build whose sources differ from that git revision says so first.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import yaml

from . import __version__
from .errors import Diagnostics
from .i18n import source_edition
from .project import TOOLCHAIN_ROOT, Project

MANIFEST_NAME = "manifest.json"
ENGINES = ["mkdocs", "properdocs", "mkdocs-material", "pymdown-extensions", "Markdown", "weasyprint", "pydyf", "Babel",
           "Jinja2", "lxml", "PyYAML"]
#: Template folders a build does not read (the diff redline's template).
_UNUSED_TEMPLATES = {"review"}


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*")
                  if p.is_file() and not any(part.startswith(".") or part == "__pycache__"
                                             for part in p.relative_to(directory).parts))


def _label(path: Path, project: Project) -> str:
    """Report files by their path in the report; the toolchain's defaults under 'toolchain/'."""
    path = path.resolve()
    if path.is_relative_to(project.root):
        return path.relative_to(project.root).as_posix()
    return "toolchain/" + path.relative_to(TOOLCHAIN_ROOT).as_posix()


def input_files(project: Project, meta: dict) -> dict[str, Path]:
    """Every file a build reads, by label."""
    files: list[Path] = [project.config_file]
    for edition in meta.get("editions", []):
        if project.content_dir(edition).is_dir():
            files += _files_under(project.content_dir(edition))
    files += _files_under(project.data_dir)
    for directory in project.template_dirs:
        files += [p for p in _files_under(directory) if p.relative_to(directory).parts[0] not in _UNUSED_TEMPLATES]
    for directory in project.translation_dirs:
        files += [p for p in _files_under(directory) if p.suffix == ".po"]
    package = Path(__file__).resolve().parent
    framework = meta.get("report", {}).get("framework")
    files += [package / "units.yml", package / "number_words.yml"]
    if framework and (package / "frameworks" / f"{framework}.yml").is_file():
        files.append(package / "frameworks" / f"{framework}.yml")
    return {_label(p, project): p for p in files if p.is_file()}


def hash_inputs(project: Project, meta: dict) -> dict[str, str]:
    return {label: sha256_file(path) for label, path in sorted(input_files(project, meta).items())}


def engine_versions() -> dict[str, str]:
    versions = {}
    for name in ENGINES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def output_files(site_dir: Path, results) -> dict[str, Path]:
    """The outputs a reviewer checks: each PDF built now and each edition's CSV/JSON downloads."""
    files: dict[str, Path] = {}
    for result in results:
        edition_dir = site_dir / result.edition
        if result.pdf:
            pdf = edition_dir / Path(result.pdf).name
            files[f"{result.edition}/{pdf.name}"] = pdf
        downloads = edition_dir / "downloads"
        for path in sorted(downloads.glob("*")) if downloads.is_dir() else []:
            if path.suffix in (".csv", ".json"):
                files[f"{result.edition}/downloads/{path.name}"] = path
    return files


def write_manifest(project: Project, meta: dict, site_dir: Path, results) -> Path:
    """``site_dir/manifest.json`` for the editions in ``results`` (written before the swap into site/)."""
    fonts = {json.dumps(font, sort_keys=True): font for result in results for font in getattr(result, "fonts", [])}
    manifest = {
        "manifest_version": 1,
        "toolchain": {"name": "esg-report-toolchain", "version": __version__},
        "engines": engine_versions(),
        "report": {"title": meta["report"]["title"].get(source_edition(meta["editions"]))
                   or next(iter(meta["report"]["title"].values())),
                   "year": meta["report"]["year"], "editions": [r.edition for r in results],
                   "pdf": any(r.pdf for r in results)},
        "approval": approval_record(project, meta),
        "inputs": hash_inputs(project, meta),
        "fonts": [fonts[key] for key in sorted(fonts)],
        "outputs": {label: sha256_file(path) for label, path in output_files(site_dir, results).items()},
    }
    target = site_dir / MANIFEST_NAME
    target.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return target


# --- verify ------------------------------------------------------------------------

@dataclass
class Verification:
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (label, identical | different | missing | new)
    inputs: list[tuple[str, str]] = field(default_factory=list)  # (label, changed | added | removed)
    fonts: list[tuple[str, str]] = field(default_factory=list)  # (family sha256, changed | added | removed)
    engines: list[tuple[str, str, str]] = field(default_factory=list)  # (name, recorded, now)

    @property
    def ok(self) -> bool:
        return all(state == "identical" for _, state in self.outputs) and not (self.inputs or self.fonts or self.engines)


def _compare(recorded: dict, now: dict) -> list[tuple[str, str]]:
    changes = [(k, "changed") for k in recorded if k in now and recorded[k] != now[k]]
    changes += [(k, "removed") for k in recorded if k not in now]
    changes += [(k, "added") for k in now if k not in recorded]
    return sorted(changes)


def shape_problem(document) -> str | None:
    """What makes ``document`` unreadable as a manifest (``verify`` reads these parts), or None."""
    def mapping_of_text(value) -> bool:
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())

    if not isinstance(document, dict):
        return "it is not a JSON object"
    if not isinstance(document.get("outputs"), dict):
        return "it lists no outputs"
    for part in ("outputs", "inputs", "engines"):
        if not mapping_of_text(document.get(part, {})):
            return f"its {part} are not a mapping of names to texts"
    report, toolchain = document.get("report", {}), document.get("toolchain", {})
    if not isinstance(report, dict) or not isinstance(toolchain, dict):
        return "its report and toolchain must be JSON objects"
    editions = report.get("editions") or []
    if not isinstance(editions, list) or not all(isinstance(e, str) for e in editions):
        return "its report editions are not a list of edition codes"
    fonts = document.get("fonts", [])
    if not isinstance(fonts, list) or not all(isinstance(f, dict) and {"family", "weight", "style", "sha256"} <= f.keys()
                                              for f in fonts):
        return "its fonts are not a list of family, weight, style and sha256"
    return None


def verify(manifest_file: Path, project: Project, build_report):
    """Rebuild ``project`` with ``build_report`` (the pipeline's, which writes manifests with this
    module) in a temporary folder and compare it with ``manifest_file``.

    Returns ``(Verification, problems)``; the problems are the rebuild's (errors mean no outputs).
    """
    recorded = json.loads(Path(manifest_file).read_text("utf-8"))
    check = Verification()
    with tempfile.TemporaryDirectory(prefix="esg-verify-") as tmp:
        output = Path(tmp) / "site"
        editions = recorded.get("report", {}).get("editions") or None
        results, problems = build_report(project, editions=editions, pdf=bool(recorded.get("report", {}).get("pdf")),
                                         output=output, search=False)
        if problems.errors:
            return check, problems
        now = json.loads((output / MANIFEST_NAME).read_text("utf-8"))
        for label, digest in recorded.get("outputs", {}).items():
            if label not in now["outputs"]:
                check.outputs.append((label, "missing"))
            else:
                check.outputs.append((label, "identical" if now["outputs"][label] == digest else "different"))
        check.outputs += [(label, "new") for label in now["outputs"] if label not in recorded.get("outputs", {})]
    check.inputs = _compare(recorded.get("inputs", {}), now["inputs"])
    font_key = lambda f: f"{f['family']} {f['weight']} {f['style']}"  # noqa: E731
    check.fonts = _compare({font_key(f): f["sha256"] for f in recorded.get("fonts", [])},
                           {font_key(f): f["sha256"] for f in now["fonts"]}) if recorded.get("report", {}).get("pdf") else []
    check.engines = [(name, version, now["engines"].get(name, "not installed"))
                     for name, version in recorded.get("engines", {}).items() if now["engines"].get(name) != version]
    if recorded.get("toolchain", {}).get("version") != now["toolchain"]["version"]:
        check.engines.append(("esg-report-toolchain", recorded.get("toolchain", {}).get("version", "?"), now["toolchain"]["version"]))
    return check, problems


# --- the approved revision ---------------------------------------------------------

def _git(root: Path, *args: str, binary: bool = False):
    result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=not binary)
    return result


def _blob_sha(data: bytes) -> str:
    # git's object id of a file's content, so the tree is compared without touching the work tree
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _without_approval(text: bytes) -> object:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(document, dict):
        document.pop("approval", None)
    return document


def _is_source(label: str) -> bool:
    """Whether a path in the report is one ``input_files`` reads (so both sides are listed alike)."""
    parts = label.split("/")
    if any(part.startswith(".") or part == "__pycache__" for part in parts):
        return False
    if parts[0] == "templates":
        return len(parts) > 1 and parts[1] not in _UNUSED_TEMPLATES
    if parts[0] == "translations":
        return label.endswith(".po")
    return label == "mkdocs.yml" or parts[0] in ("content", "data") and len(parts) > 1


def sources_differing_from(project: Project, revision: str, meta: dict) -> list[str]:
    """The report's source files that differ from ``revision`` (raises ValueError if it cannot tell)."""
    inside = _git(project.root, "rev-parse", "--show-prefix")
    if inside.returncode != 0:
        raise ValueError(f"{project.root} is not in a git repository")
    listing = _git(project.root, "ls-tree", "-r", "-z", f"{revision}^{{tree}}", ".")
    if listing.returncode != 0:
        raise ValueError(f"no revision '{revision}' in the git repository")
    recorded: dict[str, str] = {}
    prefix = inside.stdout.strip()
    for entry in listing.stdout.split("\0"):
        if not entry:
            continue
        info, path = entry.split("\t", 1)
        path = path[len(prefix):] if prefix and path.startswith(prefix) else path
        recorded[path] = info.split()[2]
    current = {label: path for label, path in input_files(project, meta).items() if not label.startswith("toolchain/")}
    tracked = [label for label in recorded if _is_source(label)]
    differing = []
    for label in sorted(set(current) | set(tracked)):
        if label not in recorded or label not in current:
            differing.append(label)
            continue
        data = current[label].read_bytes()
        if _blob_sha(data) == recorded[label]:
            continue
        if label == "data/report.yml":  # recording the approval is not a change of the sources
            old = _git(project.root, "cat-file", "blob", recorded[label], binary=True).stdout
            if _without_approval(old) == _without_approval(data):
                continue
        differing.append(label)
    return differing


def approval_record(project: Project, meta: dict) -> dict | None:
    approval = meta.get("approval")
    if not approval:
        return None
    record = {k: str(v) for k, v in approval.items()}
    if approval.get("revision"):
        try:
            record["differing_sources"] = sources_differing_from(project, str(approval["revision"]), meta)
        except ValueError as exc:
            record["differing_sources"] = None
            record["check"] = str(exc)
    return record


def approval_notice(project: Project) -> str | None:
    """The line a build starts with when its sources are those the board approved (else None:
    no approval recorded, or ``check_approval`` reports the difference with the other problems)."""
    try:
        meta = yaml.safe_load((project.data_dir / "report.yml").read_text("utf-8"))
    except (OSError, yaml.YAMLError):
        return None  # the build reports the broken file itself
    approval = _recorded_approval(meta)
    if approval is None:
        return None
    try:
        if sources_differing_from(project, str(approval["revision"]), meta):
            return None
    except ValueError:
        return None
    return (f"sources are those of revision {approval['revision']} approved by {approval.get('by', '?')} "
            f"on {approval.get('date', '?')}")


def check_approval(project: Project, meta, problems: Diagnostics) -> None:
    """Sources that differ from the revision the board approved: a warning at ``approval:`` in
    data/report.yml (so ``--strict`` refuses to pass a build of unapproved text)."""
    approval = _recorded_approval(meta)
    if approval is None:
        return
    revision, by, date = approval["revision"], approval.get("by", "?"), approval.get("date", "?")
    where = {"file": str(project.data_dir / "report.yml"),
             "line": meta.line_of("approval") if hasattr(meta, "line_of") else None}
    try:
        differing = sources_differing_from(project, str(revision), meta)
    except ValueError as exc:
        problems.warning("approval.unknown", f"cannot compare with the approved revision {revision}: {exc}",
                         hint="record the revision the board approved (approval.revision: a commit, tag or branch)",
                         **where)
        return
    if differing:
        shown = ", ".join(differing[:5]) + (f" and {len(differing) - 5} more" if len(differing) > 5 else "")
        problems.warning("approval.differs", f"these sources differ from revision {revision} approved by {by} on "
                         f"{date}: {shown}", hint="publish the approved sources, or have the changes approved and "
                         "record the new revision in approval.revision", **where)


def _recorded_approval(meta) -> dict | None:
    approval = meta.get("approval") if isinstance(meta, dict) else None
    return approval if isinstance(approval, dict) and approval.get("revision") else None
