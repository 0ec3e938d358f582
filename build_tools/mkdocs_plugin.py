"""The MkDocs adapter: each event is a guard and one call into ``build_tools``.

Enabled in ``mkdocs.yml`` as ``- esg-report``. The CLI injects an ``EditionContext``; a plain
``mkdocs build``/``serve`` gets one made here for the edition named in ``ESG_REPORT_EDITION``
(default: the first edition of ``data/report.yml``).
"""

from __future__ import annotations

import os
from pathlib import Path

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger
from mkdocs.structure.files import File

from .errors import ReportError
from .project import Project
from .typesetting import squeeze_punctuation
from .site import EDITION_ENV, PREVIEW_ENV, EditionContext, edition_links, quiet_jieba, traditional_jieba_dictionary

log = get_plugin_logger(__name__)


class ReportPluginConfig(base.Config):
    edition = c.Optional(c.Type(str))
    """Edition to build when not driven by the CLI (overridden by $ESG_REPORT_EDITION)."""


class ReportPlugin(BasePlugin[ReportPluginConfig]):
    context: EditionContext | None = None

    @event_priority(100)  # before Material's search plugin reads the theme language
    def on_config(self, config):
        if self.context is None:
            project = Project.at(Path(config.config_file_path).parent)
            edition = os.environ.get(EDITION_ENV) or self.config.edition or "en"
            try:
                self.context = EditionContext(project, edition)
                self.context.preview = os.environ.get(PREVIEW_ENV) == "1"
            except ReportError as exc:
                raise PluginError(str(exc)) from exc
            config.docs_dir = str(self.context.content_dir)
        ctx = self.context
        config.theme["language"] = ctx.edition.theme_language
        theme_dirs = [str(d / "theme") for d in ctx.project.template_dirs if (d / "theme").is_dir()]
        for directory in reversed(theme_dirs):
            if directory not in config.theme.dirs:
                config.theme.dirs.insert(0, directory)
        quiet_jieba()
        search = config.plugins.get("material/search")
        if search is not None and ctx.edition.code == "zh-Hant" and not search.config.get("jieba_dict"):
            dictionary = traditional_jieba_dictionary()
            if dictionary:
                search.config.jieba_dict = str(dictionary)
        editions = list(ctx.data.meta["editions"])
        # `alternate: true` makes Material include partials/alternate.html (our switcher, which
        # reads report.editions) but not its <link rel=alternate> tags: with those, its script
        # fetches each edition's sitemap.xml, which is empty without a site_url, and search breaks.
        config.extra["alternate"] = True
        config.extra["report"] = {
            "edition": ctx.edition.code,
            "editions": edition_links(ctx.edition.code, editions),
            "pdf": ctx.pdf_name,
            "company": ctx.data.meta["company"]["name"][ctx.edition.code],
            "title": ctx.data.meta["report"]["title"][ctx.edition.code],
            "downloads_label": ctx.translations.gettext("Download"),
            "pdf_label": ctx.translations.gettext("PDF edition"),
            "kpi_label": ctx.translations.gettext("KPI data (CSV)"),
            "index_label": ctx.translations.gettext("Content index (CSV)"),
        }
        config.site_name = ctx.data.meta["report"].get("short_title", ctx.data.meta["report"]["title"])[ctx.edition.code]
        return config

    def on_files(self, files, config):
        ctx = self.context
        if not ctx.preview or ctx.edition.code == "en":
            return files
        # Preview only: a page not yet translated is shown from the English source, with a notice.
        # A build treats the missing page as an error (the editions must have the same pages).
        source_dir = ctx.project.content_dir("en")
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
            return f"# {page.file.src_uri}\n"

    def on_page_content(self, html, page, config, files):
        if self.context.edition.code == "zh-Hant":  # web and print get the same squeezed punctuation
            html = squeeze_punctuation(html)
        self.context.collect_page(page.file.src_uri, page.url, page.title or "", html, page.meta)
        return html

    def on_env(self, env, config, files):
        ctx = self.context
        _title_sections(self.nav.items)
        if ctx.render_failed:  # the index of a half-rendered edition would only add noise
            return env
        ctx.check_disclosures()
        if ctx.index_page:
            for file in files.documentation_pages():
                if file.src_uri == ctx.index_page and file.page is not None:
                    file.page.content = ctx.web_index_html()
        return env


def _title_sections(items) -> None:
    """A nav section takes the title of its index page, so each edition's nav is in its language."""
    for item in items:
        if getattr(item, "is_section", False) and item.children:
            first = item.children[0]
            if getattr(first, "is_page", False) and first.title:
                item.title = first.title
            _title_sections(item.children)
