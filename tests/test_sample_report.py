"""The sample report (Ascentage Pharma ESG Report 2024): structure and figures in both editions."""

import json
import re

import pytest
import yaml

from build_tools.data import load_report_data
from build_tools.disclosures import load_framework
from build_tools.project import TOOLCHAIN_ROOT
from support import pdf_outline, pdf_text, report_meta, squash


@pytest.fixture(scope="module")
def data():
    """The sample's data: where the figures the pages must show come from."""
    return load_report_data(TOOLCHAIN_ROOT / "data")


@pytest.mark.parametrize("edition, figures", [
    ("en", ["RMB947.2 million", "541 issued patents", "a total of 1,075 suppliers, among which 978 were in Mainland",
            "8.75 training hours per employee", "April 15, 2025"]),
    ("zh-Hant", ["人民幣947.2百萬元", "541項已授權專利", "共有1,075家供應商，其中978家位於中國內地", "8.75小時", "2025年4月15日"]),
])
def test_seed_figures_in_each_pdf_in_its_locale(sample_build, edition, figures):
    _, pdfs, _ = sample_build
    text = squash(pdf_text(pdfs[edition]))
    for figure in figures:
        assert squash(figure) in text, figure


def test_supplier_figures_come_from_data_in_both_editions(sample_build, data):
    output, _, _ = sample_build
    for edition in ("en", "zh-Hant"):
        page = (output / edition / "3-quality" / "supply-chain-management" / "index.html").read_text("utf-8")
        for kpi in ("suppliers_total", "suppliers_mainland_hk_macau_taiwan"):
            amount = data.kpis[kpi].value(data.year).amount  # whole suppliers
            assert re.search(rf'data-kpi="{kpi}"[^>]*>{re.escape(f"{amount:,}")}\b', page), (edition, kpi)


CONTENTS_PAGE = [  # the published report's contents page (printed order and numbering)
    'About this Report',
    'Highlights and Performance',
    'Message from Management',
    'About Ascentage Pharma',
    '1 Corporate Governance and Solid Foundations',
    '1.1 Corporate Governance',
    '1.2 Business Ethics',
    '2 Global Presence & R&D and Innovation',
    '2.1 R&D and Innovation',
    '2.2 Intellectual Property Rights',
    '2.3 R&D Ethics and Morals',
    '3 Strict Quality Control and Sustainable Supply',
    '3.1 Quality and Safety',
    '3.2 Service Excellence',
    '3.3 Supply Chain Management',
    '4 Green Production, Safety Assurance',
    '4.1 Environmental Management',
    '4.2 Tackling Climate Change',
    '4.3 Emission Management',
    '4.4 Occupational Health and Safety',
    '5 Empowering Talents to Create Warmth Together',
    '5.1 Employment',
    '5.2 Talent Development',
    '5.3 Care and Welfare',
    '5.4 Welcoming Community',
    'Appendix I ESG Key Performance Indicators (KPIs)',
    'Appendix II Hong Kong Stock Exchange Environmental, Social and Governance Reporting Code Content Index',
]


def _number(title: str) -> str:
    match = re.match(r"(\d+(?:\.\d+)*|Appendix [IVX]+|附錄[一二三四五六七八九十]+)\s", title)
    if not match:
        return ""
    return {"附錄一": "Appendix I", "附錄二": "Appendix II"}.get(match.group(1), match.group(1))


def test_contents_entries_exist_in_both_editions_in_order(sample_build):
    _, pdfs, _ = sample_build
    expected = CONTENTS_PAGE
    en = [title for _, title, _ in pdf_outline(pdfs["en"])]
    zh = [title for _, title, _ in pdf_outline(pdfs["zh-Hant"])]
    assert len(en) == len(expected) == len(zh)
    for want, got_en, got_zh in zip(expected, en, zh):
        assert squash(got_en).lower() == squash(want).lower(), (want, got_en)
        assert _number(got_zh) == _number(want), (want, got_zh)


def test_index_is_complete(sample_build):
    output, _, _ = sample_build
    framework = load_framework(report_meta(TOOLCHAIN_ROOT)["report"]["framework"])
    for edition in ("en", "zh-Hant"):
        index = json.loads((output / edition / "downloads" / "content-index.json").read_text("utf-8"))
        assert [row["code"] for row in index["provisions"]] == list(framework.provisions)
        for row in index["provisions"]:
            assert row["locations"] or row["explanation"], row["code"]


