"""Property-based tests: any KPI file gives data or a DataError; formatting round-trips.

Hypothesis writes arbitrary KPI documents (odd ids, units, numbers, formulas, notes) into a copy
of the starter report's data/kpis/; ``load_report_data`` must load them or explain what is wrong
with a ``DataError`` -- a toolchain crash (exit 2) is never the right answer to bad data.
"""

import re
import shutil
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from build_tools.data import load_report_data, load_units
from build_tools.i18n import EDITIONS as EDITION_REGISTRY
from build_tools.errors import DataError
from build_tools.formatting import Formatter
from build_tools.i18n import EDITIONS, load_translations
from build_tools.project import TOOLCHAIN_ROOT

UNIT_SPECS = yaml.safe_load((TOOLCHAIN_ROOT / "build_tools" / "units.yml").read_text("utf-8"))  # the input, not the loader
UNITS = sorted(load_units())
STARTER_IDS = ["ghg_scope1_2", "employees_total", "suppliers_total", "nox_emissions", "water_consumption"]
POOL = ["a", "b", "total", "part_one", "part_two", *STARTER_IDS]  # few names, so formulas and breakdowns connect
MONEY = {"en": {"scale": 1000000, "decimals": 1, "pattern": "RMB{amount} million"},
         "zh-Hant": {"scale": 1000000, "decimals": 1, "pattern": "人民幣{amount}百萬元"}}
TRANSLATIONS = {code: load_translations([TOOLCHAIN_ROOT / "translations"], EDITIONS[code]) for code in MONEY}
FORMATTERS = [Formatter.for_edition(code, money=MONEY[code], translations=TRANSLATIONS[code]) for code in MONEY]

# --- strategies ----------------------------------------------------------------------------

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)  # no lone surrogates: files are UTF-8
ids = st.one_of(st.sampled_from(POOL), st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), texts, st.integers())
bilingual = st.one_of(
    st.fixed_dictionaries({"en": texts, "zh-Hant": texts}),
    st.fixed_dictionaries({"en": texts}),
    texts, st.none(),
)
numbers = st.one_of(
    st.integers(-1000, 100000),
    st.integers(-(10**300), 10**300),  # huge, but below Python's 4300-digit limit (see the xfail below)
    st.floats(allow_nan=True, allow_infinity=True),  # written as .nan, .inf, 1.0e+300 ...
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(float),
    st.sampled_from(["NaN", "nan", "-inf", "1e5", "1,075", "12.5%", "0x1F", "-0", "", "947200000"]),  # strings
    st.booleans(), st.none(),
)
years = st.one_of(st.sampled_from([2022, 2023, 2024]), st.integers(1890, 2110), st.sampled_from(["2024", "20x4", "1899"]),
                  st.floats(2000, 2030), st.none(), st.booleans())
values = st.one_of(
    numbers,
    st.fixed_dictionaries({"value": numbers}, optional={"note": bilingual}),
    st.fixed_dictionaries({"status": st.one_of(st.sampled_from(["not_available", "not_applicable", "reported", "derived"]), texts)},
                          optional={"reason": bilingual}),
    st.lists(numbers, max_size=2),
)
atoms = st.one_of(
    st.sampled_from(POOL), st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True),
    st.integers(0, 10**30).map(str), st.floats(0, 1e6).map(repr),
    st.sampled_from(["0", "0.0", "1e999", "'x'", "None", "True", "1j", "...", "x.y", "a[0]", "f(1)", "__import__('os')"]),
)
formulas = st.one_of(
    st.recursive(atoms, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**", "%", "//", " and ", " < "]), inner)
          .map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
        inner.map(lambda f: f"-{f}"), inner.map(lambda f: f"+{f}")), max_leaves=10),
    texts,
)
# Well-formed documents (so that loading reaches formulas, breakdowns and the reporting year)
# whose numbers, years and formulas are still arbitrary; then wild ones, then junk.
names = st.fixed_dictionaries({"en": texts.filter(bool), "zh-Hant": texts.filter(bool)})
schema_numbers = st.one_of(
    st.integers(-1000, 100000), st.integers(-(10**300), 10**300),
    st.floats(allow_nan=True, allow_infinity=True), st.decimals(allow_nan=False, allow_infinity=False, places=3).map(float),
)
schema_values = st.one_of(
    schema_numbers,
    st.fixed_dictionaries({"value": schema_numbers}, optional={"note": names}),
    st.fixed_dictionaries({"status": st.sampled_from(["not_available", "not_applicable"]), "reason": names}),
)
good_kpi = st.fixed_dictionaries(
    {"id": st.sampled_from(["a", "b", "total", "part_one", "part_two"]) | st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
     "name": names, "unit": st.sampled_from(UNITS)},
    optional={"decimals": st.integers(0, 6) | st.sampled_from([2.0, 0.0]), "disclose": st.lists(texts, max_size=2),
              "source": texts, "formula": formulas, "breakdown_of": st.sampled_from(POOL),
              "values": st.dictionaries(st.sampled_from([2022, 2023, 2024]), schema_values, max_size=3)},
)
wild_kpi = st.fixed_dictionaries(
    {"id": ids, "name": bilingual, "unit": st.sampled_from(UNITS) | texts},
    optional={"decimals": st.integers(-2, 8) | st.floats(-1, 8) | texts | st.booleans(),
              "disclose": st.lists(texts, max_size=2) | texts, "source": texts | st.integers(), "boundary": texts,
              "formula": formulas | st.integers(), "breakdown_of": ids, "values": st.dictionaries(years, values, max_size=3) | numbers,
              "extra": texts},
)
groups = st.sampled_from(["fuzz", "other", "example"]) | st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
good_document = st.fixed_dictionaries(
    {"group": groups, "title": names, "kpis": st.lists(good_kpi, max_size=5, unique_by=lambda kpi: kpi["id"])})
