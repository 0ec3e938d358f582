"""The company's look (build_tools/brand.py): colours on the site and the PDF cover, the logo,
and the WCAG AA contrast check of the colours text is set in."""

import os
import re
import time
import subprocess

import lxml.html
import pytest
from fontTools.ttLib import TTFont
from PIL import Image

from build_tools.brand import contrast_ratio, css_family, font_face, subset_woff2, write_web_fonts
from build_tools.errors import ReportError
from support import keep_local, pdf_outline, pdf_pages_text, report_meta, run_cli, serve, squash

PRIMARY, ACCENT = "#5a2d82", "#8a3b12"  # both above 4.5:1 against white
ADDRESS = "1 Harbour Road, Central"


def primary_rgb():
    return tuple(int(PRIMARY[i:i + 2], 16) for i in (1, 3, 5))


def page_pixel(pdf, page: int, starter, x_mm: float, y_mm: float):
    """The colour of one point of a PDF page (1-based), rendered at 20 dpi."""
    prefix = starter / f"page{page}"
    subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", "20", "-png", str(pdf), str(prefix)], check=True)
    with Image.open(next(starter.glob(f"page{page}*.png"))) as image:
        return image.convert("RGB").getpixel((round(x_mm / 25.4 * 20), round(y_mm / 25.4 * 20)))


def set_brand(report, **values):
    path = report / "data" / "report.yml"
    lines = "".join(f'  {key}: "{value}"\n' for key, value in values.items())
    path.write_text(path.read_text("utf-8") + "\nbrand:\n" + lines, "utf-8")
    return path


@pytest.mark.parametrize("foreground, background, expected", [
    ("#000000", "#ffffff", 21.0),  # the scale's ends
    ("#ffffff", "#ffffff", 1.0),
    ("#777777", "#ffffff", 4.48),  # the grey usually quoted as just failing AA
    ("#0000ff", "#ffffff", 8.59),
])
def test_contrast_ratio_matches_wcag_examples(foreground, background, expected):
    assert round(contrast_ratio(foreground, background), 2) == expected
    assert contrast_ratio(background, foreground) == contrast_ratio(foreground, background)


def test_brand_colours_on_site_cover_openers_and_back_cover(starter):
    images = starter / "content" / "images"
    images.mkdir(parents=True)
    Image.new("RGB", (400, 100), (255, 255, 255)).save(images / "logo.png")
    Image.new("RGB", (800, 300), (200, 200, 200)).save(images / "cover.png")
    report_file = set_brand(starter, primary=PRIMARY, accent=ACCENT, logo="images/logo.png", cover_image="images/cover.png")
    chapter = starter / "content" / "en" / "environmental.md"
    chapter.write_text(chapter.read_text("utf-8") + "\n{{ kpi_chart(['nox_emissions', 'ghg_scope1_2']) }}\n", "utf-8")
    report_file.write_text(report_file.read_text("utf-8").replace(
        "company:\n", f"company:\n  address:\n    en: {ADDRESS}\n    zh-Hant: 中環港灣道1號\n", 1), "utf-8")
    code, out, err = run_cli("build", str(starter), "--edition", "en")
    assert code == 0, out + err
    page = (starter / "site" / "en" / "index.html").read_text("utf-8")
    assert f"--report-primary: {PRIMARY};" in page and f"--report-accent: {ACCENT};" in page
    assert '<img src="_brand/logo.png"' in page and (starter / "site" / "en" / "_brand" / "logo.png").is_file()
    pdf = starter / "site" / "en" / "esg-report-en.pdf"
    assert page_pixel(pdf, 1, starter, 3, 3) == primary_rgb()  # the cover
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True).stdout
    on_cover = [row.split()[3:5] for row in listing.splitlines()[2:] if row.split()[:1] == ["1"]]
    assert ["400", "100"] in on_cover and ["800", "300"] in on_cover  # the logo and the cover image
    # the chart's series in the brand's colours, primary first
    chart = (starter / "site" / "en" / "environmental" / "index.html").read_text("utf-8")
    fills = ["#" + f for f in re.findall(r'<rect [^>]*fill="(?:#|&#35;)([0-9a-f]{6})"', chart)]
    assert fills and fills[0] == PRIMARY and ACCENT in fills
    # a chapter opens on a band of the primary colour (left of the text, below the running header)
    # and stays a chapter of the outline
    pages = pdf_pages_text(pdf)
    social = [page for depth, title, page in pdf_outline(pdf) if depth == 0 and title == "Social"]
    assert len(social) == 1 and "Social" in pages[social[0]]
    assert page_pixel(pdf, social[0] + 1, starter, 5, 32) == primary_rgb()
    # the back cover: the company's name and address from data/report.yml, on the primary colour
    meta = report_meta(starter)
    assert squash(meta["company"]["name"]["en"]) in squash(pages[-1]) and squash(ADDRESS) in squash(pages[-1])
    assert page_pixel(pdf, len(pages), starter, 3, 3) == primary_rgb()