def test_both_editions_build_without_warnings(sample_build):
    _, _, problems = sample_build
    assert not problems.items, [d.format() for d in problems.items]


def test_no_simplified_characters_in_the_chinese_edition():
    from build_tools.checks import simplified_characters
    from build_tools.errors import Diagnostics
    from build_tools.project import Project

    problems = Diagnostics()
    simplified_characters(Project.at(TOOLCHAIN_ROOT), problems, "zh-Hant")
    assert not problems.items, [d.format() for d in problems.items[:10]]


def test_simplified_check_catches_a_simplified_character(tmp_path):
    from build_tools.checks import simplified_characters
    from build_tools.errors import Diagnostics
    from build_tools.project import Project

    page = tmp_path / "content" / "zh-Hant" / "page.md"
    page.parent.mkdir(parents=True)
    (tmp_path / "data").mkdir()
    page.write_text("# 標題\n\n本集團的供应商遍佈全球，臨床試驗在台灣進行。\n", "utf-8")
    problems = Diagnostics()
    simplified_characters(Project.at(tmp_path), problems, "zh-Hant")
    [error] = problems.items
    assert (error.line, error.col) == (3, 6)
    assert error.message == "Simplified character '应' in the Traditional Chinese edition"


def test_chart_labels_are_text_in_both_pdfs(sample_build, data):
    _, pdfs, _ = sample_build
    kpi = data.kpis["suppliers_mainland_hk_macau_taiwan"]
    units = yaml.safe_load((TOOLCHAIN_ROOT / "build_tools" / "units.yml").read_text("utf-8"))[kpi.unit]["label"]
    en = squash(pdf_text(pdfs["en"]))
    zh = squash(pdf_text(pdfs["zh-Hant"]))
    assert squash(f"{kpi.name['en']} ({units['en']})") in en
    assert squash(f"{kpi.name['zh-Hant']}（{units['zh-Hant']}）") in zh  # full-width brackets in Chinese


def test_no_broken_internal_links_in_the_built_site(sample_build):
    """A link checker over the output: every relative link's file exists, and so does its #anchor."""
    from urllib.parse import unquote, urlsplit

    from lxml import html as lxml_html

    output, _, _ = sample_build
    ids: dict = {}

    def ids_of(path):
        if path not in ids:
            ids[path] = set(lxml_html.parse(str(path)).getroot().xpath("//@id"))
        return ids[path]

    broken = []
    pages = list(output.rglob("*.html"))
    assert len(pages) > 50
    for page in pages:
        for href in lxml_html.parse(str(page)).getroot().xpath("//a/@href|//link/@href|//script/@src|//img/@src"):
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "tel:", "javascript:")):
                continue
            if parts.path.startswith("/"):  # 404 pages link from the site root (served at any URL)
                target = output / unquote(parts.path).lstrip("/")
            else:
                target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(output)} -> {href}")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in ids_of(target):
                broken.append(f"{page.relative_to(output)} -> {href} (no such anchor)")
    assert not broken, broken[:20]


@pytest.mark.parametrize("edition", ["en", "zh-Hant"])
def test_company_stock_codes_and_period_on_the_home_page_and_the_cover(sample_build, data, edition):
    """Each edition names the company, its stock codes and the period in its own language."""
    from build_tools.formatting import Formatter
    from build_tools.i18n import get_edition, load_translations

    output, pdfs, _ = sample_build
    meta = data.meta
    fmt = Formatter(edition, meta["report"]["money"][edition], units=data.units,
                    translations=load_translations([TOOLCHAIN_ROOT / "translations"], get_edition(edition)))
    codes = fmt.stock_codes(meta["company"]["stock_codes"])
    assert all(c["code"] in codes for c in meta["company"]["stock_codes"])
    home = re.sub(r"<[^>]+>", "", (output / edition / "index.html").read_text("utf-8"))
    assert meta["company"]["name"][edition] in home and codes in home
    cover = squash(pdf_text(pdfs[edition], last=1))
    assert squash(meta["company"]["name"][edition]) in cover and squash(codes) in cover
    assert squash(fmt.date(meta["report"]["period_start"])) in cover and squash(fmt.date(meta["report"]["period_end"])) in cover
    if edition == "zh-Hant":
        assert "香港聯交所：" in codes and "；" in codes  # full-width punctuation between Chinese names
