"""The Jinja layer of chapters: a sandboxed, strict environment and the writers' macros.

Chapters are Markdown with Jinja expressions (``{{ kpi("rd_investment") }}``). One
``ChapterRenderer`` per edition renders every chapter; errors (syntax, undefined names,
unknown KPI ids) become ``RenderError`` located at the chapter's file and line.
"""

from __future__ import annotations

import traceback
from decimal import Decimal
from pathlib import Path

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from .data import KPI, ReportData, suggest
from .errors import Diagnostic, RenderError
from .formatting import Formatter
from .tables import render_kpi_table
from .charts import render_kpi_chart, render_materiality

INDEX_PLACEHOLDER = '<div class="content-index" data-content-index="1"></div>'
_TEMPLATE_NAME = "<chapter>"

# One pass over the text: HTML's specials, and the characters Markdown (or a table row)
# would interpret inside inline output. Two passes would escape the first pass's '&' and '#'.
_ESCAPES = str.maketrans({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
    "*": "&#42;", "_": "&#95;", "`": "&#96;", "|": "&#124;", "[": "&#91;", "]": "&#93;",
    "{": "&#123;", "}": "&#125;", "\\": "&#92;", "#": "&#35;", "~": "&#126;", "$": "&#36;",
})


def escape_text(text) -> str:
    """Data text shown literally in HTML and immune to Markdown: '<', '|', '*', '{{' and all.

    >>> escape_text("a's <b> | *c* {{ d }}")
    'a&#39;s &lt;b&gt; &#124; &#42;c&#42; &#123;&#123; d &#125;&#125;'
    """
    return str(text).translate(_ESCAPES)


class MacroError(Exception):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


