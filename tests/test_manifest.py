"""manifest.py: site/manifest.json, `esg-report verify`, and the check against the approved revision."""

import hashlib
import json
import shutil
import subprocess

import pytest

from support import run_cli

DATA_FILE = "data/kpis/example.yml"


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def built(starter_template, starter_build):
    """The session's starter build (with PDFs): its sources, its output folder and its manifest."""
    output, _, _ = starter_build
    return starter_template, output, json.loads((output / "manifest.json").read_text("utf-8"))


def test_manifest_records_inputs_outputs_fonts_and_versions(built):
    path, site, manifest = built
    sources = sorted(p.relative_to(path).as_posix() for p in [*path.glob("content/*/*.md"), *path.glob("data/**/*.yml"),
                                                               path / "mkdocs.yml"])
    assert {label: manifest["inputs"][label] for label in sources} == {label: sha256(path / label) for label in sources}
    assert any(label.startswith("toolchain/templates/print/") for label in manifest["inputs"])
    assert any(label.endswith("zh_Hant/LC_MESSAGES/messages.po") for label in manifest["inputs"])
    outputs = {p.relative_to(site).as_posix(): sha256(p) for p in [*site.glob("*/*.pdf"), *site.glob("*/downloads/*")]}
    assert manifest["outputs"] == outputs
    assert {"en/esg-report-en.pdf", "zh-Hant/downloads/kpi-locations.csv"} <= set(outputs)
    families = {font["family"] for font in manifest["fonts"]}
    assert "Noto Sans CJK TC" in families
    assert all(len(font["sha256"]) == 64 for font in manifest["fonts"])
    from importlib.metadata import version

    assert manifest["engines"]["weasyprint"] == version("weasyprint")
    assert manifest["engines"]["mkdocs"] == version("mkdocs")


def test_verify_passes_on_the_untouched_tree_and_names_a_changed_data_file(built, tmp_path):
    template, site, manifest = built
    code, out, _ = run_cli("verify", str(site / "manifest.json"), str(template))
    assert code == 0, out
    assert "identical  en/esg-report-en.pdf" in out and "identical  zh-Hant/esg-report-zh-Hant.pdf" in out
    assert "verified" in out
    path = tmp_path / "report"
    shutil.copytree(template, path)
    data_file = path / DATA_FILE
    original = data_file.read_bytes()
    position = original.index(b"\n    2023: ") + len(b"\n    2023: ")  # the first digit of a figure
    digit = original[position:position + 1]
    assert digit.isdigit()
    data_file.write_bytes(original[:position] + (b"1" if digit != b"1" else b"2") + original[position + 1:])
    code, out, _ = run_cli("verify", str(site / "manifest.json"), str(path))
    assert code == 1
    assert f"input changed: {DATA_FILE}" in out
    assert "different  en/downloads/kpis.csv" in out and "different  en/esg-report-en.pdf" in out
    assert "identical  en/downloads/content-index.csv" in out
    assert "verification failed" in out
    assert json.loads((site / "manifest.json").read_text("utf-8")) == manifest  # the published build untouched
    assert not (path / "site").exists()


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=Test", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def test_build_says_whether_its_sources_are_the_approved_ones(starter):
    git(starter, "init", "-q")
    git(starter, "add", "-A")
    git(starter, "commit", "-qm", "approved by the board")
    revision = git(starter, "rev-parse", "--short", "HEAD")
    report = starter / "data" / "report.yml"
    report.write_text(report.read_text("utf-8") + f"approval:\n  by: Board of Directors\n  date: 2025-03-20\n"
                                                  f"  revision: \"{revision}\"\n", "utf-8")
    code, _, err = run_cli("build", str(starter), "--no-pdf")
    assert code == 0, err
    assert err.splitlines()[0] == f"sources are those of revision {revision} approved by Board of Directors on 2025-03-20"
    chapter = starter / "content" / "en" / "social.md"
    chapter.write_text(chapter.read_text("utf-8") + "\nA late addition.\n", "utf-8")
    code, _, err = run_cli("build", str(starter), "--no-pdf")
    assert code == 0, err
    assert "approved by" not in err.splitlines()[0]
    line = report.read_text("utf-8").splitlines().index("approval:") + 1
    assert (f"data/report.yml:{line}: warning: these sources differ from revision {revision} approved by Board of "
            f"Directors on 2025-03-20: content/en/social.md [approval.differs]") in err
    assert err.count("these sources differ") == 1  # reported once, with the other problems
    approval = json.loads((starter / "site" / "manifest.json").read_text("utf-8"))["approval"]
    assert approval["differing_sources"] == ["content/en/social.md"]
    code, _, err = run_cli("build", str(starter), "--no-pdf", "--strict")  # CI publishes approved text only
    assert code == 1 and "[approval.differs]" in err
    code, out, _ = run_cli("check", str(starter), "--format", "json")
    assert [p["code"] for p in json.loads(out) if p["code"].startswith("approval.")] == ["approval.differs"]


def test_an_approved_revision_that_cannot_be_found_is_a_located_warning(starter):
    git(starter, "init", "-q")
    report = starter / "data" / "report.yml"
    report.write_text(report.read_text("utf-8") + "approval: {by: Board, date: 2025-03-20, revision: v9.9-missing}\n", "utf-8")
    code, out, _ = run_cli("check", str(starter), "--format", "json")
    [found] = [p for p in json.loads(out) if p["code"].startswith("approval.")]
    assert found["code"] == "approval.unknown" and found["severity"] == "warning"
    assert "no revision 'v9.9-missing' in the git repository" in found["message"]
    assert found["file"].endswith("data/report.yml") and found["line"] == len(report.read_text("utf-8").splitlines())


@pytest.mark.parametrize("document, problem", [
    ('[]', "it is not a JSON object"),
    ('{"outputs": {"en/index.html": 5}}', "its outputs are not a mapping of names to texts"),
    ('{"outputs": {}, "inputs": 3}', "its inputs are not a mapping of names to texts"),
    ('{"outputs": {}, "report": {"editions": "en"}}', "its report editions are not a list of edition codes"),
    ('{"outputs": {}, "report": {"pdf": true}, "fonts": [{"family": "Noto"}]}', "its fonts are not a list of"),
])
def test_verify_refuses_a_manifest_that_is_not_one(document, problem, starter, tmp_path):
    """A hand-edited manifest ended in a traceback (TypeError) after the rebuild."""
    manifest = tmp_path / "manifest.json"
    manifest.write_text(document, "utf-8")
    code, _, err = run_cli("verify", str(manifest), str(starter))
    assert code == 2 and f"{manifest}: not a build manifest (a build writes site/manifest.json): {problem}" in err, err
    assert "Traceback" not in err


def test_verify_reads_no_manifest_larger_than_a_manifest(starter, tmp_path):
    """It read any file whole: /dev/zero until memory ran out (the cap and the regular-file check
    are one guard; a sparse file tests the cap without filling a disk)."""
    from build_tools.cli import MAX_MANIFEST_BYTES

    huge = tmp_path / "manifest.json"
    with huge.open("wb") as file:
        file.truncate(MAX_MANIFEST_BYTES + 1)
    code, _, err = run_cli("verify", str(huge), str(starter))
    assert code == 2 and f"{huge}: not a build manifest" in err and "it is larger than 64 MB" in err, err
