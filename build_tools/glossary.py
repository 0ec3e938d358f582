"""Terminology and punctuation of the Chinese edition, checked against a glossary.

The glossary is the toolchain's default for HKEX ESG reports (``glossary-hkex.yml``) merged with
the report's own ``translations/glossary.yml``. Findings are warnings located at file:line:col
with the suggestion, so ``check --strict`` fails on them:

- an avoided variant in the Chinese edition (Mainland register, a term HKEX words differently);
- half-width ``, ; : ( ) ! ?`` next to a Chinese character, straight quotes in Chinese text;
- a term pair used on one side of a page but not on the other (recall <-> 回收);
- the same punctuation problems in text that macros generate (captions, legends, labels).

Writers allow an occurrence in place with ``<!-- glossary: allow 信息 -->`` on its line (several
terms separated by spaces; ``allow ,`` for a punctuation mark). Text inside 《…》 keeps its
wording. The Markdown source is read with code, URLs, Jinja, HTML and attribute blocks masked,
columns kept, so every finding points at the character a writer sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from lxml import html as lxml_html

from .errors import Diagnostics, RenderError
from .project import Project

DEFAULT_GLOSSARY = Path(__file__).with_name("glossary-hkex.yml")
REPORT_GLOSSARY = Path("translations") / "glossary.yml"

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_FULLWIDTH_PUNCT = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
_CHINESE = re.compile(f"[{_HAN}{_FULLWIDTH_PUNCT}]")
_HALF_TO_FULL = {",": "，", ";": "；", ":": "：", "(": "（", ")": "）", "!": "！", "?": "？"}
_QUOTES = "\"'“”‘’"
_ALLOW = re.compile(r"<!--\s*glossary:\s*allow\s+(.*?)\s*-->")
_TITLE = re.compile(r"《[^》\n]*》")

# Spans of a Markdown source that are not prose. Each is blanked (newlines kept) so line and
# column numbers still match the file. A Markdown parser would give the text without positions
# inside inline content; blanking keeps the exact column of each character.
_NOT_PROSE = re.compile(
    r"\A---\n.*?\n---\n"                 # front matter
    r"|^(?:```|~~~).*?^(?:```|~~~)[^\n]*$"  # fenced code
    r"|<!--.*?-->"                       # comments (and allow markers)
    r"|\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}"  # Jinja
    r"|`[^`\n]*`"                        # inline code
    r"|\]\([^)\n]*\)"                    # link targets
    r"|\[\^[^\]\n]*\]:?"                  # footnote references and definitions
    r"|\{\s*[#.][^}\n]*\}|\{:[^}\n]*\}"  # attribute blocks { #id data-disclose=... }
    r"|<[A-Za-z/][^>\n]*>"               # HTML tags
    r"|\b(?:https?|ftp|mailto):[^\s)>\]」，。]+|\bwww\.[^\s)>\]」，。]+",  # URLs
    re.S | re.M)
# `!!! note "標題"`: the marker and the quotes are Markdown syntax, the title is prose.
_ADMONITION = re.compile(r'^([ \t]*(?:!!!|\?\?\?\+?)[ \t]+[\w-]+(?:[ \t]+[\w-]+)*(?:[ \t]*")?)([^"\n]*)("?[ \t]*)$', re.M)
_JINJA_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.S)
_CODE_OR_COMMENT = re.compile(r"<!--.*?-->|^(?:```|~~~).*?^(?:```|~~~)[^\n]*$|`[^`\n]*`", re.S | re.M)
_GENERATING_MACROS = ("kpi_table", "kpi_chart", "materiality_matrix", "group_title")


@dataclass
class Term:
    use: str
    avoid: list[str]
    not_in: list[str] = field(default_factory=list)
    source: str | None = None


@dataclass
class Pair:
    en: re.Pattern
    zh: str
    not_in: list[str] = field(default_factory=list)


@dataclass
class Glossary:
    terms: list[Term]
    pairs: list[Pair]
    allow: list[str]


def load_glossary(project: Project, problems: Diagnostics, source: str | None = None) -> Glossary:
    """The default glossary with the report's own added; a bad report glossary is a located error.

    A pair's term in the other edition is keyed by that edition's code (``source``, the report's
    source edition); without one, pairs are not read (there is no other page to compare).
    """
    glossary = Glossary([], [], [])
    for path in (DEFAULT_GLOSSARY, project.root / REPORT_GLOSSARY):
        if path.exists():
            _merge(glossary, path, problems, source)
    # A report that prefers a default's avoided variant (lists it under `use`) overrides the default.
    preferred = {t.use for t in glossary.terms}
    for term in glossary.terms:
        term.avoid = [v for v in term.avoid if v not in preferred]
    return glossary


def _merge(glossary: Glossary, path: Path, problems: Diagnostics, source: str | None) -> None:
    try:
        raw = yaml.safe_load(path.read_text("utf-8")) or {}
        if not isinstance(raw, dict):
            raise ValueError("the glossary is a mapping with terms:, pairs: and allow:")
        for entry in raw.get("terms") or []:
            avoid = entry["avoid"] if isinstance(entry["avoid"], list) else [entry["avoid"]]
            glossary.terms.append(Term(str(entry["use"]), [str(a) for a in avoid],
                                       [str(n) for n in entry.get("not_in") or []], entry.get("source")))
        for entry in raw.get("pairs") or [] if source else []:
            glossary.pairs.append(Pair(re.compile(str(entry[source]), re.I), str(entry["zh"]),
                                       [str(n) for n in entry.get("not_in") or []]))
        glossary.allow.extend(str(a) for a in raw.get("allow") or [])
    except (yaml.YAMLError, ValueError, KeyError, TypeError, AttributeError, re.error) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        problems.error("glossary.file", f"cannot read the glossary: {exc}", file=str(path),
                       line=line + 1 if line is not None else None,
                       hint="each term is {use: 僱傭, avoid: [用工]}; each pair is {en: recall, zh: 回收}")


def mask_markdown(text: str) -> str:
    """The source with everything that is not prose blanked, line and column positions kept."""
    text = _ADMONITION.sub(lambda m: " " * len(m.group(1)) + m.group(2) + " " * len(m.group(3)), text)
    return _NOT_PROSE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def _allowed_on(line: str) -> set[str]:
    allowed: set[str] = set()
    for match in _ALLOW.finditer(line):
        allowed.update(match.group(1).split())
    return allowed


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _spans(text: str, needle: str):
    start = text.find(needle)
    while start != -1:
        yield start, start + len(needle)
        start = text.find(needle, start + 1)


def _covered(line: str, start: int, end: int, containing: list[str]) -> bool:
    """Whether [start, end) lies inside one of the longer words that are fine (用工 in 使用工具)."""
    return any(s <= start and end <= e for word in containing for s, e in _spans(line, word))


@dataclass
class Finding:
    code: str
    message: str
    col: int
    hint: str


def term_findings(line: str, glossary: Glossary, allowed: set[str]) -> list[Finding]:
    """Avoided variants on one masked line (book titles and allowed phrases blanked)."""
    for title in _TITLE.finditer(line):
        line = _blank(line, title.start(), title.end())
    for phrase in glossary.allow:
        for s, e in list(_spans(line, phrase)):
            line = _blank(line, s, e)
    found = []
    for term in glossary.terms:
        for variant in term.avoid:
            if variant in allowed:
                continue
            for start, end in _spans(line, variant):
                if _covered(line, start, end, term.not_in):
                    continue
                source = f" ({term.source})" if term.source else ""
                found.append(Finding("glossary.term", f"'{variant}' is not the Hong Kong term: use {term.use}{source}",
                                     start + 1, f"write {term.use}, or keep this one with <!-- glossary: allow {variant} -->"))
    return found


def punctuation_findings(line: str, allowed: set[str]) -> list[Finding]:
    """Half-width punctuation and straight or curly quotes next to Chinese characters."""
    found = []
    for index, char in enumerate(line):
        if char in allowed or (char not in _HALF_TO_FULL and char not in _QUOTES):
            continue
        if not _next_to_chinese(line, index):
            continue
        if char in _HALF_TO_FULL:
            found.append(Finding("glossary.punctuation", f"half-width '{char}' in Chinese text: use '{_HALF_TO_FULL[char]}'",
                                 index + 1, f"write '{_HALF_TO_FULL[char]}' instead, or keep it with <!-- glossary: allow {char} -->"))
        else:
            found.append(Finding("glossary.quotes", f"quotation mark {char} in Chinese text: use 「」 (『』 inside 「」)",
                                 index + 1, f"write 「…」, or keep it with <!-- glossary: allow {char} -->"))
    return found


def _next_to_chinese(line: str, index: int) -> bool:
    # Markdown emphasis marks and one space may sit between the mark and the Chinese text.
    for step in (-1, 1):
        j = index + step
        spaces = 0
        while 0 <= j < len(line) and (line[j] in "*_" or (line[j] == " " and spaces == 0)):
            spaces += line[j] == " "
            j += step
        if 0 <= j < len(line) and _CHINESE.match(line[j]):
            return True
    return False


def check_chinese_page(path: Path, glossary: Glossary, problems: Diagnostics) -> None:
    """Terms and punctuation in one Chinese Markdown source."""
    text = path.read_text("utf-8")
    raw_lines = text.splitlines()
    for number, line in enumerate(mask_markdown(text).splitlines(), start=1):
        allowed = _allowed_on(raw_lines[number - 1])
        for finding in term_findings(line, glossary, allowed) + punctuation_findings(line, allowed):
            problems.warning(finding.code, finding.message, file=str(path), line=number, col=finding.col,
                             hint=finding.hint)


def _first_use(masked: str, find) -> tuple[int, int] | None:
    for number, line in enumerate(masked.splitlines(), start=1):
        col = find(line)
        if col is not None:
            return number, col + 1
    return None


def check_pairs(en_path: Path, zh_path: Path, glossary: Glossary, problems: Diagnostics) -> None:
    """A pair's English term on a page without its Chinese term on the same page, or the reverse."""
    en_text, zh_text = en_path.read_text("utf-8"), zh_path.read_text("utf-8")
    en_masked, zh_masked = mask_markdown(en_text), mask_markdown(zh_text)
    en_allowed = {a for line in en_text.splitlines() for a in _allowed_on(line)}
    zh_allowed = {a for line in zh_text.splitlines() for a in _allowed_on(line)}

    for pair in glossary.pairs:
        def find_zh(line, pair=pair):
            for start, end in _spans(line, pair.zh):
                if not _covered(line, start, end, pair.not_in):
                    return start
            return None

        def find_en(line, pair=pair):
            match = pair.en.search(line)
            return match.start() if match else None

        en_at, zh_at = _first_use(en_masked, find_en), _first_use(zh_masked, find_zh)
        if en_at and not zh_at and pair.zh not in zh_allowed:
            term = pair.en.search(en_masked.splitlines()[en_at[0] - 1]).group(0)
            problems.warning("glossary.pair", f"'{term}' is used on this page but {zh_path.name} in the Chinese "
                             f"edition never says {pair.zh}", file=str(en_path), line=en_at[0], col=en_at[1],
                             hint=f"translate it as {pair.zh} (glossary pair), or mark the Chinese page with "
                                  f"<!-- glossary: allow {pair.zh} -->")
        elif zh_at and not en_at and pair.zh not in zh_allowed and pair.zh not in en_allowed:
            problems.warning("glossary.pair", f"{pair.zh} is used on this page but {en_path.name} in the English "
                             f"edition never says '{pair.en.pattern}'", file=str(zh_path), line=zh_at[0], col=zh_at[1],
                             hint=f"check the term against the English, or keep it with <!-- glossary: allow {pair.zh} -->")


