"""The abuse suite: bad inputs against a throw-away report, each a located error and never a crash.

Every row of ``CASES`` breaks a private copy of the starter report in one way, runs
``esg-report`` on it, and asserts what a user would see: the exit code, the error message at its
``file:line``, no Python traceback and no "internal error", and that nothing beside the report
changed (a sentinel tree is hashed before and after).

To add a case, append a ``Case`` to ``CASES``: ``breaks`` changes the report and returns where the
error must point ("content/en/social.md:87"; a column may follow). The helpers below append to a
chapter or rewrite a data file and return that location, so expectations come from the input.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from build_tools.project import TOOLCHAIN_ROOT

from support import run_cli, tree_hash

# --- the harness -------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    breaks: Callable[[Path], str]  # changes the report; returns the expected "file:line" of the error
    message: str  # regex the error message must match (after "error: ")
    code: str  # the diagnostic's [category]
    hint: str | None = None  # regex the hint must match, when it matters
    args: tuple[str, ...] = ("check",)  # the report folder is appended
    exit_code: int = 1
    timeout: float | None = None  # run in a subprocess killed after this many seconds (for hangs)


@dataclass
class Outcome:
    exit_code: int
    output: str  # stdout and stderr


def run(case: Case, report: Path) -> Outcome:
    args = [*case.args, str(report)]
    if case.timeout is None:
        code, out, err = run_cli(*args)
        return Outcome(code, out + err)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TOOLCHAIN_ROOT), os.environ.get("PYTHONPATH", "")])}
    try:
        done = subprocess.run([sys.executable, "-m", "build_tools", *args], capture_output=True, text=True,
                              timeout=case.timeout, env=environment, cwd=report.parent)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"esg-report {' '.join(case.args)} still running after {case.timeout} s "
                    f"(output so far: {exc.stdout!r} {exc.stderr!r})")
    return Outcome(done.returncode, done.stdout + done.stderr)


def make_sentinel(folder: Path) -> Path:
    """Files a careless toolchain could touch: a site/ of someone else's, a data/ look-alike, a link."""
    (folder / "site").mkdir(parents=True)
    (folder / "site" / "index.html").write_text("<p>another project's site</p>\n", "utf-8")
    (folder / "data").mkdir()
    (folder / "data" / "report.yml").write_text("not: the report under test\n", "utf-8")
    (folder / "notes.txt").write_text("keep me\n", "utf-8")
    (folder / "link-to-notes").symlink_to("notes.txt")
    return folder


@pytest.fixture
def abuse_report(starter, tmp_path) -> tuple[Path, Path]:
    """A throw-away copy of the starter report, with a sentinel tree beside it."""
    return starter, make_sentinel(tmp_path / "sentinel")


def assert_located(outcome: Outcome, case: Case, location: str) -> None:
    output = outcome.output
    assert "Traceback" not in output, output
    assert "internal error" not in output, output
    assert outcome.exit_code == case.exit_code, output
    pattern = rf"^{re.escape(location)}(:\d+)?: error: (?:{case.message}).* \[{re.escape(case.code)}\]$"
    match = re.search(pattern, output, re.M)
    assert match, f"no line matching {pattern!r} in:\n{output}"
    if case.hint:
        following = output[match.end():].lstrip("\n").splitlines()
        assert following and re.match(rf"\s+hint: .*(?:{case.hint})", following[0]), output


# --- ways to break the report (each returns where the error must point) --------------


def chapter(text: str, page: str = "en/social.md") -> Callable[[Path], str]:
    """Append ``text`` as a new last line of a chapter."""

    def breaks(report: Path) -> str:
        path = report / "content" / page
        source = path.read_text("utf-8")
        if not source.endswith("\n"):
            source += "\n"
        path.write_text(source + text + "\n", "utf-8")
        return f"content/{page}:{source.count(chr(10)) + 1}"

    return breaks


