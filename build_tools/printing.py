"""The print edition: the pages MkDocs rendered, assembled into one HTML document, then WeasyPrint.

Shaped like WeasyPrint itself: ``assemble`` (pages -> print HTML), ``render_pdf`` (HTML ->
PDF bytes, with one documented options dict). Ids are prefixed per page because the same
id ('overview') may occur on several pages; links are rewritten to match, so the contents,
the content index and cross references resolve inside the PDF and show page numbers.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import os
import posixpath
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence
from urllib.parse import unquote, urlsplit

from lxml import html as lxml_html

from .disclosures import find_source_line, heading_text, split_number
from .errors import Diagnostic, Diagnostics, PrintError, ReportError, collect_logs
from .fileio import write_atomically
from .html import WEB_ONLY, page_slug
from .i18n import display_width
from .macros import INDEX_PLACEHOLDER
from .trace import mark_kpi_elements

log = logging.getLogger("build_tools.printing")

#: Options passed to WeasyPrint's ``render`` and ``write_pdf``.
PDF_OPTIONS = {
    #: Embed subsets, not whole fonts (harfbuzz-subset when Debian's libharfbuzz-subset0 is present).
    "full_fonts": False,
    #: Keep image quality; charts are vector anyway.
    "optimize_images": False,
    #: Tagged PDF for accessibility (PDF/UA-1 variant of WeasyPrint).
    "pdf_variant": "pdf/ua-1",
}


@dataclass
class PrintEntry:
    """A contents entry: heading level, print id, number and title."""

    level: int
    target: str
    number: str
    title: str


def contents_level(tag_level: int, number: str) -> int | None:
    """Level of a heading in the contents and the PDF outline, from its section number.

    Page titles without a number and chapters ('1', 'Appendix I') are level 1, sections ('1.2')
    level 2; deeper sections and unnumbered sub-headings are not listed. Using the number rather
    than the HTML level lets a section be a page of its own (its title is an h1 on the web).
    """
    if not number:
        return 1 if tag_level == 1 else None
    depth = 1 if not number[0].isdigit() else number.count(".") + 1
    return depth if depth <= 2 else None


def _running_title(text: str, limit: int = 60) -> str:
    """The running header must fit one line: long titles (Appendix II's) are shortened."""
    width = display_width(text)
    if width <= limit:
        return text
    kept, used = [], 0
    for ch in text:
        used += display_width(ch)
        if used > limit - 1:
            break
        kept.append(ch)
    return "".join(kept).rstrip() + "…"


def _rewrite_page(page, slugs_by_url: dict[str, str], site_dir: Path,
                  source_of: Callable[[str], Path | None]) -> tuple[str, list[PrintEntry]]:
    slug = page_slug(page.url)
    root = lxml_html.fragment_fromstring(page.html, create_parent="div")
    mark_kpi_elements(root)  # numbered before anything is dropped, as the KPI trace numbers them
    for element in root.xpath(f'.//*[contains(concat(" ", @class, " "), " {WEB_ONLY} ")]'):
        element.drop_tree()
    for element in root.xpath(".//*[@id]"):
        element.set("id", f"{slug}--{element.get('id')}")
    for link in root.xpath(".//a[@href]"):
        link.set("href", _print_href(link.get("href"), page.url, slug, slugs_by_url))
    for image in root.xpath(".//img[@src]"):
        src = image.get("src")
        if not urlsplit(src).scheme:
            # The file the site copies, read where it comes from: the PDF does not wait for the site's files.
            published = posixpath.normpath(posixpath.join(page.url, unquote(urlsplit(src).path)))
            source = source_of(published)
            image.set("src", (source or site_dir / page.url / src).resolve().as_uri())
    entries = []
    for heading in root.xpath(".//h1|.//h2|.//h3"):
        number, title = split_number(heading_text(heading))
        level = contents_level(int(heading.tag[1]), number)
        if level:
            heading.set("data-toc-level", str(level))  # print.css: bookmarks and running header
            heading.set("data-running", _running_title(f"{number} {title}".strip()))
            entries.append(PrintEntry(level, heading.get("id", ""), number, title))
    body = "".join(lxml_html.tostring(child, encoding="unicode") for child in root)
    if root.text:
        body = root.text + body
    return body, entries


def _print_href(href: str, page_url: str, slug: str, slugs_by_url: dict[str, str]) -> str:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return href
    if not parts.path:
        return f"#{slug}--{parts.fragment}" if parts.fragment else f"#{slug}"
    target = posixpath.normpath(posixpath.join(page_url or ".", parts.path))
    target = "" if target == "." else target.strip("/") + "/"
    target_slug = slugs_by_url.get(target)
    if target_slug is None:
        return href
    return f"#{target_slug}--{parts.fragment}" if parts.fragment else f"#{target_slug}"


def assemble(context, site_dir: Path) -> str:
    """The print HTML of one edition, from the pages as MkDocs rendered them."""
    pages = [p for p in context.ordered_pages if p.in_print]
    slugs_by_url = {p.url: page_slug(p.url) for p in pages}
    chapters, contents = [], []
    for page in pages:
        body, entries = _rewrite_page(page, slugs_by_url, site_dir, context.published_source)
        if page.src == context.index_page:
            body = body.replace(INDEX_PLACEHOLDER, context.render_index(
                lambda loc: f"#{page_slug(loc.page_url)}--{loc.anchor}" if loc.anchor else f"#{page_slug(loc.page_url)}",
                print_mode=True))
        # Chapters and unnumbered pages open on a new page; a section (1.2) follows on.
        kind = page.meta.get("print_class") or ("section" if entries and entries[0].level == 2 else "chapter")
        chapters.append({"id": page_slug(page.url), "body": body, "kind": kind, "title": page.title})
        contents.extend(entries)
    meta = context.data.meta
    edition = context.edition.code
    template = context.templates.get_template("print/document.html")
    css = context.project.template_file("print/print.css").as_uri()
    return template.render(
        lang=context.edition.html_lang,
        edition=edition,
        company=meta["company"],
        report=meta["report"],
        stock_codes=context.formatter.stock_codes(meta["company"]["stock_codes"]),
        period=context.formatter._("{start} to {end}").format(start=context.formatter.date(meta["report"]["period_start"]),
                                                               end=context.formatter.date(meta["report"]["period_end"])),
        chapters=chapters,
        contents=contents,
        stylesheet=css,
        # A draft not yet approved (approved: pending) is dated by its period's end, as edition.py does.
        approved=meta["report"]["period_end"] if meta["report"]["approved"] == "pending" else meta["report"]["approved"],
        approved_text=context.formatter.date(meta["report"]["approved"]),
        brand=context.print_brand(),
    )


@dataclass
class PrintedDocument:
    """What the KPI trace and the build manifest need to know of a written PDF."""

    anchor_pages: dict[str, int]  # id in the print HTML -> 1-based PDF page it landed on
    fonts: list[dict]  # the font files WeasyPrint embedded: family, weight, style, sha256


def _weasyprint_message(sources: Sequence[Path]) -> "callable":
    """WeasyPrint's warnings (an image it cannot load, CSS it ignores), located where possible."""
    from .publish import REFUSED

    def translate(record: logging.LogRecord) -> Diagnostic | None:
        message = record.getMessage().splitlines()[0]
        if REFUSED in message:
            return None  # reported once, located, by the fetcher's check()
        where = {}
        url = re.search(r"(?:image|stylesheet|resource) at '?([^'\s]+)", message)
        if url:  # point at the chapter that names the file
            name = posixpath.basename(urlsplit(url.group(1)).path)
            for source in sources:
                line = find_source_line(source, name) if name else None
                if line:
                    where = {"file": str(source), "line": line}
                    break
        return Diagnostic("warning", "print.weasyprint", message, hint="fix the file or style named here; "
                          "the PDF would otherwise differ from the website", **where)
    return translate


def render_pdf(print_html: str, base_url: Path, target: Path, problems: Diagnostics | None = None,
               sources: Sequence[Path] = (), report_root: Path | None = None) -> PrintedDocument:
    """Write the PDF to ``target`` (via a temporary file, so a failure never leaves half a PDF).

    WeasyPrint's warnings are added to ``problems`` (so ``--strict`` fails on them), located in
    the chapter files ``sources`` where they name a file.
    """
    import weasyprint

    from .publish import ConfinedUrlFetcher

    collected = problems if problems is not None else Diagnostics()
    # Only files of the report, its built site, the toolchain and the fonts may be embedded.
    fetcher = ConfinedUrlFetcher(base_url, *([report_root] if report_root else []))

    def write(file) -> None:
        document.write_pdf(file, **PDF_OPTIONS)
        fetcher.check(report_root)  # before the PDF replaces anything

    try:
        with collect_logs(collected, "weasyprint", _weasyprint_message(sources)), _fewer_collections():
            # render() then write_pdf() is what HTML.write_pdf does; kept apart to read the pages' anchors.
            document = weasyprint.HTML(string=print_html, base_url=str(base_url), url_fetcher=fetcher).render(**PDF_OPTIONS)
            write_atomically(target, write)
    except PrintError:
        raise
    except Exception as exc:  # WeasyPrint raises many types; the writer needs one located message
        raise PrintError(f"the PDF {target.name} could not be written: {exc}") from exc
    anchor_pages = {}
    for number, page in enumerate(document.pages, start=1):
        for anchor in page.anchors:
            anchor_pages.setdefault(anchor, number)
    return PrintedDocument(anchor_pages, _embedded_fonts(document))


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """WeasyPrint makes millions of short-lived objects; Python's default collector thresholds
    walk them often (measured: the sample's Chinese PDF 2.97 s -> 2.83 s, same peak memory)."""
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _embedded_fonts(document) -> list[dict]:
    fonts = {}
    for font in document.fonts.values():
        digest = hashlib.sha256(bytes(font.file_content)).hexdigest()
        fonts[(font.family, int(font.weight), int(font.style), digest)] = None
    return [{"family": f, "weight": w, "style": s, "sha256": d} for f, w, s, d in sorted(fonts)]


class PrintProcess:
    """``render_pdf`` in a process of its own (builds allowed more than one process): it starts
    before the website, so WeasyPrint is imported meanwhile, and renders as soon as the pages are
    (``EditionContext.pages_rendered``) while the edition's process writes the website. The PDF,
    the longest step, no longer waits for the website.

    A process of our own rather than a pool: a build that fails must stop the PDF at once
    (``close``), not wait for it to finish writing into a staging folder being thrown away.
    """

    def __init__(self):
        import multiprocessing

        from .publish import die_with_parent

        # fork: the child has the toolchain loaded already; nothing runs in threads at this point
        context = multiprocessing.get_context("fork")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_print_in_child,
                                        args=(child, self._connection, os.getpid(), die_with_parent),
                                        name="esg-report PDF", daemon=True)
        self._process.start()
        child.close()
        self.submitted: float | None = None  # when the print HTML was handed over

    def submit(self, print_html: str, base_url: Path, target: Path, sources: Sequence[Path],
               report_root: Path | None) -> None:
        self._connection.send((print_html, base_url, target, list(sources), report_root))
        self.submitted = time.perf_counter()

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def result(self, problems: Diagnostics) -> PrintedDocument:
        """Wait for the PDF; its warnings go to ``problems``; a failure raises ``PrintError``."""
        try:
            printed, found, crash = self._connection.recv()
        except (EOFError, ConnectionError):  # the process died (killed, out of memory)
            self._process.join()
            raise PrintError(f"the PDF process stopped before the PDF was written (exit code {self._process.exitcode})") from None
        if crash:
            raise RuntimeError(f"the PDF process failed:\n{crash}")  # a toolchain fault: the CLI reports it as one
        if printed is None:
            raise PrintError(found)
        problems.extend(found)
        return printed

    def close(self) -> None:
        self._connection.close()  # the child, waiting for a job, sees the end of the pipe
        self._process.join(timeout=2)
        if self._process.is_alive():  # rendering a PDF nobody will publish: stop it
            self._process.kill()
            self._process.join()


def _print_in_child(connection, parents_end, parent: int, die_with_parent) -> None:
    # The CLI turns SIGTERM into KeyboardInterrupt; here the signals just end the process, and
    # the parent's end of the pipe is closed so that closing it in the parent is seen here.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    parents_end.close()
    die_with_parent(parent)  # a killed build leaves no PDF process behind
    gc.freeze()  # what the parent had loaded is never garbage here: the collector need not walk it
    import weasyprint  # noqa: F401  (imported while the parent builds the website)

    try:
        job = connection.recv()
    except EOFError:  # the build ended without a PDF (it failed before its pages were rendered)
        return
    found = Diagnostics()
    try:
        printed = render_pdf(*job[:3], found, job[3], report_root=job[4])
        connection.send((printed, found, None))
    except ReportError as exc:
        found.extend(exc.diagnostics)
        connection.send((None, found, None))
    except Exception:
        import traceback

        connection.send((None, found, traceback.format_exc()))
