"""One edition's website: the per-edition build context and the MkDocs run.

``EditionContext`` is everything one edition's build shares (data, formatter, chapter
renderer, the pages as rendered); ``mkdocs_plugin.ReportPlugin`` hands MkDocs events to it.
This module and the plugin are the only places that know MkDocs.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from .data import ReportData, load_report_data
from .disclosures import (Framework, Location, PageHeading, build_index, check_codes, check_coverage,
                          find_source_line, load_explanations, load_framework, parse_fragment, scan_page)
from .errors import Diagnostics, ReportError
from .fileio import write_atomically
from .formatting import Formatter
from .i18n import EDITIONS, Edition, get_edition, load_translations
from .macros import INDEX_PLACEHOLDER, ChapterRenderer
from .project import Project
from .templating import template_environment

EDITION_ENV = "ESG_REPORT_EDITION"
PREVIEW_ENV = "ESG_REPORT_PREVIEW"
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # Material's end-of-life banner on every build


@dataclass
class RenderedPage:
    src: str  # path relative to the edition's content dir ('chapter-1.md')
    url: str  # 'chapter-1/' relative to the edition root
    title: str
    html: str
    meta: dict
    headings: list[PageHeading] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)

    @property
    def in_print(self) -> bool:
        return self.meta.get("print", True) is not False


class EditionContext:
    """The shared state of one edition's build."""

    def __init__(self, project: Project, edition: str, data: ReportData | None = None):
        self.project = project
        self.edition: Edition = get_edition(edition)
        self.data = data or load_report_data(project.data_dir)
        self.problems = Diagnostics()
        self.translations = load_translations(project.translation_dirs, self.edition)
        self.formatter = Formatter(edition, self.data.meta["report"]["money"][edition],
                                   units=self.data.units, translations=self.translations)
        self.renderer = ChapterRenderer(self.data, edition, self.formatter)
        self.templates = template_environment(project, self.translations)
        self.framework: Framework = load_framework(self.data.meta["report"]["framework"])
        self.explanations = load_explanations(project.data_dir, self.problems)
        self.pages: dict[str, RenderedPage] = {}
        self.nav_order: list[str] = []
        self.index_page: str | None = None
        self.render_failed = False
        self.preview = False  # live preview: untranslated pages fall back to English
        self.untranslated: set[str] = set()

    # --- naming -----------------------------------------------------------------
    @property
    def content_dir(self) -> Path:
        return self.project.content_dir(self.edition.code)

    @property
    def pdf_name(self) -> str:
        stem = self.data.meta["report"].get("pdf_name") or f"esg-report-{self.data.year}"
        return f"{stem}-{self.edition.code}.pdf"

    # --- events -----------------------------------------------------------------
    def render_chapter(self, path: Path) -> str:
        source = path.read_text(encoding="utf-8")
        return self.renderer.render(source, path)

    def untranslated_notice(self) -> str:
        title = self.translations.gettext("Not yet translated")
        text = self.translations.gettext("This page has not been translated yet; the English text is shown. "
                                         "A build fails until the translation exists.")
        return f'!!! warning "{title}"\n    {text}\n\n'

    def collect_page(self, src: str, url: str, title: str, html: str, meta: dict) -> None:
        root = parse_fragment(html)  # parsed once for both the checks and the disclosure scan
        check_page_html(root, self.content_dir / src, self.problems)
        headings, locations = scan_page(root, src, url)
        if meta.get("print", True) is False:
            locations = []  # a web-only page (the home page) repeats figures; it is not a place of disclosure
        self.pages[src] = RenderedPage(src, url, title, html, dict(meta), headings, locations)
        if INDEX_PLACEHOLDER in html:
            self.index_page = src

    @property
    def ordered_pages(self) -> list[RenderedPage]:
        order = [src for src in self.nav_order if src in self.pages]
        order += [src for src in self.pages if src not in order]
        return [self.pages[src] for src in order]

    @property
    def locations(self) -> list[Location]:
        return [loc for page in self.ordered_pages for loc in page.locations]

    def index_groups(self):
        return build_index(self.framework, self.locations, self.explanations)

    def check_disclosures(self) -> None:
        check_codes(self.framework, self.locations, self.content_dir, self.data, self.problems)
        check_coverage(self.framework, self.locations, self.explanations, self.project.data_dir, self.problems)

    def render_index(self, link_for, print_mode: bool = False) -> str:
        template = self.templates.get_template("index/content-index.html")
        return template.render(groups=self.index_groups(), framework=self.framework, edition=self.edition.code,
                               link_for=link_for, print_mode=print_mode)

    def web_index_html(self) -> str:
        """The index page's content with links relative to the index page itself."""
        page = self.pages[self.index_page]

        def link_for(loc: Location) -> str:
            target = posixpath.relpath(loc.page_url or ".", page.url or ".") if page.url else loc.page_url
            target = "" if target == "." else target.rstrip("/") + "/"
            return f"{target}#{loc.anchor}" if loc.anchor else (target or "./")

        return page.html.replace(INDEX_PLACEHOLDER, self.render_index(link_for))


