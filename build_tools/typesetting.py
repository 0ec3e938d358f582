"""Chinese typesetting the CSS engines leave to the document: punctuation squeezing.

Two full-width punctuation marks side by side (``（「ESG」）``, ``。」``) leave a blank of a whole
em between them; professionally set Chinese closes it to half an em. Chromium does part of this
with ``text-spacing-trim``; WeasyPrint has no such property, and the Noto Sans CJK fonts shipped
with Debian (2.004) have ``halt`` (half-width forms) but not ``chws`` (contextual half-width),
so ``font-feature-settings: "chws"`` changes nothing. The marks to be set at half width are
therefore chosen here and wrapped in ``<span class="cjk-half">``, which the stylesheets set with
``font-feature-settings: "halt"``: the same result in the PDF and in every browser.
"""

from __future__ import annotations

import re

from markupsafe import Markup

from . import html

OPENING = "（「『《〈【〔［｛"
CLOSING = "）」』》〉】〕］｝"
CENTRED = "。，、：；！？"  # centred in the em box in Traditional Chinese fonts
_PUNCTUATION = set(OPENING + CLOSING + CENTRED)
HALF_CLASS = "cjk-half"
RUN_CLASS = "cjk-run"

_MARKUP = re.compile(r"(<!--.*?-->|<[^>]*>)", re.S)
_TAG_NAME = re.compile(r"<\s*(/?)\s*([a-zA-Z][\w:-]*)")
# Text not set as running text: drawings, code, and what is not displayed.
_SKIPPED = {"svg", "code", "pre", "script", "style", "textarea", "title", "kbd", "samp"}


def halved(text: str) -> set[int]:
    """Indices of the marks of ``text`` to set at half width.

    Of two adjacent marks, an opening bracket after another mark loses its leading blank
    (``（「`` -> 「); otherwise a closing bracket or centred mark loses its trailing blank
    (``」）`` -> 」, ``。」`` -> 。). Two centred marks, or an empty pair ``「」``, stay as they are.
    """
    result = set()
    for i in range(len(text) - 1):
        a, b = text[i], text[i + 1]
        if a not in _PUNCTUATION or b not in _PUNCTUATION:
            continue
        if b in OPENING:
            result.add(i + 1)
        elif a in CLOSING or (a in CENTRED and b in CLOSING):
            result.add(i)
    return result


def squeeze_punctuation(page_html: str) -> str:
    """The page with consecutive full-width punctuation marked for half-width setting."""
    parts = _MARKUP.split(page_html)
    skipped = 0
    for index, part in enumerate(parts):
        if index % 2:  # markup
            tag = _TAG_NAME.match(part)
            if tag and tag.group(2).lower() in _SKIPPED and not part.rstrip().endswith("/>"):
                skipped += -1 if tag.group(1) else 1
                skipped = max(skipped, 0)
            continue
        if skipped or not part:
            continue
        if halved(part):
            parts[index] = _RUN.sub(_mark_run, part)
    return "".join(parts)


# A run of two or more marks, with the character before a run that starts with a closing or
# centred mark and the one after a run that ends with an opening mark: kept on one line
# (white-space: nowrap), since WeasyPrint may break a line between two inline boxes where it
# would not break the plain text, and a line must not start with 」 or end with 「.
# (';' and '&' are never taken as that character: they end or start an entity such as &amp;.)
_RUN = re.compile(f"[^\\s;{re.escape(OPENING + CLOSING + CENTRED)}]?"
                  f"[{re.escape(OPENING + CLOSING + CENTRED)}]{{2,}}"
                  f"(?:(?<=[{re.escape(OPENING)}])[^\\s&{re.escape(OPENING + CLOSING + CENTRED)}])?")


def _mark_run(match: re.Match) -> str:
    text = match.group(0)
    marks = halved(text)
    if not marks:
        return text
    # The characters are the page's own text, already escaped: they pass as Markup.
    return html.render("punctuation-run.html", run_class=RUN_CLASS, half_class=HALF_CLASS,
                       characters=[(Markup(c), i in marks) for i, c in enumerate(text)])