def test_low_contrast_colour_is_a_located_error(starter):
    light = "#7fb3d5"  # white text on it: about 2.2:1
    path = set_brand(starter, primary=light)
    line = path.read_text("utf-8").splitlines().index(f'  primary: "{light}"') + 1
    code, out, err = run_cli("check", str(starter))
    out += err
    assert code == 1
    assert f"data/report.yml:{line}: error: primary colour {light} has a contrast of " in out
    assert "[brand.contrast]" in out and contrast_ratio("#ffffff", light) < 4.5


def test_missing_logo_is_a_located_error(starter):
    path = set_brand(starter, logo="images/nowhere.svg")
    line = len(path.read_text("utf-8").splitlines())
    code, out, err = run_cli("check", str(starter))
    out += err
    assert code == 1
    assert f"data/report.yml:{line}: error: brand logo 'images/nowhere.svg' not found" in out


BODY_FONT, HEADING_FONT = "Noto Serif CJK TC", "Noto Serif"  # Debian fonts-noto-cjk, fonts-noto-core
ONLY_IN_SOCIAL, NOWHERE = "龘", "靐"  # rare characters: in no starter page


def set_fonts(report, **fonts):
    path = report / "data" / "report.yml"
    lines = "".join(f'    {role}: "{family}"\n' for role, family in fonts.items())
    path.write_text(path.read_text("utf-8") + "\nbrand:\n  fonts:\n" + lines, "utf-8")
    return path


def pdf_font_names(pdf, page: int | None = None) -> set[str]:
    """The fonts a PDF (or one of its pages) embeds, without the subset prefix ('Noto-Serif-CJK-TC-Bold')."""
    pages = ["-f", str(page), "-l", str(page)] if page else []
    rows = subprocess.run(["pdffonts", *pages, str(pdf)], check=True, capture_output=True,
                          text=True).stdout.splitlines()[2:]
    return {row.split()[0].split("+", 1)[-1] for row in rows}


