"""The writer who rebuilds many times a day: a rebuild with nothing changed, and a rebuild after
a change to one edition's chapter (the other edition's PDF must come out byte for byte the same).

Both are measured against a full build (``--clean``) of the same copy of the sample in the same
run; each figure is the median of ``--repeat`` runs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from harness import TARGETS, copy_project, median, progress

#: A sentence added to one Chinese chapter: the English edition is not affected by it.
EDIT = {"edition": "zh-Hant", "page": "highlights.md", "text": "\n\n本段為基準測試而加。\n"}


def _tree_state(site: Path) -> dict[str, tuple[int, str]]:
    """Every published file with its modification time and digest: what a rebuild rewrote."""
    return {p.relative_to(site).as_posix(): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(site.rglob("*")) if p.is_file()}


def rebuild(bench) -> None:
    project = copy_project(bench.sample, bench.work / "rebuild")
    output = bench.work / "builds" / "rebuild" / "site"
    fulls = []
    for i in range(bench.repeat):  # the last one leaves the cache the rebuilds below start from
        progress(f"rebuild: full build of a copy of the sample ({i + 1}/{bench.repeat})")
        fulls.append(bench.cli_build(project, output, None, "esg-report build --clean", clean=True))
    full = {k: median([r[k] or 0 for r in fulls]) for k in ("wall_s", "maxrss_mb", "cpu_s", "foreign_cpu_share")}
    noops = []
    for i in range(bench.repeat):
        before = _tree_state(output)
        progress(f"rebuild: nothing changed ({i + 1}/{bench.repeat})")
        run = bench.cli_build(project, output, None, "esg-report build (nothing changed)", clean=False)
        after = _tree_state(output)
        run["rewritten"] = sum(before.get(name, (None,))[0] != state[0] for name, state in after.items())
        run["changed"] = sum(before.get(name, (None, None))[1] != state[1] for name, state in after.items())
        noops.append(run)
    noop = median([r["wall_s"] for r in noops])
    rewritten = max(r["rewritten"] for r in noops)
    changed = max(r["changed"] for r in noops)

    chapter = project / "content" / EDIT["edition"] / EDIT["page"]
    pdfs = {p.parent.name: p for p in output.glob("*/*.pdf")}
    ones, identical, edited_changed = [], True, True
    for i in range(bench.repeat):  # a different sentence each time: every run re-renders the edition
        before = {edition: hashlib.sha256(path.read_bytes()).hexdigest() for edition, path in pdfs.items()}
        chapter.write_text(chapter.read_text("utf-8") + EDIT["text"].replace("。", f"（{i + 1}）。"), "utf-8")
        progress(f"rebuild: after a change to content/{EDIT['edition']}/{EDIT['page']} ({i + 1}/{bench.repeat})")
        ones.append(bench.cli_build(project, output, None, "esg-report build (one edition changed)", clean=False))
        after = {edition: hashlib.sha256(path.read_bytes()).hexdigest() for edition, path in pdfs.items()}
        untouched = [e for e in before if e != EDIT["edition"]]
        identical = identical and all(before[e] == after[e] for e in untouched)
        edited_changed = edited_changed and before.get(EDIT["edition"]) != after.get(EDIT["edition"])
    one = {k: median([r[k] for r in ones]) for k in ("wall_s", "maxrss_mb", "cpu_s")}

    bench.data["rebuild"] = {"full": full, "full_walls_s": [round(r["wall_s"], 3) for r in fulls],
                             "one_edition_walls_s": [round(r["wall_s"], 3) for r in ones],
                             "noop_walls_s": [round(r["wall_s"], 3) for r in noops], "noop_rewritten_files": rewritten,
                             "noop_changed_files": changed, "one_edition": one,
                             "untouched_pdf_identical": identical, "edited_pdf_changed": edited_changed}
    base = full["wall_s"]
    bench.row("7 rebuild", "rebuild, nothing changed", noop, "s", target=TARGETS["noop_s"], compare="<=",
              note=f"{rewritten} files rewritten, {changed} changed; CPU {median([r['cpu_s'] for r in noops]):.2f} s; "
                   f"other load {median([r['foreign_cpu_share'] for r in noops]) or 0:.0%}")
    bench.row("7 rebuild", "rebuild, nothing changed vs full build", noop, "s", base, noop / base,
              TARGETS["noop_ratio"], "<=")
    bench.row("7 rebuild", f"rebuild after a change to {EDIT['edition']}/{EDIT['page']} vs full build", one["wall_s"], "s",
              base, one["wall_s"] / base, TARGETS["one_edition_ratio"], "<=",
              note=f"{', '.join(untouched)} PDF {'byte-identical' if identical else 'DIFFERENT'}; "
                   f"{EDIT['edition']} PDF {'changed' if edited_changed else 'NOT changed'}")
    if not identical or not edited_changed:
        bench.rows[-1]["result"] = "FAIL"
