"""Translation catalogs of the UI strings (templates, table headers, change wording).

Extraction and update use Babel's own machinery (``extract_from_dir``, ``Catalog.update``);
``.mo`` files are never committed: the build compiles catalogs in memory (``i18n``), and
``compile`` exists for tools that want files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po

from .fileio import write_atomically
from .i18n import DOMAIN, EDITIONS, read_catalog
from .project import TOOLCHAIN_ROOT

METHOD_MAP = [("build_tools/**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def extract(root: Path = TOOLCHAIN_ROOT) -> Catalog:
    catalog = Catalog(project="esg-report-toolchain", domain=DOMAIN, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(root), METHOD_MAP, OPTIONS, KEYWORDS, strip_comment_tags=True):
        if root.joinpath(filename).parts and "tests" in Path(filename).parts:
            continue
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _write(catalog: Catalog, path: Path) -> bool:
    """Write a catalog; return True if its content changed (timestamps ignored)."""
    import io

    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, sort_output=True, include_lineno=False)
    new = _strip_dates(buffer.getvalue())
    old = _strip_dates(path.read_bytes()) if path.exists() else None
    if new != old:
        write_atomically(path, buffer.getvalue())
        return True
    return False


def _strip_dates(data: bytes) -> bytes:
    return b"\n".join(line for line in data.splitlines() if not line.startswith((b'"POT-Creation-Date', b'"PO-Revision-Date')))


def po_path(translations: Path, locale: str) -> Path:
    return translations / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def update(translations: Path, root: Path = TOOLCHAIN_ROOT) -> list[Path]:
    """Extract into messages.pot and merge it into every edition's catalog; return changed files."""
    template = extract(root)
    changed = []
    if _write(template, translations / f"{DOMAIN}.pot"):
        changed.append(translations / f"{DOMAIN}.pot")
    for edition in EDITIONS.values():
        if not edition.catalog_locale:
            continue
        path = po_path(translations, edition.catalog_locale)
        if path.exists():
            catalog = read_catalog(path, edition.catalog_locale)
        else:
            catalog = Catalog(locale=edition.catalog_locale, domain=DOMAIN, charset="utf-8")
        catalog.update(template, no_fuzzy_matching=False)
        catalog.obsolete.clear()
        if _write(catalog, path):
            changed.append(path)
    return changed


def compile_catalogs(translations: Path) -> list[Path]:
    written = []
    for path in sorted(translations.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        catalog = read_catalog(path)
        target = path.with_suffix(".mo")
        with target.open("wb") as handle:
            write_mo(handle, catalog)
        written.append(target)
    return written


@dataclass
class CatalogStatus:
    locale: str
    total: int
    translated: int
    fuzzy: int
    missing: list[str]
    stale: list[str]  # in the catalog but no longer in the sources


def status(translations: Path, root: Path = TOOLCHAIN_ROOT) -> list[CatalogStatus]:
    template = extract(root)
    result = []
    for edition in EDITIONS.values():
        if not edition.catalog_locale:
            continue
        path = po_path(translations, edition.catalog_locale)
        catalog = Catalog(locale=edition.catalog_locale)
        if path.exists():
            catalog = read_catalog(path, edition.catalog_locale)
        ids = [m.id for m in template if m.id]
        fuzzy = [i for i in ids if catalog.get(i) is not None and catalog.get(i).fuzzy]
        missing = [i for i in ids if catalog.get(i) is None or not catalog.get(i).string or catalog.get(i).fuzzy]
        stale = [m.id for m in catalog if m.id and template.get(m.id) is None]
        result.append(CatalogStatus(edition.catalog_locale, len(ids), len(ids) - len(missing), len(fuzzy),
                                    [m for m in missing if m not in fuzzy], stale))
    return result
