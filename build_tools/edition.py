"""One edition's build, independent of the site engine.

``EditionContext`` is everything one edition's build shares (data, formatter, chapter
renderer, the pages as the engine rendered them). The engine adapter (``mkdocs_adapter``)
hands the engine's events to it; nothing here knows which engine renders the site.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .brand import PRINT_FALLBACK, Brand
from .data import ReportData, load_report_data
from .disclosures import (Framework, Location, PageHeading, build_index, check_codes, check_coverage,
                          find_source_line, load_explanations, parse_fragment, report_framework, reported_locations,
                          scan_page)
from .errors import Diagnostics
from .formatting import Formatter
from .i18n import EDITIONS, Edition, get_edition, load_translations, source_edition
from .macros import INDEX_PLACEHOLDER, ChapterRenderer
from .project import Project
from .sandbox import read_chapter
from .templating import template_environment
from .typesetting import squeeze_punctuation

@dataclass
class RenderedPage:
    src: str  # path relative to the edition's content dir ('chapter-1.md')
    url: str  # 'chapter-1/' relative to the edition root
    title: str
    html: str
    meta: dict
    headings: list[PageHeading] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    kpis: list[str] = field(default_factory=list)  # ids of the KPIs the page shows
    source: Path | None = None  # the chapter file, for locating problems found in the output

    @property
    def in_print(self) -> bool:
        return self.meta.get("print", True) is not False


class EditionContext:
    """The shared state of one edition's build."""

    def __init__(self, project: Project, edition: str, data: ReportData | None = None, preview: bool = False):
        self.project = project
        self.edition: Edition = get_edition(edition)
        self.data = data or load_report_data(project.data_dir)
        self.problems = Diagnostics()
        self.translations = load_translations(project.translation_dirs, self.edition)
        self.formatter = Formatter(edition, self.data.meta["report"]["money"][edition],
                                   units=self.data.units, translations=self.translations)
        self.renderer = ChapterRenderer(self.data, edition, self.formatter)
        self.figures = self.renderer.figures
        self.brand = Brand.from_meta(self.data.meta)
        if self.data.meta.get("brand"):
            self.renderer.palette = self.brand.palette  # charts.py: the brand's colours first
        self.figures.attach(self.content_dir, self.problems)
        self.templates = template_environment(project, self.translations)
        self.framework: Framework = report_framework(self.data.meta)
        self.explanations = load_explanations(project.data_dir, self.problems)
        self.pages: dict[str, RenderedPage] = {}
        self.nav_order: list[str] = []
        self.index_page: str | None = None
        self.render_failed = False
        self.preview = preview  # live preview: untranslated pages fall back to the source edition
        self.untranslated: set[str] = set()
        self.static_files: dict[str, Path] = {}  # site path -> the file the engine copies there
        self.when_rendered: list[Callable[[], None]] = []  # see pages_rendered()

    # --- naming -----------------------------------------------------------------
    @property
    def content_dir(self) -> Path:
        return self.project.content_dir(self.edition.code)

    @property
    def pdf_name(self) -> str:
        stem = self.data.meta["report"].get("pdf_name") or f"esg-report-{self.data.year}"
        return f"{stem}-{self.edition.code}.pdf"

    @property
    def source_edition(self) -> str:
        return source_edition(list(self.data.meta["editions"]))

    @property
    def editions(self) -> list[str]:
        return list(self.data.meta["editions"])

    @property
    def build_timestamp(self) -> int:
        """The board approval date (UTC midnight) as a Unix time: the build's one date (reproducible output)."""
        approved = self.data.meta["report"]["approved"]
        # Not approved yet (a rolled-over draft): the period's end stands in, reproducibly.
        approved = dt.date.fromisoformat(self.data.meta["report"]["period_end"] if approved == "pending" else approved)
        return int(dt.datetime(approved.year, approved.month, approved.day, tzinfo=dt.timezone.utc).timestamp())

    def edition_links(self) -> list[dict]:
        """The language switcher's entries: each edition's root, relative to this edition's root."""
        return [{"name": EDITIONS[code].label, "lang": EDITIONS[code].html_lang, "link": f"../{code}/",
                 "current": code == self.edition.code} for code in self.editions]

    # --- events -----------------------------------------------------------------
    def render_chapter(self, path: Path) -> str:
        return self.renderer.render(read_chapter(path), path)

    def untranslated_notice(self) -> str:  # Markdown: the notice is part of the page source
        title = self.translations.gettext("Not yet translated")
        text = self.translations.gettext("This page has not been translated yet; the English text is shown. "
                                         "A build fails until the translation exists.")
        return f'!!! warning "{title}"\n    {text}\n\n'

    def typeset(self, page_html: str) -> str:
        """The edition's typesetting of a rendered page (Chinese punctuation squeezing)."""
        return squeeze_punctuation(page_html) if self.edition.squeeze_punctuation else page_html

    def collect_page(self, src: str, url: str, title: str, html: str, meta: dict) -> None:
        root = parse_fragment(html)  # parsed once for both the checks and the disclosure scan
        check_page_html(root, self.content_dir / src, self.problems)
        headings, locations = scan_page(root, src, url)
        locations = reported_locations(locations, self.data)
        if meta.get("print", True) is False:
            locations = []  # a web-only page (the home page) repeats figures; it is not a place of disclosure
        kpis = sorted({e.get("data-kpi") for e in root.iter() if isinstance(e.tag, str) and e.get("data-kpi")}) \
            if root is not None else []
        self.pages[src] = RenderedPage(src, url, title, html, dict(meta), headings, locations, kpis,
                                       self.content_dir / src)
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

    def resolve_figures(self) -> None:
        """Figure numbers, references and the list of figures, once every page is rendered (the
        print copies here; the engine adapter passes the web copies to ``figure_html``)."""
        self.figures.problems = self.problems
        self.figures.number(self.ordered_pages)
        for page in self.pages.values():
            page.html = self.figures.resolve(page, page.html)

    def pages_rendered(self) -> None:
        """Called by the engine adapter once every page is rendered and its figures and index are
        resolved, before the engine writes the theme's pages: what needs only the content (the
        PDF) may start now."""
        for listener in self.when_rendered:
            listener()

    def figure_html(self, src: str, web_html: str) -> str:
        return self.figures.resolve(self.pages[src], web_html) if src in self.pages else web_html

    def published_source(self, published: str) -> Path | None:
        """The source of a file the site publishes at ``published`` (a figure or a static file)."""
        return self.figures.source_of(published) or self.static_files.get(published)

    def print_brand(self) -> dict | None:
        """The brand for templates/print/document.html: colours, font stacks and the files as file URIs."""
        if not self.data.meta.get("brand"):
            return None
        files = self.brand.files(self.project.root / "content")
        return {"colours": self.brand.theme_values(PRINT_FALLBACK), "fonts": self.brand.font_stacks(PRINT_FALLBACK),
                **{key: path.resolve().as_uri() for key, path in files.items()}}

    def check_disclosures(self) -> None:
        check_codes(self.framework, self.locations, self.content_dir, self.data, self.problems)
        check_coverage(self.framework, self.locations, self.explanations, self.project.data_dir, self.problems,
                       self.data)

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


# Elements that make a browser load a resource (links to other sites are fine: a reader follows them).
_LOADS = {"img": "src", "script": "src", "iframe": "src", "video": "src", "audio": "src", "source": "src",
          "embed": "src", "object": "data", "link": "href"}


def check_page_html(root, source: Path, problems: Diagnostics) -> None:
    """Duplicate anchors, images without a text alternative and resources from other hosts,
    located in the chapter."""
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
        if element.tag == "img" and not (element.get("alt") or "").strip() and element.get("role") != "presentation":
            src = element.get("src", "")
            problems.error("content.image-alt", f"image '{src}' has no text alternative",
                             file=str(source), line=find_source_line(source, src.rsplit("/", 1)[-1]),
                             hint="write ![what the image shows](file.png), or use figure(..., decorative=True)")
        loaded = element.get(_LOADS[element.tag], "") if element.tag in _LOADS else ""
        if loaded.startswith(("http://", "https://", "//")):
            # The site must work offline and in mainland China: it loads nothing from other hosts.
            problems.error("content.remote", f"the page would load {loaded} from another host",
                           file=str(source), line=find_source_line(source, loaded),
                           hint="put a copy of the file in content/ and link that")