def check_generated_text(path: Path, renderer, glossary: Glossary, problems: Diagnostics) -> None:
    """Terms and punctuation in what the macros of one Chinese page write (captions, legends, names).

    Each ``{{ … }}`` is rendered on its own and its text (and aria-label) checked; a finding is
    located at the macro call, since that is where a writer can see it come from. A call that
    needs the page around it (inside a ``{% for %}``) is checked in the whole page's output.
    """
    text = path.read_text("utf-8")
    not_rendered = [m.span() for m in _CODE_OR_COMMENT.finditer(text)]
    in_context: tuple[int, int] | None = None
    seen: set[str] = set()  # one finding per text, even where a page renders it twice
    covered: set[str] = set()  # texts checked at their own call, with that line's allowances
    for match in _JINJA_EXPRESSION.finditer(text):
        if not match.group(0).strip("{} ").startswith(_GENERATING_MACROS):
            continue  # kpi() and change() write figures and catalog words, checked with the catalogs
        if any(s <= match.start() < e for s, e in not_rendered):
            continue
        where = _line_col(text, match.start())
        try:
            output = renderer.render(match.group(0), path)
        except RenderError:
            in_context = in_context or where
            continue
        pieces = generated_strings(output)
        covered.update(pieces)
        _report_generated(pieces, path, where, glossary, problems, seen)
    if in_context:
        try:
            page = lxml_html.fragment_fromstring(renderer.render(text, path), create_parent="div")
        except (RenderError, ValueError):
            return  # the build reports the page's own error
        blocks = page.xpath('//figure | //*[contains(concat(" ", @class, " "), " kpi-table-wrap ")]')
        pieces = [s for block in blocks for s in generated_strings(lxml_html.tostring(block, encoding="unicode"))
                  if s not in covered]
        _report_generated(pieces, path, in_context, glossary, problems, seen)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _report_generated(pieces: list[str], path: Path, where: tuple[int, int], glossary: Glossary,
                      problems: Diagnostics, seen: set[str]) -> None:
    # A marker on the macro call's line allows what the call generates (text a writer cannot edit).
    allowed = _allowed_on(path.read_text("utf-8").splitlines()[where[0] - 1])
    for piece in pieces:
        for finding in term_findings(piece, glossary, allowed) + punctuation_findings(piece, allowed):
            key = f"{finding.message}{piece}"
            if key in seen:
                continue
            seen.add(key)
            problems.warning(finding.code, f"{finding.message} in the text this macro generates: “{piece.strip()[:60]}”",
                             file=str(path), line=where[0], col=where[1],
                             hint="the text comes from data/ (names), translations/*.po (UI strings) or the "
                                  "toolchain; correct it there")


