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
    ("en", "persons", "0.5", 0, "1 person"),  # half up, not banker's rounding; English agrees in number
    ("en", "cases", "27", 0, "27 cases"),
    ("en", "cases", "1", 0, "1 case"),
    ("en", "cases", "0", 0, "0 cases"),
    ("en", "hours", "1", 1, "1.0 hours"),
    ("en", "employees", "1208", 0, "1,208 employees"),
    ("zh-Hant", "employees", "1208", 0, "1,208名"),
    ("zh-Hant", "kg", "12.5", 1, "12.5公斤"),
    ("zh-Hant", "litres", "300", 0, "300公升"),
    ("en", "litres", "1", 0, "1 litre"),
    ("zh-Hant", "GJ", "42", 0, "42吉焦耳"),
])
def test_quantities(edition, unit, amount, decimals, expected):
    assert formatter(edition).quantity(Decimal(amount), unit, decimals) == expected


@pytest.mark.parametrize("edition, old, new, expected", [
    ("en", "100", "105.2", "increased by 5.2%"),
    ("zh-Hant", "100", "105.2", "上升5.2%"),
    ("en", "200", "150", "decreased by 25.0%"),
    ("zh-Hant", "200", "150", "下降25.0%"),
    ("en", "80", "80", "remained unchanged"),
    ("zh-Hant", "80", "80", "維持不變"),
    ("zh-Hant", "0", "5", "無可比較數字"),
])
def test_change_in_words(edition, old, new, expected):
    assert formatter(edition).change(Decimal(old), Decimal(new)) == expected


# 12,113.9 -> 11,799.3 is -2.597...%: every style rounds it the same way, to 2.6%.
@pytest.mark.parametrize("style, edition, up, down, same", [
    ("verb", "en", "increased by 5.2%", "decreased by 2.6%", "remained unchanged"),
    ("verb", "zh-Hant", "上升5.2%", "下降2.6%", "維持不變"),
    ("noun", "en", "an increase of 5.2%", "a decrease of 2.6%", "no change"),
    ("noun", "zh-Hant", "增加5.2%", "減少2.6%", "維持不變"),
    ("short", "en", "up 5.2%", "down 2.6%", "unchanged"),
    ("short", "zh-Hant", "升5.2%", "降2.6%", "維持不變"),
])
def test_change_styles(style, edition, up, down, same):
    fmt = formatter(edition)
    assert fmt.change(Decimal("100"), Decimal("105.2"), style=style) == up
    assert fmt.change(Decimal("12113.9"), Decimal("11799.3"), style=style) == down
    assert fmt.change(Decimal("80"), Decimal("80.01"), style=style) == same  # +0.0125% shows as 0.0


def test_change_style_must_be_known():
    with pytest.raises(ValueError, match="unknown change style 'passive'"):
        formatter("en").change(Decimal(1), Decimal(2), style="passive")


@pytest.mark.parametrize("edition, expected", [
    ("en", "HKEX: 6855; NASDAQ: AAPG; TWSE: 2330"),
    ("zh-Hant", "香港聯交所：6855；納斯達克：AAPG；臺灣證券交易所：2330"),
])
def test_stock_codes_per_edition(edition, expected):
    codes = [{"exchange": "HKEX", "code": "6855"}, {"exchange": "NASDAQ", "code": "AAPG"},
             {"exchange": "TWSE", "code": "2330", "name": {"en": "TWSE", "zh-Hant": "臺灣證券交易所"}}]
    assert formatter(edition).stock_codes(codes) == expected


@pytest.mark.parametrize("edition, expected", [("en", "April 15, 2025"), ("zh-Hant", "2025年4月15日")])
def test_dates(edition, expected):
    assert formatter(edition).date("2025-04-15") == expected
