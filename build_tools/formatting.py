"""Locale-aware formatting of report figures, one ``Formatter`` per edition.

Modelled on ``babel.support.Format``: a formatter binds a locale (and the report's
house style for money and units) once, and every figure in both editions goes through it.

>>> from decimal import Decimal
>>> f = Formatter.for_edition("en", money={"scale": 1000000, "decimals": 1, "pattern": "RMB{amount} million"})
>>> f.money(Decimal("947200000"))
'RMB947.2 million'
>>> f.number(Decimal("1075"), 0)
'1,075'
>>> f.change(Decimal("100"), Decimal("105.2"))
'increased by 5.2%'
>>> f.change(Decimal("100"), Decimal("97.4"), style="noun")
'a decrease of 2.6%'
>>> z = Formatter.for_edition("zh-Hant", money={"scale": 1000000, "decimals": 1, "pattern": "人民幣{amount}百萬元"})
>>> z.money(Decimal("947200000"))
'人民幣947.2百萬元'
>>> z.date("2025-04-15")
'2025年4月15日'
"""

from __future__ import annotations

import datetime as dt
import gettext
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import lru_cache
from importlib import resources

import yaml

from babel.dates import format_date
from babel.numbers import format_decimal

from .data import load_units
from .i18n import get_edition


CHANGE_STYLES = ("verb", "noun", "short")


@lru_cache(maxsize=1)
def _number_words() -> dict[str, list[str]]:
    return yaml.safe_load(resources.files("build_tools").joinpath("number_words.yml").read_text("utf-8"))


@lru_cache(maxsize=1)
def _exchanges() -> dict[str, dict]:
    return yaml.safe_load(resources.files("build_tools").joinpath("exchanges.yml").read_text("utf-8"))


