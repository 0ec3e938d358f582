"""The company's look (build_tools/brand.py): colours on the site and the PDF cover, the logo,
and the WCAG AA contrast check of the colours text is set in."""

import subprocess

import pytest
from PIL import Image

from build_tools.brand import contrast_ratio
from support import run_cli

PRIMARY, ACCENT = "#5a2d82", "#8a3b12"  # both above 4.5:1 against white


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


def test_brand_colours_on_site_and_cover(starter):
    images = starter / "content" / "images"
    images.mkdir(parents=True)
    Image.new("RGB", (400, 100), (255, 255, 255)).save(images / "logo.png")
    set_brand(starter, primary=PRIMARY, accent=ACCENT, logo="images/logo.png")
    code, out, _ = run_cli("build", str(starter), "--edition", "en")
    assert code == 0, out
    page = (starter / "site" / "en" / "index.html").read_text("utf-8")
    assert f"--report-primary: {PRIMARY};" in page and f"--report-accent: {ACCENT};" in page
    assert '<img src="_brand/logo.png"' in page and (starter / "site" / "en" / "_brand" / "logo.png").is_file()
    pdf = starter / "site" / "en" / "esg-report-en.pdf"
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "20", "-png", str(pdf), str(starter / "cover")], check=True)
    with Image.open(next(starter.glob("cover*.png"))) as cover:
        corner = cover.convert("RGB").getpixel((2, 2))
    assert corner == tuple(int(PRIMARY[i:i + 2], 16) for i in (1, 3, 5))
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert any(row.split()[:1] == ["1"] and row.split()[3:5] == ["400", "100"] for row in listing.splitlines()[2:])


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
