"""The PDF editions read back with real readers (poppler, pypdf): fonts, links, outline, metadata."""

import datetime as dt
import html
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import weasyprint
from pypdf import PdfReader

from build_tools.i18n import EDITIONS as EDITION_REGISTRY, load_translations
from build_tools.project import TOOLCHAIN_ROOT
from build_tools.typesetting import squeeze_punctuation
from support import (page_number_links, page_starting_with, pdf_fonts, pdf_footers, pdf_links, pdf_outline, pdf_pages_text,
                     report_meta, squash)

EDITIONS = ["en", "zh-Hant"]


@dataclass
class Built:
    meta: dict  # the report's data/report.yml: what the PDF must say
    output: Path
    pdfs: dict
    problems: object


@pytest.fixture(scope="module", params=["starter", "sample"])
def built(request):
    report = request.getfixturevalue("starter_template") if request.param == "starter" else TOOLCHAIN_ROOT
    return Built(report_meta(report), *request.getfixturevalue(f"{request.param}_build"))


def contents_page(pages: list[str], edition: str) -> int:
    """The contents page, found by its title in the edition's language."""
    title = load_translations([TOOLCHAIN_ROOT / "translations"], EDITION_REGISTRY[edition]).gettext("Contents")
    return page_starting_with(pages, title)


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_font_is_embedded_as_a_subset(built, edition):
    pdfs = built.pdfs
    fonts = pdf_fonts(pdfs[edition])
    assert fonts, "no fonts found"
    assert all(f["emb"] == "yes" and f["sub"] == "yes" for f in fonts), fonts
    if edition == "zh-Hant":  # Traditional Chinese glyph forms, never the SC/JP faces
        assert any("CJK-TC" in f["name"] for f in fonts)
    assert not any(face in f["name"] for f in fonts for face in ("CJK-SC", "CJK-JP", "CJK-KR"))


@pytest.mark.parametrize("edition", EDITIONS)
def test_index_page_numbers_are_the_pages_of_the_headings(built, edition):
    """Every place in the content index shows the page on which its section heading really lies."""
    output, pdfs = built.output, built.pdfs
    index = json.loads((output / edition / "downloads" / "content-index.json").read_text("utf-8"))
    places = sum(len(row["locations"]) for row in index["provisions"])
    pages = pdf_pages_text(pdfs[edition])
    contents = contents_page(pages, edition)
    numbered = [(link, shown) for link, shown in page_number_links(pdf_links(pdfs[edition]), r"\((\d+)\)$")
                if link.page != contents]
    assert len(numbered) == places
    for link, shown in numbered:
        assert shown == link.dest_page + 1, link
    # ... and that page really carries the heading the index names
    titles = {}
    for row in index["provisions"]:
        for place in row["locations"]:
            page_url, _, anchor = place["url"].partition("#")
            titles[f"{page_url.strip('/').replace('/', '-')}--{anchor}"] = squash(place["section"] + place["title"])
    for link, _ in numbered:
        assert titles[link.dest] in squash(pages[link.dest_page]), link


@pytest.mark.parametrize("edition", EDITIONS)
def test_contents_page_numbers_and_outline_agree(built, edition):
    pdfs = built.pdfs
    contents = contents_page(pdf_pages_text(pdfs[edition]), edition)
    entries = [(link, shown) for link, shown in page_number_links(pdf_links(pdfs[edition]), r"(\d+)$")
               if link.page == contents]
    outline = pdf_outline(pdfs[edition])
    assert entries and len(entries) == len(outline)
    for (link, shown), (_, title, page) in zip(entries, outline):
        assert shown == link.dest_page + 1 == page + 1, (link, title)
        # the entry's last line (before the dot leader and number) ends the bookmark's title
        assert squash(title).endswith(re.sub(r"\.*\d+$", "", squash(link.text))), (link, title)


@pytest.mark.parametrize("edition, lang", [("en", "en"), ("zh-Hant", "zh-Hant")])
def test_metadata_language_and_tags(built, edition, lang):
    pdfs = built.pdfs
    reader = PdfReader(str(pdfs[edition]))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == lang
    assert "/StructTreeRoot" in root  # tagged PDF (PDF/UA variant)
    info = reader.metadata
    title, company = built.meta["report"]["title"][edition], built.meta["company"]["name"][edition]
    assert (info.title, info.author) == (title, company)
    assert title in info.subject and company in info.subject
    # dated by the board's approval (the build's one date), never by the clock
    approved = dt.date.fromisoformat(str(built.meta["report"]["approved"]))
    assert info.creation_date.date() == info.modification_date.date() == approved


