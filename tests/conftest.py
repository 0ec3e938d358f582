import shutil
from pathlib import Path

import pytest

from build_tools.pipeline import build_report
from build_tools.project import TOOLCHAIN_ROOT, Project
from build_tools.scaffold import create_report

STARTER_YEAR = 2024


@pytest.fixture(scope="session")
def starter_template(tmp_path_factory) -> Path:
    """A pristine starter report (esg-report new), created once."""
    path = tmp_path_factory.mktemp("starter") / "report"
    create_report(path, company="Harbour Example Holdings Limited", year=STARTER_YEAR)
    return path


@pytest.fixture
def starter(starter_template, tmp_path) -> Path:
    """A private copy of the starter report that a test may break."""
    path = tmp_path / "report"
    shutil.copytree(starter_template, path)
    return path


@pytest.fixture(scope="session")
def starter_build(starter_template, tmp_path_factory):
    """The starter report built once, both editions with PDFs."""
    output = tmp_path_factory.mktemp("starter-site") / "site"
    results, problems = build_report(Project.at(starter_template), output=output)
    assert not problems.errors, "\n".join(d.format() for d in problems.items)
    return output, {r.edition: Path(r.pdf) for r in results}, problems


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory):
    """The repository's sample report (the 2024 Ascentage Pharma ESG report), built once."""
    output = tmp_path_factory.mktemp("sample-site") / "site"
    results, problems = build_report(Project.at(TOOLCHAIN_ROOT), output=output)
    assert not problems.errors, "\n".join(d.format() for d in problems.items)
    return output, {r.edition: Path(r.pdf) for r in results}, problems