wild_document = st.fixed_dictionaries(
    {"group": groups | texts, "title": bilingual, "kpis": st.lists(st.one_of(good_kpi, wild_kpi), max_size=5)},
    optional={"extra": texts})


def _with_odd_year(args):
    document, year, value = args
    if document["kpis"]:
        document["kpis"][0].setdefault("values", {})[year] = value
    return document


odd_year_document = st.tuples(good_document, years, schema_values).map(_with_odd_year)
documents = st.one_of(*[good_document] * 4, odd_year_document, wild_document,
                      st.one_of(st.lists(numbers, max_size=2), texts, st.none()))


@pytest.fixture(scope="module")
def fuzz_report(starter_template, tmp_path_factory) -> Path:
    """One copy of the starter for all examples; each example writes and removes its own files."""
    target = tmp_path_factory.mktemp("fuzz") / "report"
    shutil.copytree(starter_template, target)
    return target


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(docs=st.lists(documents, min_size=1, max_size=2))
def test_any_kpi_file_loads_or_raises_data_error(fuzz_report, docs):
    kpi_dir = fuzz_report / "data" / "kpis"
    written = []
    try:
        for number, doc in enumerate(docs):
            path = kpi_dir / f"fuzz{number}.yml"
            path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
            written.append(path)
        try:
            data = load_report_data(fuzz_report / "data")
        except DataError as exc:
            assert exc.diagnostics.errors, "a DataError carries at least one error"
            event(f"DataError {exc.diagnostics.errors[0].code}")
            return
        event("loaded")
        for kpi in data.kpis.values():
            assert isinstance(kpi.decimals, int)
            for year, value in kpi.values.items():
                assert 1900 <= year <= 2099
                assert value.amount is None or value.amount.is_finite(), (kpi.id, year, value)
    finally:
        for path in written:
            path.unlink()


# Inputs that once crashed the YAML reader instead of giving a located error.
KNOWN_CRASHES = {
    "control character": 'group: x\ntitle: {en: "A\x07", zh-Hant: 甲}\nkpis: []\n',
    "integer over 4300 digits": "group: x\ntitle: {en: A, zh-Hant: 甲}\nkpis:\n  - {id: a, name: {en: A, zh-Hant: 甲}, "
                                "unit: t, values: {2024: " + "9" * 4301 + "}}\n",
    "unhashable key": "group: x\ntitle: {en: A, zh-Hant: 甲}\nkpis: []\n? [1]\n: 2\n",
}


@pytest.mark.parametrize("text", KNOWN_CRASHES.values(), ids=KNOWN_CRASHES.keys())
def test_known_yaml_crashes_become_data_errors(starter, text):
    (starter / "data" / "kpis" / "bad.yml").write_text(text, encoding="utf-8")
    with pytest.raises(DataError):
        load_report_data(starter / "data")


# --- formatting ------------------------------------------------------------------------------

NUMBER = r"-?\d{1,3}(?:,\d{3})*(?:\.\d+)?"  # grouped by thousands, '.' for decimals in both locales


