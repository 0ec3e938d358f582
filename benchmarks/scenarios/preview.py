"""The writer's loop (figure 5): save a chapter -> refreshed page in ``esg-report serve``; ``check``."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from harness import (BIN, TARGETS, StepFailed, child_env, copy_project, fetch, free_port, median, progress,
                     run_measured, stop_process, summarize, wait_for)


def preview(bench) -> None:
    project = copy_project(bench.sample, bench.work / "preview")
    edition = "en"
    page = _preview_page(project, edition)
    url_path = "/" + (str(Path(page).with_suffix("")).removesuffix("index").rstrip("/") + "/").lstrip("/")
    port = free_port()
    log = open(bench.work / "serve.log", "wb")
    progress(f"preview: esg-report serve on 127.0.0.1:{port}, editing content/{edition}/{page} in a copy")
    started = time.perf_counter()
    proc = subprocess.Popen([str(BIN / "esg-report"), "serve", str(project), "--dev-addr", f"127.0.0.1:{port}",
                             "--edition", edition], cwd=project, env=child_env(), stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    latencies = []
    try:
        first = wait_for(lambda: fetch(base + url_path) is not None, 120, proc)
        startup = time.perf_counter() - started if first else None
        if not first:
            raise StepFailed("esg-report serve did not serve the page:\n"
                             + (bench.work / "serve.log").read_text("utf-8", "replace")[-3000:])
        chapter = project / "content" / edition / page
        original = chapter.read_text("utf-8")
        for i in range(bench.repeat):
            time.sleep(1.0)  # let the watcher settle after the previous rebuild
            token = f"benchmark-marker-{os.getpid()}-{i}-{time.monotonic_ns()}"
            with open(chapter, "w", encoding="utf-8") as handle:
                handle.write(original + f"\n\nEdited paragraph {token}.\n")
            saved = time.perf_counter()
            ok = wait_for(lambda: token in (fetch(base + url_path) or ""), 60, proc, interval=0.02)
            latencies.append(time.perf_counter() - saved if ok else None)
            progress(f"preview: edit {i + 1}/{bench.repeat} served after "
                     f"{'%.2f s' % latencies[-1] if ok else 'timeout'}")
    finally:
        stop_process(proc)
        log.close()
    value = median(latencies)
    bench.data["preview"] = {"page": page, "url": url_path, "startup_s": startup, "latencies_s": latencies}
    bench.row("5 preview", f"save -> refreshed page served (serve, {edition}/{page})", value, "s",
             target=TARGETS["preview_s"], compare="<", note=f"{sum(v is None for v in latencies)} timeouts"
             if None in latencies else "")
    bench.row("5 preview", "esg-report serve: start -> first page served", startup, "s")


def _preview_page(project: Path, edition: str) -> str:
    for candidate in ("highlights.md", "about-this-report.md"):
        if (project / "content" / edition / candidate).exists():
            return candidate
    pages = sorted(p.relative_to(project / "content" / edition).as_posix()
                   for p in (project / "content" / edition).rglob("*.md") if p.name != "index.md")
    return pages[0]


def check(bench) -> None:
    runs = []
    for i in range(bench.repeat):
        progress(f"esg-report check ({i + 1}/{bench.repeat})")
        runs.append(run_measured([BIN / "esg-report", "check", bench.sample], cwd=bench.sample,
                                 label="esg-report check"))
    summary = summarize(runs)
    bench.data["check"] = summary
    bench.row("5 preview", "esg-report check (sample)", summary["wall_s"], "s", target=TARGETS["check_s"], compare="<",
             note=f"CPU {summary['cpu_s']:.1f} s")
