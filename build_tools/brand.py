"""The company's look: ``brand:`` in data/report.yml (logo, primary and accent colours, cover image).

The colours reach the site's theme (CSS variables set by templates/theme/main.html from the
values the engine adapter passes), the PDF cover and chapter headings (templates/print/), and
the chart palette (charts.py). Colours that text is set in are checked for WCAG AA contrast
(4.5:1) when the data is loaded, with the line of data/report.yml.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import Diagnostics

#: The toolchain's own colours (those of templates/*.css before a report sets its own).
DEFAULT_PRIMARY = "#0f4c5c"
DEFAULT_ACCENT = "#a0430a"
WHITE = "#ffffff"
AA_TEXT = 4.5  # WCAG 2.x success criterion 1.4.3, normal-size text
#: Chart series after the brand's two colours.
CHART_COLOURS = ["#5a9bb5", "#7a5195", "#9cc7d6"]
ASSET_DIR = "_brand"

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

    @classmethod
    def from_meta(cls, meta: dict) -> "Brand":
        raw = meta.get("brand") or {}
        return cls(str(raw.get("primary", DEFAULT_PRIMARY)).lower(), str(raw.get("accent", DEFAULT_ACCENT)).lower(),
                   raw.get("logo"), raw.get("cover_image"))

    @property
    def palette(self) -> list[str]:
        return [self.primary, self.accent, *CHART_COLOURS]

    def theme_values(self) -> dict:
        """The CSS custom properties of the site and the print (names without the leading '--')."""
        return {"report-primary": self.primary, "report-primary-light": _mix(self.primary, WHITE, 0.25),
                "report-primary-dark": _mix(self.primary, "#000000", 0.3), "report-accent": self.accent,
                "report-primary-tint": _mix(self.primary, WHITE, 0.88)}

    def files(self, content_root: Path) -> dict[str, Path]:
        """The brand's files: 'logo' and 'cover_image' -> the file under content/."""
        return {key: content_root / PurePosixPath(value) for key, value in
                (("logo", self.logo), ("cover_image", self.cover_image)) if value}

    def published_name(self, key: str) -> str:
        return f"{ASSET_DIR}/{key}{PurePosixPath(getattr(self, key)).suffix.lower()}"

    def write_assets(self, content_root: Path, site_dir: Path) -> None:
        for key, source in self.files(content_root).items():
            if not source.is_file():
                continue  # reported by check_brand_files; the build is not published
            target = Path(site_dir) / self.published_name(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def check_brand(meta, report_file: Path, problems: Diagnostics) -> None:
    """Contrast of the text colours, located in data/report.yml (the data layer's check)."""
    raw = meta.get("brand")
    if not raw:
        return
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