def parse(text: str) -> Decimal:
    """A formatted number read back."""
    assert re.fullmatch(NUMBER, text), text
    return Decimal(text.replace(",", ""))


def rounded(amount: Decimal, decimals: int) -> Decimal:
    """What a report shows: half up to ``decimals`` places, computed exactly."""
    with localcontext(prec=max(28, amount.adjusted() + decimals + 4)):
        return amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def shown_decimals(text: str) -> int:
    return len(text.partition(".")[2])


def _check_quantity(formatter: Formatter, amount: Decimal, unit: str, decimals: int) -> None:
    spec, edition = UNIT_SPECS[unit], formatter.edition.code
    bare, full = formatter.quantity(amount, unit, decimals, with_unit=False), formatter.quantity(amount, unit, decimals)
    if spec.get("money"):  # the report's money style: scale, places and pattern from report.yml
        style = MONEY[edition]
        before, _, after = style["pattern"].partition("{amount}")
        assert full.startswith(before) and full.endswith(after), full
        assert full[len(before):len(full) - len(after)] == bare
        decimals = style["decimals"]
        with localcontext(prec=max(28, amount.adjusted() + 8)):
            amount = amount / Decimal(style["scale"])
    else:
        # English agrees in number with the figure as printed ("1 case", "1.0 cases").
        label = (spec.get("singular") or {}).get(edition) if bare == "1" else None
        label = label or spec["label"][edition]
        glue = " " if spec.get("space", True) and EDITION_REGISTRY[edition].unit_space and label else ""
        assert full == bare + glue + label
    assert parse(bare) == rounded(amount, decimals), (amount, decimals, bare)
    assert shown_decimals(bare) == decimals
    assert bare.startswith("-") == (rounded(amount, decimals) < 0)  # never "-0.0"


def _check_change(formatter: Formatter, old: Decimal, new: Decimal) -> None:
    _ = TRANSLATIONS[formatter.edition.code].gettext
    text = formatter.change(old, new)
    if old == 0:
        assert text == _("remained unchanged" if new == 0 else "no comparable figure")  # the verb style, the default
        return
    with localcontext(prec=max(28, abs(new.adjusted() - old.adjusted()) + 60)):
        percent = rounded(abs(new - old) / abs(old) * 100, 1)
    if percent == 0:  # a change too small to show, new == old included
        assert text == _("remained unchanged"), (old, new, text)
        return
    direction = _("increased by {percent}%" if new > old else "decreased by {percent}%")  # the sign, in words
    before, _, after = direction.partition("{percent}")
    assert text.startswith(before) and text.endswith(after), (old, new, text)
    assert parse(text[len(before):len(text) - len(after)]) == percent, (old, new, text)


def _format_all(old: Decimal, new: Decimal, unit: str, decimals: int) -> None:
    for formatter in FORMATTERS:
        for amount in (old, new):
            _check_quantity(formatter, amount, unit, decimals)
        _check_change(formatter, old, new)


# The figures a report holds: below 10^15 with at most 6 decimal places (what `import` accepts
# and a KPI's `decimals` can show).
report_figures = st.decimals(min_value=Decimal(-(10**15)), max_value=Decimal(10**15), places=6,
                             allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(old=report_figures, new=report_figures, unit=st.sampled_from(UNITS), decimals=st.integers(0, 6))
@example(old=Decimal("0.000001"), new=Decimal(10**15), unit="%", decimals=6)
@example(old=Decimal("-5"), new=Decimal("0"), unit="RMB", decimals=0)
def test_formatting_round_trips_on_report_figures(old, new, unit, decimals):
    _format_all(old, new, unit, decimals)


@settings(max_examples=200, deadline=None)
@given(old=st.decimals(allow_nan=False, allow_infinity=False), new=st.decimals(allow_nan=False, allow_infinity=False),
       unit=st.sampled_from(UNITS), decimals=st.integers(0, 6))
@example(old=Decimal("1e-30"), new=Decimal("1e30"), unit="t", decimals=2)
# 30 digits: scaled in the default 28-digit context, the amount was rounded (half even) before it was shown
@example(old=Decimal("1794140879020316745871273958.05"), new=Decimal(0), unit="RMB", decimals=1)
def test_formatting_round_trips_on_arbitrary_decimals(old, new, unit, decimals):
    _format_all(old, new, unit, decimals)