def test_brand_fonts_in_pdf_and_site_subset(starter, starter_build):
    set_fonts(starter, body=BODY_FONT, headings=HEADING_FONT)
    social = starter / "content" / "zh-Hant" / "social.md"
    social.write_text(social.read_text("utf-8") + f"\n本集團以「{ONLY_IN_SOCIAL}」為名。\n", "utf-8")
    code, out, err = run_cli("build", str(starter), "--edition", "zh-Hant")
    assert code == 0, out + err
    site = starter / "site" / "zh-Hant"
    # the PDF: the body in the chosen family, the headings in theirs
    pdf = site / "esg-report-zh-Hant.pdf"
    fonts = pdf_font_names(pdf)
    dashed = lambda family: family.replace(" ", "-")  # noqa: E731  (how PDF font names spell families)
    assert dashed(BODY_FONT) in fonts and dashed(HEADING_FONT) + "-Bold" in fonts
    # the cover's title is a heading: its Latin in Noto Serif, its Chinese (Noto Serif has none) from
    # the CJK fallback, the company's name in the body's family
    assert {dashed(HEADING_FONT) + "-Bold", "Noto-Sans-CJK-TC-Bold", dashed(BODY_FONT) + "-Bold"} <= pdf_font_names(pdf, 1)
    # without fonts: the families of templates/print/print.css, none of the chosen ones
    _, pdfs, _ = starter_build
    default_fonts = pdf_font_names(pdfs["zh-Hant"])
    assert {"Noto-Sans-CJK-TC", "Noto-Sans-CJK-TC-Bold"} <= default_fonts
    assert not {name for name in default_fonts if "Serif" in name}
    # the site: a relative stylesheet link, relative @font-face URLs, each to a file of the site
    page = site / "social" / "index.html"
    assert ONLY_IN_SOCIAL in page.read_text("utf-8")
    links = [href for href in lxml.html.parse(str(page)).xpath("//link[@rel='stylesheet']/@href") if "_brand" in href]
    assert len(links) == 1 and "://" not in links[0] and not links[0].startswith("/")
    stylesheet = (page.parent / links[0]).resolve()
    assert stylesheet.is_file() and stylesheet.parent == (site / "_brand").resolve()
    rules = re.findall(r"@font-face \{ font-family: ([^;]+);[^}]*src: url\(([^)]+)\)", stylesheet.read_text("utf-8"))
    assert {family for family, _ in rules} == {BODY_FONT, HEADING_FONT}
    for family, url in rules:
        assert "://" not in url and not url.startswith("/") and (stylesheet.parent / url).is_file()
    body_faces = [TTFont(stylesheet.parent / url).getBestCmap() for family, url in rules if family == BODY_FONT]
    assert body_faces and all(ord(ONLY_IN_SOCIAL) in cmap and ord(NOWHERE) not in cmap for cmap in body_faces)
    assert all(len(cmap) < 5000 for cmap in body_faces)  # a subset (the face maps about 44,000 characters)


def test_unknown_font_family_is_a_located_error(starter):
    path = set_fonts(starter, body="Noto Serif CJK XX", headings="noto serif")
    lines = path.read_text("utf-8").splitlines()
    code, out, err = run_cli("check", str(starter))
    out += err
    assert code == 1
    line = lines.index('    body: "Noto Serif CJK XX"') + 1
    assert f"data/report.yml:{line}: error: brand body font 'Noto Serif CJK XX' is not a family fontconfig knows" in out
    assert "[brand.font]" in out and "scripts/debian-packages.txt" in out and "fonts-noto-cjk" in out
    assert "did you mean 'Noto Serif CJK " in out  # one of the installed Serif CJK faces: a slip in the last word
    # fontconfig matches without regard to case, but the PDF and the site's @font-face need the name
    assert f"data/report.yml:{line + 1}: error: brand headings font 'noto serif'" in out
    assert "fontconfig names it 'Noto Serif'" in out


@pytest.mark.parametrize("value", ["12", "[Noto Serif, Noto Sans]"])
def test_font_of_the_wrong_type_is_a_located_error(starter, value):
    path = starter / "data" / "report.yml"
    path.write_text(path.read_text("utf-8") + f"\nbrand:\n  fonts:\n    body: {value}\n", "utf-8")
    line = len(path.read_text("utf-8").splitlines())
    code, out, err = run_cli("check", str(starter))
    assert code == 1
    assert f"data/report.yml:{line}: error: brand/fonts/body: " in out + err and "is not of type 'string'" in out + err


@pytest.mark.parametrize("family", ["Noto Serif CJK TC", "3270 Condensed", "Font (Pro) & Co's", "思源宋體 TC", "-Odd"])
def test_family_names_reach_css_as_identifiers(family):
    """The CSS a browser (and WeasyPrint) parses gives back the family's name, with no quote that
    HTML escaping in the theme would turn into an entity."""
    import tinycss2

    css = css_family(family)
    tokens = [t for t in tinycss2.parse_component_value_list(css) if t.type != "whitespace"]
    assert all(t.type == "ident" for t in tokens) and " ".join(t.value for t in tokens) == family
    assert not set("\"'&<>") & set(css)


