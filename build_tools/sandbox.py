"""The bounded Jinja sandbox that chapters render in, and reading a chapter's text.

Jinja's ``SandboxedEnvironment`` keeps a chapter away from Python's internals but not from
asking for unbounded work: ``{{ 2**(2**40) }}``, ``{{ "x" * 10**10 }}``, ``"%999999999s"|format``,
``lipsum(10**6)`` or two nested loops of 100,000 each would hang or exhaust memory. Here
every operation that can grow a value is checked *before* it runs (size, width, exponent),
every value it produces is checked after, and every loop iteration and call checks the page's
time budget. A chapter that goes over a limit stops with a ``SandboxError`` that
``ChapterRenderer.render`` reports at the chapter's line as ``[jinja.limit]``.

Why a cooperative deadline and not ``signal.setitimer``: signals are delivered only to a
process's main thread (``serve`` rebuilds pages in a watcher thread), they cannot interrupt
one long C-level operation anyway (only the size checks can), and the CLI owns the signal
handlers. The checks run in the same places in the CLI, in edition worker processes and in
``serve``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import re
import resource
import time
import types
from collections import ChainMap
from dataclasses import dataclass
from pathlib import Path

from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import SandboxedEnvironment, SandboxedFormatter
from jinja2.utils import _PassArg
from jinja2.utils import generate_lorem_ipsum

from .errors import Diagnostic, RenderError


@dataclass(frozen=True)
class Limits:
    """What one page may ask for. Real chapters stay far below each (a page renders in ms)."""

    range_items: int = 100_000  # numbers one range() may produce (Jinja's own MAX_RANGE)
    text_chars: int = 5_000_000  # length of any one string or list a chapter builds
    page_chars: int = 20_000_000  # the whole rendered page
    width: int = 10_000  # padding width or precision ("%10s", "{:>10}", center, indent)
    int_bits: int = 10_000  # about 3,000 digits: below Python's 4,300-digit str() limit
    lipsum_paragraphs: int = 100
    lipsum_words: int = 1_000
    seconds: float = 5.0  # render time of one page
    memory_bytes: int = 1 << 30  # address space a render may add (Linux)


DEFAULT_LIMITS = Limits()


class SandboxError(Exception):
    """A chapter asked for something the sandbox refuses; reported at the chapter's line."""

    code = "jinja.limit"

    def __init__(self, message: str, hint: str | None = None, line: int | None = None):
        super().__init__(message)
        self.hint = hint
        self.line = line  # known at compile time; at run time the template frame tells


class LimitExceeded(SandboxError):
    code = "jinja.limit"


class NotCalled(SandboxError):
    code = "macro"


class BadNumber(SandboxError):
    code = "jinja.number"


_LIMIT_HINT = "a chapter shows data; compute figures in data/kpis/*.yml (formula:) instead of in the page"


# --- reading a chapter -----------------------------------------------------------

def read_chapter(path: Path) -> str:
    """A chapter's text; a file that is not UTF-8 is a located ``RenderError``, not a crash."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise RenderError(Diagnostic(
            "error", "content.encoding",
            f"the file is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} ({exc.reason})",
            file=str(path), line=line, col=col,
            hint="save the file as UTF-8 (most editors: Save As… > Encoding > UTF-8)")) from None


# --- the environment -------------------------------------------------------------

class _Macro:
    """A global function as a chapter sees it: callable, but never printed as an object address."""

    def __init__(self, name: str, function):
        self._name = name
        self._function = function
        pass_arg = getattr(function, "jinja_pass_arg", None)
        if pass_arg is not None:
            self.jinja_pass_arg = pass_arg

    def __call__(self, *args, **kwargs):
        return self._function(*args, **kwargs)

    def __str__(self):
        raise NotCalled(f"'{self._name}' is a macro: call it with ( ), for example {self._name}(…)",
                        "see docs/authoring-guide.md, 'Figures come from data'")

    def __repr__(self):
        return f"<macro {self._name}>"


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with ``~`` (string concatenation) size-checked like ``+``."""

    def visit_Concat(self, node, frame):
        self.write("environment.bounded_value(")
        super().visit_Concat(node, frame)
        self.write(")")


