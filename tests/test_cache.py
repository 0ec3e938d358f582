"""Rebuild only what changed (build_tools/cache.py): what a writer sees after a second build."""

from __future__ import annotations

import json
from pathlib import Path

from build_tools import cache
from build_tools.data import load_report_data
from build_tools.project import Project
from support import run_cli


def published(site: Path) -> dict[str, tuple[int, bytes]]:
    """Every file of the output with its modification time and content."""
    return {p.relative_to(site).as_posix(): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(site.rglob("*")) if p.is_file()}


def rewritten(before: dict, after: dict, prefix: str = "") -> set[str]:
    return {name for name in after if name.startswith(prefix) and before.get(name, (None,))[0] != after[name][0]}


def build(report: Path, *options: str) -> None:
    code, out, err = run_cli("build", str(report), *options)
    assert code == 0, out + err


def first_chapter(report: Path, edition: str) -> Path:
    return sorted(p for p in (report / "content" / edition).rglob("*.md") if p.name != "index.md")[0]


def test_a_build_with_nothing_changed_publishes_nothing(starter):
    build(starter, "--no-pdf")
    before = published(starter / "site")
    build(starter, "--no-pdf")
    assert published(starter / "site") == before
    assert not list(starter.glob(".site-staging-*"))


def test_a_change_to_one_edition_reuses_the_other_and_equals_a_clean_build(starter):
    editions = list(load_report_data(starter / "data").meta["editions"])
    changed, untouched = editions[-1], editions[0]
    build(starter)
    before = published(starter / "site")
    chapter = first_chapter(starter, changed)
    chapter.write_text(chapter.read_text("utf-8") + "\n\n本段為測試而加。\n", "utf-8")
    build(starter)
    after = published(starter / "site")
    assert rewritten(before, after, f"{untouched}/") == set()  # copied from the cache, not rendered
    pdfs = {e: next(n for n in after if n.startswith(f"{e}/") and n.endswith(".pdf")) for e in editions}
    assert after[pdfs[untouched]][1] == before[pdfs[untouched]][1]
    assert after[pdfs[changed]][1] != before[pdfs[changed]][1]
    assert "本段為測試而加" in after[f"{changed}/" + chapter.relative_to(starter / "content" / changed)
                                   .with_suffix("").as_posix() + "/index.html"][1].decode("utf-8")
    build(starter, "--clean", "--output", str(starter.parent / "clean"))
    clean = published(starter.parent / "clean")
    assert {n: c for n, (_, c) in clean.items()} == {n: c for n, (_, c) in after.items()}


def test_data_and_template_changes_rebuild_every_edition(starter):
    build(starter, "--no-pdf")
    before = published(starter / "site")
    report = starter / "data" / "report.yml"
    report.write_text(report.read_text("utf-8") + "\n# a comment changes no output, but data is an input\n", "utf-8")
    build(starter, "--no-pdf")
    after = published(starter / "site")
    editions = list(load_report_data(starter / "data").meta["editions"])
    assert all(rewritten(before, after, f"{e}/") for e in editions)
    stylesheet = Path(cache.__file__).resolve().parent.parent / "templates" / "print" / "print.css"
    override = starter / "templates" / "print" / "print.css"
    override.parent.mkdir(parents=True, exist_ok=True)
    override.write_text(stylesheet.read_text("utf-8") + "\n/* the report's own stylesheet */\n", "utf-8")
    build(starter, "--no-pdf")
    again = published(starter / "site")
    assert all(rewritten(after, again, f"{e}/") for e in editions)


def test_clean_ignores_the_cache(starter):
    build(starter, "--no-pdf")
    before = published(starter / "site")
    build(starter, "--no-pdf", "--clean")
    after = published(starter / "site")
    assert rewritten(before, after) and {n: c for n, (_, c) in after.items()} == {n: c for n, (_, c) in before.items()}


def test_a_cache_of_another_toolchain_version_is_not_trusted(starter):
    build(starter, "--no-pdf")
    before = published(starter / "site")
    state_file = cache.cache_dir(starter / "site") / "state.json"
    state = json.loads(state_file.read_text("utf-8"))
    state["toolchain"] = "0.0.0"
    state_file.write_text(json.dumps(state), "utf-8")
    build(starter, "--no-pdf")
    assert rewritten(before, published(starter / "site"))


def test_a_damaged_cache_is_a_full_build_not_a_crash(starter):
    """A state.json of the right version whose parts are of the wrong type ended in an AttributeError."""
    build(starter, "--no-pdf")
    state_file = cache.cache_dir(starter / "site") / "state.json"
    state = json.loads(state_file.read_text("utf-8"))
    for damaged in ([], {**state, "editions": {"en": 5}}, {**state, "problems": [{"colour": "red"}]}):
        before = published(starter / "site")
        state_file.write_text(json.dumps(damaged), "utf-8")
        build(starter, "--no-pdf")
        assert rewritten(before, published(starter / "site"))


def test_engine_versions_and_fonts_are_in_every_key(starter, monkeypatch):
    project = Project.at(starter)
    meta = load_report_data(project.data_dir).meta
    editions = list(meta["editions"])
    options = {"pdf": True, "search": True}
    build_key, keys = cache.compute_keys(project, meta, editions, options)
    assert cache.compute_keys(project, meta, editions, options) == (build_key, keys)
    versions = cache.engine_versions()
    monkeypatch.setattr(cache, "engine_versions", lambda: {**versions, "weasyprint": "99.0"})
    newer_build, newer = cache.compute_keys(project, meta, editions, options)
    assert newer_build != build_key and all(newer[e] != keys[e] for e in editions)
    monkeypatch.undo()
    fonts = cache.font_state()
    assert fonts and all(size for _, size, _ in fonts[:5])  # fontconfig's fonts, with their sizes
    monkeypatch.setattr(cache, "font_state", lambda: fonts[1:])
    assert all(cache.compute_keys(project, meta, editions, options)[1][e] != keys[e] for e in editions)
