"""The company's look: ``brand:`` in data/report.yml (logo, primary and accent colours, cover image,
typefaces).

The colours reach the site's theme (CSS variables set by templates/theme/main.html from the
values the engine adapter passes), the PDF cover and chapter headings (templates/print/), and
the chart palette (charts.py). Colours that text is set in are checked for WCAG AA contrast
(4.5:1) when the data is loaded, with the line of data/report.yml.

Typefaces (``brand.fonts``) are families installed on the build machine (Debian packages), found
through fontconfig, as WeasyPrint finds them. The PDF embeds them; the site publishes, per edition,
a WOFF2 subset of each face with only the characters the edition's pages use (no font is fetched
from another host: the site must work offline and in mainland China).
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import lxml.html

from .errors import Diagnostic, Diagnostics, ReportError

#: The toolchain's own colours (those of templates/*.css before a report sets its own).
DEFAULT_PRIMARY = "#0f4c5c"
DEFAULT_ACCENT = "#a0430a"
WHITE = "#ffffff"
AA_TEXT = 4.5  # WCAG 2.x success criterion 1.4.3, normal-size text
#: Chart series after the brand's two colours.
CHART_COLOURS = ["#5a9bb5", "#7a5195", "#9cc7d6"]
ASSET_DIR = "_brand"
FONT_STYLESHEET = f"{ASSET_DIR}/fonts.css"
#: The roles a typeface can take (brand.fonts keys) -> the CSS variable that carries its stack.
FONT_ROLES = {"body": "report-body-font", "headings": "report-heading-font"}
#: What follows a chosen family, so that characters it lacks (Chinese in a Latin face) still render:
#: the print's Debian fonts, and on the web the readers' own Chinese faces (as report.css lists them).
#: Unquoted: family names written as CSS identifiers pass HTML escaping unchanged.
PRINT_FALLBACK = "Noto Sans CJK TC, sans-serif"
WEB_FALLBACK = "Noto Sans CJK TC, PingFang HK, PingFang TC, Microsoft JhengHei, system-ui, sans-serif"
#: fontconfig's weights for the two faces the site publishes (fc-pattern(3): regular 80, bold 200).
WEB_WEIGHTS = {400: 80, 700: 200}
#: OpenType features the site's text uses; no 'locl' or vertical forms (they pull in every region's
#: variant glyphs of a CJK font: three times the size).
WEB_FEATURES = ["kern", "liga", "calt", "ccmp", "mark", "mkmk", "halt", "palt"]

#: The pairs of colours text is set in: (colour key, background key, where the pair is used).
#: Contrast is symmetric, so white text on the primary colour and primary headings on white are one pair.
TEXT_PAIRS = [
    ("primary", "white", "white text on it (PDF cover, table headers, site header) and headings in it on white"),
    ("accent", "white", "links in it on white"),
]


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of '#rrggbb'.

    Written out rather than taken from a colour library: it is the standard's ten-line formula,
    and the build needs nothing else from such a library.
    """
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i:i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str, background: str) -> float:
    lighter, darker = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _mix(colour: str, other: str, share: float) -> str:
    """``colour`` with ``share`` of ``other`` mixed in (the theme's lighter and darker shades)."""
    parts = [round(int(colour[i:i + 2], 16) * (1 - share) + int(other[i:i + 2], 16) * share) for i in (1, 3, 5)]
    return "#" + "".join(f"{p:02x}" for p in parts)


