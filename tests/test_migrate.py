"""migrate (`esg-report migrate --to`): the mapping between code versions, and the history messages."""

import hashlib
import json
import re
from pathlib import Path

import yaml

from build_tools.disclosures import load_framework
from build_tools.migrate import find_mapping
from build_tools.project import TOOLCHAIN_ROOT
from support import report_meta, run_cli

SOURCE, TARGET = "hkex-esg-2024", "hkex-esg-2025"


def tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def mapping_file() -> dict:
    return yaml.safe_load((TOOLCHAIN_ROOT / "build_tools" / "frameworks" / "hkex-esg-2024-to-2025.yml").read_text("utf-8"))


def test_mapping_names_only_real_provisions_and_records_its_sources():
    raw = mapping_file()
    before, after = load_framework(SOURCE).provisions, load_framework(TARGET).provisions
    sources = yaml.safe_load((TOOLCHAIN_ROOT / "build_tools" / "frameworks" / f"{TARGET}.yml").read_text("utf-8"))["sources"]
    for move in raw["moved"]:
        assert move["code"] in before and move["code"] not in after
        assert all(code in after for code in (*move["to"], *move.get("related", [])))
        assert move["source"] and all(key in sources for key in move["source"])
        assert move.get("unverified")  # the Code's amended Part C was not seen: each line says so
    # Everything else of the 2024 code is kept under its code.
    gone = [code for code in before if code not in after]
    assert sorted(gone) == sorted(m["code"] for m in raw["moved"])


def test_migrate_check_writes_nothing_and_says_what_would_move(starter):
    before = tree_digest(starter)
    code, out, err = run_cli("migrate", str(starter), "--to", TARGET, "--check")
    assert code == 0, out + err
    assert tree_digest(starter) == before
    mapping = find_mapping(SOURCE, TARGET)
    used = [c for c in mapping.moved if re.search(rf"(?<![\w.]){re.escape(c)}(?![\w.])", out)]
    assert used  # the starter covers the whole 2024 code, so every move shows
    assert set(used) == set(mapping.moved)
    assert "(--check: nothing written)" in out


def test_migrate_leaves_no_unknown_code_and_reports_the_new_part_d(starter):
    code, out, err = run_cli("migrate", str(starter), "--to", TARGET)
    assert code == 0, out + err
    assert report_meta(starter)["report"]["framework"] == TARGET
    new = find_mapping(SOURCE, TARGET).new()
    assert new and all(c.startswith("D-") for c in new)
    [line] = [l for l in out.splitlines() if l.startswith("still need a section")]
    assert line.split(": ", 1)[1].split(", ") == new  # none of them is tagged or explained in the starter
    code, out, _ = run_cli("check", str(starter), "--format", "json")
    problems = json.loads(out)
    assert [p for p in problems if p["code"] == "index.unknown-code"] == []
    [unexplained] = [p for p in problems if p["code"] == "index.unexplained"]
    assert unexplained["message"].endswith(", ".join(new))
    # The translations were current and stay current: both editions' tags moved alike.
    assert [p for p in problems if p["code"] == "translation.stale"] == []
    # Every tag of every edition is a provision of the new code.
    provisions = load_framework(TARGET).provisions
    for edition in report_meta(starter)["editions"]:
        for page in (starter / "content" / edition).rglob("*.md"):
            for tag in re.findall(r'data-disclose="([^"]*)"', page.read_text("utf-8")):
                assert all(c in provisions for c in tag.split()), (page, tag)


def test_unknown_code_gets_its_history_not_a_spelling_guess(starter):
    report = starter / "data" / "report.yml"
    report.write_text(report.read_text("utf-8").replace(f"framework: {SOURCE}", f"framework: {TARGET}"), "utf-8")
    code, out, _ = run_cli("check", str(starter), "--format", "json")
    assert code == 1
    hints = {re.search(r"'([A-Z][\w.-]*)'", p["message"]).group(1): p["hint"]
             for p in json.loads(out) if p["code"] == "index.unknown-code"}
    mapping = find_mapping(SOURCE, TARGET)
    assert set(hints) == set(mapping.moved)
    for old, hint in hints.items():
        assert hint.startswith(f"{old} of {SOURCE} is {' and '.join(mapping.moved[old].to)} in {TARGET}")
        assert "did you mean" not in hint
    # A real typo still gets the spelling guess.
    page = starter / "content" / "en" / "social.md"
    page.write_text(page.read_text("utf-8").replace('data-disclose="B1"', 'data-disclose="B1 B1.22"', 1), "utf-8")
    code, out, _ = run_cli("check", str(starter), "--format", "json")
    [typo] = [p for p in json.loads(out) if p["code"] == "index.unknown-code" and "B1.22" in p["message"]]
    assert "did you mean" in typo["hint"]


def test_a_new_code_in_a_report_on_the_old_version_says_so(starter):
    new = find_mapping(SOURCE, TARGET).new()[0]
    page = starter / "content" / "en" / "social.md"
    page.write_text(page.read_text("utf-8").replace('data-disclose="B1"', f'data-disclose="B1 {new}"', 1), "utf-8")
    code, out, _ = run_cli("check", str(starter), "--format", "json")
    [problem] = [p for p in json.loads(out) if p["code"] == "index.unknown-code"]
    assert problem["hint"].startswith(f"{new} is a provision of {TARGET}, new since {SOURCE}")


def test_migrate_without_a_mapping_is_a_located_error(starter):
    code, _, err = run_cli("migrate", str(starter), "--to", "hkex-esg-1999")
    assert code == 1 and "unknown framework 'hkex-esg-1999'" in err
