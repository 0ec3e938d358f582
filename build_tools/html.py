"""The HTML output boundary: every piece of HTML the toolchain generates is made here.

Generators (KPI values, tables, charts, the materiality matrix, the root page) pass plain
values to templates in ``build_tools/fragments/`` rendered by one autoescaped Jinja
environment and get ``Markup`` back. Text is escaped exactly once, where it enters HTML:
``escape_text`` is the environment's finalizer, so a value is escaped when a template prints
it and a ``Markup`` (an already-built fragment) is never escaped again.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

#: The class of elements that exist on the web only (permalinks, download links): the print
#: edition and the disclosure scan leave them out. The engine adapter gives it to its permalinks.
WEB_ONLY = "web-only"


def page_slug(url: str) -> str:
    """The id of a page in the print document (and the prefix of its sections' ids)."""
    slug = url.strip("/").replace("/", "-")
    return slug or "home"


# Fragments end up inside Markdown (a chapter's `{{ kpi(...) }}` is in a paragraph), and
# Python-Markdown still interprets '*', '_', '|', '[' ... inside inline HTML. So text is
# escaped for HTML and for Markdown in the same single pass: two passes would escape the
# first pass's '&' and '#'.
_ESCAPES = str.maketrans({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
    "*": "&#42;", "_": "&#95;", "`": "&#96;", "|": "&#124;", "[": "&#91;", "]": "&#93;",
    "{": "&#123;", "}": "&#125;", "\\": "&#92;", "#": "&#35;", "~": "&#126;", "$": "&#36;",
})


def escape_text(value) -> Markup:
    """Text shown literally in HTML and immune to Markdown; a ``Markup`` passes unchanged.

    >>> escape_text("a's <b> | *c* {{ d }}")
    Markup('a&#39;s &lt;b&gt; &#124; &#42;c&#42; &#123;&#123; d &#125;&#125;')
    >>> escape_text(escape_text("HK$ & more"))
    Markup('HK&#36; &amp; more')
    """
    if isinstance(value, Markup):
        return value
    return Markup(str(value).translate(_ESCAPES))


def _finalize(value):
    return escape_text("" if value is None else value)


def escape_attribute(value) -> Markup:
    """An identifier in an attribute (a KPI id, a year, a code): HTML escaping only.

    Markdown leaves the attributes of inline HTML alone, so ids stay readable for scripts and
    tests; free text in an attribute (an aria-label) keeps the default, Markdown-proof escaping.
    """
    return escape(value)


@lru_cache(maxsize=1)
def fragments() -> Environment:
    env = Environment(
        loader=PackageLoader("build_tools", "fragments"),
        autoescape=True,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["attribute"] = escape_attribute
    return env


def render(template: str, **values) -> Markup:
    """A fragment as ``Markup``; whitespace between tags is dropped so that Markdown sees one line."""
    html = fragments().get_template(template).render(**values)
    return Markup("".join(line.strip() for line in html.splitlines()))