@dataclass(frozen=True)
class Brand:
    primary: str = DEFAULT_PRIMARY
    accent: str = DEFAULT_ACCENT
    logo: str | None = None  # path under content/ ('images/logo.svg')
    cover_image: str | None = None
    fonts: tuple[tuple[str, str], ...] = ()  # (role, family): ('body', 'Noto Serif CJK TC')

    @classmethod
    def from_meta(cls, meta: dict) -> "Brand":
        raw = meta.get("brand") or {}
        fonts = raw.get("fonts") or {}
        return cls(str(raw.get("primary", DEFAULT_PRIMARY)).lower(), str(raw.get("accent", DEFAULT_ACCENT)).lower(),
                   raw.get("logo"), raw.get("cover_image"),
                   tuple((role, str(fonts[role])) for role in FONT_ROLES
                         if isinstance(fonts, dict) and fonts.get(role)))

    @property
    def palette(self) -> list[str]:
        return [self.primary, self.accent, *CHART_COLOURS]

    def theme_values(self, font_fallback: str = WEB_FALLBACK) -> dict:
        """The CSS custom properties of the site and the print (names without the leading '--').

        The font variables are set only for the roles the brand chooses: the site's stylesheet falls
        back to its own families when a variable is unset (the print sets fonts without them)."""
        return {"report-primary": self.primary, "report-primary-light": _mix(self.primary, WHITE, 0.25),
                "report-primary-dark": _mix(self.primary, "#000000", 0.3), "report-accent": self.accent,
                "report-primary-tint": _mix(self.primary, WHITE, 0.88),
                **{FONT_ROLES[role]: stack for role, stack in self.font_stacks(font_fallback).items()}}

    def font_stacks(self, fallback: str) -> dict[str, str]:
        """The CSS font-family of each role the brand chooses: the family, then ``fallback``."""
        return {role: f"{css_family(family)}, {fallback}" for role, family in self.fonts}

    def files(self, content_root: Path) -> dict[str, Path]:
        """The brand's files: 'logo' and 'cover_image' -> the file under content/."""
        return {key: content_root / PurePosixPath(value) for key, value in
                (("logo", self.logo), ("cover_image", self.cover_image)) if value}

    def published_name(self, key: str) -> str:
        return f"{ASSET_DIR}/{key}{PurePosixPath(getattr(self, key)).suffix.lower()}"

    def write_assets(self, content_root: Path, site_dir: Path, preview: bool = False) -> None:
        """The logo, the cover image and the web fonts, under the edition's ``_brand/``. Runs after
        the engine wrote the pages: the font subsets hold the characters those pages use."""
        for key, source in self.files(content_root).items():
            if not source.is_file():
                continue  # reported by check_brand_files; the build is not published
            target = Path(site_dir) / self.published_name(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        if self.fonts:
            write_web_fonts(dict(self.fonts), Path(site_dir), preview)


def css_family(family: str) -> str:
    """A family name as CSS identifiers ('Noto Serif CJK TC' -> Noto Serif CJK TC): each word with
    what is not a letter, digit, '_' or '-' (and a leading digit or hyphen) hex-escaped, so that the
    name needs no quotes and reads the same before and after HTML escaping."""
    def ident(word: str) -> str:
        escaped = "".join(c if not c.isascii() or c.isalnum() or c in "_-" else f"\\{ord(c):x} " for c in word)
        return f"\\{ord(word[0]):x} {escaped[1:]}" if word[0].isdigit() or word.startswith("-") else escaped
    return " ".join(ident(word) for word in family.split())


@functools.lru_cache(maxsize=1)
def installed_families() -> frozenset[str] | None:
    """The font families fontconfig knows (None without fontconfig's tools).

    fc-match always answers with *some* font, so the names are compared with fc-list's families."""
    try:
        listing = subprocess.run(["fc-list", "--format", "%{family}\n"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    # a font may have several names (its family in each language), comma-separated
    return frozenset(name for line in listing.stdout.splitlines() for name in line.split(",") if name)


def _fc_escape(family: str) -> str:
    return re.sub(r"([\\\-:,])", r"\\\1", family)


@dataclass(frozen=True)
class FontFace:
    file: Path
    index: int  # the face in a collection (.ttc/.otc hold several)
    postscript_name: str


def font_face(family: str, weight: int) -> FontFace | None:
    """``family``'s upright face nearest to the CSS ``weight``; None when fontconfig offers another
    family."""
    pattern = f"{_fc_escape(family)}:weight={WEB_WEIGHTS[weight]}:slant=0"
    try:
        result = subprocess.run(["fc-match", "--format", "%{family}\t%{file}\t%{index}\t%{postscriptname}", pattern],
                                capture_output=True, text=True)
    except OSError:  # no fontconfig: check_brand has said so
        return None
    names, _, rest = result.stdout.partition("\t")
    file, index, postscript_name = (rest.split("\t") + ["", ""])[:3]
    if result.returncode or family not in names.split(",") or not file:
        return None
    return FontFace(Path(file), int(index or 0), postscript_name)


def page_characters(site_dir: Path, headings_only: bool = False) -> set[str]:
    """The characters of the edition's pages (text and attributes a browser may show), or of their
    headings only."""
    characters = set(map(chr, range(0x20, 0x7f)))  # ASCII: search terms, numbers shown by scripts
    for page in site_dir.rglob("*.html"):
        root = lxml.html.fromstring(page.read_bytes())
        elements = root.xpath("//h1|//h2|//h3|//h4|//h5|//h6") if headings_only else [root]
        for element in elements:
            characters.update("".join(element.itertext()))
            if not headings_only:
                for node in element.iter():
                    for name in ("alt", "title", "placeholder", "aria-label"):
                        characters.update(node.get(name) or "")
    return {c for c in characters if c >= " "}  # not line breaks and tabs


def subset_woff2(file: Path, index: int, characters: set[str], target: Path) -> None:
    """A WOFF2 of the face with only ``characters`` (fontTools' subsetter), kept in the user's cache:
    subsetting a CJK face takes seconds, and the same pages give the same subset. A cache that
    cannot be written is skipped; a font file fontTools cannot read is a located error."""
    text = "".join(sorted(characters))
    key = hashlib.sha256(f"{file}|{file.stat().st_mtime_ns}|{index}|{WEB_FEATURES}|{text}".encode()).hexdigest()[:24]
    cached = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "esg-report" / "fonts" / f"{key}.woff2"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copyfile(cached, target)
        with contextlib.suppress(OSError):
            os.utime(cached)  # in use: kept by _prune_font_cache
        return
    except OSError:
        pass  # not cached, pruned meanwhile, or a cache this user cannot read: subset anew
    _write_subset(file, index, text, target)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f"{key}.{os.getpid()}.part")  # parallel editions may race
        shutil.copyfile(target, partial)
        partial.replace(cached)
        _prune_font_cache(cached.parent)
    except OSError:
        pass  # a read-only home: the next build subsets again


#: A subset unused this long is dropped from the cache: every new character makes another one.
FONT_CACHE_DAYS = 60


def _prune_font_cache(folder: Path) -> None:
    expired = time.time() - FONT_CACHE_DAYS * 86400
    for entry in folder.iterdir():
        with contextlib.suppress(OSError):
            if entry.suffix in (".woff2", ".part") and entry.stat().st_mtime < expired:
                entry.unlink()


def _write_subset(file: Path, index: int, text: str, target: Path) -> None:
    from fontTools import subset  # here: most reports choose no typeface, and the import is slow
    from fontTools.ttLib import TTFont, TTLibError

    options = subset.Options(flavor="woff2", layout_features=WEB_FEATURES, desubroutinize=True, hinting=False)
    try:
        # the original bounds: recomputing them from the outlines is a quarter of the time
        font = TTFont(file, fontNumber=index, lazy=True, recalcBBoxes=False,
                      recalcTimestamp=False)  # the same bytes for the same pages (reproducible builds)
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text)
        subsetter.subset(font)
        font.flavor = "woff2"
        font.save(target)
    except (TTLibError, OSError, ValueError, KeyError, AssertionError) as exc:  # fontTools' ways to say "damaged"
        raise ReportError(Diagnostic(
            "error", "brand.font", f"the font file {file} could not be made into a web font: {exc}",
            hint="reinstall the font's Debian package, or choose another family under brand.fonts")) from None


def write_web_fonts(fonts: dict[str, str], site_dir: Path, preview: bool = False) -> None:
    """``_brand/fonts.css`` and its WOFF2 subsets: each chosen family's regular and bold face. A
    family used for headings only needs the headings' characters.

    The live preview, which rebuilds on every save and is read on the machine that builds, names
    the installed faces instead (``local()``): a new character would cost seconds of subsetting."""
    rules = []
    for family in dict.fromkeys(fonts.values()):
        headings_only = family != fonts.get("body")
        characters = None if preview else page_characters(site_dir, headings_only=headings_only)
        slug = re.sub(r"[^a-z0-9]+", "-", family.lower()).strip("-") or "font"
        faces = {}
        for weight in WEB_WEIGHTS:
            face = font_face(family, weight)
            if face is None or face in faces.values():
                continue  # the family has no bold: the browser emboldens the regular face
            faces[weight] = face
            if characters is None:
                source = f"local({css_family(face.postscript_name)})"
            else:
                name = f"{slug}-{weight}.woff2"
                subset_woff2(face.file, face.index, characters, site_dir / ASSET_DIR / name)
                source = f"url({name}) format(\"woff2\")"
            rules.append(f"@font-face {{ font-family: {css_family(family)}; font-style: normal; "
                         f"font-weight: {weight}; font-display: swap; src: {source}; }}")
    target = site_dir / FONT_STYLESHEET
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("/* The report's typefaces (brand.fonts), subset to this edition's characters. */\n"
                      + "\n".join(rules) + "\n", "utf-8")


def check_brand(meta, report_file: Path, problems: Diagnostics) -> None:
    """Contrast of the text colours and the typefaces installed, located in data/report.yml (the
    data layer's check)."""
    raw = meta.get("brand")
    if not raw:
        return
    _check_fonts(raw, report_file, problems)
    brand = Brand.from_meta(meta)
    colours = {"primary": brand.primary, "accent": brand.accent, "white": WHITE}
    for foreground, background, use in TEXT_PAIRS:
        ratio = contrast_ratio(colours[foreground], colours[background])
        if ratio < AA_TEXT:
            key = foreground
            problems.error("brand.contrast", f"{key} colour {colours[key]} has a contrast of {ratio:.2f}:1 with white, "
                           f"used for {use}; "
                           f"WCAG AA needs {AA_TEXT}:1", file=str(report_file), line=raw.line_of(key) if key in raw else None,
                           hint=f"choose a darker {key} colour")


def check_brand_files(meta, report_file: Path, content_root: Path, problems: Diagnostics) -> None:
    """The brand's logo and cover image exist under content/ (a check of the report, not of its data:
    a data folder on its own, as in a spreadsheet round trip, has no content to look in)."""
    raw = meta.get("brand")
    if not raw:
        return
    for key, path in Brand.from_meta(meta).files(content_root).items():
        value = PurePosixPath(raw[key])
        if value.is_absolute() or ".." in value.parts or not path.is_file():
            problems.error("brand.missing-file", f"brand {key} '{raw[key]}' not found in {content_root}",
                           file=str(report_file), line=raw.line_of(key),
                           hint="a path under content/, such as images/logo.svg")


def _check_fonts(raw, report_file: Path, problems: Diagnostics) -> None:
    fonts = raw.get("fonts")
    if not fonts:
        return
    known = installed_families()
    if known is None:
        problems.error("brand.font", "fontconfig's fc-list was not found: the typefaces of brand.fonts cannot be "
                       "looked up", file=str(report_file), line=raw.line_of("fonts"),
                       hint="install Debian's fontconfig (scripts/debian-packages.txt)")
        return
    for role in FONT_ROLES:
        family = fonts.get(role)
        if not family or family in known:
            continue
        same = sorted(name for name in known if name.casefold() == family.casefold())
        close = difflib.get_close_matches(family, sorted(known), n=1, cutoff=0.85)  # a slip: 'Noto Sans CJK TX'
        install = ("install the family from a Debian package and add the package to scripts/debian-packages.txt "
                   "(for example fonts-noto-cjk for Noto Serif CJK TC); `fc-list : family` lists the families installed")
        hint = (f"fontconfig names it '{same[0]}'" if same else
                f"did you mean '{close[0]}'? Otherwise {install}" if close else install)
        problems.error("brand.font", f"brand {role} font '{family}' is not a family fontconfig knows",
                       file=str(report_file), line=fonts.line_of(role), hint=hint)