class ChapterRenderer:
    """Renders chapter sources for one edition."""

    def __init__(self, data: ReportData, edition_code: str, formatter: Formatter):
        self.data = data
        self.edition = edition_code
        self.fmt = formatter
        self._ = formatter._
        # Sandboxed: chapters are content, not code (no attribute access to Python internals).
        self.env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
        meta = data.meta
        company, report = meta["company"], meta["report"]
        self.env.globals.update(
            kpi=self.kpi,
            change=self.change,
            kpi_table=self.kpi_table,
            kpi_chart=self.kpi_chart,
            materiality_matrix=self.materiality_matrix,
            group_title=self.group_title,
            content_index=lambda: INDEX_PLACEHOLDER,
            company_name=escape_text(company["name"][edition_code]),
            short_name=escape_text(company["short_name"][edition_code]),
            report_title=escape_text(report["title"][edition_code]),
            year=report["year"],
            period_start=self.fmt.date(report["period_start"]),
            period_end=self.fmt.date(report["period_end"]),
            approval_date=self.fmt.date(report["approved"]),
            stock_codes=", ".join(f"{c['exchange']}: {c['code']}" for c in company["stock_codes"]),
            edition=edition_code,
        )

    # --- rendering --------------------------------------------------------------
    def render(self, source: str, file: Path | str) -> str:
        try:
            template = self.env.from_string(source)
            return template.render()
        except TemplateSyntaxError as exc:
            raise RenderError(Diagnostic("error", "jinja.syntax", f"template syntax error: {exc.message}",
                                         file=str(file), line=exc.lineno,
                                         hint="check the {{ }} and {% %} pairs on this line")) from None
        except MacroError as exc:
            raise RenderError(Diagnostic("error", "macro", str(exc), file=str(file),
                                         line=_template_line(exc), hint=exc.hint)) from None
        except TemplateError as exc:
            raise RenderError(Diagnostic("error", "jinja.undefined" if "undefined" in str(exc) else "jinja.render",
                                         str(exc), file=str(file), line=_template_line(exc),
                                         hint="macros: kpi, change, kpi_table, kpi_chart, content_index; "
                                              "see docs/authoring-guide.md, 'Figures come from data'")) from None
        except (TypeError, ValueError) as exc:
            raise RenderError(Diagnostic("error", "macro", f"bad macro call: {exc}", file=str(file),
                                         line=_template_line(exc), hint="see docs/authoring-guide.md, 'Figures come from data'")) from None

    # --- macros -----------------------------------------------------------------
    def _kpi(self, kpi_id) -> KPI:
        if not isinstance(kpi_id, str) or kpi_id not in self.data.kpis:
            raise MacroError(f"unknown KPI id '{kpi_id}'", suggest(str(kpi_id), self.data.kpis)
                             or "KPI ids are defined in data/kpis/*.yml")
        return self.data.kpis[kpi_id]

    def _year(self, year) -> int:
        return self.data.year if year is None else int(year)

    def format_value(self, kpi: KPI, year: int, unit: bool = True) -> str:
        value = kpi.value(year)
        if value is None or value.amount is None:
            status = value.status if value else "not_available"
            return self._("N/A") if status == "not_applicable" else self._("not available")
        return self.fmt.quantity(value.amount, kpi.unit, kpi.decimals, with_unit=unit)

    def _wrap(self, kpi: KPI, text: str, year: int) -> str:
        attrs = f' data-kpi="{kpi.id}" data-year="{year}"'
        if kpi.disclose:
            attrs += f' data-disclose="{" ".join(kpi.disclose)}"'
        return f'<span class="kpi"{attrs}>{escape_text(text)}</span>'

    def kpi(self, kpi_id, year=None, unit=True, zero=None, words=False, capital=False) -> str:
        """A KPI's value for a year (default: the reporting year), formatted for this edition.

        ``zero`` is the wording used when the value is 0 ("no", "零"); ``words=True`` spells out
        0 to 10 ("four", ``capital=True`` for "Four" at a sentence start). Either way a
        sentence keeps the company's wording while the figure still comes from data.
        """
        kpi, year = self._kpi(kpi_id), self._year(year)
        if year not in kpi.values:
            raise MacroError(f"KPI '{kpi.id}' has no value for {year}",
                             f"add {year} under values in {Path(kpi.file).name}, or ask for another year")
        value = kpi.value(year)
        if zero is not None and value.amount is not None and value.amount == 0:
            return self._wrap(kpi, str(zero), year)
        if words and value.amount is not None:
            spelled = self.fmt.words(value.amount, capital=bool(capital))
            if spelled is not None:
                return self._wrap(kpi, spelled, year)
        return self._wrap(kpi, self.format_value(kpi, year, unit), year)

    def change(self, kpi_id, from_year=None, to_year=None) -> str:
        """The change of a KPI between two years in words ('increased by 5.2%' / '上升5.2%')."""
        kpi = self._kpi(kpi_id)
        to_year = self._year(to_year)
        from_year = to_year - 1 if from_year is None else int(from_year)
        old, new = kpi.value(from_year), kpi.value(to_year)
        if not old or not new or old.amount is None or new.amount is None:
            raise MacroError(f"KPI '{kpi.id}' needs values for {from_year} and {to_year} to show a change",
                             "add both years' values in the data file")
        return self._wrap(kpi, self.fmt.change(old.amount, new.amount), to_year)

    def kpi_table(self, group, years=None, caption=None) -> str:
        """A KPI table: a group id, or a list of KPI ids."""
        kpis = self._select(group)
        years = [int(y) for y in years] if years else self.data.years
        return render_kpi_table(self, kpis, years, caption)

    def kpi_chart(self, kpis, years=None, title=None) -> str:
        """A bar chart (inline SVG) of KPIs over the years."""
        selected = self._select(kpis)
        years = [int(y) for y in years] if years else self.data.years
        return render_kpi_chart(self, selected, years, title)

    def group_title(self, group_id) -> str:
        """The title of a KPI group in this edition (for headings above its table)."""
        if group_id not in self.data.groups:
            raise MacroError(f"unknown KPI group '{group_id}'", suggest(str(group_id), self.data.groups)
                             or "groups are the `group:` of data/kpis/*.yml")
        return escape_text(self.data.groups[group_id].title[self.edition])

    def materiality_matrix(self) -> str:
        if not self.data.materiality:
            raise MacroError("materiality_matrix() needs data/materiality.yml", "see docs/reference/materiality.md")
        return render_materiality(self, self.data.materiality)

    def _select(self, group_or_ids) -> list[KPI]:
        if isinstance(group_or_ids, str):
            if group_or_ids in self.data.groups:
                return [self.data.kpis[k] for k in self.data.groups[group_or_ids].kpi_ids]
            if group_or_ids in self.data.kpis:
                return [self.data.kpis[group_or_ids]]
            raise MacroError(f"unknown KPI group or id '{group_or_ids}'",
                             suggest(group_or_ids, [*self.data.groups, *self.data.kpis]) or "groups are the `group:` of data/kpis/*.yml")
        return [self._kpi(k) for k in group_or_ids]


def _template_line(exc: BaseException) -> int | None:
    # Jinja rewrites tracebacks so template frames carry the template's own line numbers.
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<template>":
            line = frame.lineno
    return line
