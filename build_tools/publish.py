"""The one place that decides what the toolchain may write, replace or delete.

- An output folder is replaced only if the toolchain made it (it carries ``MARKER``), it is
  empty, or it is a site from an older build (see ``_looks_like_old_output``). Never a file,
  ``/``, the report folder or a folder above it, or anything inside the report's sources.
- A build writes into a staging folder beside the output, then publishes it in one atomic
  step (``_exchange``). Builds of one output are serialised by a lock file beside it; a second
  build stops at once (exit 1) with the pid of the running one: waiting would pile up
  identical builds behind an editor's save hook, and the writer sees why nothing happened.
- Staging folders record their owner; the next build removes those whose owner is gone, and
  edition workers die with their parent (``die_with_parent``).
- The report's configuration and sources are checked before anything runs: no Python tags
  in ``mkdocs.yml``, no symlink out of the report, and WeasyPrint fetches only files inside
  the report, the toolchain and the system's fonts (``ConfinedUrlFetcher``).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import yaml

from .errors import Diagnostic, Diagnostics, PrintError, ReportError, UsageError
from .i18n import EDITIONS
from .project import TOOLCHAIN_ROOT, Project

log = logging.getLogger("build_tools.publish")

MARKER = ".esg-report-site"  # in every folder the toolchain publishes: it may replace that folder
OWNER = ".esg-report-owner"  # in a staging folder while it is built: "<pid> <process start time>"
SOURCE_DIRS = ("content", "data", "templates", "translations")
_MARKER_TEXT = ("This folder was made by esg-report. Each build replaces it as a whole:\n"
                "do not keep your own files here.\n")


# --- what may be replaced -------------------------------------------------------------------

def _refuse(output: Path, message: str, hint: str) -> UsageError:
    return UsageError(Diagnostic("error", "output.refused", message, file=str(output), hint=hint))


def check_output(project: Project, output: Path) -> None:
    """Raise ``UsageError`` unless the build may publish into ``output``."""
    output = Path(os.path.abspath(output))
    real = output.resolve()
    root = project.root.resolve()
    other = "choose another --output (a new folder, or one an earlier build made)"
    if output.is_symlink():
        raise _refuse(output, "the output is a symbolic link; the toolchain does not replace links or what they point to",
                      f"remove the link yourself, or {other}")
    if real == Path(real.anchor):
        raise _refuse(output, "the output is the root of the file system", other)
    for protected, what in ((root, "the report folder"), (TOOLCHAIN_ROOT, "the toolchain's folder")):
        if real == protected:
            raise _refuse(output, f"the output is {what} itself; a build replaces its output as a whole", other)
        if real in protected.parents:
            raise _refuse(output, f"the output contains {what}; a build replaces its output as a whole", other)
    for name in SOURCE_DIRS:
        source = root / name
        if real == source or source in real.parents:
            raise _refuse(output, f"the output is inside the report's {name}/ folder", other)
    if output.exists():
        if not output.is_dir():
            raise _refuse(output, "the output is a file, not a folder a build made; the toolchain never replaces files",
                          f"move or delete it yourself, or {other}")
        if not is_replaceable(output):
            raise _refuse(output, f"the output folder is not empty and was not made by esg-report (it has no {MARKER})",
                          f"move or delete it yourself, or {other}")


def is_replaceable(folder: Path) -> bool:
    entries = list(folder.iterdir())
    if not entries:
        return True
    marker = folder / MARKER
    if marker.is_file() and not marker.is_symlink():
        return True
    return _looks_like_old_output(folder, {e.name for e in entries})


def _looks_like_old_output(folder: Path, names: set[str]) -> bool:
    """Sites built before the marker existed are accepted once (the next build marks them), but
    only if they hold exactly what a build writes: index.html, 404.html and edition folders.
    Any other file in there is the writer's, so the folder is refused."""
    editions = set(EDITIONS)
    if "index.html" not in names or not names <= {"index.html", "404.html"} | editions:
        return False
    return any((folder / e / "index.html").is_file() for e in names & editions)


# --- staging, lock and the atomic switch ----------------------------------------------------