class Formatter:
    def __init__(self, edition_code: str, money: dict, units: dict | None = None,
                 translations: gettext.NullTranslations | None = None):
        self.edition = get_edition(edition_code)
        self.locale = self.edition.locale
        self.money_style = money
        self.units = units if units is not None else load_units()
        self._ = (translations or gettext.NullTranslations()).gettext

    @classmethod
    def for_edition(cls, edition_code: str, money: dict, **kwargs) -> "Formatter":
        return cls(edition_code, money, **kwargs)

    # numbers ------------------------------------------------------------------
    def number(self, amount: Decimal, decimals: int = 0) -> str:
        amount = Decimal(amount)
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        # Enough precision for any figure a data file can hold (the default context has 28 digits,
        # and Babel formats in the current context).
        with localcontext(prec=max(28, amount.adjusted() + decimals + 2)):
            amount = amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
            if amount.is_zero():
                amount = abs(amount)  # never print "-0.0"
            return format_decimal(amount, format=pattern, locale=self.locale, decimal_quantization=True)

    def words(self, amount: Decimal, capital: bool = False) -> str | None:
        """A whole number from 0 to 10 in words ('four' / '四'); None for any other number.

        >>> Formatter.for_edition("en", money={}).words(Decimal(4), capital=True)
        'Four'
        """
        if amount != amount.to_integral_value() or not 0 <= amount <= 10:
            return None
        word = _number_words()[self.edition.code][int(amount)]
        return word[:1].upper() + word[1:] if capital else word

    def percent(self, amount: Decimal, decimals: int = 1) -> str:
        return self.number(amount, decimals) + "%"

    def money(self, amount: Decimal, decimals: int | None = None) -> str:
        style = self.money_style
        return style["pattern"].format(amount=self.money_amount(amount, decimals))

    def money_amount(self, amount: Decimal, decimals: int | None = None) -> str:
        """The amount in the report's money scale ('1,234.5'), without the currency pattern."""
        style = self.money_style
        places = style.get("decimals", 1) if decimals is None else decimals
        amount = Decimal(amount)
        with localcontext(prec=max(28, len(amount.as_tuple().digits) + 8)):  # the default 28 digits would round first
            scaled = amount / Decimal(str(style["scale"]))
        return self.number(scaled, places)

    def unit_label(self, unit: str, singular: bool = False) -> str:
        spec = self.units[unit]
        if singular and self.edition.code in spec.get("singular", {}):
            return spec["singular"][self.edition.code]
        return spec["label"][self.edition.code]

    def column_unit(self, unit: str) -> str:
        """The unit as a table's unit column shows it: money in the report's style ('RMB million')."""
        if self.units[unit].get("money"):
            return self.money_style["pattern"].replace("{amount}", "").strip()
        return self.unit_label(unit)

    def quantity(self, amount: Decimal, unit: str, decimals: int = 0, with_unit: bool = True) -> str:
        """A KPI amount in its unit: '1,075 suppliers', '1 supplier', '51.2%', 'RMB947.2 million', '541項'."""
        spec = self.units[unit]
        if spec.get("money"):
            return self.money(amount) if with_unit else self.money_amount(amount)
        text = self.number(amount, decimals)
        # English agrees in number with the figure as printed: "1 case", but "1.0 cases", "0 cases".
        label = self.unit_label(unit, singular=text == "1")
        if not with_unit or not label:
            return text
        # Chinese sets a measure word or unit against the figure (1,208名, 5立方米); English spaces it.
        glue = " " if spec.get("space", True) and self.edition.unit_space else ""
        return f"{text}{glue}{label}"

    def remark(self, value, year: int) -> str | None:
        """The note or reason shown with a KPI's value for ``year`` in this edition, or None."""
        if value.status == "pending":
            return None  # the placeholder in the cell says it
        if value.note or value.reason:
            return (value.note or value.reason)[self.edition.code]
        if value.depends_on:
            return self._("depends on {kpis}, which has no {year} value").format(
                kpis=self._(", ").join(value.depends_on), year=year)
        return None

    def stock_codes(self, codes: list[dict]) -> str:
        """'HKEX: 6855; NASDAQ: AAPG' / '香港聯交所：6855；納斯達克：AAPG'."""
        names = _exchanges()
        parts = []
        for item in codes:
            name = (item.get("name") or names.get(item["exchange"]) or {}).get(self.edition.code, item["exchange"])
            parts.append(self._("{exchange}: {code}").format(exchange=name, code=item["code"]))
        return self._("; ").join(parts)

    # change between years -------------------------------------------------------
    def change(self, old: Decimal, new: Decimal, decimals: int = 1, style: str = "verb") -> str:
        """Relative change in words, in one of three styles, the same rounding for all:

        verb  'increased by 5.2%' / '上升5.2%'    ('remained unchanged' / '維持不變')
        noun  'an increase of 5.2%' / '增加5.2%'  ('no change' / '維持不變')
        short 'up 5.2%' / '升5.2%'                ('unchanged' / '維持不變')
        """
        if style not in CHANGE_STYLES:
            raise ValueError(f"unknown change style '{style}' (choose from {', '.join(CHANGE_STYLES)})")
        old, new = Decimal(old), Decimal(new)
        _ = self._
        # Every wording is a whole msgid (not pieces) so each language can order its own sentence.
        up, down, same = {
            "verb": (_("increased by {percent}%"), _("decreased by {percent}%"), _("remained unchanged")),
            "noun": (_("an increase of {percent}%"), _("a decrease of {percent}%"), _("no change")),
            "short": (_("up {percent}%"), _("down {percent}%"), _("unchanged")),
        }[style]
        if old == 0:
            return _("no comparable figure") if new != 0 else same
        with localcontext(prec=max(28, abs(new.adjusted() - old.adjusted()) + decimals + 4)):
            ratio = (new - old) / abs(old) * 100
        shown = self.number(ratio.copy_abs(), decimals)  # abs() would round to 28 digits outside the context
        if Decimal(shown.replace(",", "")) == 0:
            return same
        return (up if ratio > 0 else down).format(percent=shown)

    # report metadata ---------------------------------------------------------------
    def report_variables(self, meta: dict) -> dict:
        """Every field of data/report.yml as plain text for this edition, by the names chapters use."""
        code = self.edition.code
        company, report = meta["company"], meta["report"]

        def text(mapping):
            return mapping[code] if mapping else ""

        return {
            "company_name": text(company["name"]),
            "company_names": dict(company["name"]),
            "short_name": text(company["short_name"]),
            "short_names": dict(company["short_name"]),
            "incorporation": text(company.get("incorporation")),
            "address": text(company.get("address")),
            "website": company.get("website", ""),
            "stock_codes": self.stock_codes(company["stock_codes"]),
            "report_title": text(report["title"]),
            "short_title": text(report.get("short_title") or report["title"]),
            "year": report["year"],
            "period_start": self.date(report["period_start"]),
            "period_end": self.date(report["period_end"]),
            "approval_date": self.date(report["approved"]),
            "framework": report["framework"],
            "currency": report["currency"],
            "entities": list(report.get("entities", [])),
        }

    # dates ----------------------------------------------------------------------
    def date(self, value: str | dt.date) -> str:
        if value == "pending":  # approval date of a draft not yet approved (data.py warns)
            return self._("[pending]")
        if isinstance(value, str):
            value = dt.date.fromisoformat(value)
        return format_date(value, format="long", locale=self.locale)
