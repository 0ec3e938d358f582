"""A generated report N times the sample (figure 3): full build time and the PDF step's memory."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from harness import TARGETS, Contention, _pct, copy_project, progress

from scenarios import engines

_NAV_PAGE = re.compile(r"^(?P<indent>\s*)-\s+(?:(?P<title>[^:\n]+):\s+)?(?P<path>[^\s:'\"]+\.md)\s*$")
_DISCLOSE = re.compile(r"\s*data-disclose=(\"[^\"]*\"|'[^']*')")
_ATTR_START = re.compile(r"\s\{\s*(?:[#.]|[\w-]+=)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_FRONT_MATTER = re.compile(r"\A---\n(.*?\n)?---\n", re.S)
_RECORD = re.compile(r"^translated_from:[ \t]*([0-9a-f]+)[ \t]*$", re.M)
_FIGURE_ID = re.compile(r"""((?:\bid=|figure_ref\()\s*["'])([^"']+)(["'])""")
COPY_SUFFIX = {"en": " (copy {k})", "zh-Hant": "（副本 {k}）"}


def _copy_text(text: str, k: int, edition: str) -> str:
    """A chapter's copy: headings renamed (numbers and ids kept), disclosure tags removed.

    Tags are removed so the copies add pages but no headings that disclose provisions: the
    content index and the comparison of the editions stay as in the sample (KPI figures in
    the copies still carry their KPIs' codes, identically in both editions).
    """
    suffix = COPY_SUFFIX.get(edition, " ({k})").format(k=k)
    text = _DISCLOSE.sub("", text)
    # figure ids are unique per report: each copy numbers and refers to its own figures
    text = _FIGURE_ID.sub(lambda m: f'{m.group(1)}{m.group(2)}-copy{k}{m.group(3)}', text)
    lines, fenced = [], False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and re.match(r"^#{1,6}\s", line):
            line = re.sub(r"\s\{\s*\}\s*$", "", line)
            match = _ATTR_START.search(line)
            line = line[:match.start()] + suffix + line[match.start():] if match else line.rstrip() + suffix
        lines.append(line)
    return "\n".join(lines)


def _source_hash(data: bytes) -> str:  # as build_tools/translation.py records translations
    return hashlib.sha256(data).hexdigest()[:12]


def make_scaled_project(source: Path, target: Path, factor: int) -> dict:
    """A copy of the report with every chapter (but the content index page) ``factor`` times."""
    copy_project(source, target)
    config = (target / "mkdocs.yml").read_text("utf-8")
    editions = sorted(p.name for p in (target / "content").iterdir() if p.is_dir())
    base = "en" if "en" in editions else editions[0]
    lines, nav_pages, in_nav = config.split("\n"), [], False
    for line in lines:
        if re.match(r"^nav\s*:", line):
            in_nav = True
            continue
        if in_nav and re.match(r"^\S", line) and not line.startswith("#"):
            in_nav = False
        if in_nav and (m := _NAV_PAGE.match(line)):
            nav_pages.append(m.group("path"))
    copied = []
    for page in nav_pages:
        source_page = target / "content" / base / page
        if not source_page.exists() or "content_index(" in source_page.read_text("utf-8"):
            continue
        copied.append(page)
        for k in range(2, factor + 1):
            new = str(Path(page).with_name(f"{Path(page).stem}-copy{k}.md"))
            texts = {}
            for edition in editions:
                original = target / "content" / edition / page
                if original.exists():
                    texts[edition] = _copy_text(original.read_text("utf-8"), k, edition)
            for edition, text in texts.items():
                if edition != base and base in texts:  # keep current translations current
                    fm = _FRONT_MATTER.match(text)
                    record = _RECORD.search(fm.group(1) or "") if fm else None
                    original_base = (target / "content" / base / page).read_bytes()
                    if record and record.group(1) == _source_hash(original_base):
                        head = fm.group(0).replace(record.group(0),
                                                   f"translated_from: {_source_hash(texts[base].encode('utf-8'))}")
                        text = head + text[fm.end():]
                (target / "content" / edition / new).write_text(text, "utf-8")
    out_lines, in_nav = [], False
    for line in lines:
        out_lines.append(line)
        if re.match(r"^nav\s*:", line):
            in_nav = True
            continue
        if in_nav and re.match(r"^\S", line) and not line.startswith("#"):
            in_nav = False
        if in_nav and (m := _NAV_PAGE.match(line)) and m.group("path") in copied:
            page = m.group("path")
            for k in range(2, factor + 1):
                out_lines.append(f"{m.group('indent')}- {Path(page).with_name(f'{Path(page).stem}-copy{k}.md')}")
    (target / "mkdocs.yml").write_text("\n".join(out_lines), "utf-8")
    size = lambda root: sum(p.stat().st_size for p in (root / "content").rglob("*.md"))  # noqa: E731
    return {"pages_in_nav": len(nav_pages), "pages_copied": len(copied), "factor": factor,
            "content_bytes": size(target), "content_bytes_sample": size(source),
            "content_ratio": size(target) / size(source)}


def scale(bench) -> None:
    factor = bench.args.scale
    project = bench.work / f"report-x{factor}"
    progress(f"generating a {factor}x report in {project}")
    shape = make_scaled_project(bench.sample, project, factor)
    contention = Contention()
    progress(f"{factor}x report: full build, default jobs")
    build = bench.cli_build(project, bench.work / "builds" / f"x{factor}" / "site", None, f"esg-report build ({factor}x)")
    sample = bench.data["sample_builds"]["default_jobs"]["wall_s"]
    prepared = engines.prepare(bench, project, f"x{factor}")
    pdf = engines.pdf_step(bench, prepared, f"x{factor}")
    sample_pdf = bench.data["pdf_step"]
    bench.data["contention"]["scale"] = contention.share()
    pages = {e: pdf[e]["pages"] / sample_pdf[e]["pages"] for e in pdf if sample_pdf.get(e, {}).get("pages")}
    bench.data["scale"] = {"shape": shape,
                          "build": {k: build[k] for k in ("wall_s", "maxrss_mb", "cpu_s", "foreign_cpu_share", "discarded")},
                          "build_warnings": build["warnings"], "pdf_step": pdf, "pdf_page_ratio": pages,
                          "prepare": {e: {k: v for k, v in i.items() if k != "dir"} for e, i in prepared.items()}}
    sample_cpu = bench.data["sample_builds"]["default_jobs"]["cpu_s"]
    bench.row("3 scale", f"{factor}x report, full build (default jobs) vs sample", build["wall_s"], "s", sample,
             build["wall_s"] / sample, TARGETS["scale"] * factor / 4, "<=",
             note=f"content {shape['content_ratio']:.2f}x, PDF pages "
                  + ", ".join(f"{e} {r:.2f}x" for e, r in pages.items())
                  + f"; CPU {build['cpu_s']:.1f} s vs {sample_cpu:.1f} s: {build['cpu_s'] / sample_cpu:.2f}×"
                  + f"; other load {_pct(build['foreign_cpu_share'])}")
    for edition, figures in pdf.items():
        bench.row("3 scale", f"{factor}x report, PDF step peak memory, {edition}", figures["process_maxrss_mb"], "MB",
                 target=TARGETS["pdf_rss_mb"], compare="<",
                 note=f"{figures['pages']} pages in {figures['render_s']:.1f} s; {figures['rss_before_mb']:.0f} MB before rendering")
