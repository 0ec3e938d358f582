"""What the published site tells search engines and link previews, and the files at its root.

- each page's head: canonical URL with the edition, ``hreflang`` alternates (plus ``x-default``,
  the first edition), description, OpenGraph and Twitter meta in the edition's language;
- the root ``sitemap.xml`` (every page of every edition with its alternates) and ``robots.txt``;
- one preview image per edition (title, company, year in the report's colours), drawn with
  Pillow in the Noto CJK fonts installed with the toolchain: nothing is fetched.
- earlier years' reports (``archive:`` in data/report.yml) copied to ``/<year>/``.

Engine-neutral: the adapter hands in a page's URL, title, meta and HTML, and gets ``Markup``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urljoin

from babel import Locale
from lxml import etree
from markupsafe import Markup

from . import html
from .disclosures import parse_fragment
from .errors import Diagnostic, Diagnostics, ReportError
from .i18n import EDITIONS, display_width

PREVIEW_IMAGE = "preview.png"
PREVIEW_SIZE = (1200, 630)  # the size OpenGraph and Twitter's large card show without cropping
DESCRIPTION_WIDTH = 160  # display columns (a CJK character counts two): what result pages show
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML_NS = "http://www.w3.org/1999/xhtml"
# The theme's colours, read from the report's stylesheet (templates/theme/assets/stylesheets/report.css).
COLOUR_PROPERTIES = {"primary": "--md-primary-fg-color", "accent": "--md-accent-fg-color"}
DEFAULT_COLOURS = {"primary": "#0f4c5c", "accent": "#a0430a"}


def site_root(meta: dict) -> str | None:
    """``report.site_url`` with one trailing slash, or None when the report has none."""
    url = (meta.get("report") or {}).get("site_url")
    return url.rstrip("/") + "/" if url else None


def edition_root(site_url: str, edition: str) -> str:
    return urljoin(site_url, f"{edition}/")


def page_address(site_url: str, edition: str, page_url: str) -> str:
    return urljoin(edition_root(site_url, edition), page_url)


def description(meta: dict, page_html: str) -> str:
    """The page's front matter ``description:``, else the text of its first paragraph, trimmed."""
    text = meta.get("description")
    if not text:
        root = parse_fragment(page_html)
        paragraphs = [p.text_content() for p in root.iter("p") if p.text_content().strip()] if root is not None else []
        # the page's own text first: a note box (the starter's "template content") says little about it
        own = [p.text_content() for p in root.iter("p") if p.text_content().strip() and not any(
            "admonition" in (a.get("class") or "") for a in p.iterancestors())] if root is not None else []
        text = (own or paragraphs or [""])[0]
    return trim(" ".join(str(text).split()))


def trim(text: str, width: int = DESCRIPTION_WIDTH) -> str:
    """At most ``width`` display columns, cut at a word (or any character in CJK text) with an ellipsis.

    >>> trim("one two three", 9)
    'one two…'
    >>> trim("二〇二四年環境報告", 8)
    '二〇二…'
    """
    if display_width(text) <= width:
        return text
    cut = ""
    for char in text:
        if display_width(cut + char) > width - 1:
            break
        cut += char
    if " " in cut and display_width(cut) > width // 2:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:，。；：、") + "…"


def og_locale(edition: str) -> str:
    """OpenGraph's language_TERRITORY form of an edition's locale (``zh_Hant_HK`` -> ``zh_HK``)."""
    locale = Locale.parse(EDITIONS[edition].locale)
    return f"{locale.language}_{locale.territory}" if locale.territory else locale.language


def root_alternates(site_url: str | None, editions: list[str]) -> list[dict]:
    """The root page's hreflang links: each edition's home page, and the first as x-default."""
    if not site_url:
        return []
    return [{"lang": EDITIONS[code].html_lang, "href": edition_root(site_url, code)} for code in editions] + \
        [{"lang": "x-default", "href": edition_root(site_url, editions[0])}]


