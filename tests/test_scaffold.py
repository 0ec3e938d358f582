"""scaffold (`esg-report new`): every metadata field from flags, nothing of the placeholder company left."""

import errno
import os
import re
import stat
from pathlib import Path

import pytest
import yaml

from build_tools.data import load_report_data
from build_tools.scaffold import StarterMetadata
from support import run_cli

FLAGS = {
    "--company": "Harbourfront Logistics Group Limited", "--company-zh": "海濱物流集團有限公司",
    "--short-name": "Harbourfront", "--short-name-zh": "海濱物流", "--currency": "HKD",
    "--year": "2025", "--period-start": "2024-07-01", "--period-end": "2025-06-30", "--approved": "2025-10-15",
    "--framework": "hkex-esg-2025",
}
PLACEHOLDER = StarterMetadata()


def all_text(report: Path) -> str:
    return "\n".join(p.read_text("utf-8") for p in sorted(report.rglob("*")) if p.is_file())


def test_new_with_every_flag_leaves_nothing_of_the_placeholder_company(tmp_path):
    report = tmp_path / "harbourfront"
    args = [arg for pair in FLAGS.items() for arg in pair]
    code, out, err = run_cli("new", str(report), *args, "--stock-code", "HKEX:1234", "--stock-code", "SGX:H78")
    assert code == 0, err
    text = all_text(report)
    resolved = PLACEHOLDER.resolved()
    for leftover in ("示例", "Example", *PLACEHOLDER.company.values(), "RMB", "人民幣",
                     resolved.approved, resolved.period_start, resolved.period_end):
        assert leftover not in text, leftover
    assert not re.search(r"(?<![0-9])0000(?![0-9])", text)  # the placeholder stock code, not 1200000
    meta = yaml.safe_load((report / "data" / "report.yml").read_text("utf-8"))
    assert meta["company"] == {
        "name": {"en": FLAGS["--company"], "zh-Hant": FLAGS["--company-zh"]},
        "short_name": {"en": FLAGS["--short-name"], "zh-Hant": FLAGS["--short-name-zh"]},
        "stock_codes": [{"exchange": "HKEX", "code": "1234"}, {"exchange": "SGX", "code": "H78"}]}
    report_meta = meta["report"]
    assert (report_meta["year"], report_meta["period_start"], report_meta["period_end"], report_meta["approved"],
            report_meta["framework"], report_meta["currency"]) == (2025, "2024-07-01", "2025-06-30", "2025-10-15",
                                                                   "hkex-esg-2025", "HKD")
    assert report_meta["money"]["en"]["pattern"] == "HK${amount} million"
    assert "example" not in report_meta
    # The money KPI follows the currency, and the data loads (and the 2025 framework's codes are used).
    data = load_report_data(report / "data")
    assert {k.unit for k in data.kpis.values() if data.units[k.unit].get("money")} == {"HKD"}
    code, out, err = run_cli("check", str(report), "--strict")  # Part D of the 2025 code has its own page
    assert code == 0, out + err


def test_new_report_builds_with_a_currency_that_has_no_builtin_unit(tmp_path):
    report = tmp_path / "sg"
    code, _, err = run_cli("new", str(report), "--currency", "SGD", "--year", "2024")
    assert code == 0, err
    units = yaml.safe_load((report / "data" / "units.yml").read_text("utf-8"))
    assert units == {"SGD": {"label": {"en": "SGD", "zh-Hant": "SGD"}, "money": True}}
    code, out, err = run_cli("check", str(report), "--strict")
    assert code == 0, out + err
    home = (report / "content" / "en" / "index.md").read_text("utf-8")
    assert "{{ stock_codes }}" in home and "{{ period_start }}" in home


