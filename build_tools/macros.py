"""The Jinja layer of chapters: a sandboxed, strict environment and the writers' macros.

Chapters are Markdown with Jinja expressions (``{{ kpi("rd_investment") }}``). One
``ChapterRenderer`` per edition renders every chapter; errors (syntax, undefined names,
unknown KPI ids) become ``RenderError`` located at the chapter's file and line.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from markupsafe import Markup

from . import html
from .charts import render_kpi_chart, render_materiality
from .data import KPI, ReportData, suggest
from .figures import FigureCatalog, FigureError
from .keyfigures import key_figures_macro
from .errors import Diagnostic, RenderError
from .formatting import CHANGE_STYLES, Formatter
from .sandbox import DEFAULT_LIMITS, ChapterEnvironment, Limits, SandboxError
from .tables import render_kpi_table

INDEX_PLACEHOLDER = Markup('<div class="content-index" data-content-index="1"></div>')


class MacroError(Exception):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


class ChapterRenderer:
    """Renders chapter sources for one edition."""

    def __init__(self, data: ReportData, edition_code: str, formatter: Formatter, limits: Limits = DEFAULT_LIMITS):
        self.data = data
        self.edition = edition_code
        self.fmt = formatter
        self._ = formatter._
        # Sandboxed and bounded: chapters are content, not code (no Python internals, no unbounded work).
        # Autoescaped with the HTML boundary's finalizer: a value a chapter prints is escaped once
        # (for HTML and Markdown) and a macro's fragment, being Markup, is not escaped again.
        self.env = ChapterEnvironment(limits, undefined=StrictUndefined, autoescape=True, finalize=html.escape_text,
                                      keep_trailing_newline=True)
        self.env.filters["format"] = _markup_aware(self.env.filters["format"])
        # Figures (figures.py): the edition's content folder is attached by EditionContext.
        self.figures = FigureCatalog(formatter._)
        self.env.globals.update(
            kpi=self.kpi,
            change=self.change,
            kpi_table=self.kpi_table,
            kpi_chart=self.kpi_chart,
            materiality_matrix=self.materiality_matrix,
            group_title=self.group_title,
            content_index=lambda: INDEX_PLACEHOLDER,
            figure=self.figures.figure,
            figure_ref=self.figures.figure_ref,
            list_of_figures=self.figures.list_of_figures,
            key_figures=key_figures_macro(self, MacroError),
            # Report metadata as plain text (escaped where it enters HTML); documented in
            # docs/authoring-guide.md, "Report metadata in chapters".
            **self.fmt.report_variables(data.meta),
            edition=edition_code,
        )

    # --- rendering --------------------------------------------------------------
    def render(self, source: str, file: Path | str) -> str:
        def located(code: str, message: str, exc: BaseException, hint: str | None) -> RenderError:
            line = getattr(exc, "line", None) or _template_line(exc)
            return RenderError(Diagnostic("error", code, message, file=str(file), line=line, hint=hint))

        self.figures.begin_page(file)
        try:
            template = self.env.from_string(source)
            with self.env.page_limits():
                return template.render()
        except TemplateSyntaxError as exc:
            raise RenderError(Diagnostic("error", "jinja.syntax", f"template syntax error: {exc.message}",
                                         file=str(file), line=exc.lineno,
                                         hint="check the {{ }} and {% %} pairs on this line")) from None
        except (MacroError, SandboxError, FigureError) as exc:
            raise located(getattr(exc, "code", "macro"), str(exc), exc, exc.hint) from None
        except TemplateError as exc:
            raise located("jinja.undefined" if "undefined" in str(exc) else "jinja.render", str(exc), exc,
                          "macros: kpi, change, kpi_table, kpi_chart, figure, figure_ref, content_index; see docs/authoring-guide.md, 'Figures come from data'") from None
        except ZeroDivisionError as exc:
            raise located("jinja.arithmetic", "division by zero", exc, "check the divisor on this line") from None
        except (OverflowError, ArithmeticError) as exc:
            raise located("jinja.arithmetic", "a number on this line is too large to compute", exc,
                          "compute figures in data/kpis/*.yml (formula:) instead of in the page") from None
        except RecursionError as exc:
            raise located("jinja.limit", "macros call each other too deeply (a macro that calls itself without end?)",
                          exc, "give the recursion a condition that stops it") from None
        except MemoryError as exc:
            raise located("jinja.limit", f"the page needs more than the {self.env.limits.memory_bytes >> 20} MB "
                          "of memory a chapter may use", exc, "look for text or lists built in a loop") from None
        except (TypeError, ValueError, LookupError) as exc:
            raise located("macro", f"bad macro call: {exc}", exc, "see docs/authoring-guide.md, 'Figures come from data'") from None

    # --- macros -----------------------------------------------------------------
    def _kpi(self, kpi_id) -> KPI:
        if not isinstance(kpi_id, str) or kpi_id not in self.data.kpis:
            raise MacroError(f"unknown KPI id '{kpi_id}'", suggest(str(kpi_id), self.data.kpis)
                             or "KPI ids are defined in data/kpis/*.yml")
        return self.data.kpis[kpi_id]

    def _year(self, year) -> int:
        return self.data.year if year is None else whole_year(year)

    def format_value(self, kpi: KPI, year: int, unit: bool = True) -> str:
        value = kpi.value(year)
        if value is not None and value.status == "pending":
            return self._("[pending]")
        if value is None or value.amount is None:
            status = value.status if value else "not_available"
            return self._("N/A") if status == "not_applicable" else self._("not available")
        return self.fmt.quantity(value.amount, kpi.unit, kpi.decimals, with_unit=unit)

    def _wrap(self, kpi: KPI, text: str, year: int, pending: bool = False) -> Markup:
        return html.render("kpi-value.html", kpi=kpi.id, year=year, codes=kpi.disclose, text=text, pending=pending)

    def kpi(self, kpi_id, year=None, unit=True, zero=None, words=False, capital=False, text=None) -> Markup:
        """A KPI's value for a year (default: the reporting year), formatted for this edition.

        ``zero`` is the wording used when the value is 0 ("no", "並無接獲投訴"); ``text`` is the
        wording otherwise, with ``{value}`` where the figure goes ("共接獲{value}投訴"), for
        languages whose sentence changes shape with a zero. ``words=True`` spells out 0 to 10
        ("four", ``capital=True`` for "Four" at a sentence start). Either way a sentence keeps
        the company's wording while the figure still comes from data.
        """
        kpi, year = self._kpi(kpi_id), self._year(year)
        if year not in kpi.values:
            raise MacroError(f"KPI '{kpi.id}' has no value for {year}",
                             f"add {year} under values in {Path(kpi.file).name}, or ask for another year")
        value = kpi.value(year)
        if zero is not None and value.amount is not None and value.amount == 0:
            return self._wrap(kpi, str(zero), year)
        shown = self.format_value(kpi, year, unit)
        if words and value.amount is not None:
            shown = self.fmt.words(value.amount, capital=bool(capital)) or shown
        if text is not None:
            if "{value}" not in str(text):
                raise MacroError("text= needs {value} where the figure goes", 'for example text="共接獲{value}投訴"')
            shown = str(text).replace("{value}", shown)
        return self._wrap(kpi, shown, year, pending=value.status == "pending")

    def change(self, kpi_id, from_year=None, to_year=None, style=None) -> Markup:
        """The change of a KPI between two years in words: style 'verb' ('increased by 5.2%' /
        '上升5.2%'), 'noun' ('an increase of 5.2%' / '增加5.2%') or 'short' ('up 5.2%' / '升5.2%');
        the default is the edition's `change_style` in data/report.yml, else 'verb'."""
        kpi = self._kpi(kpi_id)
        to_year = self._year(to_year)
        from_year = to_year - 1 if from_year is None else whole_year(from_year)
        style = self._change_style() if style is None else style
        if style not in CHANGE_STYLES:
            raise MacroError(f"unknown change style {style!r}", suggest(str(style), CHANGE_STYLES)
                             or f"styles: {', '.join(CHANGE_STYLES)}")
        old, new = kpi.value(from_year), kpi.value(to_year)
        if any(v is not None and v.status == "pending" for v in (old, new)):
            return self._wrap(kpi, self._("[pending]"), to_year, pending=True)  # a draft shows the gap
        if not old or not new or old.amount is None or new.amount is None:
            raise MacroError(f"KPI '{kpi.id}' needs values for {from_year} and {to_year} to show a change",
                             "add both years' values in the data file")
        return self._wrap(kpi, self.fmt.change(old.amount, new.amount, style=style), to_year)

    def _change_style(self) -> str:
        meta = self.data.meta
        styles = meta["report"].get("change_style") or meta.get("change_style") or {}
        return styles.get(self.edition, "verb")

    def kpi_table(self, group, years=None, caption=None) -> Markup:
        """A KPI table: a group id, or a list of KPI ids."""
        kpis = self._select(group, "kpi_table")
        years = [whole_year(y) for y in years] if years else self.data.years
        return render_kpi_table(self, kpis, years, caption)

    def kpi_chart(self, kpis, years=None, title=None) -> Markup:
        """A bar chart (inline SVG) of KPIs over the years."""
        selected = self._select(kpis, "kpi_chart")
        years = [whole_year(y) for y in years] if years else self.data.years
        return render_kpi_chart(self, selected, years, title)

    def group_title(self, group_id) -> str:
        """The title of a KPI group in this edition (for headings above its table)."""
        if group_id not in self.data.groups:
            raise MacroError(f"unknown KPI group '{group_id}'", suggest(str(group_id), self.data.groups)
                             or "groups are the `group:` of data/kpis/*.yml")
        return self.data.groups[group_id].title[self.edition]

    def materiality_matrix(self) -> Markup:
        if not self.data.materiality:
            raise MacroError("materiality_matrix() needs data/materiality.yml", "see docs/reference/materiality.md")
        return render_materiality(self, self.data.materiality)

    def _select(self, group_or_ids, macro: str) -> list[KPI]:
        if isinstance(group_or_ids, str):
            if group_or_ids in self.data.groups:
                return [self.data.kpis[k] for k in self.data.groups[group_or_ids].kpi_ids]
            if group_or_ids in self.data.kpis:
                return [self.data.kpis[group_or_ids]]
            raise MacroError(f"unknown KPI group or id '{group_or_ids}'",
                             suggest(group_or_ids, [*self.data.groups, *self.data.kpis]) or "groups are the `group:` of data/kpis/*.yml")
        if not isinstance(group_or_ids, (list, tuple)) or not group_or_ids:
            given = "an empty list" if isinstance(group_or_ids, (list, tuple)) else repr(group_or_ids)
            raise MacroError(f"{macro}() needs a KPI group id or a list of KPI ids, not {given}",
                             f"for example {macro}('environmental') or {macro}(['ghg_scope1_2', 'energy_consumption'])")
        return [self._kpi(k) for k in group_or_ids]


def whole_year(value) -> int:
    """A macro's year argument: 2024 or "2024"; 2024.5, "abc", 1e999 and True are refused."""
    if isinstance(value, int) and not isinstance(value, bool):
        year = value
    elif isinstance(value, float) and value.is_integer():
        year = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*\d{4}\s*", value):
        year = int(value)
    else:
        raise MacroError(f"year must be a whole year such as 2024, not {value!r}",
                         "write the year as four digits without quotes: year=2023")
    if not 1900 <= year <= 2100:
        raise MacroError(f"year must be a whole year such as 2024, not {year}", "reporting years run from 1900 to 2100")
    return year


def _markup_aware(format_filter):
    """`"%s"|format(kpi(...))`: the format string is text and the fragment stays a fragment
    (a plain format string would turn the fragment into escaped text)."""
    def format_(value, *args, **kwargs):
        if any(isinstance(arg, Markup) for arg in (*args, *kwargs.values())):
            value = html.escape_text(value)
        return format_filter(value, *args, **kwargs)
    return format_


def _template_line(exc: BaseException) -> int | None:
    # Jinja rewrites tracebacks so template frames carry the template's own line numbers.
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<template>":
            line = frame.lineno
    return line
