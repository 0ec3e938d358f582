"""sandbox.py: what a chapter may ask of Jinja, and how it is stopped when it asks for too much."""

import html
import resource
import time
from pathlib import Path

import pytest

from build_tools.errors import RenderError
from build_tools.macros import ChapterRenderer
from build_tools.project import Project
from build_tools.sandbox import DEFAULT_LIMITS, Limits, read_chapter
from build_tools.edition import EditionContext

PAGE = Path("content/en/page.md")


@pytest.fixture(scope="module")
def context(starter_template):
    return EditionContext(Project.at(starter_template), "en")


@pytest.fixture(scope="module")
def renderer(context):
    return context.renderer


def renderer_with(context, **limits) -> ChapterRenderer:
    return ChapterRenderer(context.data, "en", context.formatter, Limits(**limits))


def error_of(renderer, source: str, line: int = 3):
    """Render `source` as the third line of a page; return the one diagnostic and the seconds it took."""
    started = time.monotonic()
    with pytest.raises(RenderError) as caught:
        renderer.render("Intro.\n\n" + source + "\n", PAGE)
    elapsed = time.monotonic() - started
    [diagnostic] = caught.value.diagnostics.items
    assert (diagnostic.file, diagnostic.line) == (str(PAGE), line), diagnostic.format()
    return diagnostic, elapsed


BOMBS = {
    "power": ("{{ 2**(2**40) }}", "digits"),
    "range": ("{% for i in range(10**9) %}x{% endfor %}", "range(1000000000) would make 1,000,000,000 numbers"),
    "lipsum": ("{{ lipsum(10**6) }}", "lipsum(1000000) asks for too many paragraphs"),
    "string-repetition": ('{{ "x" * 10**10 }}', "10,000,000,000 items"),
    "list-repetition": ("{{ [0] * 10**10 }}", "10,000,000,000 items"),
    "repetition-reversed": ('{{ 10**10 * "x" }}', "10,000,000,000 items"),
    "percent-width": ('{{ "%999999999s"|format(1) }}', "the width 999,999,999"),
    "percent-star-width": ('{{ "%*s"|format(10**9, "x") }}', "the width 1,000,000,000"),
    "percent-operator": ('{{ "%999999999d" % 1 }}', "the width 999,999,999"),
    "format-width": ('{{ "{:>999999999}".format(1) }}', "the width 999,999,999"),
    "format-precision": ('{{ "{:.999999999f}".format(1) }}', "the width 999,999,999"),
    "format-nested-width": ('{{ "{:{}}".format("x", 10**9) }}', "the width 1,000,000,000"),
    "center": ('{{ "x"|center(10**10) }}', "the width of center() 10,000,000,000"),
    "indent": ('{{ "x"|indent(10**10) }}', "the width of indent() 10,000,000,000"),
    "wordwrap": ('{{ "x"|wordwrap(10**10) }}', "the width of wordwrap() 10,000,000,000"),
    "str-method-padding": ('{{ "x".ljust(10**10) }}', "the width 10,000,000,000"),
    "slice": ("{{ [1, 2]|slice(10**9)|list }}", "the slices of slice() 1,000,000,000"),
    "batch": ("{{ [1]|batch(10**9, 0)|list }}", "the linecount of batch() 1,000,000,000"),
    "tojson-indent": ("{{ [1]|tojson(indent=10**9) }}", "the indent of tojson() 1,000,000,000"),
    "replace-empty": ('{{ ("x" * 1000000)|replace("", "y" * 10) }}', "11,000,010 items"),
    "big-product": ("{{ (10**3000) * (10**3000) }}", "about 6,000 digits"),
    "doubling-concat": ('{% set ns = namespace(s="x") %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}',
                        "items; a chapter may build at most 5,000,000"),
    "doubling-join": ('{% set ns = namespace(s="x") %}{% for i in range(64) %}{% set ns.s = [ns.s, ns.s]|join %}{% endfor %}',
                      "items; a chapter may build at most 5,000,000"),
    "doubling-format": ('{% set ns = namespace(s="x") %}{% for i in range(64) %}{% set ns.s = "%s%s"|format(ns.s, ns.s) %}'
                        "{% endfor %}", "items; a chapter may build at most 5,000,000"),
    "page-output": ('{% set s = "x" * 4000000 %}{% for i in range(100000) %}{{ s }}{% endfor %}',
                    "the page grows beyond 20,000,000 characters"),
}


