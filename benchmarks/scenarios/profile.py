"""One sequential build under pyinstrument: the engines' time against ours."""

from __future__ import annotations

import json
from pathlib import Path

from harness import RESULTS, StepFailed, progress

#: Frames of these packages are the engines' time in the profile; everything else called from
#: build_tools (Jinja, lxml, PyYAML, Babel...) counts as ours.
ENGINE_PACKAGES = ("mkdocs", "material", "weasyprint", "markdown", "pymdownx", "pydyf", "tinycss2",
                   "tinyhtml5", "cssselect2", "fontTools", "jieba", "watchdog", "backrefs", "pygments")


def worker_profile(project_dir: str, out_dir: str, text_file: str, html_file: str, result_file: str) -> None:
    """One sequential build (jobs=1, so every edition runs in this process) under pyinstrument."""
    from pyinstrument import Profiler

    from build_tools.pipeline import build_report
    from build_tools.project import Project

    profiler = Profiler(interval=0.001)
    profiler.start()
    _, problems = build_report(Project.at(project_dir), jobs=1, output=Path(out_dir) / "site")
    profiler.stop()
    Path(text_file).write_text(profiler.output_text(unicode=True, color=False), "utf-8")
    Path(html_file).write_text(profiler.output_html(), "utf-8")
    root = profiler.last_session.root_frame()
    summary = attribute_profile(root)
    summary["errors"] = len(problems.errors)
    json.dump(summary, open(result_file, "w"), indent=2)


def _frame_owner(frame) -> str | None:
    """'ours' for build_tools frames, 'engine' for engine packages, None (inherit) otherwise."""
    path = (frame.file_path or "").replace("\\", "/")
    if "/build_tools/" in path:
        return "ours"
    for package in ENGINE_PACKAGES:
        if f"/site-packages/{package}/" in path or f"/site-packages/{package}." in path:
            return "engine"
    return None


def attribute_profile(root) -> dict:
    """Split the profile into the engines' time and ours.

    Each sample belongs to the innermost build_tools or engine frame on its stack; time in
    other libraries goes to whoever called them (lxml under scan_page is ours, Jinja under
    Material's templates is the engine's). Our time is listed per build_tools function.
    """
    totals = {"ours": 0.0, "engine": 0.0, "other": 0.0}
    ours: dict[str, float] = {}
    engine: dict[str, float] = {}
    stack = [(root, "other", None)]
    while stack:
        frame, owner, function = stack.pop()
        kind = _frame_owner(frame)
        if kind == "ours":
            owner, function = "ours", f"{Path(frame.file_path).name}:{frame.function}"
        elif kind == "engine":
            path = frame.file_path.replace("\\", "/")
            package = path.split("/site-packages/", 1)[1].split("/", 1)[0].split(".", 1)[0]
            owner, function = "engine", package
        children = list(frame.children)
        own = frame.time - sum(c.time for c in children)
        for child in children:
            stack.append((child, owner, function))
        if own <= 0:
            continue
        totals[owner] += own
        if owner == "ours":
            ours[function] = ours.get(function, 0.0) + own
        elif owner == "engine":
            engine[function] = engine.get(function, 0.0) + own
    # inclusive times of our functions that are not just wrappers around the engines
    inclusive: dict[str, float] = {}
    stack = [(root, frozenset())]
    while stack:
        frame, open_keys = stack.pop()
        if _frame_owner(frame) == "ours":
            key = f"{Path(frame.file_path).name}:{frame.function}"
            if key not in open_keys:  # outermost call only: recursion is not counted twice
                inclusive[key] = inclusive.get(key, 0.0) + frame.time
                open_keys = open_keys | {key}
        stack.extend((child, open_keys) for child in frame.children)
    top = lambda d, n: [[k, round(v, 3)] for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:n]]  # noqa: E731
    return {"total_s": round(root.time, 3), "split_s": {k: round(v, 3) for k, v in totals.items()},
            "ours_top": top(ours, 15), "engines_top": top(engine, 10), "ours_inclusive_top": top(inclusive, 15)}


def profile(bench, stamp: str) -> None:
    progress("profiling one sequential build with pyinstrument")
    text, html = RESULTS / f"profile-{stamp}.txt", RESULTS / f"profile-{stamp}.html"
    try:
        run, summary = bench.worker("profile", bench.sample, bench.work / "profile", text, html, label="pyinstrument build")
    except (StepFailed, ValueError, KeyError) as exc:
        bench.data["profile"] = {"error": str(exc)[:500]}
        progress(f"profile failed: {str(exc)[:300]}")
        return
    summary.update(text=str(text), html=str(html))
    bench.data["profile"] = summary
    split = summary["split_s"]
    total = sum(split.values()) or 1
    bench.row("profile", "sequential build under pyinstrument: engines / ours / other",
             summary["total_s"], "s",
             note=f"engines {split['engine']:.1f} s ({split['engine'] / total:.0%}), ours {split['ours']:.1f} s "
                  f"({split['ours'] / total:.0%}), other {split['other']:.1f} s")
    for name, seconds in summary["ours_top"][:8]:
        bench.row("profile", f"  ours: {name}", seconds, "s")
