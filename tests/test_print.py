"""The PDF editions read back with real readers (poppler, pypdf): fonts, links, outline, metadata."""

import json
import re

import pytest
from pypdf import PdfReader

from support import page_number_links, pdf_fonts, pdf_links, pdf_outline, pdf_pages_text, pdf_text, squash

EDITIONS = ["en", "zh-Hant"]


@pytest.fixture(scope="module", params=["starter", "sample"])
def built(request):
    return request.getfixturevalue(f"{request.param}_build")


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_font_is_embedded_as_a_subset(built, edition):
    _, pdfs, _ = built
    fonts = pdf_fonts(pdfs[edition])
    assert fonts, "no fonts found"
    assert all(f["emb"] == "yes" and f["sub"] == "yes" for f in fonts), fonts
    if edition == "zh-Hant":  # Traditional Chinese glyph forms, never the SC/JP faces
        assert any("CJK-TC" in f["name"] for f in fonts)
    assert not any(face in f["name"] for f in fonts for face in ("CJK-SC", "CJK-JP", "CJK-KR"))


@pytest.mark.parametrize("edition", EDITIONS)
def test_index_page_numbers_are_the_pages_of_the_headings(built, edition):
    """Every place in the content index shows the page on which its section heading really lies."""
    output, pdfs, _ = built
    index = json.loads((output / edition / "downloads" / "content-index.json").read_text("utf-8"))
    places = sum(len(row["locations"]) for row in index["provisions"])
    contents_page = 1
    numbered = [(link, shown) for link, shown in page_number_links(pdf_links(pdfs[edition]), r"\((\d+)\)$")
                if link.page != contents_page]
    assert len(numbered) == places
    for link, shown in numbered:
        assert shown == link.dest_page + 1, link
    # ... and that page really carries the heading the index names
    titles = {}
    for row in index["provisions"]:
        for place in row["locations"]:
            page_url, _, anchor = place["url"].partition("#")
            titles[f"{page_url.strip('/').replace('/', '-')}--{anchor}"] = squash(place["section"] + place["title"])
    pages = pdf_pages_text(pdfs[edition])
    for link, _ in numbered:
        assert titles[link.dest] in squash(pages[link.dest_page]), link


@pytest.mark.parametrize("edition", EDITIONS)
def test_contents_page_numbers_and_outline_agree(built, edition):
    _, pdfs, _ = built
    contents_page = 1  # the contents follow the cover
    entries = [(link, shown) for link, shown in page_number_links(pdf_links(pdfs[edition]), r"(\d+)$")
               if link.page == contents_page]
    assert len(entries) >= 3
    for link, shown in entries:
        assert shown == link.dest_page + 1, link
    outline = pdf_outline(pdfs[edition])
    assert [page for _, _, page in outline] == [link.dest_page for link, _ in entries]


@pytest.mark.parametrize("edition, lang", [("en", "en"), ("zh-Hant", "zh-Hant")])
def test_metadata_language_and_tags(built, edition, lang):
    _, pdfs, _ = built
    reader = PdfReader(str(pdfs[edition]))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == lang
    assert "/StructTreeRoot" in root  # tagged PDF (PDF/UA variant)
    info = reader.metadata
    assert info.title and info.author and info.subject
    assert info.creation_date is not None


def test_pdf_is_reproducible(starter, tmp_path):
    from build_tools.pipeline import build_report
    from build_tools.project import Project

    first, _ = build_report(Project.at(starter), editions=["zh-Hant"], output=tmp_path / "a" / "site")
    second, _ = build_report(Project.at(starter), editions=["zh-Hant"], output=tmp_path / "b" / "site")
    a = (tmp_path / "a" / "site" / "zh-Hant" / "esg-report-zh-Hant.pdf").read_bytes()
    b = (tmp_path / "b" / "site" / "zh-Hant" / "esg-report-zh-Hant.pdf").read_bytes()
    assert a == b


def test_no_chinese_line_starts_with_closing_punctuation(built):
    _, pdfs, _ = built
    lines = pdf_text(pdfs["zh-Hant"], layout=True).splitlines()
    bad = [line for line in lines if re.match(r"^\s*[。，、」）：；！？]", line)]
    assert not bad, bad[:5]


def test_running_header_and_page_numbers(built):
    _, pdfs, _ = built
    pages = pdf_pages_text(pdfs["en"])
    assert pages[0].strip().splitlines()[-1].strip() != "1"  # no page number on the cover
    body = pages[3].strip().splitlines()
    assert body[-1].strip() == "4"  # printed number = physical page on the body pages
    headers = {page.strip().splitlines()[0] for page in pages[2:6]}
    assert len(headers) == 1  # the running header repeats on the body pages


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
