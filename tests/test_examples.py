"""Every report under examples/ builds with --strict, and its PDFs say what its data says.

The examples are other companies' reports (not the sample's): they show the toolchain is not
shaped around one report. One strict build per example, both editions with PDFs.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from build_tools.project import TOOLCHAIN_ROOT

from support import pdf_outline, pdf_pages_text, run_cli, squash

EXAMPLES = sorted(p for p in (TOOLCHAIN_ROOT / "examples").iterdir() if (p / "mkdocs.yml").is_file())


def _yaml(path: Path):
    return yaml.safe_load(path.read_text("utf-8"))


@pytest.fixture(scope="module", params=EXAMPLES, ids=[p.name for p in EXAMPLES])
def example_build(request, tmp_path_factory):
    example = request.param
    output = tmp_path_factory.mktemp(example.name) / "site"
    code, out, err = run_cli("build", "--strict", str(example), "--output", str(output))
    assert code == 0, f"{example.name}: build --strict exited {code}\n{out}\n{err}"
    meta = _yaml(example / "data" / "report.yml")
    pdfs = {edition: next((output / edition).glob("*.pdf")) for edition in meta["editions"]}
    return example, meta, pdfs


def test_there_is_an_example():
    assert EXAMPLES, "examples/ holds no report"


def _index_text(example: Path, edition: str, pdf: Path) -> str:
    """The content index pages of a PDF, without whitespace: from its bookmark to the end."""
    page_file = next(p for p in (example / "content" / edition).glob("*.md")
                     if "content_index()" in p.read_text("utf-8"))
    heading = next(line for line in page_file.read_text("utf-8").splitlines() if line.startswith("# "))
    title = re.sub(r"\s*\{.*\}\s*$", "", heading[2:]).strip()
    start = next(page for _depth, text, page in pdf_outline(pdf) if squash(text) == squash(title))
    return squash("".join(pdf_pages_text(pdf)[start:]))


def test_money_from_data_is_in_both_pdfs_in_the_editions_style(example_build):
    example, meta, pdfs = example_build
    year, currency = meta["report"]["year"], meta["report"]["currency"]
    money = []
    for kpi_file in (example / "data" / "kpis").glob("*.yml"):
        for kpi in _yaml(kpi_file)["kpis"]:
            value = (kpi.get("values") or {}).get(year)
            if kpi["unit"] == currency and isinstance(value, (int, float)):
                money.append(Decimal(str(value)))
    assert money, f"{example.name}: no {currency} figure for {year}"
    for edition, pdf in pdfs.items():
        style = meta["report"]["money"][edition]
        text = squash("".join(pdf_pages_text(pdf)))
        for amount in money:
            scaled = amount / Decimal(str(style["scale"]))
            expected = style["pattern"].format(amount=f"{scaled:,.{style.get('decimals', 1)}f}")
            assert squash(expected) in text, f"{edition}: {expected} not in {pdf.name}"


def test_derived_figure_is_in_both_pdfs(example_build):
    """A total computed by a formula (never typed) reaches both editions' PDFs."""
    example, meta, pdfs = example_build
    year = meta["report"]["year"]
    kpis = {k["id"]: k for f in (example / "data" / "kpis").glob("*.yml") for k in _yaml(f)["kpis"]}
    sums = [k for k in kpis.values() if re.fullmatch(r"\s*\w+(\s*\+\s*\w+)+\s*", k.get("formula") or "")]
    assert sums, f"{example.name}: no KPI is a sum of others"
    for kpi in sums:
        parts = [kpis[name]["values"][year] for name in re.findall(r"\w+", kpi["formula"])]
        total = sum(Decimal(str(p)) for p in parts)
        expected = f"{total:,.{kpi.get('decimals', 0)}f}"
        for edition, pdf in pdfs.items():
            assert expected in squash("".join(pdf_pages_text(pdf))), f"{edition}: {kpi['id']} = {expected} missing"


def test_part_d_provisions_are_in_the_content_index(example_build):
    example, meta, pdfs = example_build
    framework = _yaml(TOOLCHAIN_ROOT / "build_tools" / "frameworks" / f"{meta['report']['framework']}.yml")
    climate = [p["code"] for p in framework["provisions"] if p["area"] == "D"]
    if not climate:
        pytest.skip(f"{meta['report']['framework']} has no Part D")
    for edition, pdf in pdfs.items():
        index = _index_text(example, edition, pdf)
        missing = [code for code in climate if code not in index]
        assert not missing, f"{edition}: Part D codes missing from the content index: {missing}"


def test_explanations_are_in_the_content_index(example_build):
    example, _meta, pdfs = example_build
    explanations = (_yaml(example / "data" / "disclosures.yml") or {}).get("explanations") or {}
    assert explanations, f"{example.name}: explains no provision"
    for edition, pdf in pdfs.items():
        index = _index_text(example, edition, pdf)
        for code, text in explanations.items():
            # The table's columns interleave in the extracted text, so look for the start of the
            # cell: its first line (about 14 Chinese characters or 40 Latin letters).
            start = squash(text[edition])[:14 if edition == "zh-Hant" else 40]
            assert start in index, f"{edition}: explanation of {code} ({start}...) not in the index"
