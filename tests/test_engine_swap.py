"""The site engine is swapped by configuration: the sample built with ProperDocs (the maintained
MkDocs 1.x fork) has the pages, heading ids, index page numbers and PDF text of the MkDocs build."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from build_tools.project import TOOLCHAIN_ROOT
from support import pdf_text, run_cli

ENGINE_OPTION = "  - esg-report:\n      engine: {engine}\n"


def with_engine(report: Path, engine: str) -> None:
    """The configuration change a report makes to switch engines: an option of the report plugin."""
    config = report / "mkdocs.yml"
    text = config.read_text("utf-8")
    assert "\n  - esg-report\n" in text
    config.write_text(text.replace("\n  - esg-report\n", "\n" + ENGINE_OPTION.format(engine=engine)), "utf-8")


def build_in_own_process(report: Path) -> subprocess.CompletedProcess:
    # ProperDocs takes over the `mkdocs` names for the whole process (see properdocs_adapter), and
    # this test process has MkDocs loaded: the ProperDocs build runs as a user runs it, in a CLI.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TOOLCHAIN_ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "build_tools", "build", str(report)], capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def properdocs_build(tmp_path_factory):
    report = tmp_path_factory.mktemp("properdocs") / "report"
    report.mkdir()
    for name in ("mkdocs.yml", "content", "data"):
        source = TOOLCHAIN_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, report / name)
    with_engine(report, "properdocs")
    done = build_in_own_process(report)
    assert done.returncode == 0, done.stdout + done.stderr
    return report / "site"


def site_pages(site: Path) -> dict[str, list[str]]:
    """Each HTML page of each edition, with the ids of its elements in document order."""
    return {str(page.relative_to(site)): re.findall(r'\bid="([^"]+)"', page.read_text("utf-8"))
            for page in sorted(site.rglob("*.html"))}


def test_properdocs_is_the_engine_that_built_the_site(properdocs_build):
    generator = re.search(r'<meta name="generator" content="([^"]+)"', (properdocs_build / "en" / "index.html").read_text("utf-8"))
    assert generator and "ProperDocs" in generator.group(1)
    manifest = json.loads((properdocs_build / "manifest.json").read_text("utf-8"))
    assert manifest["engines"]["properdocs"] == "1.6.7"


def test_properdocs_builds_the_pages_and_ids_of_mkdocs(properdocs_build, sample_build):
    mkdocs_site, _, _ = sample_build
    swapped, original = site_pages(properdocs_build), site_pages(mkdocs_site)
    assert list(swapped) == list(original)
    assert swapped == original


def test_properdocs_gives_the_same_pdf_and_index_pages(properdocs_build, sample_build):
    mkdocs_site, pdfs, _ = sample_build
    for edition, pdf in pdfs.items():
        assert pdf_text(properdocs_build / edition / pdf.name) == pdf_text(pdf)
        # where each KPI is printed: the content index's page numbers come from the same layout
        locations = f"{edition}/downloads/kpi-locations.json"
        assert json.loads((properdocs_build / locations).read_text("utf-8")) == \
            json.loads((mkdocs_site / locations).read_text("utf-8"))
        index = f"{edition}/downloads/content-index.json"
        assert (properdocs_build / index).read_bytes() == (mkdocs_site / index).read_bytes()


def test_an_unknown_engine_is_a_located_error(starter):
    with_engine(starter, "zensical")
    code, out, err = run_cli("check", str(starter))
    assert code == 1
    assert re.search(r"mkdocs\.yml:\d+: .*unknown site engine 'zensical'", out + err)


def test_the_previews_plugin_options_survive_every_rebuild(starter):
    """`serve` loads mkdocs.yml again with the same plugin options on each save."""
    from mkdocs.config import load_config

    from build_tools.mkdocs_adapter import plugins_with_options
    from build_tools.project import Project

    plugins = plugins_with_options(Project.at(starter), {"edition": "en", "preview": True})
    for _ in range(2):  # the first save's rebuild used to fail: "Invalid Plugins configuration"
        config = load_config(str(starter / "mkdocs.yml"), plugins=plugins)
        assert config.plugins["esg-report"].config.preview is True


def test_the_example_report_checks_clean_with_properdocs(tmp_path):
    example = TOOLCHAIN_ROOT / "examples" / "harbourview-property"
    report = tmp_path / "harbourview"
    shutil.copytree(example, report, ignore=shutil.ignore_patterns("site", ".site-*"))
    with_engine(report, "properdocs")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TOOLCHAIN_ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-m", "build_tools", "check", str(report), "--strict"], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
