"""Figures (build_tools/figures.py): captions and numbers per edition, cross-references on the web
and in the PDF, alt text and missing files as check errors, web copies, print resolution."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from build_tools.figures import PRINT_WIDTH_MM, WEB_WIDTHS
from build_tools.pipeline import build_report
from build_tools.project import Project
from support import pdf_pages_text, run_cli, squash
from test_site_browser import browser  # noqa: F401  (the Chromium fixture)

PHOTO = (1800, 1000)  # prints at 263 ppi across the text width
SMALL = (600, 400)  # prints below 200 ppi even at half width
CAPTIONS = {"en": ("Our site", "Small one"), "zh-Hant": ("我們的場地", "小圖")}
LABELS = {"en": "Figure {n}", "zh-Hant": "圖{n}"}
PAGE_REFS = {"en": "See {label}, page {page}", "zh-Hant": "見{label}，第{page}頁"}


def add_images(report: Path) -> None:
    images = report / "content" / "images"
    images.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", PHOTO, (30, 90, 120)).save(images / "photo.png")
    Image.new("RGB", SMALL, (200, 90, 20)).save(images / "small.png")


def append(report: Path, edition: str, page: str, text: str) -> Path:
    path = report / "content" / edition / page
    path.write_text(path.read_text("utf-8") + text, "utf-8")
    return path


@pytest.fixture(scope="module")
def figures_build(starter_template, tmp_path_factory):
    report = tmp_path_factory.mktemp("figures") / "report"
    shutil.copytree(starter_template, report)
    add_images(report)
    for edition, (photo, small) in CAPTIONS.items():
        see = PAGE_REFS[edition].split("{label}")[0]
        append(report, edition, "social.md",
               f'\n{{{{ figure("images/photo.png", alt="{photo}", caption="{photo}", id="photo", number=True) }}}}\n\n'
               f'{{{{ figure("images/small.png", alt="{small}", caption="{small}", id="small", size="half", number=True) }}}}\n')
        # the same photo again, on a page before it in the navigation, unnumbered; and a reference to it
        append(report, edition, "about-this-report.md",
               f'\n{see}{{{{ figure_ref("photo") }}}}\n\n{{{{ figure("images/photo.png", alt="{photo}") }}}}\n\n'
               "{{ list_of_figures() }}\n")
    output = report / "site"
    results, problems = build_report(Project.at(report), output=output)
    assert not problems.errors, "\n".join(d.format() for d in problems.items)
    return report, output, {r.edition: Path(r.pdf) for r in results}, problems


@pytest.mark.parametrize("edition", ["en", "zh-Hant"])
def test_numbered_figure_with_caption_and_web_reference(figures_build, edition):
    _, output, _, _ = figures_build
    social = (output / edition / "social" / "index.html").read_text("utf-8")
    photo, small = CAPTIONS[edition]
    label = LABELS[edition]
    # numbered in page order; the unnumbered copy on the earlier page takes no number
    assert f'<span class="figure-label">{label.format(n=1)}</span> {photo}</figcaption>' in social
    assert f'<span class="figure-label">{label.format(n=2)}</span> {small}</figcaption>' in social
    about = (output / edition / "about-this-report" / "index.html").read_text("utf-8")
    link = re.search(r'<a class="figure-ref" href="([^"]+)"[^>]*>([^<]+)</a>', about)
    assert link.groups() == ("../social/#photo", label.format(n=1))
    assert 'id="photo"' in social
    listed = re.search(r'<ol class="list-of-figures">(.*?)</ol>', about).group(1)
    assert re.findall(r'href="([^"]+)"', listed) == ["../social/#photo", "../social/#small"]


@pytest.mark.parametrize("edition", ["en", "zh-Hant"])
def test_reference_shows_the_figures_page_in_the_pdf(figures_build, edition):
    _, _, pdfs, _ = figures_build
    pages = pdf_pages_text(pdfs[edition])
    caption = squash(f"{LABELS[edition].format(n=1)} {CAPTIONS[edition][0]}")
    # the caption itself, not its entry in the list of figures (followed by a leader)
    figure_page = [i for i, text in enumerate(pages) if re.search(re.escape(caption) + r"(?!\.)", squash(text))]
    assert len(figure_page) == 1
    printed_page = figure_page[0] + 1
    expected = PAGE_REFS[edition].format(label=LABELS[edition].format(n=1), page=printed_page)
    assert squash(expected) in squash("".join(pages))
    assert re.search(re.escape(caption) + rf"\.+{printed_page}(?!\d)", squash("".join(pages)))


def test_web_copies_sizes_and_lazy_loading(figures_build):
    _, output, _, _ = figures_build
    social = (output / "en" / "social" / "index.html").read_text("utf-8")
    images = re.findall(r"<img [^>]*>", social)
    photo, small = [i for i in images if "_figures/photo-" in i], [i for i in images if "_figures/small-" in i]
    assert f'width="{PHOTO[0]}" height="{PHOTO[1]}"' in photo[0] and 'loading="lazy"' not in photo[0]
    assert f'width="{SMALL[0]}" height="{SMALL[1]}"' in small[0] and 'loading="lazy"' in small[0]
    webp = re.search(r'<source type="image/webp" srcset="([^"]+)"', social).group(1)
    widths = [int(w) for w in re.findall(r" (\d+)w", webp)]
    assert PHOTO[0] > WEB_WIDTHS[-1] and widths == list(WEB_WIDTHS)  # a wider original is not sent whole
    small_webp = re.findall(r'<source type="image/webp" srcset="([^"]+)"', social)[1]
    assert [int(w) for w in re.findall(r" (\d+)w", small_webp)] == [w for w in WEB_WIDTHS if w < SMALL[0]] + [SMALL[0]]
    for url in re.findall(r"\.\./(_figures/\S+)", webp):
        with Image.open(output / "en" / url) as copy:
            assert copy.format == "WEBP" and copy.width in widths
    assert "srcset=" in photo[0] and "sizes=" in photo[0]


def test_each_image_embedded_once_at_its_pixel_size(figures_build):
    _, _, pdfs, _ = figures_build
    listing = subprocess.run(["pdfimages", "-list", str(pdfs["en"])], check=True, capture_output=True, text=True).stdout
    rows = [line.split() for line in listing.splitlines()[2:]]
    shown = [((int(r[3]), int(r[4])), r[10]) for r in rows if r[2] == "image"]  # (pixel size, PDF object)
    assert sorted(size for size, _ in shown) == sorted([PHOTO, PHOTO, SMALL])  # the photo is shown twice ...
    assert len({obj for size, obj in shown if size == PHOTO}) == 1  # ... and embedded once


def test_low_resolution_is_a_located_warning(figures_build):
    report, _, _, problems = figures_build
    warnings = [d for d in problems.warnings if d.code == "figure.resolution"]
    assert {Path(d.file).relative_to(report).as_posix() for d in warnings} == \
        {"content/en/social.md", "content/zh-Hant/social.md"}
    ppi = round(SMALL[0] / (PRINT_WIDTH_MM["half"] / 25.4))
    for warning in warnings:
        assert f"would print at {ppi} ppi" in warning.message and "small.png" in warning.message
        line = Path(warning.file).read_text("utf-8").splitlines()[warning.line - 1]
        assert 'figure("images/small.png"' in line


def test_missing_alt_text_and_missing_file_are_check_errors(starter):
    add_images(starter)
    page = append(starter, "en", "social.md", '\n{{ figure("images/photo.png", caption="Site") }}\n')
    alt_line = len(page.read_text("utf-8").splitlines())
    other = append(starter, "zh-Hant", "social.md", '\n{{ figure("images/nowhere.png", alt="無") }}\n')
    file_line = len(other.read_text("utf-8").splitlines())
    code, out, _ = run_cli("check", str(starter))
    assert code == 1
    assert f"content/en/social.md:{alt_line}: error: figure 'images/photo.png' has no alt text [figure]" in out
    assert f"content/zh-Hant/social.md:{file_line}: error: image file 'images/nowhere.png' not found [figure]" in out


def test_edition_image_overrides_the_shared_one_and_decorative_needs_no_alt(starter):
    add_images(starter)
    own = starter / "content" / "zh-Hant" / "images"
    own.mkdir(parents=True)
    Image.new("RGB", (1400, 700), (0, 0, 0)).save(own / "photo.png")
    for edition in ("en", "zh-Hant"):
        append(starter, edition, "social.md", '\n{{ figure("images/photo.png", decorative=True) }}\n')
    code, out, _ = run_cli("build", str(starter), "--no-pdf")
    assert code == 0, out
    en = (starter / "site" / "en" / "social" / "index.html").read_text("utf-8")
    zh = (starter / "site" / "zh-Hant" / "social" / "index.html").read_text("utf-8")
    assert f'width="{PHOTO[0]}"' in en and 'width="1400"' in zh
    assert 'alt="" role="presentation"' in en


def test_unknown_reference_is_located(starter):
    page = append(starter, "en", "social.md", '\nSee {{ figure_ref("nothing") }}.\n')
    line = len(page.read_text("utf-8").splitlines())
    code, out, _ = run_cli("check", str(starter))
    assert code == 1
    assert f"content/en/social.md:{line}: error: figure_ref('nothing'): no numbered figure has this id [figure.unknown-ref]" in out


@pytest.mark.browser
def test_browser_loads_a_web_copy_from_the_site_only(figures_build, browser):
    from support import keep_local, serve

    _, output, _, _ = figures_build
    context = browser.new_context(viewport={"width": 375, "height": 800}, device_scale_factor=2)
    with serve(output) as base:
        page = context.new_page()
        outside, image_requests = keep_local(page), []
        page.on("request", lambda request: image_requests.append(request.url) if "_figures/" in request.url else None)
        page.goto(f"{base}/en/social/")
        photo = page.locator("img[src*='_figures/photo-']")
        photo.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
        chosen = photo.evaluate("img => img.currentSrc")
        # a phone at 2x wants about 750 px: the 960 px WebP, not the 1800 px original
        assert chosen.endswith("-960.webp"), chosen
        box = photo.bounding_box()
        assert abs(box["width"] / box["height"] - PHOTO[0] / PHOTO[1]) < 0.02
        assert not any(re.search(r"photo-[0-9a-f]+\.png$", url) for url in image_requests)  # nor the original
        assert outside == []
    context.close()


def test_caption_and_alt_are_text(starter):
    add_images(starter)
    append(starter, "en", "social.md",
           '\n{{ figure("images/photo.png", alt="A <b>bold</b> \\"claim\\"", caption="*Not* <i>markup</i>") }}\n')
    code, out, err = run_cli("build", str(starter), "--no-pdf", "--edition", "en")
    assert code == 0, out + err
    html = (starter / "site" / "en" / "social" / "index.html").read_text("utf-8")
    assert "<i>markup</i>" not in html and "<em>Not</em>" not in html and "&lt;i&gt;markup&lt;/i&gt;" in html
    assert 'alt="A &lt;b&gt;bold&lt;/b&gt; &quot;claim&quot;"' in html