def test_new_rejects_bad_flags_before_writing(tmp_path):
    for bad in (["--stock-code", "6855"], ["--approved", "31/03/2026"], ["--year", "25"], ["--money-en", "HK$ million"]):
        code, _, err = run_cli("new", str(tmp_path / "x"), *bad)
        assert code == 2 and "Traceback" not in err, bad
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("flag, value, message", [
    ("--money-scale", "0", "is not what amounts are divided by"),
    ("--money-scale", "-5", "is not what amounts are divided by"),
    ("--money-decimals", "-1", "is not a number of decimals from 0 to 4"),
    ("--money-decimals", "5", "is not a number of decimals from 0 to 4"),
    ("--currency", "hkd", "is not a currency code"),
    ("--currency", "", "is not a currency code"),
    ("--stock-code", "HKEX:68:55", "is not EXCHANGE:CODE"),
    ("--stock-code", "HKEX:68 55", "is not EXCHANGE:CODE"),
])
def test_new_refuses_values_the_report_would_reject(flag, value, message, tmp_path):
    """Each of these made a starter that failed its first `check` (data.schema, unknown unit ''),
    or one with a stock code no exchange has."""
    code, _, err = run_cli("new", str(tmp_path / "x"), flag, value)
    assert code == 2 and f"argument {flag}: '{value}' {message}" in err, err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("flag", ["--company", "--company-zh", "--short-name", "--short-name-zh"])
@pytest.mark.parametrize("value", ["", "   "])
def test_new_refuses_an_empty_name(flag, value, tmp_path):
    """An empty company name made a starter that failed its first check; a blank one passed it blank."""
    code, _, err = run_cli("new", str(tmp_path / "x"), flag, value)
    assert code == 2 and f"argument {flag}: a name cannot be empty" in err, err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("flags, message", [
    (["--period-start", "2024-06-01", "--period-end", "2024-01-01"],
     "the period would end on 2024-01-01, before it starts on 2024-06-01"),
    (["--year", "2024", "--approved", "2024-06-01"],
     "the Board would approve the report on 2024-06-01, before the period ends on 2024-12-31"),
    # the start follows --year, whose default is last year: not the year of --period-end
    (["--period-end", "2001-12-31"], "the period would end on 2001-12-31, before it starts on"),
])
def test_new_refuses_a_period_or_approval_out_of_order(flags, message, tmp_path):
    code, _, err = run_cli("new", str(tmp_path / "x"), *flags)
    assert code == 2 and message in err and "Traceback" not in err, err
    assert not (tmp_path / "x").exists()


def test_new_with_an_unknown_framework_is_a_located_error(tmp_path):
    code, _, err = run_cli("new", str(tmp_path / "x"), "--framework", "hkex-esg-2030")
    assert code == 1 and "unknown framework 'hkex-esg-2030'" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_new_asks_on_a_terminal_only(tmp_path, monkeypatch):
    """With stdin not a terminal (CI, pipes) nothing is asked; with one, missing fields are."""
    questions = []

    class Terminal:
        def isatty(self):
            return True

    answers = iter(["Kowloon Ferries Limited", "九龍渡輪有限公司", "", "", "HKEX:9999", "HKD", "2025", "", "", "", ""])
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt: questions.append(prompt) or next(answers))
    code, _, err = run_cli("new", str(tmp_path / "kf"))
    assert code == 0, err
    assert len(questions) == 11
    assert questions[2] == "Short name (English) [Kowloon]: "  # defaults follow earlier answers
    assert questions[7] == "Period start (YYYY-MM-DD) [2025-01-01]: "
    meta = yaml.safe_load((tmp_path / "kf" / "data" / "report.yml").read_text("utf-8"))
    assert meta["company"]["short_name"] == {"en": "Kowloon", "zh-Hant": "九龍渡輪"}
    assert (meta["report"]["year"], meta["report"]["approved"]) == (2025, "2026-03-31")


