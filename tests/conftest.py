import logging
import shutil
from pathlib import Path

import pytest

from build_tools.pipeline import build_report
from build_tools.project import TOOLCHAIN_ROOT, Project
from build_tools.scaffold import create_report

pytest_plugins = ["pytester"]  # test_repository.py runs the log guard on a test that logs

STARTER_YEAR = 2024

# The toolchain collects its engines' messages as diagnostics while it builds (errors.collect_logs),
# so none of these loggers' warnings should reach the root logger: one that does was lost to the
# writer. (WeasyPrint's own suite guards its tests the same way, with assert_no_logs.)
GUARDED_LOGGERS = ("mkdocs", "weasyprint", "build_tools")


class _EscapedLogs(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        if record.name.split(".")[0] in GUARDED_LOGGERS:
            self.records.append(record)


@pytest.fixture(scope="session", autouse=True)
def _escaped_logs():
    """Installed for the whole session, so the session builds' records are caught too."""
    handler = _EscapedLogs()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


@pytest.fixture(autouse=True)
def assert_no_logs(request, _escaped_logs):
    """Fail a test when an engine's WARNING (or worse) escaped to the root logger.

    Records since the previous test count, so those of a session fixture built for this test
    (sample_build, starter_build) count here. A test that expects such a log is marked
    ``@pytest.mark.allow_logs``.
    """
    yield
    escaped, _escaped_logs.records = _escaped_logs.records, []
    if escaped and not request.node.get_closest_marker("allow_logs"):
        pytest.fail("log records escaped the toolchain's diagnostics:\n" + "\n".join(
            f"{r.levelname} {r.name}: {r.getMessage()}" for r in escaped), pytrace=False)


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