# Filters whose named arguments set how much work they do (width of padding, number of slices...).
_SIZE_ARGUMENTS = {
    "center": ("width",), "indent": ("width",), "wordwrap": ("width",),
    "slice": ("slices",), "batch": ("linecount",), "tojson": ("indent",),
}
# str methods a chapter can call that pad to a width given as an argument.
_PADDING_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs"}
# printf-style conversions: '%(name)-10.3f'; the widths are groups 1 and 2.
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[diouxXeEfFgGcrsab%]")
# str.format spec: '[[fill]align][sign][z][#][0][width][grouping][.precision][type]'
_FORMAT_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(\d+)?[,_]?(?:\.(\d+))?[a-zA-Z%]?")


class ChapterEnvironment(SandboxedEnvironment):
    """A ``SandboxedEnvironment`` that bounds the work and the time a page can ask for."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _BoundedCodeGenerator

    def __init__(self, limits: Limits = DEFAULT_LIMITS, **options):
        super().__init__(**options)
        self.limits = limits
        self._deadline: float | None = None
        self.globals["range"] = self.bounded_range
        self.globals["lipsum"] = self.bounded_lipsum
        self.filters = {name: self._bounded_filter(name, f) for name, f in self.filters.items()}

    # --- one page -----------------------------------------------------------------
    @contextlib.contextmanager
    def page_limits(self):
        """Time and memory budget for rendering one page."""
        self._deadline = time.monotonic() + self.limits.seconds
        try:
            with _address_space_limit(self.limits.memory_bytes):
                yield
        finally:
            self._deadline = None

    def check_time(self) -> None:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise LimitExceeded(f"the page took longer than {self.limits.seconds:g} s to render; "
                                "the loop or macro on this line is still running",
                                "look for nested loops or a macro that calls itself; " + _LIMIT_HINT)

    # --- compile time -------------------------------------------------------------
    def _parse(self, source, name, filename):
        tree = super()._parse(source, name, filename)
        for const in tree.find_all(nodes.Const):
            if isinstance(const.value, float) and not math.isfinite(const.value):
                raise BadNumber("a number on this line is too large: it overflows to infinity",
                                "write the number as digits, for example year=2024", line=const.lineno)
        for loop in tree.find_all(nodes.For):  # every loop iteration checks the page's time
            loop.iter = nodes.Call(nodes.EnvironmentAttribute("bounded_loop"), [loop.iter], [], None, None,
                                   lineno=loop.iter.lineno).set_environment(self)
        return tree

    def make_globals(self, d):
        chained = super().make_globals(d)
        macros = {name: _Macro(name, value) for name, value in chained.items()
                  if inspect.isroutine(value) and not isinstance(value, _Macro)}
        return ChainMap(macros, chained)

    # --- run time -----------------------------------------------------------------
    def bounded_loop(self, iterable):
        check = self.check_time
        for item in iterable:
            check()
            yield item

    def bounded_value(self, value):
        """Refuse a value that is already too big (a string, list, or integer); pass it on otherwise."""
        if isinstance(value, (str, list, tuple, dict, set, bytes)):
            self._check_size(len(value))
        elif isinstance(value, int):
            self._check_bits(value.bit_length())
        return value

    def _check_width(self, width, what: str) -> None:
        if isinstance(width, int) and not isinstance(width, bool) and abs(width) > self.limits.width:
            raise LimitExceeded(f"{what} {width:,} is too large; a chapter may use at most {self.limits.width:,}",
                                "use a size that fits a page, for example 80")

    def _check_size(self, size: int) -> None:
        if size > self.limits.text_chars:
            raise LimitExceeded(f"this line builds a text or list of {size:,} items; "
                                f"a chapter may build at most {self.limits.text_chars:,}", _LIMIT_HINT)

    def call_binop(self, context, operator, left, right):
        self.check_time()
        if operator == "**":
            self._check_power(left, right)
        elif operator == "*":
            for count, other in ((left, right), (right, left)):
                if isinstance(count, int) and hasattr(other, "__len__"):
                    self._check_size(count * len(other))
            if isinstance(left, int) and isinstance(right, int):
                self._check_bits(left.bit_length() + right.bit_length())
        elif operator == "+" and hasattr(left, "__len__") and hasattr(right, "__len__"):
            self._check_size(len(left) + len(right))
        elif operator == "%" and isinstance(left, str):
            self._check_percent_format(left, right if isinstance(right, tuple) else (right,))
        return self.bounded_value(super().call_binop(context, operator, left, right))

    def _check_bits(self, bits: int) -> None:
        if bits > self.limits.int_bits:
            raise LimitExceeded(f"this line computes a number of about {int(bits * 0.30103):,} digits; "
                                f"a chapter may compute at most {int(self.limits.int_bits * 0.30103):,}", _LIMIT_HINT)

    def _check_power(self, base, exponent) -> None:
        if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
            self._check_bits((abs(base).bit_length() - 1) * exponent)  # a lower bound of the result's bits

    def _check_percent_format(self, template: str, args) -> None:
        for match in _PERCENT_SPEC.finditer(template):
            for width in match.groups():
                if width == "*":
                    for arg in args:
                        self._check_width(arg, "the width")
                elif width:
                    self._check_width(int(width), "the width")

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's own signature)
        __self.check_time()
        if isinstance(__obj, types.BuiltinMethodType) and isinstance(getattr(__obj, "__self__", None), str):
            if __obj.__name__ in _PADDING_METHODS:
                for arg in (*args, *kwargs.values()):
                    __self._check_width(arg, "the width")
            elif __obj.__name__ == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
                text = __obj.__self__
                __self._check_size(len(text) + text.count(args[0]) * (len(args[1]) - len(args[0])))
        return __self.bounded_value(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value):
        wrapper = super().wrap_str_format(value)
        if wrapper is None or type(value.__self__) is not str:
            return wrapper  # not str.format, or Markup's (which chapters never get)
        # Jinja's wrapper, with a formatter that checks each field's width before padding to it.
        template, formatter = value.__self__, _BoundedFormatter(self)
        if value.__name__ == "format":
            def bounded(*args, **kwargs):
                return formatter.vformat(template, args, kwargs)
        else:
            def bounded(*args, **kwargs):
                if kwargs or len(args) != 1:
                    return wrapper(*args, **kwargs)  # Jinja's own TypeError
                return formatter.vformat(template, (), args[0])
        return functools.update_wrapper(bounded, value)

    def concat(self, pieces):
        """The whole page, refused once it grows beyond ``page_chars`` (each piece is already bounded)."""
        collected, size = [], 0
        for piece in pieces:
            size += len(piece)
            if size > self.limits.page_chars:
                error = LimitExceeded(f"the page grows beyond {self.limits.page_chars:,} characters", _LIMIT_HINT)
                if isinstance(pieces, types.GeneratorType):
                    pieces.throw(error)  # raised at the template line that is producing the output
                raise error
            collected.append(piece)
        return "".join(collected)

    def handle_exception(self, source=None):
        # Jinja rewrites the traceback here, which needs memory: give back the page's memory limit first.
        _restore_address_space()
        return super().handle_exception(source)

    # --- globals and filters --------------------------------------------------------
    def bounded_range(self, *args):
        numbers = range(*args)
        if len(numbers) > self.limits.range_items:
            raise LimitExceeded(f"range({', '.join(map(str, args))}) would make {len(numbers):,} numbers; "
                                f"a chapter may ask for at most {self.limits.range_items:,}", _LIMIT_HINT)
        return numbers

    def bounded_lipsum(self, n=5, html=True, min=20, max=100):  # noqa: A002 (Jinja's names)
        if not isinstance(n, int) or n > self.limits.lipsum_paragraphs:
            raise LimitExceeded(f"lipsum({n}) asks for too many paragraphs; at most {self.limits.lipsum_paragraphs}",
                                "placeholder text is for drafts: a few paragraphs are enough")
        if not (isinstance(min, int) and isinstance(max, int)) or max > self.limits.lipsum_words:
            raise LimitExceeded(f"lipsum(max={max}) asks for too many words per paragraph; at most "
                                f"{self.limits.lipsum_words}", "placeholder text is for drafts: a few paragraphs are enough")
        return generate_lorem_ipsum(n=n, html=html, min=min, max=max)

    def _bounded_filter(self, name: str, function):
        sized = _SIZE_ARGUMENTS.get(name, ())
        signature = _filter_signature(function) if sized or name in ("format", "replace") else None
        env = self

        @functools.wraps(function)  # keeps jinja_pass_arg, so Jinja passes the same arguments
        def bounded(*args, **kwargs):
            env.check_time()
            if signature is not None:
                try:
                    bound = signature.bind(*args, **kwargs).arguments
                except TypeError:
                    bound = {}  # the filter itself reports the wrong arguments
                for argument in sized:
                    env._check_width(bound.get(argument), f"the {argument} of {name}()")
                if name == "format" and isinstance(bound.get("value"), str):
                    env._check_percent_format(bound["value"], (*bound.get("args", ()), *bound.get("kwargs", {}).values()))
                if name == "replace" and all(isinstance(bound.get(a), str) for a in ("s", "old", "new")):
                    text, old, new = bound["s"], bound["old"], bound["new"]
                    env._check_size(len(text) + text.count(old) * (len(new) - len(old)))
            return env.bounded_value(function(*args, **kwargs))

        return bounded


def _filter_signature(function) -> inspect.Signature:
    """The arguments a filter is called with. Jinja's async-aware filters (slice, batch, join...)
    take the eval context first although the function they wrap does not name it."""
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())
    if _PassArg.from_obj(function) is not None and (not parameters or parameters[0].name not in
                                                    ("context", "eval_ctx", "environment", "env")):
        passed = inspect.Parameter("passed", inspect.Parameter.POSITIONAL_ONLY)
        signature = signature.replace(parameters=[passed, *parameters])
    return signature


class _BoundedFormatter(SandboxedFormatter):
    """``str.format`` for chapters: the sandbox's attribute rules, and widths checked per field."""

    def format_field(self, value, format_spec):
        match = _FORMAT_SPEC.fullmatch(format_spec)
        if match:
            for width in match.groups():
                if width:
                    self._env._check_width(int(width), "the width")
        return self._env.bounded_value(super().format_field(value, format_spec))


# --- memory ----------------------------------------------------------------------

_saved_limit: tuple[int, int] | None = None


@contextlib.contextmanager
def _address_space_limit(allowance: int):
    """Cap the process's address space at its current size plus ``allowance`` while a page renders,
    so a runaway page gets a MemoryError (reported at its line) instead of the kernel's OOM killer.
    Linux only; elsewhere pages are bounded by the size checks alone."""
    global _saved_limit
    try:
        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * resource.getpagesize()
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError, AttributeError):
        yield
        return
    cap = current + allowance
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft != resource.RLIM_INFINITY and soft <= cap:
        yield  # already limited more tightly by whoever started us
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    _saved_limit = (soft, hard)
    try:
        yield
    finally:
        _restore_address_space()


def _restore_address_space() -> None:
    global _saved_limit
    if _saved_limit is not None:
        resource.setrlimit(resource.RLIMIT_AS, _saved_limit)
        _saved_limit = None
