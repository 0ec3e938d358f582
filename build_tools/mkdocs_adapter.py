"""The MkDocs engine adapter: the one module that knows MkDocs and Material for MkDocs.

- ``build_site``/``serve`` run MkDocs for one edition (the interface of ``engine.py``);
- ``ReportPlugin`` (enabled in ``mkdocs.yml`` as ``- esg-report``) hands MkDocs' events to the
  engine-neutral ``EditionContext``: each event is a guard and one call;
- MkDocs' log messages become located diagnostics for the length of each build.

The CLI creates the ``EditionContext`` and hands it to the plugin; a plain ``mkdocs build`` or
``mkdocs serve`` gets one made here from the plugin's own options (``edition``, ``preview``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from pathlib import Path
from typing import Iterator

import jinja2
import mkdocs
from markupsafe import Markup, escape
from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import Abort, PluginError
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger
from mkdocs.structure.files import File

from . import html, webmeta
from .brand import FONT_STYLESHEET
from .disclosures import find_source_line
from .edition import EditionContext
from .engine import ADAPTERS, PLUGIN_NAME, plugin_entries
from .errors import Diagnostic, Diagnostics, ReportError, collect_logs
from .project import Project
from .search import quiet_jieba, segmenter_dictionary

log = get_plugin_logger(__name__)

#: The package behind the ``mkdocs`` names: "mkdocs", or "properdocs" (its maintained fork, the
#: same API) when ``properdocs_adapter`` has redirected every ``mkdocs.*`` import of this process
#: to it, Material's included. The engine logs under its package name; Material under "mkdocs".
ENGINE_PACKAGE = mkdocs.__name__
NOT_FOUND_PAGE = "404.html"
# Python-Markdown's permalinks ("¶" after each heading) exist on the web only. MkDocs finds them
# by this exact class (to keep them out of page titles), so the web keeps it and the copy of the
# page handed to the core gets the core's web-only class beside it.
PERMALINK = 'class="headerlink"'


# --- running MkDocs ------------------------------------------------------------------------

@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Environment variables MkDocs reads, set for one build and restored after it."""
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _build_environment(context: EditionContext):
    # SOURCE_DATE_EPOCH: MkDocs dates the sitemap (and its gzip header) from it, so the site is
    # reproducible; NO_MKDOCS_2_WARNING: Material's end-of-life banner on every build.
    return _environment(SOURCE_DATE_EPOCH=str(context.build_timestamp), NO_MKDOCS_2_WARNING="1")


def _mkdocs_message(content_dir: Path):
    def translate(record: logging.LogRecord) -> Diagnostic | None:
        message = record.getMessage()
        if "MkDocs 2.0" in message or "mkdocs-material" in message.lower() and "maintenance" in message.lower():
            return None
        match = re.match(r"Doc file '([^']+)' (.*)", message, re.S)
        if match:  # MkDocs' link and anchor validation: point at the chapter
            page = content_dir / match.group(1)
            target = re.search(r"'([^']+)'", match.group(2))
            line = find_source_line(page, target.group(1).split("#")[-1]) if target else None
            return Diagnostic("warning", "site.links", match.group(2).strip(), file=str(page), line=line,
                              hint="fix the link target or the anchor (heading ids are in `{ #id }`)")
        severity = "error" if record.levelno >= logging.ERROR else "warning"
        return Diagnostic(severity, "site." + record.name.split(".")[-1], message)
    return translate