@dataclass
class PageHead:
    edition: str
    editions: list[str]
    site_url: str | None
    page_url: str
    title: str
    site_name: str
    description: str

    def render(self) -> Markup:
        alternates = []
        canonical = image = None
        if self.site_url:
            canonical = page_address(self.site_url, self.edition, self.page_url)
            image = urljoin(edition_root(self.site_url, self.edition), PREVIEW_IMAGE)
            alternates = [{"lang": EDITIONS[code].html_lang, "href": page_address(self.site_url, code, self.page_url)}
                          for code in self.editions]
            alternates.append({"lang": "x-default", "href": page_address(self.site_url, self.editions[0], self.page_url)})
        return html.render("web-head.html", canonical=canonical, alternates=alternates, image=image,
                           title=self.title, site_name=self.site_name, description=self.description,
                           locale=og_locale(self.edition), image_size=PREVIEW_SIZE,
                           other_locales=[og_locale(code) for code in self.editions if code != self.edition])


# --- root files -----------------------------------------------------------------------------

def write_sitemap(staging: Path, site_url: str, editions: list[str], page_urls: list[str]) -> None:
    """sitemap.xml at the site root: every page of every edition, each with all its alternates.

    Editions share page paths (the build compares them), so one list of page URLs serves all.
    Built with lxml, which escapes what it writes.
    """
    urlset = etree.Element(f"{{{SITEMAP_NS}}}urlset", nsmap={None: SITEMAP_NS, "xhtml": XHTML_NS})
    for code in editions:
        for url in page_urls:
            entry = etree.SubElement(urlset, f"{{{SITEMAP_NS}}}url")
            etree.SubElement(entry, f"{{{SITEMAP_NS}}}loc").text = page_address(site_url, code, url)
            for other in editions:
                etree.SubElement(entry, f"{{{XHTML_NS}}}link", rel="alternate", hreflang=EDITIONS[other].html_lang,
                                 href=page_address(site_url, other, url))
            etree.SubElement(entry, f"{{{XHTML_NS}}}link", rel="alternate", hreflang="x-default",
                             href=page_address(site_url, editions[0], url))
    (staging / "sitemap.xml").write_bytes(etree.tostring(urlset, xml_declaration=True, encoding="UTF-8",
                                                         pretty_print=True))


def write_robots(staging: Path, site_url: str) -> None:
    (staging / "robots.txt").write_text(f"User-agent: *\nAllow: /\n\nSitemap: {urljoin(site_url, 'sitemap.xml')}\n",
                                        "utf-8")


# --- the archive of earlier years -----------------------------------------------------------

def archive_entries(meta: dict, edition: str) -> list[dict]:
    """The archive's links for one edition's pages, newest first: the year's website, and its PDF
    in this edition (or in another when this edition has none). ``href`` is from the site root."""
    entries = []
    for item in sorted(meta.get("archive") or [], key=lambda item: -item["year"]):
        year, pdfs = item["year"], item.get("pdf") or {}
        entry = {"year": year, "site": f"{year}/" if item.get("site") else None, "pdf": None, "lang": None}
        if pdfs:
            code = edition if edition in pdfs else next(iter(pdfs))
            entry.update(pdf=f"{year}/{Path(pdfs[code]).name}", lang=EDITIONS[code].html_lang)
        entries.append(entry)
    return entries


def copy_archive(meta: dict, report_root: Path, staging: Path, problems: Diagnostics, report_file: Path,
                 line_of=None) -> None:
    """Earlier years' files from archive/ in the report folder to /<year>/ in the site. Only what
    lies inside archive/ is copied: a path or link leading out of it is an error."""
    archive_dir = (report_root / "archive").resolve()
    for index, item in enumerate(meta.get("archive") or []):
        line = line_of(index) if line_of else None
        target = staging / str(item["year"])
        sources = [(path, False) for path in (item.get("pdf") or {}).values()]
        if item.get("site"):
            sources.append((item["site"], True))
        for path, folder in sources:
            source = (report_root / path).resolve()
            inside = ".." not in Path(path).parts and archive_dir in source.parents
            links_out = folder and inside and source.is_dir() and any(
                p.is_symlink() and archive_dir not in p.resolve().parents for p in source.rglob("*"))
            if not inside or links_out:
                problems.error("data.archive", f"{path}: not {'a folder' if folder else 'a file'} under archive/ in the "
                               "report folder" + (" (it has links out of archive/)" if links_out else ""),
                               file=str(report_file), line=line, hint="keep earlier reports in archive/<year>/")
            elif folder and not (source / "index.html").is_file():
                problems.error("data.archive", f"{path}: not a built website (no index.html in it)", file=str(report_file),
                               line=line, hint="copy the whole published site of that year, e.g. its site/ folder")
            elif not folder and not source.is_file():
                problems.error("data.archive", f"{path}: no such file", file=str(report_file), line=line,
                               hint="copy the published PDF of that year into the report folder's archive/")
            elif folder:
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / source.name)


