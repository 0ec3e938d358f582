"""Our build against the bare engines (MkDocs + Material, WeasyPrint) on the same inputs:
overhead (figure 1), editions in parallel (2), the PDF step (4). See benchmarks/README.md."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from harness import (BIN, MB, TARGETS, Contention, StepFailed, _pct, median, pdf_pages,
                     progress, run_measured, summarize)


# --- worker modes (run in a process of their own: python run.py --worker prepare|pdf ...) ------

def worker_prepare(project_dir: str, edition: str, out_dir: str, result_file: str) -> None:
    """One edition: site as our build makes it, then the bare engines' inputs from it.

    Writes ``docs/`` (chapters rendered by the ChapterRenderer, Markdown), ``mkdocs.yml`` (the
    project's configuration without the report plugin), ``print.html`` (printing.assemble) and
    the site itself under ``site/`` (the print HTML refers to its images).
    """
    import mkdocs.commands.build as mkdocs_build
    import resource

    from build_tools.printing import assemble
    from build_tools.project import Project
    from build_tools.edition import EditionContext
    from build_tools.mkdocs_adapter import build_site

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    project = Project.at(project_dir)
    timings = {}

    captured = {}
    original_build = mkdocs_build.build

    def capture(config, *args, **kwargs):  # the configuration after our plugin's on_config
        captured["config"] = config
        return original_build(config, *args, **kwargs)

    mkdocs_build.build = capture
    started = time.perf_counter()
    context = EditionContext(project, edition)
    timings["context_s"] = time.perf_counter() - started
    started = time.perf_counter()
    build_site(context, out / "site")
    timings["site_s"] = time.perf_counter() - started
    mkdocs_build.build = original_build
    errors = [str(d.format(project.root)) if hasattr(d, "format") else str(d) for d in context.problems.errors]
    started = time.perf_counter()
    print_html = assemble(context, out / "site")
    timings["assemble_s"] = time.perf_counter() - started
    (out / "print.html").write_text(print_html, "utf-8")

    # --- the bare MkDocs input: every chapter rendered once, outside any timing ------------
    docs = out / "docs"
    shutil.rmtree(docs, ignore_errors=True)
    content = context.content_dir
    index_html = _web_index_fragment(context)
    started = time.perf_counter()
    for path in sorted(content.rglob("*")):
        target = docs / path.relative_to(content)
        if path.is_dir():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".md":
            text = context.render_chapter(path)
            if index_html is not None:
                from build_tools.macros import INDEX_PLACEHOLDER
                text = text.replace(INDEX_PLACEHOLDER, index_html)
            target.write_text(text, "utf-8")
        else:
            shutil.copy2(path, target)
    timings["render_markdown_s"] = time.perf_counter() - started
    notes = _write_plain_config(project, context, captured.get("config"), out)

    pages = len(context.pages)
    json.dump({"edition": edition, "timings": timings, "pages": pages, "errors": errors,
               "pdf_name": context.pdf_name, "index_inlined": index_html is not None, "notes": notes,
               "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024},
              open(result_file, "w"), indent=2)


def _web_index_fragment(context) -> str | None:
    """The content index as the web page shows it, so the bare site has the same table."""
    try:
        from build_tools.macros import INDEX_PLACEHOLDER

        page = context.pages[context.index_page]
        before, after = page.html.split(INDEX_PLACEHOLDER, 1)
        full = context.web_index_html()
        fragment = full[len(before): len(full) - len(after)]
        return "\n".join(line for line in fragment.splitlines() if line.strip())  # one raw HTML block
    except Exception:  # noqa: BLE001 - the index is a nicety of the baseline, not required
        return None


def _write_plain_config(project, context, config, out: Path) -> list[str]:
    """``mkdocs.yml`` for the bare engine: INHERIT the project's, minus the report plugin.

    Same theme, features, palette, Markdown extensions and nav (inherited). What our plugin
    sets at build time (theme language, the theme override directory, ``extra.report``, the
    Traditional jieba dictionary of search, site name) is copied from the configuration our
    build actually used, so both builds render the same templates.
    """
    import yaml
    from mkdocs.utils.yaml import yaml_load

    notes = []
    with open(project.config_file, encoding="utf-8") as handle:
        parent = yaml_load(handle)
    plugins = []
    for entry in parent.get("plugins") or []:
        name = entry if isinstance(entry, str) else next(iter(entry))
        if name in ("esg-report",):
            continue
        plugins.append(entry if isinstance(entry, str) else {name: dict(entry[name] or {})})
    child = {"INHERIT": str(project.config_file), "docs_dir": str(out / "docs"), "site_dir": str(out / "bare-site"),
             "theme": {"language": context.edition.theme_language}}
    if config is not None:
        child["site_name"] = str(config.site_name)
        dirs = [d for d in config.theme.dirs if "site-packages" not in d and "dist-packages" not in d]
        if dirs:
            child["theme"]["custom_dir"] = dirs[0]
            if len(dirs) > 1:
                notes.append(f"theme override dirs {dirs}: the bare build uses only the first")
        child["theme"]["language"] = config.theme["language"]
        child["extra"] = json.loads(json.dumps(dict(config.extra), default=str, ensure_ascii=False))
        search = config.plugins.get("material/search")
        jieba = search.config.get("jieba_dict") if search is not None else None
        if jieba:
            for i, entry in enumerate(plugins):
                name = entry if isinstance(entry, str) else next(iter(entry))
                if name in ("search", "material/search"):
                    options = {} if isinstance(entry, str) else entry[name]
                    options["jieba_dict"] = jieba
                    plugins[i] = {name: options}
    else:
        notes.append("could not capture the build's MkDocs configuration: bare build without theme overrides")
    child["plugins"] = plugins
    (out / "mkdocs.yml").write_text(yaml.safe_dump(child, allow_unicode=True, sort_keys=False), "utf-8")
    return notes


def worker_pdf(print_html: str, base_url: str, target: str, report_root: str, result_file: str) -> None:
    """The PDF step alone: printing.render_pdf (our WeasyPrint call and options) on a print HTML."""
    import resource

    from build_tools.printing import render_pdf

    html = Path(print_html).read_text("utf-8")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    render_pdf(html, Path(base_url), Path(target), report_root=Path(report_root))  # the report's own files may be embedded
    seconds = time.perf_counter() - started
    json.dump({"render_s": seconds, "rss_before_mb": before,
               "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "pages": pdf_pages(Path(target)), "size_bytes": Path(target).stat().st_size},
              open(result_file, "w"), indent=2)


def weasyprint_flags(options: dict) -> tuple[list[str], list[str]]:
    """The ``weasyprint`` command-line flags equivalent to printing.PDF_OPTIONS."""
    booleans = {"full_fonts": "--full-fonts", "optimize_images": "--optimize-images", "hinting": "--hinting",
                "uncompressed_pdf": "--uncompressed-pdf", "pdf_forms": "--pdf-forms", "pdf_tags": "--pdf-tags",
                "presentational_hints": "--presentational-hints", "custom_metadata": "--custom-metadata"}
    values = {"pdf_variant": "--pdf-variant", "pdf_version": "--pdf-version", "dpi": "--dpi",
              "jpeg_quality": "--jpeg-quality", "pdf_identifier": "--pdf-identifier"}
    flags, unmapped = [], []
    for key, value in options.items():
        if key in booleans:
            if value:
                flags.append(booleans[key])
        elif key in values:
            if value is not None:
                flags += [values[key], str(value)]
        else:
            unmapped.append(key)
    return flags, unmapped


# --- the scenarios ---------------------------------------------------------------------

def prepare(bench, project: Path, name: str) -> dict:
    prepared = {}
    for edition in bench.editions:
        out = bench.work / name / edition
        progress(f"{name}: rendering {edition} (site, print HTML, Markdown for the bare engines)")
        run, info = bench.worker("prepare", project, edition, out, label=f"prepare {name} {edition}")
        if info["errors"]:
            raise StepFailed(f"{name} {edition} does not build cleanly: {info['errors'][:5]}")
        info.update(dir=str(out), project=str(project), run_wall_s=run["wall_s"], run_maxrss_mb=run["maxrss_mb"])
        prepared[edition] = info
    return prepared


def pdf_step(bench, prepared: dict, name: str) -> dict:
    figures = {}
    for edition, info in prepared.items():
        out = Path(info["dir"])
        progress(f"{name}: PDF step of {edition} alone (printing.render_pdf)")
        run, pdf = bench.worker("pdf", out / "print.html", out / "site", out / "pdf-step.pdf", info["project"],
                               label=f"pdf step {name} {edition}")
        pdf.update(process_wall_s=run["wall_s"], process_maxrss_mb=run["maxrss_mb"])
        pdf["s_per_page"] = pdf["render_s"] / pdf["pages"] if pdf.get("pages") else None
        figures[edition] = pdf
    return figures


def bare_commands(bench, prepared: dict, edition: str, tag: str) -> list[tuple[str, list]]:
    from build_tools.printing import PDF_OPTIONS

    info, out = prepared[edition], Path(prepared[edition]["dir"])
    flags, unmapped = weasyprint_flags(PDF_OPTIONS)
    bench.data.setdefault("weasyprint_flags", flags)
    if unmapped:
        bench.data["weasyprint_unmapped_options"] = unmapped
    return [
        ("mkdocs", [BIN / "mkdocs", "build", "-q", "-f", out / "mkdocs.yml", "-d", out / f"bare-site-{tag}"]),
        ("weasyprint", [BIN / "weasyprint", *flags, "-u", out / "site", out / "print.html",
                        out / f"bare-{tag}-{info['pdf_name']}"]),
    ]


def run_bare_chain(bench, prepared: dict, edition: str, tag: str) -> list[dict]:
    return [run_measured(cmd, label=f"bare {kind} {edition}")
            for kind, cmd in bare_commands(bench, prepared, edition, tag)]


def run_bare_parallel(bench, prepared: dict, tag: str) -> dict:
    """Each edition's chain (mkdocs, then weasyprint), both at once, under one shell.

    One process tree in one session, like our build: with the kernel's autogroup
    scheduling, each session gets a fair share of the CPUs, so chains started as separate
    sessions would get more CPU than our build's workers on a machine with other load.
    """
    import shlex

    chains = [" && ".join(shlex.join(map(str, cmd)) for _, cmd in bare_commands(bench, prepared, e, f"{tag}-par"))
              for e in bench.editions]
    script = "set -e\n" + "".join(f"( {chain} ) & p{i}=$!\n" for i, chain in enumerate(chains)) \
        + "".join(f"wait $p{i}\n" for i in range(len(chains)))
    return run_measured(["bash", "-c", script], label="bare engines, editions in parallel")


def overhead_and_parallel(bench, prepared: dict) -> None:
    contention = Contention()
    ours = {"seq": [], "par": []}
    bare_seq, bare_cpu, bare_par, bare_steps = [], [], [], {}
    out = bench.work / "builds"
    for i in range(bench.repeat):
        progress(f"sample: full build jobs=1 ({i + 1}/{bench.repeat})")
        ours["seq"].append(bench.cli_build(bench.sample, out / "seq" / "site", 1, "esg-report build --jobs 1"))
        progress(f"sample: full build, default jobs ({i + 1}/{bench.repeat})")
        ours["par"].append(bench.cli_build(bench.sample, out / "par" / "site", None, "esg-report build"))
        progress(f"bare engines, one after the other ({i + 1}/{bench.repeat})")
        total = cpu = 0.0
        for edition in bench.editions:
            for run in run_bare_chain(bench, prepared, edition, f"seq{i}"):
                bare_steps.setdefault(f"{run['label']}", []).append(run)
                total += run["wall_s"]
                cpu += run["cpu_s"]
        bare_seq.append(total)
        bare_cpu.append(cpu)
        progress(f"bare engines, editions in parallel ({i + 1}/{bench.repeat})")
        bare_par.append(run_bare_parallel(bench, prepared, f"{i}"))
    seq, par = summarize(ours["seq"]), summarize(ours["par"])
    bare = {"sequential_wall_s": median(bare_seq), "sequential_walls_s": [round(v, 3) for v in bare_seq],
            "sequential_cpu_s": median(bare_cpu),
            "sequential_foreign_cpu_share": median([r.get("foreign_cpu_share") for v in bare_steps.values() for r in v]),
            "parallel_wall_s": median([b["wall_s"] for b in bare_par]),
            "parallel_walls_s": [round(b["wall_s"], 3) for b in bare_par],
            "parallel_cpu_s": median([b["cpu_s"] for b in bare_par]),
            "parallel_foreign_cpu_share": median([b.get("foreign_cpu_share") for b in bare_par]),
            "parallel_maxrss_mb": max(b["maxrss_mb"] for b in bare_par),
            "steps": {k: summarize(v) for k, v in bare_steps.items()}}
    bench.data["sample_builds"] = {"jobs1": seq, "default_jobs": par,
                                  "warnings": max(r["warnings"] for r in ours["seq"] + ours["par"]),
                                  "error_lines": max(r["error_lines"] for r in ours["seq"] + ours["par"]),
                                  "stderr_tail": ours["par"][-1]["stderr_tail"][-1000:]}
    bench.data["bare_engines"] = bare
    bench.data["contention"]["overhead_and_parallel"] = contention.share()
    bench.row("1 overhead", "full build, sequential (jobs=1) vs bare engines sequential", seq["wall_s"], "s",
             bare["sequential_wall_s"], seq["wall_s"] / bare["sequential_wall_s"], TARGETS["overhead"], "<=",
             note=f"CPU {seq['cpu_s']:.1f} s vs {bare['sequential_cpu_s']:.1f} s: "
                  f"{seq['cpu_s'] / bare['sequential_cpu_s']:.2f}×; other load "
                  f"{_pct(seq['foreign_cpu_share'])} vs {_pct(bare['sequential_foreign_cpu_share'])}")
    bench.row("1 overhead", "full build, default (parallel) vs bare engines, editions in parallel", par["wall_s"], "s",
             bare["parallel_wall_s"], par["wall_s"] / bare["parallel_wall_s"], TARGETS["overhead"], "<=",
             note=f"CPU {par['cpu_s']:.1f} s vs {bare['parallel_cpu_s']:.1f} s; other load "
                  f"{_pct(par['foreign_cpu_share'])} vs {_pct(bare['parallel_foreign_cpu_share'])}")
    for label, step in bare["steps"].items():
        bench.row("1 overhead", f"  {label} (median)", step["wall_s"], "s", note=f"peak {step['maxrss_mb']:.0f} MB")
    bench.row("2 parallel", "both editions jobs=2 vs jobs=1 (wall)", par["wall_s"], "s", seq["wall_s"],
             par["wall_s"] / seq["wall_s"], TARGETS["parallel"], "<=",
             note=f"CPU {par['cpu_s']:.1f} s vs {seq['cpu_s']:.1f} s; other load "
                  f"{_pct(par['foreign_cpu_share'])} vs {_pct(seq['foreign_cpu_share'])}")
    bench.row("2 parallel", "bare engines: editions in parallel vs one after the other", bare["parallel_wall_s"], "s",
             bare["sequential_wall_s"], bare["parallel_wall_s"] / bare["sequential_wall_s"],
             note="what the engines allow on this machine")
    bench.row("2 parallel", "peak memory of a full build (largest process)", par["maxrss_mb"], "MB",
             bare["parallel_maxrss_mb"], par["maxrss_mb"] / bare["parallel_maxrss_mb"],
             note="baseline: largest bare engine process")
    bench.sample_output = out / "par" / "site"


def pdf_rows(bench, pdf: dict) -> None:
    output = getattr(bench, "sample_output", None)
    errors = bench.data.get("sample_builds", {}).get("error_lines")
    if errors:
        bench.row("4 PDF", "ERROR lines in the build's output (WeasyPrint)", errors, "lines",
                 note="see sample_builds.stderr_tail in the JSON")
    for edition, figures in pdf.items():
        built = None
        if output is not None:
            candidates = list((output / edition).glob("*.pdf"))
            built = candidates[0] if candidates else None
        size = built.stat().st_size if built else figures["size_bytes"]
        figures["built_pdf"] = str(built) if built else None
        figures["built_size_bytes"] = size
        bench.row("4 PDF", f"{edition}: seconds per page ({figures['pages']} pages)", figures["s_per_page"], "s/page",
                 note=f"render_pdf {figures['render_s']:.2f} s in-process")
        bench.row("4 PDF", f"{edition}: peak memory of the PDF step", figures["process_maxrss_mb"], "MB",
                 target=TARGETS["pdf_rss_mb"], compare="<")
        bench.row("4 PDF", f"{edition}: size", size / MB, "MB", target=TARGETS["pdf_size_mb"], compare="<")
