"""What a build may write, replace or delete (build_tools/publish.py), tried as a careless user
and as an attacker would: each case checks the exit code, the located message, that no Python
traceback is printed, and that nothing beside the report changed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support import run_cli, tree_hash

from build_tools.publish import MARKER


@pytest.fixture
def area(starter, tmp_path):
    """The starter report with a sentinel tree beside it that no command may touch."""
    sentinel = tmp_path / "sentinel"
    (sentinel / "deep").mkdir(parents=True)
    (sentinel / "notes.txt").write_text("my notes")
    (sentinel / "deep" / "data.bin").write_bytes(bytes(range(256)))
    (tmp_path / "victim.txt").write_text("keep me")
    return starter


def outside(report: Path) -> str:
    return tree_hash(report.parent, skip=report)


def assert_clean(err: str) -> None:
    assert "Traceback" not in err and "internal error" not in err, err


# --- outputs that are not the toolchain's to replace ---------------------------------------

@pytest.mark.parametrize("target, located, reason", [
    ("/", "/", "the output is the root of the file system"),
    (".", ".", "the output is the report folder itself"),
    ("..", "{parent}", "the output contains the report folder"),
    ("content/en", "content/en", "the output is inside the report's content/ folder"),
    ("data/kpis", "data/kpis", "the output is inside the report's data/ folder"),
    ("templates/site", "templates/site", "the output is inside the report's templates/ folder"),
    ("mkdocs.yml", "mkdocs.yml", "the output is a file"),
    ("../victim.txt", "{parent}/victim.txt", "the output is a file"),
    ("../sentinel", "{parent}/sentinel", "the output folder is not empty and was not made by esg-report"),
])
def test_build_refuses_outputs_it_did_not_make(area, monkeypatch, target, located, reason):
    monkeypatch.chdir(area)
    before, report_before = outside(area), tree_hash(area)
    code, out, err = run_cli("build", str(area), "--no-pdf", "--output", target)
    assert code == 2, err
    line = next(line for line in err.splitlines() if "[output.refused]" in line)
    assert line.split(": error: ")[0] == located.format(parent=area.parent) and reason in line, err
    assert "hint:" in err
    assert_clean(err)
    assert outside(area) == before
    assert tree_hash(area) == report_before  # not even a lock file


def test_a_file_named_site_is_never_replaced(area):
    (area / "site").write_text("my site plan")
    code, _, err = run_cli("build", str(area), "--no-pdf")
    assert code == 2
    assert "site: error: the output is a file, not a folder a build made; the toolchain never replaces files" in err
    assert "hint: move or delete it yourself, or choose another --output" in err
    assert_clean(err)
    assert (area / "site").read_text() == "my site plan"


def test_site_old_is_left_alone_and_builds_replace_only_their_own_folder(area):
    (area / "site.old").write_text("an old plan")
    before = outside(area)
    code, _, err = run_cli("build", str(area), "--no-pdf")
    assert code == 0, err
    assert (area / "site" / MARKER).is_file()
    (area / "site" / "en" / "extra.html").write_text("left by hand")  # still our folder: replaced as a whole
    code, _, err = run_cli("build", str(area), "--no-pdf")
    assert code == 0, err
    assert not (area / "site" / "en" / "extra.html").exists()
    assert (area / "site.old").read_text() == "an old plan"
    assert outside(area) == before


def test_unmarked_folder_is_refused_but_an_older_build_is_taken_over(area):
    site = area / "site"
    (site / "en").mkdir(parents=True)
    (site / "en" / "index.html").write_text("<p>old build</p>")
    (site / "index.html").write_text("<p>chooser</p>")
    (site / "my-notes.txt").write_text("mine")  # not something a build writes: the folder is the writer's
    code, _, err = run_cli("build", str(area), "--no-pdf")
    assert code == 2 and "site: error: the output folder is not empty and was not made by esg-report" in err
    assert (site / "my-notes.txt").read_text() == "mine"
    (site / "my-notes.txt").unlink()  # now it looks exactly like an older build's output
    code, _, err = run_cli("build", str(area), "--no-pdf")
    assert code == 0, err
    assert (site / MARKER).is_file() and "old build" not in (site / "en" / "index.html").read_text()


def test_an_empty_folder_or_a_new_path_outside_the_report_is_fine(area):
    empty = area.parent / "public"
    empty.mkdir()
    before = tree_hash(area.parent / "sentinel")
    assert run_cli("build", str(area), "--no-pdf", "--output", str(empty))[0] == 0
    assert (empty / "en" / "index.html").is_file() and (empty / MARKER).is_file()
    assert run_cli("build", str(area), "--no-pdf", "--output", str(area.parent / "new" / "web"))[0] == 0
    assert (area.parent / "new" / "web" / "zh-Hant" / "index.html").is_file()
    assert tree_hash(area.parent / "sentinel") == before


def test_published_tree_is_readable_by_others(area):
    previous = os.umask(0o022)
    try:
        assert run_cli("build", str(area), "--no-pdf")[0] == 0
    finally:
        os.umask(previous)
    site = area / "site"
    modes = {oct(p.stat().st_mode & 0o777) for p in [site, *site.rglob("*")] if p.is_dir()}
    assert modes == {"0o755"}
    modes = {oct(p.stat().st_mode & 0o777) for p in site.rglob("*") if p.is_file()}
    assert modes == {"0o644"}
    assert not (site / ".esg-report-owner").exists()


# --- the report's configuration and sources --------------------------------------------------

def test_python_tag_in_mkdocs_yml_is_refused_before_mkdocs_runs_it(area):
    proof = area.parent / "pwned"
    config = area / "mkdocs.yml"
    lines = config.read_text("utf-8").splitlines()
    lines.insert(2, f"extra_css: !!python/object/apply:os.system ['touch {proof}']")
    config.write_text("\n".join(lines) + "\n", "utf-8")
    before = outside(area)
    for command in (["build", str(area), "--no-pdf"], ["check", str(area)]):
        code, out, err = run_cli(*command)
        assert code == 1, err
        assert "mkdocs.yml:3:12: error: !!python/object/apply:os.system: Python tags are not allowed in the configuration " \
               "[config.python-tag]" in out + err
        assert_clean(err)
    assert not proof.exists()
    assert outside(area) == before
    assert not (area / "site").exists()


def test_env_tag_is_harmless_and_broken_or_missing_mkdocs_yml_is_located(area):
    config = area / "mkdocs.yml"
    text = config.read_text("utf-8")
    config.write_text(text.replace("site_name: ESG Report", "site_name: !ENV [SITE_NAME, 'ESG Report']"), "utf-8")
    assert run_cli("check", str(area))[0] == 0
    config.write_text(text + "nav: [unclosed\n", "utf-8")
    code, out, err = run_cli("build", str(area), "--no-pdf")
    last = len(text.splitlines()) + 2  # the flow sequence is still open at the end of the file
    assert code == 1 and f"mkdocs.yml:{last}:1: error: mkdocs.yml is not valid YAML" in err, err
    assert_clean(err)
    config.unlink()
    code, _, err = run_cli("build", str(area), "--no-pdf")
    assert code == 1
    assert f".: error: not a report folder: no mkdocs.yml in {area}; create one with esg-report new [report.missing]" in err
    assert_clean(err)


def test_symlink_out_of_the_report_is_refused_with_its_path(area):
    secret = area.parent / "sentinel" / "notes.txt"
    (area / "content" / "en" / "notes.md").symlink_to(secret)
    (area / "data" / "linked").symlink_to(area.parent / "sentinel")
    (area / "content" / "en" / "inside.md").symlink_to(area / "content" / "en" / "social.md")  # fine: inside
    before = outside(area)
    code, _, err = run_cli("build", str(area), "--no-pdf")
    assert code == 1
    assert f"content/en/notes.md: error: the link points outside the report, to {secret} [source.symlink]" in err
    assert f"data/linked: error: the link points outside the report, to {area.parent / 'sentinel'}" in err
    assert "inside.md" not in err
    assert_clean(err)
    assert outside(area) == before and not (area / "site").exists()


def test_pdf_does_not_embed_files_outside_the_report(area):
    secret = area.parent / "sentinel" / "notes.txt"
    page = area / "content" / "en" / "social.md"
    lines = page.read_text("utf-8").splitlines()
    lines.insert(5, f'Terms: <a rel="attachment" href="{secret}">terms</a>')
    page.write_text("\n".join(lines) + "\n", "utf-8")
    code, _, err = run_cli("build", str(area), "--edition", "en")
    assert code == 1
    assert f"content/en/social.md:6: error: the PDF would embed {secret}, which is outside the report [print.outside]" in err
    assert err.count(str(secret)) == 1  # once, located; not again in WeasyPrint's log
    assert_clean(err)
    assert not (area / "site").exists()


def test_commands_stay_inside_the_report(area, tmp_path):
    before = outside(area)
    for page in ("../../mkdocs.yml", "/etc/passwd", "../en/social.md"):
        code, _, err = run_cli("translations", str(area), "--mark", page)
        assert code == 2 and f"error: {page}: not a page under content/" in err, err
        assert_clean(err)
    assert run_cli("translations", str(area), "--mark", "social.md")[0] == 0
    plain = tmp_path / "sentinel"
    for command in (["catalogs", "update", str(plain)], ["import", str(tmp_path / "x.csv"), str(plain)],
                    ["export", str(tmp_path / "out.csv"), str(plain)],
                    ["translations", str(plain)]):
        code, _, err = run_cli(*command)
        assert code == 1
        assert (f".: error: not a report folder: no mkdocs.yml / data/report.yml in {plain}; create one with esg-report new "
                "[report.missing]") in err
        assert_clean(err)
    code, _, err = run_cli("new", str(tmp_path / "victim.txt"))
    assert code == 1 and "victim.txt exists and is a file; nothing was written" in err  # a writer's slip, located
    assert_clean(err)
    assert outside(area) == before


# --- the file system says no -----------------------------------------------------------------

@pytest.fixture
def mount(tmp_path):
    mounted = []

    def make(name: str, options: str) -> Path:
        point = tmp_path / name
        point.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True)
        if result.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
        mounted.append(point)
        return point

    yield make
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_read_only_output_folder(area, mount):
    target = mount("readonly", "size=1m,ro")
    code, _, err = run_cli("build", str(area), "--no-pdf", "--output", str(target / "site"))
    assert code == 1
    assert f"site: error: read-only file system while writing {target}/" in err
    assert "; the previous site is untouched [output.write]" in err
    assert_clean(err)


def test_full_disk_leaves_the_previous_site(area, mount):
    # The starter's site is ~5.6 MB: the first build fits, the second needs room for two copies.
    disk = mount("small", "size=8m")
    site = disk / "site"
    code, _, err = run_cli("build", str(area), "--no-pdf", "--output", str(site))
    assert code == 0, err
    before = tree_hash(site)
    code, _, err = run_cli("build", str(area), "--no-pdf", "--output", str(site), "--clean")  # not a no-op
    assert code == 1
    assert "error: no space left on device while writing " in err and "; the previous site is untouched [output.write]" in err
    assert_clean(err)
    assert tree_hash(site) == before
    assert not list(disk.glob(".site-staging-*"))


# --- killed and concurrent builds --------------------------------------------------------------

def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _build_process(report: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.Popen([sys.executable, "-m", "build_tools", "build", str(report), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)


@pytest.mark.parametrize("extra, workers_expected, processes_expected", [((), 2, 4), (("--edition", "en"), 1, 1)],
                         ids=["edition workers and their PDF processes", "PDF process of a one-edition build"])
def test_sigkill_leaves_no_worker_and_the_next_build_removes_the_staging_folder(area, extra, workers_expected,
                                                                                processes_expected):
    process = _build_process(area, *extra)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline:
        workers = _children(process.pid)
        if len(workers) == workers_expected and list(area.glob(".site-staging-*/*/index.html")):
            break
        time.sleep(0.05)
    assert len(workers) == workers_expected, "the build never started its worker processes"
    workers += [pdf for worker in workers for pdf in _children(worker)]  # the editions' PDF processes
    assert len(workers) == processes_expected, "the PDF processes were not found"
    staging = list(area.glob(".site-staging-*"))
    process.kill()
    process.communicate()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers), "a worker process outlived its killed build"
    assert staging and all(s.is_dir() for s in staging)
    code, _, err = run_cli("build", str(area), "--no-pdf")
    assert code == 0, err
    assert not list(area.glob(".site-staging-*"))


def test_concurrent_builds_publish_whole_sites_or_say_another_is_running(area):
    assert run_cli("build", str(area), "--no-pdf")[0] == 0
    site = area / "site"
    missing: list[str] = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            if not (site / "index.html").is_file() or not (site / "en" / "index.html").is_file():
                missing.append(time.strftime("%T"))
            time.sleep(0.001)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        processes = [_build_process(area, "--no-pdf") for _ in range(4)]
        outcomes = [(*p.communicate(timeout=120), p.returncode) for p in processes]
    finally:
        done.set()
        watcher.join()
    assert not missing, f"site/ was incomplete or missing at {missing[:3]}"
    published = 0
    for out, err, code in outcomes:
        assert_clean(err)
        if code == 0:
            published += 1
            assert "built in" in out
        else:
            assert code == 1, err
            assert "error: another build of this report is running (pid " in err, err
    assert published >= 1
    assert {p.name for p in site.iterdir()} >= {"index.html", "404.html", "en", "zh-Hant", MARKER}
    assert not list(area.glob(".site-staging-*"))


def test_leftovers_of_killed_builds_are_removed_but_not_lookalike_folders(area):
    legacy = area / ".site-staging-k1llEd"  # an older version's staging folder: edition folders only
    (legacy / "en").mkdir(parents=True)
    (legacy / "en" / "index.html").write_text("half a build")
    dead = area / ".site-staging-d3ad"  # this version's, whose owner is gone
    dead.mkdir()
    (dead / ".esg-report-owner").write_text("999999999 1\n")
    lookalike = area / ".site-staging-notes"
    lookalike.mkdir()
    (lookalike / "todo.txt").write_text("mine")
    assert run_cli("build", str(area), "--no-pdf")[0] == 0
    assert not legacy.exists() and not dead.exists()
    assert (lookalike / "todo.txt").read_text() == "mine"


def test_config_may_not_reach_outside_the_report(area):
    config = area / "mkdocs.yml"
    config.write_text(config.read_text("utf-8").replace("theme:\n", f"theme:\n  custom_dir: {area.parent / 'sentinel'}\n"),
                      "utf-8")
    before = outside(area)
    code, _, err = run_cli("build", str(area), "--no-pdf")
    assert code == 1
    assert f"mkdocs.yml: error: theme: custom_dir: {area.parent / 'sentinel'} is outside the report [config.outside]" in err
    assert_clean(err)
    assert outside(area) == before


def test_without_renameat2_the_switch_falls_back_to_two_renames(area, monkeypatch):
    from build_tools import publish

    assert run_cli("build", str(area), "--no-pdf")[0] == 0
    (area / "site" / "en" / "stale.html").write_text("from the previous build")
    monkeypatch.setattr(publish, "_renameat2", lambda: None)  # as on a system without the call
    assert run_cli("build", str(area), "--no-pdf")[0] == 0
    assert (area / "site" / "en" / "index.html").is_file() and not (area / "site" / "en" / "stale.html").exists()
    assert not list(area.glob(".site-staging-*"))