def build_site(context: EditionContext, site_dir: Path, search: bool = True) -> None:
    """Run MkDocs for one edition into ``site_dir``; problems land in ``context.problems``."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    quiet_jieba()
    translate = _mkdocs_message(context.content_dir)
    with _build_environment(context), collect_logs(context.problems, "mkdocs", translate), \
            collect_logs(context.problems, ENGINE_PACKAGE, translate):
        config = load_config(str(context.project.config_file), docs_dir=str(context.content_dir), site_dir=str(site_dir))
        search_plugin = config.plugins.get("material/search")
        if not search and search_plugin is not None:  # `check` publishes nothing; the index is half of MkDocs' time
            search_plugin.config.enabled = False
        plugin = config.plugins.get(PLUGIN_NAME)
        if plugin is None:
            raise ReportError(Diagnostic("error", "config.plugin", "mkdocs.yml does not enable the report plugin",
                                         file=str(context.project.config_file),
                                         hint=f"add `- {PLUGIN_NAME}` under `plugins:`"))
        plugin.context = context
        try:
            build(config)
        except PluginError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ReportError):
                raise cause from None
            raise
        except Abort as exc:
            context.problems.error("site.abort", str(exc))
    if not config.site_url:  # with a site_url, MkDocs writes the 404 page's links from the edition's root
        _edition_not_found_page(site_dir, context.edition.code)


def _edition_not_found_page(site_dir: Path, edition: str) -> None:
    """MkDocs writes 404.html with links from the site root (it is served for any missing URL);
    the editions live under /<edition>/, so point them there."""
    page = site_dir / NOT_FOUND_PAGE
    if page.exists():
        text = re.sub(r'(href|src)="/(?!/)', rf'\1="/{edition}/', page.read_text("utf-8"))
        page.write_text(text, "utf-8")


def serve(project: Project, edition: str, dev_addr: str) -> None:
    """MkDocs' live preview of one edition: the settings go to the plugin as its options."""
    from mkdocs.commands.serve import serve as mkdocs_serve

    with _environment(NO_MKDOCS_2_WARNING="1"):
        mkdocs_serve(str(project.config_file), dev_addr=dev_addr, livereload=True, watch=[str(project.data_dir)],
                     docs_dir=str(project.content_dir(edition)),
                     plugins=plugins_with_options(project, {"edition": edition, "preview": True}))


def plugins_with_options(project: Project, options: dict) -> dict[str, dict]:
    """mkdocs.yml's plugins with options added to the report plugin's entry.

    A mapping, not MkDocs' list form: MkDocs empties each ``{name: options}`` item of a list as it
    reads it (``popitem``), and ``serve`` reads the same value again on every rebuild, which then
    failed ("Invalid Plugins configuration") and the preview stopped refreshing.
    """
    plugins = {}
    for entry in plugin_entries(project):
        name = entry if isinstance(entry, str) else next(iter(entry))
        settings = {} if isinstance(entry, str) else dict(entry[name] or {})
        if name == PLUGIN_NAME:
            settings.update(options)
        plugins[name] = settings
    return plugins


# --- the plugin -----------------------------------------------------------------------------

