"""The whole build, one visible pipeline.

load data -> for each edition (in parallel processes): MkDocs site, disclosure check,
print HTML, PDF, downloads -> compare editions -> swap the staging directory into ``site/``.
Nothing is written into ``site/`` until every step has succeeded.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import html, publish, webmeta
from .cache import BuildCache, diagnostics_from_json, diagnostics_to_json
from .checks import check_sources
from .data import ReportData, load_report_data
from .disclosures import canonical_number, export_csv, export_json
from .errors import Diagnostic, Diagnostics, ReportError
from .fileio import csv_text
from .i18n import EDITIONS, load_translations
from .manifest import check_approval, write_manifest
from .printing import PrintProcess, assemble, render_pdf
from .edition import EditionContext
from .engine import engine_for
from .project import Project
from .trace import check_every_kpi_shown, write_kpi_locations

log = logging.getLogger("build_tools.pipeline")


@dataclass
class EditionResult:
    edition: str
    problems: Diagnostics
    pages: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)  # the pages' URLs relative to the edition root, same order
    headings: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # page -> [(number, anchor)]
    disclosures: dict[str, list[str]] = field(default_factory=dict)  # page#anchor -> codes
    kpis: dict[str, list[str]] = field(default_factory=dict)  # page -> KPI ids shown on it
    pdf: str | None = None
    fonts: list[dict] = field(default_factory=list)  # font files in the PDF, for the manifest


def build_edition(project: Project, edition: str, out_dir: Path, pdf: bool = True, data: ReportData | None = None,
                  search: bool = True, print_process: bool = False, meanwhile: "Once | None" = None) -> EditionResult:
    """Site (and PDF) of one edition into ``out_dir``. Runs in a worker process.

    ``data`` is the report data the parent loaded (loaded again when not given); ``search=False``
    skips the search index, which only a published site needs. With ``print_process`` the PDF is
    rendered in a process of its own while this one writes the website (``PrintProcess``), and
    ``meanwhile`` runs once the website is built, before the PDF is waited for.
    """
    printer = PrintProcess() if pdf and print_process else None
    meanwhile = meanwhile or Once(lambda: None)
    try:
        result = _build_edition(project, edition, out_dir, pdf, data, search, printer, meanwhile)
        meanwhile()  # when the edition stopped before its website was built
        return result
    finally:
        if printer is not None:
            printer.close()


def _build_edition(project: Project, edition: str, out_dir: Path, pdf: bool, data: ReportData | None,
                   search: bool, printer: PrintProcess | None, meanwhile: "Once") -> EditionResult:
    context = EditionContext(project, edition, data)
    result = EditionResult(edition, context.problems)
    target = out_dir / context.pdf_name

    def print_sources() -> list[Path]:  # the chapters, to locate WeasyPrint's warnings
        return [p.source for p in context.ordered_pages if p.in_print and p.source]

    def start_printing() -> None:
        if printer is None or context.render_failed or context.problems.errors:
            return
        try:
            printer.submit(assemble(context, out_dir), out_dir, target, print_sources(), context.project.root)
            log.info("%s: rendering the PDF in its own process ...", edition)
        except ReportError as exc:  # reported with the edition's other problems; no PDF is made
            context.problems.extend(exc.diagnostics)

    context.when_rendered.append(start_printing)
    started = time.perf_counter()
    try:
        engine_for(project).build_site(context, out_dir, search=search)
        log.info("%s: website built (%d pages, %.1f s)", edition, len(context.pages), time.perf_counter() - started)
    except ReportError as exc:
        context.problems.extend(exc.diagnostics)
        return result
    if context.render_failed:
        return result  # no pages: nothing to compare with the other edition
    pages = context.ordered_pages
    result.pages = [p.src for p in pages]
    result.urls = [p.url for p in pages]
    result.headings = {p.src: [(canonical_number(h.number), h.anchor) for h in p.headings] for p in pages}
    result.kpis = {p.src: p.kpis for p in pages}
    for loc in context.locations:
        result.disclosures.setdefault(f"{loc.page_src}#{loc.anchor}", []).append(loc.code)
    if context.problems.errors:
        return result
    write_downloads(context, out_dir)
    meta = context.data.meta  # the link previews' image (webmeta.py)
    try:
        webmeta.write_preview_image(out_dir / webmeta.PREVIEW_IMAGE, meta["report"]["title"][edition],
                                    meta["company"]["name"][edition], context.data.year,
                                    webmeta.report_colours(project.template_dirs))
    except ReportError as exc:
        context.problems.extend(exc.diagnostics)
        return result
    printed = None
    meanwhile()
    if pdf:
        started = time.perf_counter()
        try:
            if printer is not None and printer.submitted:
                started = printer.submitted
                printed = printer.result(context.problems)
            else:
                log.info("%s: rendering the PDF ...", edition)
                printed = render_pdf(assemble(context, out_dir), out_dir, target, context.problems, print_sources(),
                                     report_root=context.project.root)
            log.info("%s: PDF written (%.1f s, %d kB)", edition, time.perf_counter() - started, target.stat().st_size // 1024)
        except ReportError as exc:
            context.problems.extend(exc.diagnostics)
            return result
        result.pdf = str(target)
    # review and assurance: where each KPI is shown (trace.py); fonts for the manifest (manifest.py)
    write_kpi_locations(context, out_dir, printed.anchor_pages if printed else None)
    result.fonts = printed.fonts if printed else []
    return result


def write_downloads(context: EditionContext, out_dir: Path) -> None:
    downloads = out_dir / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    groups = context.index_groups()
    edition = context.edition.code
    (downloads / "content-index.json").write_text(export_json(context.framework, groups, edition), "utf-8")
    (downloads / "content-index.csv").write_text(export_csv(context.framework, groups, edition), "utf-8")
    rows = kpi_rows(context)
    (downloads / "kpis.json").write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n", "utf-8")
    (downloads / "kpis.csv").write_text(csv_text(list(rows[0]) if rows else ["kpi"], rows), "utf-8")


def kpi_rows(context: EditionContext) -> list[dict]:
    edition = context.edition.code
    rows = []
    for kpi in context.data.kpis.values():
        for year, value in sorted(kpi.values.items()):
            rows.append({
                "kpi": kpi.id, "name": kpi.name[edition], "year": year,
                "value": "" if value.amount is None else str(value.amount),
                "unit": kpi.unit, "status": value.status, "codes": " ".join(kpi.disclose),
                "note": context.formatter.remark(value, year) or "",
            })
    return rows


def compare_editions(results: list[EditionResult], problems: Diagnostics, project: Project) -> None:
    """Both editions must have the same pages, numbering and disclosures in corresponding sections."""
    if len(results) < 2:
        return
    base, *others = results
    for other in others:
        if base.pages != other.pages:
            problems.error("editions.pages", f"the editions have different pages: {base.edition} {base.pages} vs "
                           f"{other.edition} {other.pages}", hint="both content/ folders need the same files in the same nav order")
            continue
        for page in base.pages:
            a, b = base.headings.get(page, []), other.headings.get(page, [])
            if [n for n, _ in a] != [n for n, _ in b]:
                problems.error("editions.numbering", f"section numbers differ between editions in {page}: "
                               f"{[n for n, _ in a]} vs {[n for n, _ in b]}",
                               file=str(project.content_dir(other.edition) / page),
                               hint="translate every heading and keep its number")
        for page in base.pages:
            a, b = set(base.kpis.get(page, [])), set(other.kpis.get(page, []))
            if a != b:
                problems.warning("editions.kpis", f"the editions show different KPIs on {page}: only in {base.edition}: "
                                 f"{sorted(a - b) or 'none'}; only in {other.edition}: {sorted(b - a) or 'none'}",
                                 file=str(project.content_dir(other.edition) / page),
                                 hint="use the same kpi() calls in both editions")
        if base.disclosures != other.disclosures:
            keys = sorted(set(base.disclosures) | set(other.disclosures))
            diffs = [f"{k}: {base.edition}={base.disclosures.get(k, [])} {other.edition}={other.disclosures.get(k, [])}"
                     for k in keys if base.disclosures.get(k) != other.disclosures.get(k)]
            problems.error("editions.disclosures", "the editions disclose different provisions in corresponding sections: "
                           + "; ".join(diffs), hint="tag the same headings with the same codes in both editions, and keep heading ids identical")


class Once:
    """A step run at most once, at the first call."""

    def __init__(self, step):
        self._step = step

    def __call__(self) -> None:
        step, self._step = self._step, None
        if step is not None:
            step()


def _run(project: Project, editions: list[str], staging: Path, pdf: bool, jobs: int, data: ReportData,
         search: bool, meanwhile: Once) -> list[EditionResult]:
    """Build ``editions``; ``meanwhile`` runs in this process while they build."""
    if jobs > 1 and len(editions) > 1:
        with ProcessPoolExecutor(max_workers=min(jobs, len(editions)), initializer=publish.die_with_parent,
                                 initargs=(os.getpid(),)) as pool:
            futures = [pool.submit(build_edition, project, e, staging / e, pdf, data, search,
                                   print_process=True) for e in editions]
            if len(editions) >= jobs:  # every core is busy until the first edition is done
                wait(futures, return_when=FIRST_COMPLETED)
            meanwhile()
            return [f.result() for f in futures]
    # One edition at a time; with a second process allowed, the PDF renders while the website
    # is written and ``meanwhile`` runs.
    results = [build_edition(project, e, staging / e, pdf, data, search, print_process=jobs > 1, meanwhile=meanwhile)
               for e in editions]
    meanwhile()  # no edition to build (all reused from the cache)
    return results


def build_report(project: Project, editions: list[str] | None = None, pdf: bool = True, jobs: int | None = None,
                 output: Path | None = None, search: bool = True, cache: bool = False,
                 clean: bool = False) -> tuple[list[EditionResult], Diagnostics]:
    """Build into a staging directory; replace ``output`` (default ``site/``) only if nothing failed.

    With ``cache`` (``esg-report build``), what the last successful build made is reused where
    its inputs are unchanged (``cache.py``): nothing is published when nothing changed, and an
    edition whose inputs are unchanged is copied from the cache; ``clean`` ignores the cache.
    """
    publish.check_report(project)  # a report folder, no Python tags in mkdocs.yml, no links out of it
    data = load_report_data(project.data_dir)  # fails fast, before any process starts
    all_editions = list(data.meta["editions"])
    unknown = [e for e in editions or [] if e not in all_editions]
    if unknown:
        raise ReportError(Diagnostic("error", "config.edition", f"the report has no {', '.join(unknown)} edition",
                                     file=str(project.data_dir / "report.yml"), line=data.meta.line_of("editions"),
                                     hint=f"its editions are {', '.join(all_editions)} (`editions:` in data/report.yml)"))
    editions = editions or all_editions
    jobs = jobs or min(2, os.cpu_count() or 1)
    output = output or project.site_dir
    publication = publish.Publication(project, output)  # refuses what is not ours to replace
    build_cache = None
    if cache:
        build_cache = BuildCache(project, output, data.meta, editions, {"pdf": pdf, "search": search}, read=not clean)
        previous = build_cache.unchanged()
        if previous is not None:
            log.info("nothing changed since the last build: %s is current", output)
            # git's state is not in the cache key: the approval is checked again, never replayed
            problems = Diagnostics()
            for item in previous[1].items:
                if not item.code.startswith("approval."):
                    problems.add(item)
            check_approval(project, data.meta, problems)
            return [_result_from_json(r) for r in previous[0]], problems
    staging = publication.open()  # takes the build lock
    problems = Diagnostics()
    problems.extend(data.warnings)
    source_problems = Diagnostics()  # the checks of the chapter files run while the editions build
    try:
        reused = {e: r for e in editions if build_cache and (r := build_cache.reusable(e)) is not None}
        built = _run(project, [e for e in editions if e not in reused], staging, pdf, jobs, data, search,
                     Once(lambda: check_sources(project, data, source_problems, editions)))
        problems.extend(source_problems)
        for edition, result in reused.items():
            build_cache.restore(edition, staging)
            log.info("%s: inputs unchanged, reused from the last build", edition)
        by_edition = {r.edition: r for r in built} | {e: _result_from_json(r, staging) for e, r in reused.items()}
        results = [by_edition[e] for e in editions]
        for result in results:
            problems.extend(result.problems)
        compare_editions([r for r in results if r.pages], problems, project)
        check_every_kpi_shown(data, {r.edition: {k for ids in r.kpis.values() for k in ids} for r in results if r.pages}, problems)
        if problems.errors:
            return results, problems
        for code in all_editions:  # keep the last good build of editions not rebuilt now
            if code not in editions and (output / code).is_dir():
                shutil.copytree(output / code, staging / code)
        if not pdf:  # a quick site-only build keeps the last PDFs, so the download links still work
            for previous in output.glob("*/*.pdf"):
                if (staging / previous.parent.name).is_dir() and not (staging / previous.parent.name / previous.name).exists():
                    shutil.copy2(previous, staging / previous.parent.name / previous.name)
                    log.info("%s: PDF not rebuilt, kept from the previous build", previous.parent.name)
        write_root_files(project, staging, all_editions, data, next((r.urls for r in results if r.pages), []), problems)
        if problems.errors:
            return results, problems
        write_manifest(project, data.meta, staging, [r for r in results if r.pages])
        build_cache = _keep(build_cache, lambda: build_cache.store(staging, [_result_to_json(r) for r in results], problems))
        publication.publish()
        for result in results:
            if result.pdf:
                result.pdf = str(output / result.edition / Path(result.pdf).name)
        _keep(build_cache, lambda: build_cache.published([_result_to_json(r) for r in results]))
        return results, problems
    except OSError as exc:  # full disk, read-only folder: located, and the previous site stays
        raise publish.write_error(exc, output) from exc
    finally:
        publication.close()


def _keep(build_cache: BuildCache | None, step) -> BuildCache | None:
    """A cache that cannot be written is dropped (the next build is a full one), never an error."""
    if build_cache is None:
        return None
    try:
        step()
        return build_cache
    except OSError as exc:
        log.info("the build cache was not kept: %s", str(exc)[:300])
        build_cache.drop()
        return None


def _result_to_json(result: EditionResult) -> dict:
    return {**asdict(result), "problems": diagnostics_to_json(result.problems)}


def _result_from_json(data: dict, staging: Path | None = None) -> EditionResult:
    result = EditionResult(**{**data, "problems": diagnostics_from_json(data["problems"])})
    result.headings = {page: [tuple(h) for h in headings] for page, headings in result.headings.items()}
    if staging is not None and result.pdf:  # where the restored edition's PDF is now
        result.pdf = str(staging / result.edition / Path(result.pdf).name)
    return result




# --- the site root: language chooser, 404, sitemap, robots.txt, earlier years -----------------

def write_root_files(project: Project, staging: Path, editions: list[str], data: ReportData, page_urls: list[str],
                     problems: Diagnostics) -> None:
    """Everything at the root of the site besides the editions' folders, written from the report's
    data and the editions' page URLs (editions share page paths)."""
    meta = data.meta
    _ = load_translations(project.translation_dirs, EDITIONS[editions[0]]).gettext  # the root page's language
    archive = html.render("archive-list.html", label=_("Earlier reports"), website_label=_("Website"), prefix="",
                          entries=webmeta.archive_entries(meta, editions[0])) if meta.get("archive") else ""
    write_root_page(staging, editions, meta, archive, webmeta.root_alternates(webmeta.site_root(meta), editions))
    not_found = engine_for(project).NOT_FOUND_PAGE
    if (staging / editions[0] / not_found).exists():  # the server's 404 page: the first edition's
        shutil.copy2(staging / editions[0] / not_found, staging / not_found)
    webmeta.copy_archive(meta, project.root, staging, problems, project.data_dir / "report.yml",
                         line_of=meta["archive"].line_of if meta.get("archive") else None)
    site_url = webmeta.site_root(meta)
    if site_url:
        present = [code for code in editions if (staging / code).is_dir()]
        webmeta.write_sitemap(staging, site_url, present, page_urls)
        webmeta.write_robots(staging, site_url)


def write_root_page(staging: Path, editions: list[str], meta: dict, archive: str = "",
                    alternates: list[dict] | None = None) -> None:
    """site/index.html: a language chooser that sends readers to their edition."""
    choices = [{"code": code, "lang": EDITIONS[code].html_lang, "label": EDITIONS[code].label,
                "title": meta["report"]["title"][code], "company": meta["company"]["name"][code]} for code in editions]
    (staging / "index.html").write_text(html.render("root-index.html", editions=choices, archive=archive,
                                                    alternates=alternates or []) + "\n", "utf-8")