def chapter_bytes(raw: bytes, page: str = "en/social.md") -> Callable[[Path], str]:
    """Append raw bytes (not necessarily UTF-8) as a new last line of a chapter."""

    def breaks(report: Path) -> str:
        path = report / "content" / page
        source = path.read_bytes()
        path.write_bytes(source + raw)
        line = source.count(b"\n") + 1
        return f"content/{page}:{line}"

    return breaks


def data_file(name: str, text: str, line: int) -> Callable[[Path], str]:
    """Replace a data file; the error must point at ``line`` of it."""

    def breaks(report: Path) -> str:
        (report / "data" / name).write_text(text, "utf-8")
        return f"data/{name}:{line}"

    return breaks


def report_field(key: str, value: str) -> Callable[[Path], str]:
    """Set ``key: value`` in data/report.yml (a key of the `report:` section)."""

    def breaks(report: Path) -> str:
        path = report / "data" / "report.yml"
        lines = path.read_text("utf-8").splitlines()
        [index] = [i for i, line in enumerate(lines) if re.match(rf"\s+{key}:", line)]
        indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
        lines[index] = f"{indent}{key}: {value}"
        path.write_text("\n".join(lines) + "\n", "utf-8")
        return f"data/report.yml:{index + 1}"

    return breaks


# --- the cases ------------------------------------------------------------------------
# One row per way of breaking a report; tests/test_sandbox.py has the finer Jinja variants at render level.

LIMIT = "jinja.limit"