@pytest.mark.parametrize("source, message", BOMBS.values(), ids=BOMBS.keys())
def test_work_bombs_stop_at_once_with_a_located_limit_error(renderer, source, message):
    error, elapsed = error_of(renderer, source)
    assert error.code == "jinja.limit"
    assert message in error.message
    assert error.hint
    assert elapsed < 1.0, f"took {elapsed:.2f} s"


def test_the_limits_leave_ordinary_use_alone(renderer):
    source = ('{{ 2**10 }}|{{ "%5.1f"|format(3.14159) }}|{{ "{:>4}".format("a") }}|{{ "ab"|center(6) }}|'
              '{% for i in range(3) %}{{ loop.index }}{% endfor %}|{{ [1, 2, 3]|batch(2)|list }}|'
              '{{ "a b c"|wordwrap(3) }}|{{ "x"|indent("--", first=True) }}|{{ "aXb"|replace("X", "yy") }}|{{ ["a"] * 3 }}')
    # Printed values are escaped for HTML and Markdown (the output boundary); unescaped they read as usual.
    assert html.unescape(renderer.render(source, PAGE)) == "1024|  3.1|   a|  ab  |123|[[1, 2], [3]]|a b\nc|--x|ayyb|['a', 'a', 'a']"
    paragraphs = renderer.render("{{ lipsum(2, html=False) }}", PAGE)
    assert paragraphs.count("\n\n") == 1


def test_nested_loops_stop_at_the_page_time_limit(context):
    renderer = renderer_with(context, seconds=0.3)
    error, elapsed = error_of(renderer, "{% for i in range(100000) %}\n{% for j in range(100000) %}{% endfor %}{% endfor %}",
                              line=4)
    assert error.code == "jinja.limit"
    assert "longer than 0.3 s" in error.message
    assert 0.3 <= elapsed < 3


def test_exponential_macro_calls_stop_at_the_page_time_limit(context):
    renderer = renderer_with(context, seconds=0.3)
    source = "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}"
    error, elapsed = error_of(renderer, source)
    assert "longer than 0.3 s" in error.message
    assert elapsed < 3


def test_endless_recursion_is_a_located_error(renderer):
    error, elapsed = error_of(renderer, "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}")
    assert error.code == "jinja.limit"
    assert "too deeply" in error.message


def test_running_out_of_memory_is_a_located_error_and_the_limit_is_lifted_after(context):
    before = resource.getrlimit(resource.RLIMIT_AS)
    renderer = renderer_with(context, memory_bytes=256 << 20, text_chars=10**10)
    # Each string is new (`~ i`), so no size check fires: only the address-space cap can stop it.
    source = ('{% set ns = namespace(keep=[]) %}{% for i in range(1000) %}'
              '{% set ns.keep = ns.keep + [("x" * 4000000) ~ i] %}{% endfor %}')
    error, elapsed = error_of(renderer, source)
    assert error.code == "jinja.limit"
    assert "more than the 256 MB of memory" in error.message
    assert resource.getrlimit(resource.RLIMIT_AS) == before
    assert renderer.render("{{ 'still fine' }}", PAGE) == "still fine"