def typeset_lines(pdf) -> list[str]:
    """Each printed line's text, left to right, from the word boxes.

    Read from geometry rather than poppler's reading order: squeezed punctuation overlaps the
    em box of its neighbour, and poppler's text layout then splits one printed line in several.
    """
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    lines = []
    for page in out.split("<page ")[1:]:
        rows: dict[float, list[tuple[float, str]]] = {}
        for x_min, y_max, word in re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="[\d.]+" yMax="([\d.]+)">(.*?)</word>', page):
            key = next((k for k in rows if abs(k - float(y_max)) < 1.5), float(y_max))
            rows.setdefault(key, []).append((float(x_min), html.unescape(word)))
        lines += ["".join(w for _, w in sorted(words)) for _, words in sorted(rows.items())]
    return lines


def test_no_chinese_line_starts_with_closing_punctuation(built):
    pdfs = built.pdfs
    lines = typeset_lines(pdfs["zh-Hant"])
    assert len(lines) > 20
    bad = [line for line in lines if re.match(r"^[。，、」』）》：；！？]", line)]
    assert not bad, bad[:5]


def test_chinese_pdf_has_no_slanted_cjk_face(sample_build):
    _, pdfs, _ = sample_build
    names = [f["name"] for f in pdf_fonts(pdfs["zh-Hant"])]
    assert any("CJK-TC" in name for name in names), names
    assert not [n for n in names if "CJK" in n and re.search("Oblique|Italic", n)], names


def _printed_width(body: str) -> float:
    """Width in pt of ``body`` set at 20pt in the Chinese print stylesheet, measured in the PDF
    from the end of a marker before it to the start of a marker after it."""
    css = (TOOLCHAIN_ROOT / "templates" / "print" / "print.css").read_text("utf-8")
    page = (f'<html lang="zh-Hant"><head><style>{css}\np {{ font-size: 20pt; text-align: left; }}</style></head>'
            f'<body><p><span style="margin-right: 10pt">A</span>{body}<span style="margin-left: 10pt">X</span></p></body></html>')
    pdf = weasyprint.HTML(string=page).write_pdf()
    out = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=pdf, check=True, capture_output=True).stdout.decode()
    words = {w: (float(a), float(b)) for a, b, w in re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"[^>]*>(.*?)</word>', out)}
    return (words["X"][0] - 10) - (words["A"][1] + 10)


def test_consecutive_full_width_punctuation_is_set_at_half_width(sample_build):
    reference = "（「ESG」）"
    full = _printed_width(reference)
    squeezed = _printed_width(squeeze_punctuation(reference))
    latin = _printed_width("ESG")
    assert full == pytest.approx(latin + 4 * 20, abs=0.1)  # four full-width marks of 1 em
    assert squeezed == pytest.approx(full - 2 * 10, abs=0.1)  # 「 and 」 at half an em: （「 and 」） close up
    assert _printed_width(squeeze_punctuation("報告。」好")) == pytest.approx(4.5 * 20, abs=0.1)
    site, _, _ = sample_build  # and the Chinese edition is set that way
    page = (site / "zh-Hant" / "highlights" / "index.html").read_text("utf-8")
    assert '<span class="cjk-run">錄<span class="cjk-half">」</span><span class="cjk-half">）</span>' in page


def test_running_header_and_page_numbers(built):
    edition = "en"
    pages = pdf_pages_text(built.pdfs[edition])
    company, report = built.meta["company"], built.meta["report"]
    back_cover = len(pages) - 1  # the company's name and contact details (brand: templates/print)
    # the company's name opens the cover (after the text of an SVG logo, if the brand has one)
    cover = next(i for i, page in enumerate(pages) if squash(company["name"][edition]) in squash(page)[:200])
    assert squash(company["name"][edition]) in squash(pages[back_cover])
    contents = contents_page(pages, edition)
    assert cover < contents
    footers = pdf_footers(built.pdfs[edition])
    assert footers[cover] != str(cover + 1)  # no page number on the cover
    assert footers[back_cover] != str(back_cover + 1)  # nor on the back cover
    running = f"{company['short_name'][edition]} · {(report.get('short_title') or report['title'])[edition]}"
    body = range(contents + 1, back_cover)
    assert body
    for index in body:
        assert squash(pages[index]).startswith(squash(running)), (index, pages[index][:200])  # the running header
        assert footers[index] == str(index + 1)  # printed number = physical page


@pytest.mark.parametrize("edition", EDITIONS)
def test_figures_have_alternative_text_in_the_tagged_pdf(sample_build, edition):
    _, pdfs, _ = sample_build
    figures = []

    def walk(node):
        node = node.get_object()
        if not isinstance(node, dict):
            return
        if node.get("/S") == "/Figure":
            figures.append(node.get("/Alt"))
        kids = node.get("/K")
        for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
            if hasattr(kid, "get_object"):
                walk(kid)

    walk(PdfReader(str(pdfs[edition])).trailer["/Root"]["/StructTreeRoot"])
    assert figures, "the sample's chart should be a tagged figure"
    assert all(alt and str(alt).strip() for alt in figures), figures