def _process_start(pid: int) -> str:
    """The start time of a process (field 22 of /proc/PID/stat), so a reused pid is not taken for the owner."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


_BUILD_PRODUCTS = {"index.html", "404.html", *EDITIONS}


def _owner_alive(owner: str) -> bool:
    try:
        pid_text, _, started = owner.strip().partition(" ")
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True  # another user's live process
    return not started or not Path("/proc").is_dir() or _process_start(pid) == started


class Publication:
    """Staging folder, lock and atomic switch for one output folder. Use as::

        publication = Publication(project, output)  # refuses forbidden outputs
        staging = publication.open()                 # lock, clean stale staging, new staging folder
        try: ... publication.publish() ...
        finally: publication.close()
    """

    def __init__(self, project: Project, output: Path):
        self.project = project
        self.output = Path(os.path.abspath(output))
        check_output(project, self.output)
        self.parent = self.output.parent
        self.prefix = f".{self.output.name}-staging-"
        self.staging: Path | None = None
        self._lock_fd: int | None = None

    def open(self) -> Path:
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
            self._lock()
            self._remove_stale_staging()
            self.staging = Path(tempfile.mkdtemp(prefix=self.prefix, dir=self.parent))
            (self.staging / OWNER).write_text(f"{os.getpid()} {_process_start(os.getpid())}\n")
            # mkdtemp makes 0700; a web server running as another user must read the site.
            os.chmod(self.staging, 0o777 & ~_umask())
        except OSError as exc:
            self.close()
            raise write_error(exc, self.output) from exc
        return self.staging

    def _lock(self) -> None:
        path = self.parent / f".{self.output.name}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise ReportError(Diagnostic(
                "error", "build.running", f"another build of this report is running (pid {holder})", file=str(self.output),
                hint="wait for it to finish and build again (only one build at a time publishes a folder)")) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _remove_stale_staging(self) -> None:
        """With the lock held no other build is writing here: a staging folder whose owner is gone
        (SIGKILL, power loss) or that holds a site retired by an interrupted switch is removed."""
        for folder in self.parent.glob(self.prefix + "*"):
            if not folder.is_dir() or folder.is_symlink():
                continue
            owner = folder / OWNER
            if owner.is_file():
                if _owner_alive(owner.read_text("ascii", "replace")):
                    continue
            elif not (folder / MARKER).is_file() and not {e.name for e in folder.iterdir()} <= _BUILD_PRODUCTS:
                continue  # not a build's leftovers (those of older versions hold only edition folders)
            log.info("removing %s, left by a build that did not finish", folder)
            shutil.rmtree(folder, ignore_errors=True)

    def publish(self) -> None:
        """Make the staging folder the output in one atomic step, then remove the previous version."""
        staging = self.staging
        check_output(self.project, self.output)  # again: the folder may have changed during the build
        (staging / MARKER).write_text(_MARKER_TEXT, "utf-8")
        (staging / OWNER).unlink()
        if not self.output.exists():
            os.rename(staging, self.output)  # nothing there: a plain rename is atomic
        else:
            _exchange(staging, self.output)
            # `staging` now holds the previous version, which check_output accepted as ours.
            if any(staging.iterdir()):
                shutil.rmtree(staging, ignore_errors=True)
            else:
                staging.rmdir()
        self.staging = None

    def close(self) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock; the file stays (removing it would race)
            self._lock_fd = None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2():
    return getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)


def _exchange(a: Path, b: Path) -> None:
    """Swap two folders atomically: readers see the old site or the new one, never none.

    ``renameat2(RENAME_EXCHANGE)`` (Linux 3.15+, glibc 2.28+) rather than a ``site`` symlink to
    versioned folders: ``site/`` stays a real folder, so deploy scripts (rsync, cp -r, web
    servers that do not follow links) keep working, and no ``site-vN`` folders appear beside it.
    Where the call is missing or the file system lacks it, two renames are used: under the build
    lock no other build can interleave, but a reader may miss the folder for an instant.
    """
    renameat2 = _renameat2()
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(code, os.strerror(code), str(b))
    retired = a.with_name(a.name + "-retired")
    os.rename(b, retired)
    os.rename(a, b)
    os.rename(retired, a)


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Worker initializer: a SIGKILLed build must not leave its edition workers running."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def write_error(exc: OSError, output: Path) -> ReportError:
    """A located message for a failed write: full disk, read-only folder, no permission."""
    where = exc.filename or str(output)
    reason = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
              errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
              errno.EPERM: "operation not permitted"}.get(exc.errno, exc.strerror or str(exc))
    verb = "writing" if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS) else "accessing"
    return ReportError(Diagnostic(
        "error", "output.write", f"{reason} while {verb} {where}; the previous site is untouched", file=str(output),
        hint="free some space, then build again" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
        else "choose a folder you can write to with --output"))


# --- the report folder, its configuration and its sources -----------------------------------

def check_report_folder(project: Project) -> None:
    """Raise unless ``project.root`` is a report: commands never write into an arbitrary folder."""
    missing = [name for name in ("mkdocs.yml", "data/report.yml") if not (project.root / name).is_file()]
    if missing:
        raise ReportError(Diagnostic(
            "error", "report.missing", f"not a report folder: no {' / '.join(missing)} in {project.root}; create one with esg-report new",
            file=str(project.root), hint="run the command in a report folder, or name it: esg-report build path/to/report"))


class _ConfigLoader(yaml.SafeLoader):
    """Reads mkdocs.yml without running anything: MkDocs' ``!ENV`` and ``!relative`` tags are
    inert here; ``!!python/...`` tags (which MkDocs' own loader would execute) are errors."""


class _PythonTag(Exception):
    def __init__(self, tag: str, mark):
        self.tag, self.mark = tag, mark


def _python_tag(loader, suffix, node):
    raise _PythonTag(node.tag.replace("tag:yaml.org,2002:", "!!"), node.start_mark)


_ConfigLoader.add_multi_constructor("!", lambda loader, suffix, node: None)
_ConfigLoader.add_multi_constructor("tag:yaml.org,2002:python/", _python_tag)


def check_config(project: Project, config: Path | None = None, seen: tuple = ()) -> None:
    """Raise a located error if mkdocs.yml (or a file it INHERITs) is broken or has Python tags."""
    config = config or project.config_file
    try:
        text = config.read_text("utf-8")
        document = yaml.load(text, Loader=_ConfigLoader)
    except _PythonTag as exc:
        raise ReportError(Diagnostic(
            "error", "config.python-tag", f"{exc.tag}: Python tags are not allowed in the configuration",
            file=str(config), line=exc.mark.line + 1, col=exc.mark.column + 1,
            hint="the report plugin sets the heading-id function; remove the tag")) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ReportError(Diagnostic(
            "error", "config.yaml", f"mkdocs.yml is not valid YAML: {getattr(exc, 'problem', None) or exc}",
            file=str(config), line=mark.line + 1 if mark else None, col=mark.column + 1 if mark else None)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(Diagnostic("error", "config.read", f"cannot read the configuration: {exc}",
                                     file=str(config))) from None
    if not isinstance(document, dict):
        raise ReportError(Diagnostic("error", "config.yaml", "mkdocs.yml must be a mapping (site_name: ..., nav: ...)",
                                     file=str(config), line=1))
    _check_paths(project, config, document)
    parent = document.get("INHERIT")
    if isinstance(parent, str):
        inherited = (config.parent / parent).resolve()
        if inherited not in seen and inherited.is_file():
            check_config(project, inherited, seen + (config.resolve(),))


def _check_paths(project: Project, config: Path, document: dict) -> None:
    """Folders MkDocs would copy into the site or run code from must be inside the report."""
    theme = document.get("theme")
    named = [("theme: custom_dir", theme.get("custom_dir") if isinstance(theme, dict) else None)]
    hooks = document.get("hooks")
    named += [("hooks", hook) for hook in (hooks if isinstance(hooks, list) else [])]
    root = project.root.resolve()
    for key, value in named:
        if isinstance(value, str):
            target = (config.parent / value).resolve()
            if target != root and root not in target.parents:
                raise ReportError(Diagnostic("error", "config.outside", f"{key}: {value} is outside the report",
                                             file=str(config), hint="keep theme overrides and hooks inside the report folder"))


def check_symlinks(project: Project) -> None:
    """Raise if a link in the report's sources points outside the report: MkDocs would copy its
    target (say ~/.ssh/id_rsa) into the published site."""
    root = project.root.resolve()
    problems = Diagnostics()
    for name in SOURCE_DIRS:
        top = project.root / name
        candidates = [top] if top.is_symlink() else []
        for folder, dirs, files in os.walk(top):
            candidates += [Path(folder) / entry for entry in dirs + files if os.path.islink(os.path.join(folder, entry))]
        for link in candidates:
            target = link.resolve()
            if target != root and root not in target.parents:
                problems.error("source.symlink", f"the link points outside the report, to {os.readlink(link)}",
                               file=str(link), hint="copy the file into the report instead of linking to it")
    if problems.errors:
        raise ReportError(problems)


def check_report(project: Project) -> None:
    """Everything a build checks before it runs MkDocs on the report."""
    check_report_folder(project)
    check_config(project)
    check_symlinks(project)


def check_page_argument(project: Project, edition: str, page: str) -> None:
    """``translations --mark PAGE``: only a page of ``content/<edition>/`` may be written."""
    content = project.content_dir(edition).resolve()
    target = (content / page).resolve()
    if Path(page).is_absolute() or ".." in Path(page).parts or content not in target.parents:
        raise UsageError(Diagnostic("error", "usage.page", f"{page}: not a page under content/{edition}/",
                                    hint="name pages as in nav:, e.g. 1-governance/index.md"))
    if not target.is_file():
        raise UsageError(Diagnostic("error", "usage.page", f"{page}: no such page in content/{edition}/",
                                    file=str(target)))


def check_new_target(target: Path) -> None:
    """``new DIR``: only a new or empty folder (a writer's slip: exit 1, like any report error)."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        what = "a file" if not target.is_dir() else "not empty"
        raise ReportError(Diagnostic("error", "new.not-empty", f"{target} exists and is {what}; nothing was written",
                                    file=str(target), hint="choose a new folder name"))


def check_export_target(target: Path) -> None:
    """``export FILE``: a new file, or one an earlier export wrote (the command's documented
    output, to hand out again); never a file of the writer's own that happens to have the name."""
    from .spreadsheet import made_by_export

    if target.exists() and not target.is_dir() and not made_by_export(target):
        raise UsageError(Diagnostic(
            "error", "output.refused", "the file exists and is not a spreadsheet esg-report exported; "
            "export replaces only its own sheets, so nothing was written", file=str(target),
            hint="name a new file, or move this one away yourself"))


#: In every redline ``diff --html`` writes (templates/review/diff.html): it may replace such a file.
REDLINE_MARK = b'<meta name="generator" content="esg-report diff">'


def check_redline_target(target: Path) -> None:
    """``diff --html FILE``: a new file, or a redline an earlier diff wrote; checked before the
    comparison, which renders both sides."""
    if target.is_dir():
        raise UsageError(Diagnostic("error", "output.refused", "this is a folder; --html names the redline's file",
                                    file=str(target), hint="name a file, e.g. redline.html"))
    if target.exists():
        try:
            with target.open("rb") as file:
                ours = REDLINE_MARK in file.read(4096)
        except OSError:
            ours = False
        if not ours:
            raise UsageError(Diagnostic(
                "error", "output.refused", "the file exists and is not a redline esg-report wrote; nothing was written",
                file=str(target), hint="name a new file, or move this one away yourself"))


# --- what the PDF may embed -----------------------------------------------------------------

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".local/share/fonts")


def _allowed_roots(extra) -> list[Path]:
    roots = [TOOLCHAIN_ROOT, *FONT_DIRS, *map(Path, extra)]
    return [r.resolve() for r in roots]


#: The end of the message of a refused fetch: WeasyPrint logs it; ``check()`` reports it located.
REFUSED = " is outside the report"


def ConfinedUrlFetcher(*roots: Path):  # noqa: N802 - used like a class
    """WeasyPrint's fetcher restricted to files inside ``roots`` (the report, its output), the
    toolchain and the font folders; anything else (``<a rel=attachment href=/etc/passwd>``,
    ``<img src=file:///...>``) is refused and listed in ``.refused`` for a located message."""
    from weasyprint.urls import URLFetcher

    allowed = _allowed_roots(roots)

    class _Fetcher(URLFetcher):
        refused: list[str] = []

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme == "file":
                path = Path(url2pathname(unquote(parts.path))).resolve()
                if not any(path == r or r in path.parents for r in allowed):
                    self.refused.append(str(path))
                    raise ValueError(f"{path}{REFUSED}")
            elif scheme in ("http", "https"):  # nothing is downloaded at build time
                self.refused.append(url)
                raise ValueError(f"{url}{REFUSED}")
            elif scheme != "data":
                self.refused.append(url)
                raise ValueError(f"{url}{REFUSED}")
            return super().fetch(url, headers)

        def check(self, report_root: Path | None = None) -> None:
            if self.refused:
                problems = Diagnostics()
                for item in dict.fromkeys(self.refused):
                    file, line = _find_reference(report_root, item)
                    if urlsplit(item).scheme in ("http", "https"):
                        problems.error("print.remote", f"the PDF would download {item} from another host",
                                       file=file, line=line, hint="nothing is downloaded at build time: put a copy of "
                                       "the file in content/ and link that")
                        continue
                    problems.error("print.outside", f"the PDF would embed {item}, which is outside the report",
                                   file=file, line=line,
                                   hint="link or show only files inside the report (put them in content/)")
                raise PrintError(problems)

    fetcher = _Fetcher()
    fetcher.refused = []
    return fetcher


def _find_reference(report_root: Path | None, path: str) -> tuple[str | None, int | None]:
    """The chapter line that names ``path`` (the print HTML no longer knows its source)."""
    if report_root is None:
        return None, None
    for chapter in sorted((report_root / "content").rglob("*.md")):
        try:
            for number, line in enumerate(chapter.read_text("utf-8").splitlines(), 1):
                if path in line:
                    return str(chapter), number
        except (OSError, UnicodeDecodeError):
            continue
    return None, None