@pytest.mark.parametrize("source, code, message", [
    ("{{ 1/0 }}", "jinja.arithmetic", "division by zero"),
    ("{{ 1 // 0 }}", "jinja.arithmetic", "division by zero"),
    ("{{ 10.0 ** 400 }}", "jinja.arithmetic", "too large to compute"),
    ('{{ kpi("suppliers_total", year=1e999) }}', "jinja.number", "too large: it overflows to infinity"),
    ('{{ kpi("suppliers_total", year="abc") }}', "macro", "year must be a whole year such as 2024, not 'abc'"),
    ('{{ kpi("suppliers_total", year=2023.5) }}', "macro", "year must be a whole year such as 2024, not 2023.5"),
    ('{{ kpi("suppliers_total", year=true) }}', "macro", "year must be a whole year such as 2024, not True"),
    ('{{ kpi("suppliers_total", year=10**100) }}', "macro", "year must be a whole year such as 2024"),
    ('{{ change("suppliers_total", from_year="last") }}', "macro", "year must be a whole year such as 2024"),
    ('{{ kpi_table(["suppliers_total"], years=[2023, "x"]) }}', "macro", "year must be a whole year such as 2024"),
    ("{{ kpi_table([]) }}", "macro", "kpi_table() needs a KPI group id or a list of KPI ids, not an empty list"),
    ("{{ kpi_chart([]) }}", "macro", "kpi_chart() needs a KPI group id or a list of KPI ids, not an empty list"),
    ("{{ kpi_table(5) }}", "macro", "kpi_table() needs a KPI group id or a list of KPI ids, not 5"),
    ('{{ "%s"|format(kpi) }}', "macro", "'kpi' is a macro: call it with ( )"),
    ("{{ change }}", "macro", "'change' is a macro: call it with ( )"),
    ("{{ kpi_table ~ '' }}", "macro", "'kpi_table' is a macro: call it with ( )"),
    ("{{ {}.pop('x') }}", "macro", "bad macro call"),
])
def test_mistakes_are_located_errors(renderer, source, code, message):
    error, _ = error_of(renderer, source)
    assert error.code == code
    assert message in error.message


def test_a_kpi_formats_as_its_value(renderer):
    html = renderer.render('{{ "%s"|format(kpi("suppliers_total")) }}', PAGE)
    assert html == renderer.render('{{ kpi("suppliers_total") }}', PAGE)
    assert ">341 suppliers<" in html


def test_whole_years_are_accepted_in_every_spelling(renderer):
    expected = renderer.render('{{ kpi("suppliers_total", year=2023) }}', PAGE)
    assert renderer.render('{{ kpi("suppliers_total", year="2023") }}', PAGE) == expected
    assert renderer.render('{{ kpi("suppliers_total", year=2023.0) }}', PAGE) == expected


@pytest.mark.parametrize("source", ["{{ kpi.__globals__ }}", "{{ kpi._function }}", "{{ range._function.__self__ }}",
                                    "{{ kpi.__call__.__func__ }}", "{{ ''.__class__.__mro__ }}"])
def test_macros_expose_no_python_internals(renderer, source):
    error, _ = error_of(renderer, source)
    assert error.code.startswith("jinja")


def test_a_chapter_that_is_not_utf8_is_located_by_line_and_column(tmp_path):
    chapter = tmp_path / "page.md"
    chapter.write_bytes("Intro\n\nCafé ".encode() + b"caf\xe9 au lait\n")
    with pytest.raises(RenderError) as caught:
        read_chapter(chapter)
    [error] = caught.value.diagnostics.items
    offset = len("Intro\n\nCafé caf".encode())
    assert (error.code, error.line, error.col) == ("content.encoding", 3, offset - len(b"Intro\n\n") + 1)
    assert f"byte 0xe9 at offset {offset}" in error.message


def test_default_limits_are_far_above_a_real_report(sample_pages_rendered):
    # The sample report renders every chapter within the limits, each far under the time limit.
    assert sample_pages_rendered < DEFAULT_LIMITS.seconds / 5


@pytest.fixture(scope="module")
def sample_pages_rendered():
    from build_tools.project import TOOLCHAIN_ROOT

    context = EditionContext(Project.at(TOOLCHAIN_ROOT), "en")
    slowest = 0.0
    for chapter in sorted(context.content_dir.rglob("*.md")):
        started = time.monotonic()
        context.render_chapter(chapter)
        slowest = max(slowest, time.monotonic() - started)
    return slowest
