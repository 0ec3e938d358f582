"""The company's look (build_tools/brand.py): colours on the site and the PDF cover, the logo,
and the WCAG AA contrast check of the colours text is set in."""

import re
import subprocess

import pytest
from PIL import Image

from build_tools.brand import contrast_ratio
from support import pdf_outline, pdf_pages_text, report_meta, run_cli, squash

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
