"""Editions and their translation catalogs.

An edition is one language of the report: its content directory, Babel locale,
HTML language, theme language and gettext catalog. UI strings (template labels,
table headers, change wording) live in Babel gettext catalogs under ``translations/``;
``.mo`` files are compiled in memory at build time, never committed.
"""

from __future__ import annotations

import gettext
import io
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from .errors import Diagnostic, ReportError

DOMAIN = "messages"


@dataclass(frozen=True)
class Edition:
    code: str  # content/<code>/, site/<code>/, key of bilingual texts in data/
    locale: str  # Babel locale (``Locale.parse('zh-Hant')`` raises; ``zh_Hant_HK`` is Hong Kong usage)
    html_lang: str
    theme_language: str  # Material for MkDocs language code
    catalog_locale: str | None  # translations/<catalog_locale>/LC_MESSAGES/messages.po; None = source language
    label: str  # shown in the language switcher, in its own language
    unit_space: bool = True  # "1,075 suppliers" vs "1,075家"
    search_dictionary: str | None = None  # a word list for the site search's segmenter ("zh-hk": jieba in HK characters)
    traditional: bool = False  # Simplified-only characters are errors in this edition's text
    squeeze_punctuation: bool = False  # consecutive full-width marks set at half width (typesetting.py)
    language: str = ""  # the language's name in English, for command-line help and questions ("Chinese")
    flag: str = ""  # suffix of `new`'s per-edition flags (--company-zh, --money-zh)


#: Every edition the toolchain knows; a report picks its editions (and their order) in data/report.yml.
#: A new language is one line here plus its catalog in translations/.
EDITIONS: dict[str, Edition] = {
    "en": Edition("en", "en", "en", "en", None, "English", language="English", flag="en"),
    "zh-Hant": Edition("zh-Hant", "zh_Hant_HK", "zh-Hant", "zh-Hant", "zh_Hant", "繁體中文", unit_space=False,
                       search_dictionary="zh-hk", traditional=True, squeeze_punctuation=True,
                       language="Chinese", flag="zh"),
}


def get_edition(code: str) -> Edition:
    try:
        return EDITIONS[code]
    except KeyError:  # a user's mistake (a report's `editions:`), reported with the choices
        raise ReportError(Diagnostic("error", "config.edition", f"unknown edition '{code}'",
                                     hint=f"the toolchain knows the editions {', '.join(EDITIONS)}")) from None


def source_edition(editions: list[str]) -> str:
    """The edition the others are translated from: the report's first."""
    return editions[0]


def catalog_path(translations_dir: Path, edition: Edition) -> Path | None:
    if edition.catalog_locale is None:
        return None
    return translations_dir / edition.catalog_locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(path: Path, locale: str | None = None):
    """A ``.po`` file as a Babel catalog; a broken one is a located error. Without
    ``abort_invalid`` Babel prints its warnings to stdout (into ``check --format json``) and
    goes on, and a byte that is not UTF-8 ends in a traceback."""
    from babel.messages.pofile import PoFileError

    hint = 'each entry is a msgid "..." line, then a msgstr "..." line; fix that line'
    try:
        with path.open("rb") as handle:
            return read_po(handle, locale=locale, abort_invalid=True)
    except PoFileError as exc:
        raise ReportError(Diagnostic("error", "catalog.syntax", f"not a valid gettext catalog: {exc.args[0].rsplit(' on ', 1)[0]}",
                                     file=str(path), line=exc.lineno + 1, hint=hint)) from None
    except UnicodeDecodeError as exc:
        data = path.read_bytes()
        at = data.find(exc.object) if isinstance(exc.object, bytes) else -1
        line = data.count(b"\n", 0, at + exc.start) + 1 if at >= 0 else None
        raise ReportError(Diagnostic("error", "catalog.encoding", f"the catalog is not {exc.encoding}: {exc.reason}",
                                     file=str(path), line=line, hint="save it as UTF-8")) from None


@lru_cache(maxsize=None)
def _compiled(po_path: Path, mtime: float) -> gettext.GNUTranslations:
    catalog = read_catalog(po_path)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def load_translations(translations_dirs: list[Path], edition: Edition) -> gettext.NullTranslations:
    """The edition's catalog, compiled in memory; the first directory that has one wins."""
    for directory in translations_dirs:
        path = catalog_path(directory, edition)
        if path is not None and path.exists():
            return _compiled(path, path.stat().st_mtime)
    return gettext.NullTranslations()


def display_width(text: str) -> int:
    """Columns ``text`` takes when set: East Asian wide and fullwidth characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
