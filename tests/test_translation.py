"""translation.py and the translation workflow, on a temporary copy of a report."""

import json
from pathlib import Path

import pytest

from support import run_cli


def test_fresh_starter_is_fully_translated(starter):
    code, out, _ = run_cli("translations", str(starter), "--check")
    assert code == 0, out
    pages = len(list((starter / "content" / "en").glob("*.md")))  # the source edition's pages
    assert pages
    assert f"zh-Hant: pages {pages} current, 0 stale, 0 untracked, 0 missing, 0 orphan" in out


def test_editing_the_english_page_makes_the_chinese_page_stale_until_marked(starter):
    english = starter / "content" / "en" / "social.md"
    english.write_text(english.read_text("utf-8") + "\nA new paragraph about our volunteers.\n", "utf-8")
    code, out, _ = run_cli("translations", str(starter), "--check")
    assert code == 1
    assert "  stale     social.md" in out
    code, out, _ = run_cli("check", str(starter), "--strict")
    assert code == 1
    assert "content/zh-Hant/social.md:1: warning: translation is stale: en/social.md changed since it was translated" in out
    # the translator updates the Chinese page and records it
    chinese = starter / "content" / "zh-Hant" / "social.md"
    chinese.write_text(chinese.read_text("utf-8") + "\n關於我們義工的新段落。\n", "utf-8")
    code, out, _ = run_cli("translations", str(starter), "--mark", "social.md")
    assert code == 0 and "marked content/zh-Hant/social.md" in out
    assert run_cli("translations", str(starter), "--check")[0] == 0
    assert run_cli("check", str(starter), "--strict")[0] == 0


def test_missing_page_is_reported_in_json(starter):
    (starter / "content" / "zh-Hant" / "environmental.md").unlink()
    code, out, _ = run_cli("translations", str(starter), "--format", "json", "--check")
    assert code == 1
    report = json.loads(out)
    assert {"page": "environmental.md", "edition": "zh-Hant", "state": "missing"} in report["pages"]
    assert report["catalogs"][0]["locale"] == "zh_Hant"
    code, out, err = run_cli("build", str(starter), "--no-pdf")
    assert code == 1
    assert "the editions have different pages" in err


def preview_build(report: Path, edition: str, site_dir: Path) -> None:
    """What `esg-report serve` renders, built once with MkDocs itself (no server)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    from build_tools.mkdocs_adapter import plugins_with_options
    from build_tools.project import Project

    build(load_config(str(report / "mkdocs.yml"), site_dir=str(site_dir),
                      plugins=plugins_with_options(Project.at(report), {"edition": edition, "preview": True})))


def test_preview_shows_english_with_a_notice_for_a_missing_page(starter, tmp_path):
    (starter / "content" / "zh-Hant" / "environmental.md").unlink()
    preview_build(starter, "zh-Hant", tmp_path / "preview")
    page = (tmp_path / "preview" / "environmental" / "index.html").read_text("utf-8")
    assert "尚未翻譯" in page and "本頁尚未翻譯，現顯示英文原文。" in page
    assert "Environmental" in page  # the English text
    assert 'lang="zh-Hant"' in page


@pytest.mark.allow_logs  # the preview's terminal: MkDocs' log shows the error
def test_preview_shows_a_broken_chapters_error_on_the_page_and_in_the_log(starter, tmp_path, caplog):
    page = starter / "content" / "en" / "environmental.md"
    page.write_text(page.read_text("utf-8") + "\nWe emitted {{ kpi(\"nox_emission\") }}.\n", "utf-8")
    preview_build(starter, "en", tmp_path / "preview")
    shown = (tmp_path / "preview" / "environmental" / "index.html").read_text("utf-8")
    assert "unknown KPI id &#39;nox&#95;emission&#39;" in shown and "environmental.md:" in shown
    assert any("unknown KPI id 'nox_emission'" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)


def test_mark_and_mark_all_together_are_refused(starter):
    code, _, err = run_cli("translations", str(starter), "--mark-all", "--mark", "index.md")
    assert code == 2 and "argument --mark: not allowed with argument --mark-all" in err


def test_marking_a_report_with_one_edition_says_there_is_nothing_to_mark(tmp_path):
    """It wrote nothing and said nothing, exit 0."""
    report = tmp_path / "report"
    assert run_cli("new", str(report), "--editions", "en")[0] == 0
    for flags in (["--mark", "index.md"], ["--mark-all"]):
        code, out, err = run_cli("translations", str(report), *flags)
        assert (code, out) == (2, "")
        assert "this report has only the en edition: it has no translation to mark" in err