def generated_strings(output: str) -> list[str]:
    """The visible text nodes and accessible labels of a macro's HTML output."""
    root = lxml_html.fragment_fromstring(output, create_parent="div") if output.strip() else None
    if root is None:
        return []
    strings = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.get("aria-label"):
            strings.append(element.get("aria-label"))
        if element.text and element.text.strip():
            strings.append(element.text)
        if element.tail and element.tail.strip():
            strings.append(element.tail)
    return strings


def check_glossary(project: Project, data, problems: Diagnostics, chinese: str, english: str) -> None:
    """Every check of this module over the report's Chinese edition (``english``: the source edition)."""
    glossary = load_glossary(project, problems, english if english != chinese else None)
    zh_dir = project.content_dir(chinese)
    if not zh_dir.is_dir():
        return
    renderer = _renderer(project, data, chinese)
    en_dir = project.content_dir(english) if english in data.meta["editions"] else None
    for zh_path in sorted(zh_dir.rglob("*.md")):
        check_chinese_page(zh_path, glossary, problems)
        if renderer is not None:
            check_generated_text(zh_path, renderer, glossary, problems)
        en_path = en_dir / zh_path.relative_to(zh_dir) if en_dir else None
        if en_path is not None and en_path.exists():
            check_pairs(en_path, zh_path, glossary, problems)


def _renderer(project: Project, data, edition_code: str):
    from .formatting import Formatter
    from .i18n import get_edition, load_translations
    from .macros import ChapterRenderer

    try:
        edition = get_edition(edition_code)
        translations = load_translations(project.translation_dirs, edition)
        formatter = Formatter(edition_code, data.meta["report"]["money"][edition_code], units=data.units,
                              translations=translations)
        return ChapterRenderer(data, edition_code, formatter)
    except (KeyError, ValueError):
        return None  # the edition build reports what is missing
