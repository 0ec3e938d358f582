"""formatting.py: the same figure in each edition's conventions (Babel/CLDR plus house style)."""

from decimal import Decimal

import pytest

from build_tools.formatting import Formatter
from build_tools.i18n import EDITIONS, load_translations
from build_tools.project import TOOLCHAIN_ROOT

MONEY = {
    "en": {"scale": 1000000, "decimals": 1, "pattern": "RMB{amount} million"},
    "zh-Hant": {"scale": 1000000, "decimals": 1, "pattern": "人民幣{amount}百萬元"},
}


def formatter(edition: str, money=None) -> Formatter:
    translations = load_translations([TOOLCHAIN_ROOT / "translations"], EDITIONS[edition])
    return Formatter(edition, money or MONEY[edition], translations=translations)


@pytest.mark.parametrize("edition, expected", [
    ("en", "RMB947.2 million"), ("zh-Hant", "人民幣947.2百萬元")])
def test_money_in_house_style(edition, expected):
    assert formatter(edition).money(Decimal("947200000")) == expected


def test_money_in_hundred_millions():
    fmt = formatter("zh-Hant", {"scale": 100000000, "decimals": 2, "pattern": "人民幣{amount}億元"})
    assert fmt.money(Decimal("947200000")) == "人民幣9.47億元"


@pytest.mark.parametrize("edition, unit, amount, decimals, expected", [
    ("en", "suppliers", "1075", 0, "1,075 suppliers"),
    ("zh-Hant", "suppliers", "1075", 0, "1,075家"),
    ("en", "tCO2e", "51012.456", 1, "51,012.5 tCO₂e"),
    ("zh-Hant", "tCO2e", "51012.456", 1, "51,012.5噸二氧化碳當量"),
    ("en", "m3", "61000", 0, "61,000 m³"),
    ("zh-Hant", "m3", "61000", 0, "61,000立方米"),
    ("zh-Hant", "kWh", "1200", 0, "1,200千瓦時"),
    ("zh-Hant", "MWh", "7730.8", 1, "7,730.8兆瓦時"),
    ("en", "%", "99.5", 1, "99.5%"),
    ("en", "hours", "8.75", 2, "8.75 hours"),
    ("zh-Hant", "hours", "8.75", 2, "8.75小時"),
    ("en", "count", "16", 0, "16"),
    ("en", "persons", "0.5", 0, "1 persons"),  # half up, not banker's rounding
])
def test_quantities(edition, unit, amount, decimals, expected):
    assert formatter(edition).quantity(Decimal(amount), unit, decimals) == expected


@pytest.mark.parametrize("edition, old, new, expected", [
    ("en", "100", "105.2", "increased by 5.2%"),
    ("zh-Hant", "100", "105.2", "上升5.2%"),
    ("en", "200", "150", "decreased by 25.0%"),
    ("zh-Hant", "200", "150", "下降25.0%"),
    ("en", "80", "80", "no change"),
    ("zh-Hant", "80", "80", "維持不變"),
    ("zh-Hant", "0", "5", "無可比較數字"),
])
def test_change_in_words(edition, old, new, expected):
    assert formatter(edition).change(Decimal(old), Decimal(new)) == expected


@pytest.mark.parametrize("edition, expected", [("en", "April 15, 2025"), ("zh-Hant", "2025年4月15日")])
def test_dates(edition, expected):
    assert formatter(edition).date("2025-04-15") == expected
