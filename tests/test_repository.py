"""The repository itself: the CI workflow for users' forges is valid, the catalogs are complete,
the examples in the docstrings run."""

import doctest
import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

import build_tools
from build_tools.project import TOOLCHAIN_ROOT
from support import run_cli


def test_github_workflow_is_valid():
    workflow = TOOLCHAIN_ROOT / ".github" / "workflows" / "report.yml"
    result = subprocess.run([str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema",
                             "vendor.github-workflows", str(workflow)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_builds_the_editions_as_parallel_jobs():
    import yaml

    workflow = yaml.safe_load((TOOLCHAIN_ROOT / ".github" / "workflows" / "report.yml").read_text("utf-8"))
    edition = workflow["jobs"]["edition"]
    assert edition["strategy"]["matrix"]["edition"] == ["en", "zh-Hant"]
    assert any("esg-report build --edition ${{ matrix.edition }}" in step.get("run", "") for step in edition["steps"])


def test_ui_catalogs_are_complete_and_current():
    code, out, _ = run_cli("catalogs", "status", str(TOOLCHAIN_ROOT), "--check")
    assert code == 0, out
    assert "0 missing" in out and "0 no longer used" in out


PACKAGE = Path(build_tools.__file__).parent


def prompts(source: str) -> int:
    return sum(line.lstrip().startswith(">>> ") for line in source.splitlines())


# Every module with an example in it, found in the source rather than listed, so that a new
# module's examples run and a module whose examples doctest no longer finds fails.
DOCTEST_MODULES = {".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts): prompts(path.read_text("utf-8"))
                   for path in sorted(PACKAGE.rglob("*.py")) if prompts(path.read_text("utf-8"))}


def run_doctests(module: types.ModuleType) -> tuple[doctest.TestResults, str]:
    report: list[str] = []
    runner = doctest.DocTestRunner(verbose=False)
    for test in doctest.DocTestFinder().find(module):
        runner.run(test, out=report.append)
    return runner.summarize(verbose=False), "".join(report)


def test_the_package_has_doctests():
    assert DOCTEST_MODULES, "no module of build_tools has an example (>>>) any more"


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_every_example_in_a_docstring_runs_and_passes(name):
    results, report = run_doctests(importlib.import_module(name))
    assert results.failed == 0, report
    assert results.attempted == DOCTEST_MODULES[name], "an example (>>>) outside a docstring doctest finds"


def test_a_wrong_example_fails():
    module = types.ModuleType("wrong_example", "Adds up.\n\n>>> 1 + 1\n3\n")
    results, report = run_doctests(module)
    assert (results.failed, results.attempted) == (1, 1)
    assert "Expected:\n    3\nGot:\n    2" in report


@pytest.mark.allow_logs  # the inner run's warning also reaches this session's root logger
def test_an_escaped_engine_warning_fails_the_test_unless_allowed(pytester):
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text("utf-8").replace(
        'pytest_plugins = ["pytester"]', ""))
    pytester.makeini("[pytest]\nmarkers =\n    allow_logs: expected logs\n")
    pytester.makepyfile(test_logs="""
        import logging
        import pytest

        def test_escaped():
            logging.getLogger("weasyprint").warning("Failed to load image")

        @pytest.mark.allow_logs
        def test_allowed():
            logging.getLogger("mkdocs.plugins").error("shown in the preview's terminal")

        def test_other_loggers_and_info_are_fine():
            logging.getLogger("markdown").warning("not ours")
            logging.getLogger("build_tools.pipeline").info("progress")
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*WARNING weasyprint: Failed to load image*"])