# --- preview images -------------------------------------------------------------------------

def report_colours(template_dirs: list[Path]) -> dict[str, str]:
    """The theme colours of the report's web stylesheet (the first template folder that has one)."""
    for directory in template_dirs:
        stylesheet = directory / "theme" / "assets" / "stylesheets" / "report.css"
        if stylesheet.is_file():
            text = stylesheet.read_text("utf-8")
            colours = dict(DEFAULT_COLOURS)
            for key, prop in COLOUR_PROPERTIES.items():
                match = re.search(re.escape(prop) + r"\s*:\s*(#[0-9A-Fa-f]{6}|#[0-9A-Fa-f]{3})\s*;", text)
                if match:
                    colours[key] = match.group(1)
            return colours
    return dict(DEFAULT_COLOURS)


@lru_cache(maxsize=None)
def font_file(weight: str) -> tuple[str, int]:
    """The installed Noto Sans CJK collection (fontconfig's answer) and the face of Traditional Chinese."""
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}", f"Noto Sans CJK TC:{weight}"], capture_output=True,
                               text=True, check=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    path = found if found.endswith(".ttc") else f"/usr/share/fonts/opentype/noto/NotoSansCJK-{weight.title()}.ttc"
    if not Path(path).is_file():  # the PDF needs the same fonts: the machine is not set up
        raise ReportError(Diagnostic("error", "toolchain.fonts", "the Noto Sans CJK fonts are not installed "
                                     "(needed for the link preview images)",
                                     hint="run scripts/setup.sh report (it installs fonts-noto-cjk)"))
    return path, _tc_face(path)


def _tc_face(path: str) -> int:
    from PIL import ImageFont

    # The collection holds one face per region (JP, KR, SC, TC, HK ...): Hong Kong's if present,
    # else Traditional Chinese, so that the characters take the forms the edition uses.
    wanted = ("Noto Sans CJK HK", "Noto Sans CJK TC")
    faces = {}
    for index in range(12):
        try:
            faces[ImageFont.truetype(path, 20, index=index).getname()[0]] = index
        except OSError:
            break
    return next((faces[name] for name in wanted if name in faces), 0)


def _wrap(draw, text: str, font, width: int) -> list[str]:
    """Lines of at most ``width`` pixels: at spaces in Latin text, at any character in CJK text."""
    lines, line = [], ""
    tokens = re.findall(r"\S+\s*|\s+", text) if " " in text else list(text)
    for token in tokens:
        if line and draw.textlength(line + token.rstrip(), font=font) > width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines


def write_preview_image(target: Path, title: str, company: str, year: int, colours: dict[str, str]) -> None:
    """A 1200x630 PNG: the report's title, company and year in the report's colours."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = PREVIEW_SIZE
    image = Image.new("RGB", PREVIEW_SIZE, colours["primary"])
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height - 24, width, height), fill=colours["accent"])
    bold_path, bold_index = font_file("bold")
    regular_path, regular_index = font_file("regular")
    margin = 80
    size = 64
    while True:  # the largest title size that fits in three lines
        title_font = ImageFont.truetype(bold_path, size, index=bold_index)
        lines = _wrap(draw, title, title_font, width - 2 * margin)
        if len(lines) <= 3 or size <= 36:
            break
        size -= 4
    company_font = ImageFont.truetype(regular_path, 36, index=regular_index)
    year_font = ImageFont.truetype(bold_path, 120, index=bold_index)
    draw.text((margin, 70), str(year), font=year_font, fill=colours["accent"] if _light(colours["accent"]) else "#ffffff")
    top = 250
    for line in lines[:3]:
        draw.text((margin, top), line, font=title_font, fill="#ffffff")
        top += int(size * 1.3)
    top = max(top + 20, height - 150)
    for line in _wrap(draw, company, company_font, width - 2 * margin)[:2]:
        draw.text((margin, top), line, font=company_font, fill="#ffffff")
        top += 48
    target.parent.mkdir(parents=True, exist_ok=True)
    image.save(target, "PNG", optimize=True)


def _light(colour: str) -> bool:
    """Whether a colour is light enough to read on the (dark) primary colour."""
    value = colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    r, g, b = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 140
