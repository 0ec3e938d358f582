"""Figures: images and SVG diagrams with a caption, a number and cross-references.

``{{ figure("images/governance.svg", alt="...", caption="...", id="governance", number=True) }}``
in a chapter; ``{{ figure_ref("governance") }}`` elsewhere; ``{{ list_of_figures() }}`` where
the report wants the list.

Where the file is: a path is looked up first in the edition's own folder
(``content/<edition>/images/x.png``: a certificate in Chinese, a diagram with text), then in the
report's shared ``content/`` folder (``content/images/x.png``), so one file serves both editions
unless an edition provides its own.

Numbers and references are resolved after every page is rendered (``resolve``), in the order of
the navigation: MkDocs renders pages in file order, and a reference may point to a later page.
Until then the fragments carry placeholders (``data-figure-label``, ``data-figure-ref``,
``data-list-of-figures``) that ``resolve`` replaces.

On the web a raster image is served as WebP in two or three widths with the original format as
fallback (``<picture>``, ``srcset``), generated with Pillow when the site is written
(``write_assets``); the print keeps the ``src``, a copy of the original file at its full size, so
the PDF embeds each image once at its resolution.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from markupsafe import Markup

from . import html
from .errors import Diagnostic, Diagnostics

#: The folder (under an edition's site root) that holds the images figures publish.
ASSET_DIR = "_figures"
#: Widths (px) of the web copies of a raster image; none wider than the original is made.
WEB_WIDTHS = (480, 960, 1600)
#: Printed width of each size option: A4 less the margins of templates/print/print.css (18 mm each side).
PRINT_WIDTH_MM = {"text": 174.0, "half": 87.0, "full": 210.0}
#: The browser's idea of the displayed width, for ``sizes`` (Material's content column is about 45rem).
WEB_SIZES = {"text": "(min-width: 60em) 45rem, 100vw", "half": "(min-width: 60em) 22rem, 50vw",
             "full": "(min-width: 60em) 45rem, 100vw"}
MIN_PRINT_PPI = 200
RASTER_FORMATS = {"PNG": "png", "JPEG": "jpg"}  # resized for the web; other formats are served as they are
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"}
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")

_LABEL = re.compile(r'<span class="figure-label" data-figure-label="([^"]*)"></span>')
_REF = re.compile(r'<a class="figure-ref" data-figure-ref="([^"]*)" href="[^"]*"></a>')
_LIST = '<div class="list-of-figures" data-list-of-figures="1"></div>'


class FigureError(Exception):
    """A mistake in a figure() call; the chapter renderer locates it (file and line)."""

    code = "figure"

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


@dataclass
class ImageFile:
    source: Path
    digest: str
    width: int
    height: int
    kind: str  # 'svg', or Pillow's format name ('PNG', 'JPEG', 'GIF', 'WEBP')

    @property
    def svg(self) -> bool:
        return self.kind == "svg"

    @property
    def suffix(self) -> str:
        return self.source.suffix.lower()

    def name(self, width: int | None = None, suffix: str | None = None) -> str:
        stem = f"{self.source.stem}-{self.digest}"
        return f"{stem}-{width}{suffix}" if width else f"{stem}{suffix or self.suffix}"

    @property
    def web_widths(self) -> list[int]:
        if self.kind not in RASTER_FORMATS:
            return []
        # The original's own width too when it is no wider than the largest web copy; a larger
        # original (a 4000 px photo, 8 MB) is for the print only.
        smaller = [w for w in WEB_WIDTHS if w < self.width]
        return smaller + ([self.width] if self.width <= WEB_WIDTHS[-1] or not smaller else [])


@dataclass
class FigureRecord:
    id: str
    caption: str
    numbered: bool
    number: int | None = None
    page_src: str = ""
    page_url: str = ""


@dataclass
class FigureCatalog:
    """The figures of one edition: the macros, the files to publish, the numbers."""

    gettext: callable
    content_dir: Path | None = None  # content/<edition>/
    problems: Diagnostics | None = None
    images: dict[Path, ImageFile] = field(default_factory=dict)
    by_page: dict[str, list[FigureRecord]] = field(default_factory=dict)  # chapter file -> its figures
    _page: str | None = None
    _page_url: str = ""

    def attach(self, content_dir: Path, problems: Diagnostics) -> None:
        self.content_dir, self.problems = content_dir, problems

    # --- rendering a page -----------------------------------------------------------
    def begin_page(self, file: Path | str) -> None:
        self._page = str(Path(file).resolve())
        self.by_page[self._page] = []
        self._page_url = ""
        if self.content_dir is not None:
            try:
                relative = PurePosixPath(Path(file).resolve().relative_to(self.content_dir.resolve()).as_posix())
                self._page_url = page_url(relative)
            except ValueError:
                pass

    def figure(self, path=None, alt=None, caption=None, size="text", id=None, number=False, decorative=False) -> Markup:
        if self.content_dir is None or self._page is None:
            raise FigureError("figure() needs a report folder", "figures are rendered by esg-report build or check")
        if size not in PRINT_WIDTH_MM:
            raise FigureError(f"unknown figure size {size!r}", f"sizes: {', '.join(PRINT_WIDTH_MM)}")
        for name, value in (("alt", alt), ("caption", caption)):
            if value is not None and not isinstance(value, str):
                raise FigureError(f"figure {name} must be text, not {value!r}", f'write {name}="..." in quotes')
        if not decorative and not (alt or "").strip():
            raise FigureError(f"figure '{path}' has no alt text",
                              'describe what it shows in this edition\'s language: alt="...", '
                              "or mark an image that carries no information decorative=True")
        if id is not None and (not isinstance(id, str) or not _ID.match(id)):
            raise FigureError(f"figure id {id!r} is not a valid id", "letters, digits, '-' and '_', starting with a letter")
        records = self.by_page[self._page]
        if id is not None and any(r.id == id for r in records):
            raise FigureError(f"figure id '{id}' is used twice on this page", "give each figure its own id")
        if number and not caption:
            raise FigureError("a numbered figure needs a caption", 'add caption="..."')
        image = self._image(path)
        key = id or f"figure-{len(records) + 1}"
        records.append(FigureRecord(key, caption or "", bool(number)))
        if not image.svg:
            self._check_resolution(image, size)
        up = "../" * self._page_url.count("/")
        src = f"{up}{ASSET_DIR}/{image.name()}"
        sources = []
        if image.web_widths:
            sources = [{"type": "image/webp", "srcset": ", ".join(
                f"{up}{ASSET_DIR}/{image.name(w, '.webp')} {w}w" for w in image.web_widths)}]
        srcset = ", ".join(f"{src if w == image.width else up + ASSET_DIR + '/' + image.name(w, '.' + RASTER_FORMATS[image.kind])} {w}w"
                           for w in image.web_widths)
        return html.render("figure.html", id=key, size=size, src=src, sources=sources, srcset=srcset,
                           sizes=WEB_SIZES[size], width=image.width, height=image.height,
                           alt="" if decorative else alt, decorative=decorative,
                           lazy=len(records) > 1, numbered=bool(number), caption=caption)

    def figure_ref(self, id=None) -> Markup:
        if not isinstance(id, str) or not _ID.match(id):
            raise FigureError(f"figure_ref() needs the id of a figure, not {id!r}", 'for example figure_ref("governance-structure")')
        return html.render("figure-ref.html", id=id)

    def list_of_figures(self) -> Markup:
        return Markup(_LIST)

    def _image(self, path) -> ImageFile:
        if not isinstance(path, str) or not path.strip():
            raise FigureError("figure() needs the image's path first", 'for example figure("images/site.png", alt="...")')
        relative = PurePosixPath(path)
        if relative.is_absolute() or ".." in relative.parts or relative.suffix.lower() not in IMAGE_SUFFIXES:
            raise FigureError(f"figure path '{path}' must be an image inside the report's content folder",
                              f"a relative path such as images/site.png; formats: {', '.join(sorted(IMAGE_SUFFIXES))}")
        candidates = [self.content_dir / relative, self.content_dir.parent / relative]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise FigureError(f"image file '{path}' not found",
                              f"looked in {candidates[0].parent} (this edition) and {candidates[1].parent} (both editions)")
        found = found.resolve()
        if not found.is_relative_to(self.content_dir.parent.resolve()):  # a link out of the report
            raise FigureError(f"image file '{path}' lies outside the report's content folder",
                              "copy the file into content/images/")
        if found not in self.images:
            self.images[found] = inspect_image(found, path)
        return self.images[found]

    def _check_resolution(self, image: ImageFile, size: str) -> None:
        inches = PRINT_WIDTH_MM[size] / 25.4
        ppi = image.width / inches
        if ppi < MIN_PRINT_PPI and self.problems is not None:
            self.problems.add(Diagnostic(
                "warning", "figure.resolution",
                f"image '{image.source.name}' would print at {ppi:.0f} ppi ({image.width} px across "
                f"{PRINT_WIDTH_MM[size]:.0f} mm, size '{size}'); print needs {MIN_PRINT_PPI} ppi",
                file=self._page, line=_template_line_now(),
                hint=f"use a file at least {round(inches * MIN_PRINT_PPI)} px wide"
                + ("" if size == "half" else ', or print it smaller (size="half")')))

    # --- after every page is rendered --------------------------------------------------
    def number(self, pages) -> None:
        """Numbers for the numbered figures, in the order of ``pages`` (RenderedPage, nav order)."""
        counter = 0
        self.numbered: dict[str, FigureRecord] = {}
        self.order: list[FigureRecord] = []
        for page in pages:
            records = {r.id: r for r in self.by_page.get(str(Path(page.source).resolve()), [])}
            for key in _LABEL.findall(page.html):
                record = records.get(key)
                if record is None or not record.numbered:
                    continue
                counter += 1
                record.number, record.page_src, record.page_url = counter, page.src, page.url
                self.order.append(record)
            for record in records.values():
                record.page_src, record.page_url = page.src, page.url
                if not record.numbered:
                    continue
                if record.id in self.numbered:
                    self.problems.error("figure.duplicate-id",
                                        f"figure id '{record.id}' is also used on {self.numbered[record.id].page_src}",
                                        file=str(page.source), line=_find_line(page.source, record.id),
                                        hint="cross-references need one figure per id")
                else:
                    self.numbered[record.id] = record

    def resolve(self, page, text: str) -> str:
        """A page's HTML (web or print copy) with figure numbers, references and the list filled in."""
        _ = self.gettext

        def label(match) -> str:
            record = self.numbered.get(match.group(1))
            if record is None or record.page_src != page.src:
                return ""
            return str(html.render("figure-label.html", id=record.id, text=_("Figure {number}").format(number=record.number)))

        def reference(match) -> str:
            key = match.group(1)
            record = self.numbered.get(key)
            if record is None:
                known = [r.id for records in self.by_page.values() for r in records]
                hint = "figures with an id that are unnumbered need number=True" if key in known else \
                    f"the numbered figures' ids: {', '.join(sorted(self.numbered)) or 'none'}"
                self.problems.error("figure.unknown-ref", f"figure_ref('{key}'): no numbered figure has this id",
                                    file=str(page.source), line=_find_line(page.source, key), hint=hint)
                return ""
            before, _sep, after = _(", page {page}").partition("{page}")
            return str(html.render("figure-ref.html", id=key, href=link(page.url, record.page_url, record.id),
                                   text=_("Figure {number}").format(number=record.number),
                                   page_before=before, page_after=after))

        text = _LABEL.sub(label, text)
        text = _REF.sub(reference, text)
        if _LIST in text:
            entries = [{"label": _("Figure {number}").format(number=r.number), "caption": r.caption,
                        "href": link(page.url, r.page_url, r.id)} for r in self.order]
            text = text.replace(_LIST, str(html.render("figure-list.html", entries=entries)))
        return text

    # --- publishing ------------------------------------------------------------------
    def source_of(self, published: str) -> Path | None:
        """The original of ``_figures/<name>`` (what ``write_assets`` copies there)."""
        folder, _, name = published.partition("/")
        if folder != ASSET_DIR:
            return None
        return next((image.source for image in self.images.values() if image.name() == name), None)

    def write_assets(self, site_dir: Path) -> None:
        """The figures' files in ``site_dir/_figures/``: the original, and the web copies of rasters."""
        target = Path(site_dir) / ASSET_DIR
        for image in self.images.values():
            target.mkdir(parents=True, exist_ok=True)
            original = target / image.name()
            if not original.exists():
                shutil.copyfile(image.source, original)
            if image.web_widths:
                _write_web_copies(image, target)


