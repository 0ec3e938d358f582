"""The generated reference pages (docs/reference/) and the hints that point into the docs."""

from __future__ import annotations

import re

import jsonschema
import pytest
import yaml

from build_tools import reference
from build_tools.data import load_report_data
from build_tools.errors import DataError
from build_tools.project import TOOLCHAIN_ROOT

DOCS = TOOLCHAIN_ROOT / "docs"


def test_generated_reference_is_current():
    stale = reference.stale(TOOLCHAIN_ROOT)
    assert not stale, f"docs/reference/ is stale ({', '.join(stale)}): run `python -m build_tools.reference`"


def test_stale_reference_is_noticed(tmp_path):
    reference.write(tmp_path)
    assert reference.stale(tmp_path) == []
    page = tmp_path / "docs" / "reference" / "kpis.md"
    page.write_text(page.read_text("utf-8").replace("breakdown_of", "part_of"), "utf-8")
    (tmp_path / "docs" / "reference" / "old-framework.md").write_text("left over", "utf-8")
    assert reference.stale(tmp_path) == ["kpis.md", "old-framework.md"]


def test_every_schema_field_is_documented_with_a_description():
    pages = reference.generate()
    for _data_file, page, schema_name in reference.DATA_FILES:
        path = TOOLCHAIN_ROOT / "build_tools" / "schemas" / schema_name
        if not path.exists():
            continue
        rows = [line for line in pages[f"{page}.md"].splitlines() if line.startswith("| `")]
        assert rows, page
        undocumented = [row.split("|")[1].strip() for row in rows if not row.rstrip(" |").split("|")[-1].strip()]
        assert not undocumented, f"{schema_name}: add a description to {undocumented}"


def test_provision_lists_have_every_code_in_both_languages():
    pages = reference.generate()
    for framework_file in (TOOLCHAIN_ROOT / "build_tools" / "frameworks").glob("*.yml"):
        if "-to-" in framework_file.name:  # a mapping between versions (migrate.py), not a framework
            continue
        framework = yaml.safe_load(framework_file.read_text("utf-8"))
        page = pages[f"provisions-{framework['id']}.md"]
        for item in framework["provisions"]:
            row = next(line for line in page.splitlines() if line.startswith(f"| `{item['code']}`"))
            assert item["description"]["en"] in row and item["description"]["zh-Hant"] in row
            assert framework["levels"][item["level"]]["zh-Hant"] in row


def test_framework_sources_are_defined():
    framework = yaml.safe_load((TOOLCHAIN_ROOT / "build_tools" / "frameworks" / "hkex-esg-2025.yml").read_text("utf-8"))
    defined = set(framework["sources"])
    for item in framework["provisions"]:
        assert item.get("source"), f"{item['code']} has no source"
        assert set(item["source"]) <= defined, item["code"]


def test_disclosures_schema_accepts_the_reports_explanations():
    # The schema documents data/disclosures.yml; it must accept what the build accepts.
    import json
    schema = json.loads((TOOLCHAIN_ROOT / "build_tools" / "schemas" / "disclosures.schema.json").read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    files = [TOOLCHAIN_ROOT / "data" / "disclosures.yml", *TOOLCHAIN_ROOT.glob("examples/*/data/disclosures.yml")]
    for file in files:
        assert not list(validator.iter_errors(yaml.safe_load(file.read_text("utf-8")))), file
    assert list(validator.iter_errors({"explanations": {"B6.1": {"en": "only English"}}}))


# --- hints that name a page or section of the docs -------------------------------------

_DOC_REF = re.compile(r"docs/([A-Za-z0-9_/.-]+\.md)(?:#([\w-]+))?(?:, '([^']+)')?")


def _headings(markdown: str) -> set[str]:
    return {re.sub(r"\s*\{.*\}\s*$", "", line.lstrip("#").strip()) for line in markdown.splitlines()
            if line.startswith("#")}


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\s-]", "", heading.lower()).strip().replace(" ", "-")


def _check_doc_ref(match: re.Match) -> str | None:
    path, anchor, section = match.groups()
    target = DOCS / path
    if not target.is_file():
        return f"docs/{path} does not exist"
    headings = _headings(target.read_text("utf-8"))
    if section and section not in headings:
        return f"docs/{path} has no section '{section}'"
    if anchor and anchor not in {_slug(h) for h in headings}:
        return f"docs/{path} has no heading #{anchor}"
    return None


def test_every_docs_reference_in_the_toolchain_exists():
    problems, seen = [], 0
    for source in (TOOLCHAIN_ROOT / "build_tools").rglob("*.py"):
        text = source.read_text("utf-8")
        for match in _DOC_REF.finditer(text):
            if "{" in match.group(0):
                continue  # built at run time: checked by the test below
            seen += 1
            problem = _check_doc_ref(match)
            if problem:
                problems.append(f"{source.relative_to(TOOLCHAIN_ROOT)}: {problem}")
        # A hint that names "the X reference" must lead to a reference page.
        for match in re.finditer(r"the (\w+) reference in (docs/[\w/.-]+)", text):
            if not match.group(2).startswith("docs/reference/"):
                problems.append(f"{source.relative_to(TOOLCHAIN_ROOT)}: '{match.group(0)}' is not a reference page")
    assert seen >= 3
    assert not problems, "\n".join(problems)


def test_the_checker_catches_a_missing_section():
    assert _check_doc_ref(_DOC_REF.search("see docs/authoring-guide.md, 'Figures come from data'")) is None
    assert _check_doc_ref(_DOC_REF.search("see docs/authoring-guide.md, 'Field reference'"))
    assert _check_doc_ref(_DOC_REF.search("see docs/nowhere.md"))


@pytest.mark.parametrize("file, broken", [
    ("report.yml", lambda d: d["report"].update(year="2024")),
    ("kpis/x.yml", lambda d: d["kpis"][0].update(colour="red")),
])
def test_schema_error_hint_points_at_an_existing_reference_page(starter, file, broken):
    path = starter / "data" / file
    if file == "kpis/x.yml":
        path.write_text("group: x\ntitle: {en: X, zh-Hant: 乙}\nkpis:\n  - {id: x1, name: {en: X, zh-Hant: 乙}, unit: count}\n",
                        "utf-8")
    document = yaml.safe_load(path.read_text("utf-8"))
    broken(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")
    with pytest.raises(DataError) as caught:
        load_report_data(starter / "data")
    hints = [d.hint for d in caught.value.diagnostics.items if d.code == "data.schema"]
    assert hints
    for hint in hints:
        match = _DOC_REF.search(hint)
        assert match and match.group(1).startswith("reference/"), hint
        assert _check_doc_ref(match) is None, hint
