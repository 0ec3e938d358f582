"""diff.py: what changed between two git revisions of a report, in text, JSON and the HTML redline."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from build_tools.pipeline import build_report
from build_tools.project import Project
from support import run_cli

KPI = "ghg_scope1_2"
OLD_SENTENCE = "發行人訂立的排放目標，以及為達到目標而採取的步驟"
NEW_SENTENCE = "發行人訂立的減排目標，以及為達到目標而採取的措施"
OLD_HEADING, NEW_HEADING = "B3 Development and Training", "B3 Development, Training and Growth"
EXPLANATION = {"en": "Covered by the A4 section this year.", "zh-Hant": "本年度於A4一節涵蓋。"}
EXTRA = {"en": "# Extra page { #extra }\n\nThis page goes away in the next draft.\n",
         "zh-Hant": "# 額外頁面 { #extra }\n\n此頁將在下一稿刪除。\n"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=Test", *args],
                          check=True, capture_output=True, text=True).stdout


def kpi_value(repo: Path, year: int):
    document = yaml.safe_load((repo / "data" / "kpis" / "example.yml").read_text("utf-8"))
    value = next(k for k in document["kpis"] if k["id"] == KPI)["values"][year]
    return value["value"] if isinstance(value, dict) else value


@pytest.fixture(scope="module")
def repo(starter_template, tmp_path_factory):
    """A throw-away repository: v1 (the starter plus a page), then a draft changing one thing of each kind."""
    path = tmp_path_factory.mktemp("diff") / "report"
    shutil.copytree(starter_template, path)
    for edition, text in EXTRA.items():
        (path / "content" / edition / "extra.md").write_text(text, "utf-8")
    config = path / "mkdocs.yml"
    config.write_text(config.read_text("utf-8").replace("  - content-index.md", "  - extra.md\n  - content-index.md"), "utf-8")
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "board draft")
    git(path, "tag", "v1")
    old = kpi_value(path, 2024)
    new = round(old + 78.3, 1)
    kpis = path / "data" / "kpis" / "example.yml"
    head, tail = kpis.read_text("utf-8").split(f"- id: {KPI}\n")
    kpis.write_text(f"{head}- id: {KPI}\n" + tail.replace(f"value: {old}\n", f"value: {new}\n", 1), "utf-8")
    assert kpi_value(path, 2024) == new
    for edition in ("en", "zh-Hant"):
        chapter = path / "content" / edition / "environmental.md"
        text = chapter.read_text("utf-8")
        if edition == "zh-Hant":
            assert OLD_SENTENCE in text
            text = text.replace(OLD_SENTENCE, NEW_SENTENCE)
        text = text.replace('{ #a3 data-disclose="A3 A3.1" }', '{ #a3 data-disclose="A3" }')
        text = text.replace('{ #a4 data-disclose="A4 A4.1" }', '{ #a4 data-disclose="A4 A4.1 A3.1" }')
        chapter.write_text(text, "utf-8")
        (path / "content" / edition / "extra.md").unlink()
    nav = config.read_text("utf-8").replace("  - extra.md\n", "")
    config.write_text(nav.replace("  - environmental.md\n  - social.md\n", "  - social.md\n  - environmental.md\n"), "utf-8")
    social = path / "content" / "en" / "social.md"
    social.write_text(social.read_text("utf-8").replace(f"## {OLD_HEADING} ", f"## {NEW_HEADING} "), "utf-8")
    (path / "data" / "disclosures.yml").write_text(yaml.safe_dump({"explanations": {"A3.1": EXPLANATION}},
                                                                   allow_unicode=True), "utf-8")
    git(path, "commit", "-qam", "second draft")
    assert git(path, "status", "--porcelain") == ""
    return path, old, new


@pytest.fixture(scope="module")
def json_report(repo):
    path, _, _ = repo
    code, out, err = run_cli("diff", "v1", "HEAD", str(path), "--format", "json")
    assert code == 0, err
    return {e["edition"]: e for e in json.loads(out)["editions"]}


def test_changed_kpi_value_is_reported_as_each_edition_formats_it(repo, json_report):
    _, old, new = repo
    for edition, unit in (("en", " tCO₂e"), ("zh-Hant", "噸二氧化碳當量")):
        changes = [c for c in json_report[edition]["kpi_values"] if c["kpi"] == KPI]
        assert changes == [{"kpi": KPI, "name": changes[0]["name"], "year": "2024", "url": "environmental/#a1",
                            "old": f"{old:,.1f}{unit}", "new": f"{new:,.1f}{unit}"}]


def test_edited_chinese_sentence_is_diffed_character_by_character(json_report):
    text = [t for t in json_report["zh-Hant"]["text"] if t["page"] == "environmental.md" and t["anchor"] == "a1"]
    assert len(text) == 1
    changes = {(c["deleted"], c["inserted"]) for c in text[0]["changes"]}
    assert ("", "減") in changes and ("放", "") in changes and ("步驟", "措施") in changes
    assert text[0]["url"] == "environmental/#a1"
    old = "".join(s for op, s in text[0]["segments"] if op != "+")
    new = "".join(s for op, s in text[0]["segments"] if op != "-")
    assert OLD_SENTENCE in old and NEW_SENTENCE in new
    # The English sentence did not change: only the KPI table's figure did.
    english = [t for t in json_report["en"]["text"] if t["page"] == "environmental.md"]
    assert [(c["deleted"], c["inserted"]) for t in english for c in t["changes"]] == [
        (c["old"].removesuffix(" tCO₂e"), c["new"].removesuffix(" tCO₂e")) for c in json_report["en"]["kpi_values"]]


def test_moved_tag_and_removed_page_are_reported_in_both_editions(json_report):
    for edition, title in (("en", "Extra page"), ("zh-Hant", "額外頁面")):
        report = json_report[edition]
        assert {"code": "A3.1", "old": ["environmental.md#a3"], "new": ["environmental.md#a4"],
                "url": "environmental/#a4"} in report["tags"]
        assert report["pages_removed"] == [{"page": "extra.md", "title": title}]
        assert report["explanations"] == [{"code": "A3.1", "old": None, "new": EXPLANATION[edition]}]
        assert report["pages_added"] == [] and report["kpis_added"] == [] and report["kpis_removed"] == []


def test_heading_change_and_moved_page(json_report):
    assert json_report["en"]["headings"] == [{"page": "social.md", "anchor": "b3", "url": "social/#b3",
                                              "old": OLD_HEADING, "new": NEW_HEADING}]
    assert json_report["zh-Hant"]["headings"] == []
    for edition in ("en", "zh-Hant"):
        moved = json_report[edition]["pages_moved"]
        assert len(moved) == 1 and moved[0]["page"] in ("environmental.md", "social.md")
        assert {moved[0]["old_position"], moved[0]["new_position"]} == {3, 4}


def test_terminal_summary(repo):
    path, old, new = repo
    code, out, _ = run_cli("diff", "v1", "HEAD", str(path))
    assert code == 0
    assert f"KPI {KPI} 2024: {old:,.1f} tCO₂e -> {new:,.1f} tCO₂e" in out
    assert f"[-{old:,.1f}-]{{+{new:,.1f}+}}" in out
    assert "[-步驟-]{+措施+}" in out
    assert "tag A3.1: environmental.md#a3 -> environmental.md#a4" in out
    assert "page removed: extra.md “Extra page”" in out and "page removed: extra.md “額外頁面”" in out


def test_exit_code_like_git_diff(repo):
    path, _, _ = repo
    assert run_cli("diff", "v1", "v1", str(path), "--exit-code", "--edition", "en")[0] == 0
    assert run_cli("diff", "v1", "HEAD", str(path), "--exit-code", "--edition", "en")[0] == 1
    code, _, err = run_cli("diff", "v0", "HEAD", str(path))
    assert code == 2 and "unknown revision 'v0'" in err


def test_two_report_folders(repo, tmp_path):
    path, old, new = repo
    before = tmp_path / "before"
    shutil.copytree(path, before, ignore=shutil.ignore_patterns(".git", "site"))
    (before / "data" / "kpis" / "example.yml").write_text(git(path, "show", "v1:data/kpis/example.yml"), "utf-8")
    code, out, _ = run_cli("diff", str(before), str(path), "--edition", "en", "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert [(c["kpi"], c["year"]) for c in report["editions"][0]["kpi_values"]] == [(KPI, "2024")]


@pytest.mark.browser
def test_html_redline_marks_changes_and_links_to_sections(repo, tmp_path):
    from playwright.sync_api import sync_playwright

    path, old, new = repo
    redline = tmp_path / "review" / "redline.html"
    redline.parent.mkdir()
    code, _, err = run_cli("diff", "v1", "HEAD", str(path), "--html", str(redline))
    assert code == 0, err
    _, problems = build_report(Project.at(path), pdf=False, search=False)  # the current site the links point into
    assert not problems.errors
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        outside = []
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                   else (outside.append(route.request.url), route.abort()))
        page.goto(redline.as_uri())
        for edition in ("en", "zh-Hant"):
            section = page.locator(f"#edition-{edition}")
            row = section.locator(f'tr[data-kpi="{KPI}"]')
            assert old and f"{old:,.1f}" in row.locator("del").inner_text()
            assert f"{new:,.1f}" in row.locator("ins").inner_text()
            tag = section.locator('li.tag-change[data-code="A3.1"]')
            assert tag.locator("ins").inner_text() == "environmental.md#a4"
            assert tag.locator("a").get_attribute("href").endswith(f"site/{edition}/environmental/index.html#a4")
        change = page.locator('#edition-zh-Hant .change[data-page="environmental.md"][data-anchor="a1"]')
        assert change.locator("del", has_text="步驟").count() == 1 and change.locator("ins", has_text="措施").count() == 1
        assert change.locator(".redline").inner_text().count(NEW_SENTENCE[:2]) >= 1
        link = change.locator("h4 a")
        assert link.get_attribute("href").endswith("site/zh-Hant/environmental/index.html#a1")
        link.click()
        page.wait_for_load_state()
        assert page.url == (path / "site" / "zh-Hant" / "environmental" / "index.html").as_uri() + "#a1"
        assert "排放物" in page.locator("#a1").inner_text()
        browser.close()
    assert outside == []


def test_a_side_that_cannot_be_rendered_is_a_located_error(repo, tmp_path):
    path, _, _ = repo
    broken = tmp_path / "broken"
    shutil.copytree(path, broken, ignore=shutil.ignore_patterns(".git", "site"))
    chapter = broken / "content" / "en" / "social.md"
    chapter.write_text(chapter.read_text("utf-8") + "\n{{ kpi('no_such_kpi') }}\n", "utf-8")
    line = len(chapter.read_text("utf-8").splitlines())
    code, _, err = run_cli("diff", str(path), str(broken), "--edition", "en")
    assert code == 1
    assert f"{broken} cannot be rendered" in err
    assert f"content/en/social.md:{line}: error: unknown KPI id 'no_such_kpi' [macro]" in err


def test_the_redline_replaces_only_a_redline(starter, tmp_path):
    """--html wrote over any file (a folder ended in a traceback); an earlier redline may be replaced."""
    theirs, folder, redline = tmp_path / "notes.html", tmp_path / "folder", tmp_path / "redline.html"
    theirs.write_text("<p>my notes</p>", "utf-8")
    folder.mkdir()
    code, _, err = run_cli("diff", str(starter), str(starter), "--html", str(theirs))
    assert code == 2 and f"{theirs}: error: the file exists and is not a redline esg-report wrote" in err, err
    assert theirs.read_text("utf-8") == "<p>my notes</p>"
    code, _, err = run_cli("diff", str(starter), str(starter), "--html", str(folder))
    assert code == 2 and f"{folder}: error: this is a folder; --html names the redline's file" in err, err
    for _ in range(2):
        code, _, err = run_cli("diff", str(starter), str(starter), "--edition", "en", "--html", str(redline))
        assert code == 0 and f"redline written to {redline}" in err, err


def test_a_missing_folder_is_named(starter, tmp_path):
    """Both said only that git knows no such revision, or that the folder is not in a repository."""
    missing = tmp_path / "missing"
    code, _, err = run_cli("diff", str(starter), str(missing))
    assert code == 2 and f"{missing}: no such folder (compare two report folders, or two revisions)" in err, err
    code, _, err = run_cli("diff", "HEAD~1", "HEAD", str(missing))
    assert code == 2 and f"esg-report: {missing}: no such folder\n" in err, err


def test_an_edition_neither_side_has_is_a_usage_error(tmp_path):
    """It was compared as nothing at all: 0 changes, exit 0."""
    report = tmp_path / "report"
    assert run_cli("new", str(report), "--editions", "en")[0] == 0
    code, out, err = run_cli("diff", str(report), str(report), "--edition", "zh-Hant")
    assert (code, out) == (2, "") and "esg-report: neither side has the zh-Hant edition (they have en)" in err, err


def test_jobs_beyond_the_renderings_start_no_more_processes(starter, monkeypatch):
    """--jobs 500 started 500 processes (a fork pool launches all its workers) for 4 renderings."""
    from build_tools import diff

    sizes = []

    class Recorded(diff.ProcessPoolExecutor):
        def __init__(self, max_workers=None, **options):
            sizes.append(max_workers)
            super().__init__(max_workers=max_workers, **options)

    monkeypatch.setattr(diff, "ProcessPoolExecutor", Recorded)
    code, out, err = run_cli("diff", str(starter), str(starter), "--jobs", "500")
    assert code == 0, err
    assert sizes == [4]  # two editions, two sides