def inspect_image(path: Path, written: str) -> ImageFile:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:10]
    if path.suffix.lower() == ".svg":
        width, height = _svg_size(data, written)
        return ImageFile(path, digest, width, height, "svg")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            if image.getexif().get(0x0112) in (5, 6, 7, 8):  # EXIF orientation: shown turned by 90°
                width, height = height, width
            return ImageFile(path, digest, width, height, image.format or "")
    except (UnidentifiedImageError, OSError) as exc:
        raise FigureError(f"image file '{written}' cannot be read: {exc}", "save it again as PNG or JPEG") from None


def _svg_size(data: bytes, written: str) -> tuple[int, int]:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise FigureError(f"SVG file '{written}' is not well-formed: {exc}", "open it in an SVG editor and save it again") from None

    def length(value):
        match = re.fullmatch(r"\s*([0-9.]+)\s*(px)?\s*", value or "")
        return float(match.group(1)) if match else None

    width, height = length(root.get("width")), length(root.get("height"))
    box = (root.get("viewBox") or "").replace(",", " ").split()
    if (width is None or height is None) and len(box) == 4:
        width, height = float(box[2]), float(box[3])
    if not width or not height:
        raise FigureError(f"SVG file '{written}' has no size", 'give its <svg> a viewBox="0 0 WIDTH HEIGHT"')
    return round(width), round(height)