def test_live_preview_names_the_installed_faces(tmp_path):
    """`serve` rebuilds on every save: its @font-face rules name the installed faces, no subsetting."""
    (tmp_path / "index.html").write_text(f"<html><body><h1>標題</h1><p>{ONLY_IN_SOCIAL}</p></body></html>", "utf-8")
    write_web_fonts({"body": BODY_FONT}, tmp_path, preview=True)
    stylesheet = (tmp_path / "_brand" / "fonts.css").read_text("utf-8")
    regular, bold = font_face(BODY_FONT, 400), font_face(BODY_FONT, 700)
    assert f"local({regular.postscript_name})" in stylesheet and f"local({bold.postscript_name})" in stylesheet
    assert "url(" not in stylesheet and not list(tmp_path.rglob("*.woff2"))


@pytest.mark.browser
def test_site_loads_the_published_font_in_chromium(starter):
    """The reader's browser loads the edition's own subset from the site, and nothing from another host."""
    from playwright.sync_api import sync_playwright

    set_fonts(starter, body=BODY_FONT)
    social = starter / "content" / "zh-Hant" / "social.md"
    social.write_text(social.read_text("utf-8") + f"\n本集團以「{ONLY_IN_SOCIAL}」為名。\n", "utf-8")
    code, out, err = run_cli("build", str(starter), "--edition", "zh-Hant", "--no-pdf")
    assert code == 0, out + err
    with serve(starter / "site") as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        page = browser.new_page()
        outside = keep_local(page)
        fonts_loaded = []
        page.on("response", lambda response: fonts_loaded.append(response.url) if response.ok and
                response.url.endswith(".woff2") else None)
        page.goto(f"{base}/zh-Hant/social/")
        faces = page.evaluate("async () => { await document.fonts.ready; "
                              "return [...document.fonts].map(f => [f.family, f.weight, f.status]); }")
        family = page.evaluate("getComputedStyle(document.querySelector('.md-typeset p')).fontFamily")
        browser.close()
    assert [BODY_FONT, "400", "loaded"] in faces
    assert family.startswith(f'"{BODY_FONT}"')
    assert fonts_loaded and all(f"{base}/zh-Hant/_brand/" in url for url in fonts_loaded)
    assert outside == []


def test_a_damaged_font_file_is_a_located_error_not_a_traceback(tmp_path):
    broken = tmp_path / "Broken.otf"
    broken.write_bytes(b"not a font at all" * 100)
    with pytest.raises(ReportError) as raised:
        subset_woff2(broken, 0, set("abc"), tmp_path / "site" / "broken.woff2")
    [problem] = raised.value.diagnostics.items
    assert problem.code == "brand.font" and f"the font file {broken} could not be made into a web font" in problem.message
    assert "reinstall the font's Debian package" in problem.hint


def test_a_cache_that_cannot_be_written_still_gives_the_subset(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder would go", "utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(not_a_folder))
    face = font_face(BODY_FONT, 400)
    target = tmp_path / "site" / "body.woff2"
    subset_woff2(face.file, face.index, set("綠色ab"), target)
    assert {ord(c) for c in "綠色ab"} <= set(TTFont(target).getBestCmap())


def test_the_font_cache_drops_subsets_unused_for_months(tmp_path, monkeypatch):
    from build_tools.brand import FONT_CACHE_DAYS

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cache = tmp_path / "cache" / "esg-report" / "fonts"
    cache.mkdir(parents=True)
    old, recent = cache / "0123456789abcdef01234567.woff2", cache / "76543210fedcba9876543210.woff2"
    for entry, age_days in ((old, FONT_CACHE_DAYS + 1), (recent, FONT_CACHE_DAYS - 1)):
        entry.write_bytes(b"wOF2")
        os.utime(entry, (time.time() - age_days * 86400,) * 2)
    face = font_face(BODY_FONT, 400)
    subset_woff2(face.file, face.index, set("年報"), tmp_path / "site" / "body.woff2")
    assert not old.exists() and recent.exists()
    assert len(list(cache.glob("*.woff2"))) == 2  # the recent one and the new subset
