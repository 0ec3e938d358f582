"""A report ten times the sample (about 500 printed pages per edition): each edition built alone,
its time and peak memory, against the same for the sample in the same run."""

from __future__ import annotations

from pathlib import Path

from harness import TARGETS, pdf_pages, progress, run_measured, BIN

from scenarios.scale import make_scaled_project


def edition_build(bench, project: Path, output: Path, edition: str, label: str) -> dict:
    run = run_measured([BIN / "esg-report", "build", project, "--edition", edition, "--jobs", "1", "--output", output, "--clean"],
                       cwd=bench.sample, label=label, timeout=1800)
    pdf = next((output / edition).glob("*.pdf"), None)
    run["pages"] = pdf_pages(pdf) if pdf else None
    return run


def large(bench) -> None:
    factor = bench.args.large
    project = bench.work / f"report-x{factor}-large"
    progress(f"generating a {factor}x report in {project}")
    shape = make_scaled_project(bench.sample, project, factor)
    figures = {}
    for edition in bench.editions:
        progress(f"sample: {edition} alone")
        sample = edition_build(bench, bench.sample, bench.work / "builds" / "edition-sample" / "site", edition,
                               f"esg-report build --edition {edition} (sample)")
        progress(f"{factor}x report: {edition} alone")
        big = edition_build(bench, project, bench.work / "builds" / f"edition-x{factor}" / "site", edition,
                            f"esg-report build --edition {edition} ({factor}x)")
        figures[edition] = {"sample": {k: sample[k] for k in ("wall_s", "maxrss_mb", "cpu_s", "pages")},
                            "large": {k: big[k] for k in ("wall_s", "maxrss_mb", "cpu_s", "pages", "foreign_cpu_share")}}
        bench.row("8 large", f"{factor}x report, {edition} alone ({big['pages']} pages) vs sample ({sample['pages']} pages)",
                  big["wall_s"], "s", sample["wall_s"], big["wall_s"] / sample["wall_s"],
                  note=f"{big['wall_s'] / big['pages']:.3f} s/page vs {sample['wall_s'] / sample['pages']:.3f}"
                  if big["pages"] and sample["pages"] else "")
        bench.row("8 large", f"{factor}x report, {edition}: peak memory (largest process)", big["maxrss_mb"], "MB",
                  target=TARGETS["large_rss_mb"], compare="<",
                  note=f"sample {sample['maxrss_mb']:.0f} MB ({big['maxrss_mb'] / sample['maxrss_mb']:.2f}×)")
    bench.data["large"] = {"shape": shape, "editions": figures}
