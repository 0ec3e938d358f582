"""The command line: exit codes, messages a writer sees, and a site that is never half-replaced."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from build_tools.data import load_report_data
from support import run_cli


def snapshot(site: Path) -> dict:
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def break_kpi(report: Path) -> None:
    page = report / "content" / "en" / "environmental.md"
    lines = page.read_text("utf-8").splitlines()
    lines[4] = lines[4] + ' We emitted {{ kpi("nox_emission") }}.'
    page.write_text("\n".join(lines) + "\n", "utf-8")


def test_new_report_builds_cleanly_in_strict_mode(tmp_path):
    code, out, err = run_cli("new", str(tmp_path / "fresh"), "--company", "Lantau Example Limited")
    assert code == 0, err
    code, out, err = run_cli("build", str(tmp_path / "fresh"), "--strict")
    assert code == 0, err
    assert "error" not in err and "warning" not in err
    for edition in ("en", "zh-Hant"):
        assert (tmp_path / "fresh" / "site" / edition / f"esg-report-{edition}.pdf").read_bytes().startswith(b"%PDF")
        assert (tmp_path / "fresh" / "site" / edition / "index.html").exists()


def test_new_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    code, _, err = run_cli("new", str(tmp_path / "taken"))
    assert code == 1 and f"{tmp_path / 'taken'}: error: {tmp_path / 'taken'} exists and is not empty; nothing was written [new.not-empty]" in err
    assert "Traceback" not in err and (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def test_unknown_kpi_fails_naming_file_and_line_and_keeps_the_last_site(starter):
    code, _, err = run_cli("build", str(starter), "--no-pdf")
    assert code == 0, err
    before = snapshot(starter / "site")
    break_kpi(starter)
    code, out, err = run_cli("build", str(starter))
    assert code == 1
    assert "content/en/environmental.md:5: error: unknown KPI id 'nox_emission' [macro]" in err
    assert "hint: did you mean 'nox_emissions'?" in err
    assert "the previous site/ was left as it was" in err
    assert snapshot(starter / "site") == before
    assert not list(starter.glob(".site-staging-*"))


def test_check_reports_json_for_ci(starter):
    break_kpi(starter)
    code, out, _ = run_cli("check", str(starter), "--format", "json")
    assert code == 1
    [problem] = [p for p in json.loads(out) if p["severity"] == "error"]
    assert problem["file"].endswith("content/en/environmental.md")
    assert (problem["line"], problem["severity"], problem["code"]) == (5, "error", "macro")


def test_warnings_fail_only_under_strict(starter):
    data = load_report_data(starter / "data")
    suppliers = data.kpis["suppliers_total"].value(data.year).amount
    page = starter / "content" / "en" / "social.md"
    page.write_text(page.read_text("utf-8") + f"\nWe work with {suppliers} suppliers.\n", "utf-8")
    code, out, _ = run_cli("check", str(starter))
    assert code == 0
    assert f"warning: the number {suppliers} is typed here but is the value of KPI suppliers_total ({data.year})" in out
    code, _, _ = run_cli("check", str(starter), "--strict")
    assert code == 1


def test_one_edition_keeps_the_other(starter):
    assert run_cli("build", str(starter), "--no-pdf")[0] == 0
    zh_before = snapshot(starter / "site" / "zh-Hant")
    code, out, err = run_cli("build", str(starter), "--edition", "en", "--no-pdf")
    assert code == 0, err
    assert snapshot(starter / "site" / "zh-Hant") == zh_before


def test_usage_error_exits_2():
    code, _, err = run_cli("build", "--edition", "fr")
    assert code == 2
    assert "invalid choice: 'fr'" in err


@pytest.mark.parametrize("command", ["build", "check", "diff"])
@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_a_number_of_jobs_below_one_is_refused(command, jobs):
    args = ["diff", "a", "b"] if command == "diff" else [command]
    code, _, err = run_cli(*args, f"--jobs={jobs}")
    assert code == 2
    assert f"argument --jobs: '{jobs}' is not a number of processes (1 or more)" in err


def test_interrupted_build_leaves_the_previous_site(starter):
    assert run_cli("build", str(starter), "--no-pdf")[0] == 0
    before = snapshot(starter / "site")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "build_tools", "build", str(starter)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(starter.glob(".site-staging-*/*/*.pdf.part")):
        time.sleep(0.05)  # wait until the PDF step is writing
    assert list(starter.glob(".site-staging-*")), "the build never reached the PDF step"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted: nothing was replaced" in err
    assert snapshot(starter / "site") == before
    assert not list(starter.glob(".site-staging-*"))


def test_broken_link_and_anchor_are_located_warnings(starter):
    page = starter / "content" / "en" / "social.md"
    page.write_text(page.read_text("utf-8") + "\nSee [the policy](policy.md) and [emissions](environmental.md#a9).\n", "utf-8")
    code, out, _ = run_cli("check", str(starter), "--strict")
    assert code == 1
    line = len(page.read_text("utf-8").splitlines())
    assert f"content/en/social.md:{line}: warning: contains a link 'policy.md', but the target is not found among documentation files." in out
    assert "content/en/social.md" in out and "'#a9'" in out


def test_duplicate_anchor_and_missing_alt_text(starter):
    page = starter / "content" / "zh-Hant" / "social.md"
    page.write_text(page.read_text("utf-8") + "\n## 重複 { #b1 }\n\n![](chart.png)\n", "utf-8")
    code, out, _ = run_cli("check", str(starter))
    assert "content/zh-Hant/social.md" in out
    assert "warning: the id 'b1' is used twice on this page [content.duplicate-anchor]" in out
    assert "error: image 'chart.png' has no text alternative [content.image-alt]" in out


def test_site_only_build_keeps_the_last_pdf(starter):
    assert run_cli("build", str(starter), "--edition", "en")[0] == 0
    pdf = (starter / "site" / "en" / "esg-report-en.pdf").read_bytes()
    assert run_cli("build", str(starter), "--no-pdf")[0] == 0
    assert (starter / "site" / "en" / "esg-report-en.pdf").read_bytes() == pdf
    assert not (starter / "site" / "zh-Hant" / "esg-report-zh-Hant.pdf").exists()


def test_output_that_is_not_ours_is_a_usage_error(starter, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for target in ("/", str(tmp_path / "notes.txt"), str(starter)):
        code, _, err = run_cli("build", str(starter), "--no-pdf", "--output", target)
        assert code == 2 and "[output.refused]" in err and "Traceback" not in err
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("address", ["abc", "127.0.0.1:99999", ":0", "127.0.0.1:", "300.1.1.1:8000", "localhost:80x"])
def test_serve_refuses_an_address_it_cannot_listen_on(address, starter):
    code, _, err = run_cli("serve", str(starter), "--dev-addr", address)
    assert code == 2
    assert f"argument --dev-addr: '{address}' is not HOST:PORT" in err and "Traceback" not in err


def test_serve_on_a_port_in_use_says_so(starter):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = "127.0.0.1:%d" % taken.getsockname()[1]
        code, _, err = run_cli("serve", str(starter), "--dev-addr", address)
    assert code == 2
    assert f"cannot listen on {address}: Address already in use" in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["migrate", "--to", "hkex-esg-2025"], ["trace", "some_kpi"]])
@pytest.mark.parametrize("folder", ["missing", "not-a-report"])
def test_a_folder_that_is_not_a_report_is_named(command, folder, tmp_path):
    """migrate ended in a traceback (FileNotFoundError); trace said to build a report that is not there."""
    (tmp_path / "not-a-report").mkdir()
    target = tmp_path / folder
    args = [command[0], *command[1:], str(target)] if command[0] == "trace" else [command[0], str(target), *command[1:]]
    code, _, err = run_cli(*args)
    assert code == 1 and f"not a report folder: no mkdocs.yml / data/report.yml in {target}" in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("args, argument", [
    (["new", ""], "directory"), (["build", "--output", ""], "--output"), (["diff", "a", "b", "--html", ""], "--html"),
    (["rollover", ".", ""], "NEWDIR"), (["export", ""], "file"), (["import", " "], "file"), (["verify", ""], "manifest"),
])
def test_an_empty_path_is_refused(args, argument, tmp_path, monkeypatch):
    """An unset shell variable: `new ""` wrote a report into the current folder, `--output ""` and
    `--html ""` were ignored."""
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(*args)
    assert code == 2 and f"argument {argument}: a path cannot be empty" in err, err
    assert not any(tmp_path.iterdir())


def test_check_in_json_prints_a_problem_that_stops_it_as_json_on_stdout(tmp_path):
    (tmp_path / "notes.txt").write_text("not a report", "utf-8")
    code, out, err = run_cli("check", str(tmp_path), "--format", "json")
    assert code == 1 and out.strip(), err  # a tool parsing stdout gets the reason, not nothing
    (problem,) = json.loads(out)
    assert problem["severity"] == "error" and problem["message"]