def check_page_html(root, source: Path, problems: Diagnostics) -> None:
    """Duplicate anchors and images without a text alternative, located in the chapter."""
    if root is None:
        return
    seen: set[str] = set()
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        anchor = element.get("id")
        if anchor:
            if anchor in seen:
                problems.warning("content.duplicate-anchor", f"the id '{anchor}' is used twice on this page",
                                 file=str(source), line=find_source_line(source, f"#{anchor}"),
                                 hint="give each heading its own { #id }")
            seen.add(anchor)
        if element.tag == "img" and not (element.get("alt") or "").strip():
            src = element.get("src", "")
            problems.warning("content.image-alt", f"image '{src}' has no text alternative",
                             file=str(source), line=find_source_line(source, src.rsplit("/", 1)[-1]),
                             hint="write ![what the image shows](file.png)")


class _CollectWarnings(logging.Handler):
    """MkDocs' own warnings (bad links, missing files) become this build's diagnostics."""

    def __init__(self, problems: Diagnostics, content_dir: Path):
        super().__init__(logging.WARNING)
        self.problems = problems
        self.content_dir = content_dir

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "MkDocs 2.0" in message or "mkdocs-material" in message.lower() and "maintenance" in message.lower():
            return
        match = re.match(r"Doc file '([^']+)' (.*)", message, re.S)
        if match:  # MkDocs' link and anchor validation: point at the chapter
            page = self.content_dir / match.group(1)
            target = re.search(r"'([^']+)'", match.group(2))
            line = find_source_line(page, target.group(1).split("#")[-1]) if target else None
            self.problems.warning("site.links", match.group(2).strip(), file=str(page), line=line,
                                  hint="fix the link target or the anchor (heading ids are in `{ #id }`)")
            return
        self.problems.warning("site." + record.name.split(".")[-1], message)


def traditional_jieba_dictionary() -> Path | None:
    """jieba's dictionary converted to Hong Kong Traditional characters, made once and cached.

    jieba ships a Simplified dictionary only; with it, Traditional text segments badly
    ('供應商' -> '供' + '應商') and the Chinese edition's search finds nothing.
    """
    try:
        import jieba
        from opencc import OpenCC
    except ImportError:
        return None
    source = Path(jieba.__file__).parent / "dict.txt"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "esg-report"
    target = cache / f"jieba-{jieba.__version__}-zh-hk.txt"
    if target.exists():
        return target
    lines = source.read_text("utf-8").splitlines()
    words = OpenCC("s2hk").convert("\n".join(line.split(" ", 1)[0] for line in lines)).split("\n")
    cache.mkdir(parents=True, exist_ok=True)
    # atomic: parallel editions may race to create it
    write_atomically(target, "\n".join(f"{word} {line.split(' ', 1)[1]}" for word, line in zip(words, lines)) + "\n")
    return target


def approval_timestamp(meta: dict) -> int:
    """The board approval date (UTC midnight) as a Unix time: the build's one date."""
    import datetime as dt

    approved = dt.date.fromisoformat(meta["report"]["approved"])
    return int(dt.datetime(approved.year, approved.month, approved.day, tzinfo=dt.timezone.utc).timestamp())


def quiet_jieba() -> None:
    # Material's search segments Chinese with jieba, which logs at DEBUG to stderr on import.
    try:
        import jieba
    except ImportError:
        return
    jieba.setLogLevel(logging.WARNING)


def build_site(context: EditionContext, site_dir: Path, search: bool = True) -> None:
    """Run MkDocs for one edition into ``site_dir``; problems land in ``context.problems``."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort, PluginError

    quiet_jieba()
    # Reproducible output: MkDocs dates the sitemap (and its gzip header) from SOURCE_DATE_EPOCH.
    os.environ.setdefault("SOURCE_DATE_EPOCH", str(approval_timestamp(context.data.meta)))
    config = load_config(str(context.project.config_file), docs_dir=str(context.content_dir),
                         site_dir=str(site_dir))
    search_plugin = config.plugins.get("material/search")
    if not search and search_plugin is not None:  # `check` publishes nothing; the index is half of MkDocs' time
        search_plugin.config.enabled = False
    plugin = config.plugins.get("esg-report")
    if plugin is None:
        raise ReportError("mkdocs.yml does not enable the report plugin: add `- esg-report` under `plugins:`")
    plugin.context = context
    handler = _CollectWarnings(context.problems, context.content_dir)
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False  # reported once, by the CLI
    try:
        build(config)
    except PluginError as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ReportError):
            raise cause from None
        raise
    except Abort as exc:
        context.problems.error("site.abort", str(exc))
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def edition_links(current: str, editions: list[str]) -> list[dict]:
    # `link`: the edition's root, relative to this edition's root.
    return [{"name": EDITIONS[code].label, "lang": EDITIONS[code].html_lang, "link": f"../{code}/", "current": code == current}
            for code in editions]