class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates kept in memory for the life of the process, keyed (by Jinja) by
    template name and source checksum, so an edited template is compiled again."""

    def __init__(self):
        self._store: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self._store:
            bucket.bytecode_from_string(self._store[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self._store[bucket.key] = bucket.bytecode_to_string()


_THEME_BYTECODE = _MemoryBytecodeCache()


class ReportPluginConfig(base.Config):
    engine = c.Choice(tuple(ADAPTERS), default="mkdocs")
    """The site engine ``esg-report build`` runs (read by ``engine.py``, before any engine is loaded)."""
    edition = c.Optional(c.Type(str))
    """Edition to build when not driven by the CLI (default: the report's first edition)."""
    preview = c.Type(bool, default=False)
    """Live preview: untranslated pages are shown from the source edition, errors on the page."""


def _text(value: str) -> Markup:
    # Material prints config.site_name and config.extra values unescaped in places: they go
    # to the theme as Markup, escaped once here (and left alone where the theme escapes).
    return escape(value)


class ReportPlugin(BasePlugin[ReportPluginConfig]):
    context: EditionContext | None = None
    _own_context = False  # made here (plain `mkdocs build`/`serve`): problems are logged, not returned

    @event_priority(100)  # before Material's search plugin reads the theme language
    def on_config(self, config):
        if self.context is None:
            project = Project.at(Path(config.config_file_path).parent)
            try:
                self.context = EditionContext(project, self.config.edition or _first_edition(project),
                                              preview=self.config.preview)
            except ReportError as exc:
                raise PluginError(str(exc)) from exc
            self._own_context = True
            config.docs_dir = str(self.context.content_dir)
        ctx = self.context
        config.theme["language"] = ctx.edition.theme_language
        theme_dirs = [str(d / "theme") for d in ctx.project.template_dirs if (d / "theme").is_dir()]
        for directory in reversed(theme_dirs):
            if directory not in config.theme.dirs:
                config.theme.dirs.insert(0, directory)
        _set_heading_ids(config)
        quiet_jieba()
        search = config.plugins.get("material/search")
        if search is not None and ctx.preview:
            # The live preview rebuilds on every save: without the search index (a third of the
            # edition's build) a saved chapter is on screen within a second. Search needs `build`.
            search.config.enabled = False
        if search is not None and not search.config.get("jieba_dict"):
            dictionary = segmenter_dictionary(ctx.edition.search_dictionary)
            if dictionary:
                search.config.jieba_dict = str(dictionary)
        meta, code, _ = ctx.data.meta, ctx.edition.code, ctx.translations.gettext
        # `alternate: true` makes Material include partials/alternate.html (our switcher, which
        # reads report.editions) but not its <link rel=alternate> tags: with those, its script
        # fetches each edition's sitemap.xml, which is empty without a site_url, and search breaks.
        config.extra["alternate"] = True
        config.extra["report"] = {
            "edition": code,
            "editions": [dict(link, name=_text(link["name"])) for link in ctx.edition_links()],
            "pdf": _text(ctx.pdf_name),
            "company": _text(meta["company"]["name"][code]),
            "title": _text(meta["report"]["title"][code]),
            "downloads_label": _text(_("Download")),
            "pdf_label": _text(_("PDF edition")),
            "kpi_label": _text(_("KPI data (CSV)")),
            "index_label": _text(_("Content index (CSV)")),
        }
        if meta.get("brand"):  # brand.py: the theme's colours (main.html) and logo
            config.extra["report"]["brand"] = ctx.brand.theme_values()
            config.extra["report"]["brand_fonts"] = FONT_STYLESHEET if ctx.brand.fonts else ""
            if ctx.brand.logo:
                config.theme["logo"] = ctx.brand.published_name("logo")
        config.site_name = _text(meta["report"].get("short_title", meta["report"]["title"])[code])
        # --- web publication (webmeta.py): the edition's own address, so that MkDocs' canonical
        # URLs and its sitemap carry /<edition>/; the earlier years on the home page.
        site_url = webmeta.site_root(meta)
        if site_url and not ctx.preview:  # `serve` would mount the preview at the site_url's path
            config.site_url = webmeta.edition_root(site_url, code)
        elif config.site_url and not ctx.preview:
            ctx.problems.warning("config.site-url", "site_url in mkdocs.yml gives every page a canonical URL without "
                                 "its edition, and no sitemap of the editions", file=str(ctx.project.config_file),
                                 hint="move it to data/report.yml, under report: (site_url: https://...)")
        config.extra["report"]["archive"] = html.render(
            "archive-list.html", label=_("Earlier reports"), website_label=_("Website"), prefix="../",
            entries=webmeta.archive_entries(meta, code)) if meta.get("archive") else ""
        return config

    def on_page_context(self, context, page, config, nav):
        ctx, meta = self.context, self.context.data.meta
        summary = webmeta.description(page.meta, page.content or "")
        # Material prints page.meta.description unescaped: escaped once here (and used for the
        # <meta name="description"> it writes, so there is one).
        page.meta["description"] = _text(summary)
        context["report_head"] = webmeta.PageHead(
            edition=ctx.edition.code, editions=ctx.editions, page_url=page.url,
            site_url=webmeta.site_root(meta) if config.site_url else None,
            # MkDocs' page title is the heading's HTML (the theme prints it through striptags)
            title=Markup(page.title or "").striptags(), site_name=meta["report"]["title"][ctx.edition.code],
            description=summary).render()
        return context

    def on_files(self, files, config):
        ctx = self.context
        ctx.static_files = {f.dest_uri: Path(f.abs_src_path) for f in files
                            if not f.is_documentation_page() and f.abs_src_path}
        if not ctx.preview or ctx.edition.code == ctx.source_edition:
            return files
        # Preview only: a page not yet translated is shown from the source edition, with a notice.
        # A build treats the missing page as an error (the editions must have the same pages).
        source_dir = ctx.project.content_dir(ctx.source_edition)
        present = {f.src_uri for f in files.documentation_pages()}
        for path in sorted(source_dir.rglob("*.md")):
            src_uri = path.relative_to(source_dir).as_posix()
            if src_uri not in present:
                files.append(File.generated(config, src_uri, abs_src_path=str(path)))
                ctx.untranslated.add(src_uri)
        return files

    def on_nav(self, nav, config, files):
        self.nav = nav
        self.context.nav_order = [page.file.src_uri for page in nav.pages]

    def on_page_read_source(self, page, config):
        try:
            source = self.context.render_chapter(Path(page.file.abs_src_path))
            if page.file.src_uri in self.context.untranslated:
                source = self.context.untranslated_notice() + source
            return source
        except ReportError as exc:
            # Collected, not raised: every broken chapter is reported in one run, and the
            # pipeline will not publish a build that has errors.
            self.context.problems.extend(exc.diagnostics)
            self.context.render_failed = True
            if self.context.preview:  # the writer looks at the page: show why (the terminal: on_post_build)
                return html.render("preview-error.html", title=page.file.src_uri,
                                   problems=[d.format(self.context.project.root) for d in exc.diagnostics.items])
            return f"# {page.file.src_uri}\n"

    def on_page_content(self, html_text, page, config, files):
        html_text = self.context.typeset(html_text)  # the web and the print get the same typesetting
        core_copy = html_text.replace(PERMALINK, f'class="headerlink {html.WEB_ONLY}"')
        self.context.collect_page(page.file.src_uri, page.url, page.title or "", core_copy, page.meta)
        return html_text

    def on_env(self, env, config, files):
        # MkDocs makes a new theme environment for every build; in `serve` the compiled theme
        # templates are kept between rebuilds (a third of a rebuild was compiling them again).
        env.bytecode_cache = _THEME_BYTECODE
        ctx = self.context
        _title_sections(self.nav.items)
        if ctx.render_failed:  # the index of a half-rendered edition would only add noise
            return env
        ctx.check_disclosures()
        ctx.resolve_figures()
        for file in files.documentation_pages():
            if file.page is not None and file.page.content:
                file.page.content = ctx.figure_html(file.src_uri, file.page.content)
        if ctx.index_page:
            for file in files.documentation_pages():
                if file.src_uri == ctx.index_page and file.page is not None:
                    file.page.content = ctx.web_index_html()
        ctx.pages_rendered()
        return env

    def on_post_build(self, config):
        self.context.figures.write_assets(Path(config.site_dir))
        self.context.brand.write_assets(self.context.project.root / "content", Path(config.site_dir),
                                        preview=self.context.preview)
        if self._own_context:  # no CLI to report them: MkDocs prints them (and --strict counts them)
            _log_problems(self.context.problems, self.context.project.root)
            self.context.problems = Diagnostics()


def _set_heading_ids(config) -> None:
    """Heading ids keep CJK letters, lower case (``pymdownx.slugs``): set here so that mkdocs.yml
    needs no ``!!python/...`` tag, which MkDocs' loader would execute."""
    from pymdownx.slugs import slugify

    toc = config.mdx_configs.setdefault("toc", {})
    toc.setdefault("slugify", slugify(case="lower"))


def _log_problems(problems: Diagnostics, root: Path) -> None:
    for item in problems.items:
        (log.error if item.severity == "error" else log.warning)(item.format(root))


def _first_edition(project: Project) -> str:
    from .data import load_report_data

    return list(load_report_data(project.data_dir).meta["editions"])[0]


def _title_sections(items) -> None:
    """A nav section takes the title of its index page, so each edition's nav is in its language."""
    for item in items:
        if getattr(item, "is_section", False) and item.children:
            first = item.children[0]
            if getattr(first, "is_page", False) and first.title:
                item.title = first.title
            _title_sections(item.children)