def test_the_starter_has_every_text_in_every_edition_of_the_registry():
    """A new edition in i18n.EDITIONS is scaffolded once texts.yml has its block, with every key."""
    from importlib import resources

    from build_tools.i18n import EDITIONS

    texts = yaml.safe_load(resources.files("build_tools").joinpath("scaffold", "texts.yml").read_text("utf-8"))
    assert list(texts) == list(EDITIONS)
    first = next(iter(texts.values()))
    for code, block in texts.items():
        assert block.keys() == first.keys() and block["pages"].keys() == first["pages"].keys(), code
        assert block["money"].keys() == first["money"].keys(), code


def test_new_with_one_edition_creates_only_its_pages_and_checks(tmp_path):
    from build_tools.i18n import EDITIONS

    last = list(EDITIONS)[-1]  # not the default source edition: the starter's mkdocs.yml follows the choice
    report = tmp_path / "one"
    code, _, err = run_cli("new", str(report), "--editions", last)
    assert code == 0, err
    assert [p.name for p in (report / "content").iterdir()] == [last]
    meta = yaml.safe_load((report / "data" / "report.yml").read_text("utf-8"))
    assert meta["editions"] == [last]
    assert f"docs_dir: content/{last}\n" in (report / "mkdocs.yml").read_text("utf-8")
    code, out, err = run_cli("check", str(report), "--strict")
    assert code == 0, out + err


def test_new_under_a_file_is_a_located_error(tmp_path):
    """A parent that is a file ended in a NotADirectoryError traceback."""
    (tmp_path / "notes").write_text("mine", "utf-8")
    code, _, err = run_cli("new", str(tmp_path / "notes" / "report"))
    assert code == 1 and f"cannot write the report: {tmp_path / 'notes'} is a file, not a folder [new.write]" in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk full", "interrupted"])
def test_new_that_fails_halfway_leaves_no_half_report(failure, tmp_path, monkeypatch):
    import build_tools.scaffold as scaffold

    written = []
    real_write = scaffold._write

    def write_until_the_disk_fills(path, text):  # the disk, not the engine, is what fails here
        if len(written) == 3:
            raise failure
        written.append(path)
        real_write(path, text)

    monkeypatch.setattr(scaffold, "_write", write_until_the_disk_fills)
    target = tmp_path / "reports" / "esg-2025"
    if isinstance(failure, OSError):
        code, _, err = run_cli("new", str(target), "--company", "Harbour Example Holdings Limited")
        assert code == 1 and "cannot write the report: No space left on device" in err, err
    else:
        with pytest.raises(KeyboardInterrupt):
            scaffold.create_report(target, company="Harbour Example Holdings Limited")
    assert len(written) == 3  # files were written before the failure ...
    assert list(target.parent.iterdir()) == []  # ... and none of them is left


def test_new_and_rollover_folders_have_the_usual_permissions(tmp_path):
    """Both are made beside their place and renamed into it (fileio.staged_folder); rollover's was
    mkdtemp's 0700, so next year's report was private to its author."""
    target, next_year = tmp_path / "esg-2025", tmp_path / "esg-2026"
    assert run_cli("new", str(target), "--company", "Harbour Example Holdings Limited", "--year", "2025")[0] == 0
    assert run_cli("rollover", str(target), str(next_year))[0] == 0
    umask = os.umask(0)
    os.umask(umask)
    for folder in (target, next_year):  # readable by a web server or a colleague
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask, folder


def test_new_in_the_current_empty_folder_fills_it(tmp_path, monkeypatch):
    """`new .` crashed ('.' has no name to put a folder beside), and the folder is the shell's own."""
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("new", ".", "--company", "Harbour Example Holdings Limited")
    assert code == 0, err
    assert (tmp_path / "data" / "report.yml").is_file() and (tmp_path / "mkdocs.yml").is_file()
    assert os.path.samefile(os.getcwd(), tmp_path)  # the same folder, not one renamed over it
    assert [p.name for p in tmp_path.parent.iterdir() if p.name.startswith(f".{tmp_path.name}.")] == []