CASES = [
    # A chapter's Jinja asking for unbounded work or doing arithmetic that cannot be done
    Case("jinja-division-by-zero", chapter("{{ 1/0 }}"), "division by zero", "jinja.arithmetic"),
    Case("jinja-range-too-big", chapter("{% for i in range(10**9) %}x{% endfor %}"),
         r"range\(1000000000\) would make 1,000,000,000 numbers", LIMIT),
    Case("jinja-power", chapter("{{ 2**(2**40) }}"), "this line computes a number of about", LIMIT),
    Case("jinja-string-repetition", chapter('{{ "x" * 10**10 }}'), "this line builds a text or list", LIMIT),
    Case("jinja-percent-width", chapter('{{ "%999999999s"|format(1) }}'), "the width 999,999,999 is too large", LIMIT),
    Case("jinja-format-width", chapter('{{ "{:>999999999}".format(1) }}'), "the width 999,999,999 is too large", LIMIT),
    Case("jinja-center", chapter('{{ "x"|center(10**10) }}'), r"the width of center\(\)", LIMIT),
    Case("jinja-lipsum", chapter("{{ lipsum(10**6) }}"), r"lipsum\(1000000\) asks for too many paragraphs", LIMIT),
    Case("jinja-recursion", chapter("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}"), "macros call each other too deeply",
         LIMIT),
    Case("jinja-doubling", chapter('{% set ns = namespace(s="x") %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}'
                                   "{% endfor %}"), "this line builds a text or list", LIMIT),
    Case("jinja-out-of-memory", chapter('{% set ns = namespace(keep=[]) %}{% for i in range(4000) %}'
                                        '{% set ns.keep = ns.keep + [("x" * 4000000) ~ i] %}{% endfor %}'),
         "the page needs more than the .* MB of memory", LIMIT),
    Case("jinja-nested-loops-hang", chapter("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                                            "{% endfor %}"), r"the page took longer than \d+ s to render", LIMIT,
         timeout=60),
    # Macro arguments
    Case("year-infinite", chapter('{{ kpi("nox_emissions", year=1e999) }}'), "a number on this line is too large",
         "jinja.number"),
    Case("year-not-a-number", chapter('{{ kpi("nox_emissions", year="last") }}'),
         "year must be a whole year such as 2024", "macro"),
    Case("kpi-table-empty", chapter("{{ kpi_table([]) }}"), r"kpi_table\(\) needs a KPI group id or a list of KPI ids",
         "macro"),
    Case("kpi-chart-empty", chapter("{{ kpi_chart([]) }}"), r"kpi_chart\(\) needs a KPI group id or a list of KPI ids",
         "macro"),
    Case("macro-printed-uncalled", chapter('{{ "%s"|format(kpi) }}'), r"'kpi' is a macro: call it with \( \)", "macro"),
    # Files
    Case("chapter-not-utf8", chapter_bytes(b"caf\xe9 au lait\n"), "the file is not UTF-8 text: byte 0xe9",
         "content.encoding"),
    Case("chapter-not-utf8-zh", chapter_bytes(b"\xff\xfe\n", "zh-Hant/social.md"), "the file is not UTF-8 text: byte 0xff",
         "content.encoding"),
    Case("disclosures-a-list", data_file("disclosures.yml", "- A1\n- A2\n", 1), r"\(top level\): .* is not of type 'object'",
         "data.schema"),
    Case("disclosures-a-string", data_file("disclosures.yml", "# comment\nexplanations\n", 1),
         r"\(top level\): 'explanations' is not of type 'object'", "data.schema"),
    Case("disclosures-explanations-a-list", data_file("disclosures.yml", "# comment\nexplanations: [A1]\n", 2),
         r"explanations: \['A1'\] is not of type 'object', 'null'", "data.schema"),
    Case("disclosures-explanation-a-string", data_file("disclosures.yml", "explanations:\n  A1: not material\n", 2),
         "explanations/A1: 'not material' is not of type 'object'", "data.schema"),
    Case("disclosures-explanation-one-language", data_file("disclosures.yml", "explanations:\n  A1:\n    en: Not material.\n", 2),
         "explanations/A1: 'zh-Hant' is a required property", "data.schema"),
    Case("disclosures-explanation-a-number", data_file("disclosures.yml", "explanations:\n  A1:\n    en: Not material.\n"
                                                       "    zh-Hant: 5\n", 4),
         "explanations/A1/zh-Hant: 5 is not of type 'string'", "data.schema"),
    Case("disclosures-misspelt-key", data_file("disclosures.yml", "# comment\nexplanation: {}\n", 2),
         r"\(top level\): Additional properties are not allowed \('explanation' was unexpected\)", "data.schema",
         hint="did you mean 'explanations'"),
    Case("framework-unknown", report_field("framework", "hkex-esg-2026"), "unknown framework 'hkex-esg-2026'",
         "data.unknown-framework", hint="did you mean 'hkex-esg-2025'"),
    Case("framework-a-path", report_field("framework", "../../../etc/passwd"), "unknown framework", "data.unknown-framework",
         hint="hkex-esg-2024, hkex-esg-2025"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_a_located_error(case: Case, abuse_report):
    report, sentinel = abuse_report
    location = case.breaks(report)
    before = tree_hash(sentinel)
    outcome = run(case, report)
    assert_located(outcome, case, location)
    assert tree_hash(sentinel) == before, "something beside the report changed"


# --- the harness itself ---------------------------------------------------------------


def test_the_unbroken_report_passes_the_same_harness(abuse_report):
    report, sentinel = abuse_report
    before = tree_hash(sentinel)
    outcome = run(Case("none", lambda r: "", "", ""), report)
    assert outcome.exit_code == 0, outcome.output
    assert "Traceback" not in outcome.output
    assert tree_hash(sentinel) == before


def test_the_sentinel_digest_notices_a_change(tmp_path):
    sentinel = make_sentinel(tmp_path / "sentinel")
    before = tree_hash(sentinel)
    (sentinel / "notes.txt").write_text("keep me!\n", "utf-8")
    changed = tree_hash(sentinel)
    (sentinel / "notes.txt").write_text("keep me\n", "utf-8")
    (sentinel / "notes.txt").chmod(0o600)
    assert len({before, changed, tree_hash(sentinel)}) == 3


def test_case_ids_are_unique():
    assert len({case.id for case in CASES}) == len(CASES)