def _write_web_copies(image: ImageFile, target: Path) -> None:
    from PIL import Image, ImageOps

    wanted = [(w, s) for w in image.web_widths for s in (".webp", "." + RASTER_FORMATS[image.kind])
              if not (w == image.width and s != ".webp")]
    missing = [(w, s) for w, s in wanted if not (target / image.name(w, s)).exists()]
    if not missing:
        return
    with Image.open(image.source) as opened:
        full = ImageOps.exif_transpose(opened)
        full.load()
    for width, suffix in missing:
        height = max(1, round(image.height * width / image.width))
        copy = full if width == image.width else full.resize((width, height), Image.Resampling.LANCZOS)
        if suffix == ".jpg" and copy.mode not in ("RGB", "L"):
            copy = copy.convert("RGB")
        options = {"quality": 82} if suffix in (".webp", ".jpg") else {"optimize": True}
        copy.save(target / image.name(width, suffix), **options)


def page_url(relative: PurePosixPath) -> str:
    """The URL of a chapter relative to its edition's root, as MkDocs makes it (use_directory_urls)."""
    parts = list(relative.with_suffix("").parts)
    if parts and parts[-1] in ("index", "README"):
        parts.pop()
    return "".join(f"{p}/" for p in parts)


def link(from_url: str, to_url: str, anchor: str) -> str:
    target = posixpath.relpath(to_url or ".", from_url or ".")
    target = "" if target == "." else target.rstrip("/") + "/"
    return f"{target}#{anchor}"


def _find_line(source, text: str) -> int | None:
    from .disclosures import find_source_line

    return find_source_line(source, text) if source else None


def _template_line_now() -> int | None:
    """The chapter line of the macro call being run (Jinja maps its generated code's lines back)."""
    frame = sys._getframe(1)
    while frame is not None:
        template = frame.f_globals.get("__jinja_template__")
        if template is not None:
            return template.get_corresponding_lineno(frame.f_lineno)
        frame = frame.f_back
    return None
