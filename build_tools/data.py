"""Load and validate a report's data files into one ``ReportData``.

``data/report.yml`` holds the report metadata; ``data/kpis/*.yml`` hold the KPIs, one
file per group. Everything is checked (JSON Schema, then the rules a schema cannot
express: units, duplicate ids, formulas, breakdowns, reporting-year values) and every
problem is collected with its file and line before anything renders.
"""

from __future__ import annotations

import ast
import difflib
import json
import math
import operator
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, DivisionByZero, InvalidOperation
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from .errors import DataError, Diagnostics
from .yamlsource import SourceMap, line_for_path, load_yaml

LANGS = ("en", "zh-Hant")


@dataclass(frozen=True)
class Value:
    """One KPI value for one year. ``amount`` is None when not applicable/available."""

    amount: Decimal | None
    status: str = "reported"  # reported | derived | not_applicable | not_available
    note: dict | None = None
    reason: dict | None = None


@dataclass
class KPI:
    id: str
    name: dict
    unit: str
    group: str
    decimals: int = 0
    disclose: list[str] = field(default_factory=list)
    values: dict[int, Value] = field(default_factory=dict)
    formula: str | None = None
    breakdown_of: str | None = None
    source: str | None = None
    boundary: str | None = None
    file: str = ""
    line: int = 0

    def value(self, year: int) -> Value | None:
        return self.values.get(year)


@dataclass
class Group:
    id: str
    title: dict
    kpi_ids: list[str]
    file: str
    line: int = 1


@dataclass
class ReportData:
    meta: dict
    kpis: dict[str, KPI]
    groups: dict[str, Group]
    units: dict[str, dict]
    files: list[Path]
    materiality: dict | None = None
    warnings: Diagnostics = field(default_factory=Diagnostics)

    @property
    def year(self) -> int:
        return int(self.meta["report"]["year"])

    @property
    def years(self) -> list[int]:
        """The reporting year and the two before, oldest first (the KPI tables' columns)."""
        return [self.year - 2, self.year - 1, self.year]

    def kpi(self, kpi_id: str) -> KPI:
        return self.kpis[kpi_id]


@lru_cache(maxsize=None)
def _schema(name: str) -> dict:
    return json.loads(resources.files("build_tools").joinpath("schemas", name).read_text("utf-8"))


@lru_cache(maxsize=None)
def load_units() -> dict[str, dict]:
    return yaml.safe_load(resources.files("build_tools").joinpath("units.yml").read_text("utf-8"))


def suggest(word: str, choices) -> str | None:
    """'did you mean' text for an unknown name, or None."""
    # Compare NFKC-folded, case-folded forms so 'm³' finds 'm3' and 'b5.1' finds 'B5.1'.
    folded = {unicodedata.normalize("NFKC", str(c)).casefold(): c for c in choices}
    close = difflib.get_close_matches(unicodedata.normalize("NFKC", word).casefold(), list(folded), n=1, cutoff=0.6)
    return f"did you mean '{folded[close[0]]}'?" if close else None


def _validate_schema(document, schema_name: str, file: Path, problems: Diagnostics) -> bool:
    validator = jsonschema.Draft202012Validator(
        _schema(schema_name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    ok = True
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        ok = False
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        message = error.message
        if error.validator == "oneOf" and error.absolute_path and "values" in error.absolute_path:
            message = "a value must be a number, {value: N, note: {...}} or {status: not_available|not_applicable, reason: {...}}"
        problems.error(
            "data.schema",
            f"{where}: {message}",
            file=str(file),
            line=line_for_path(document, list(error.absolute_path)),
            hint=f"see the field reference in docs/reference/{schema_name.removesuffix('.schema.json')}.md",
        )
    return ok


def _to_decimal(number) -> Decimal:
    return Decimal(str(number))


def _parse_value(raw) -> Value:
    if isinstance(raw, dict) and "status" in raw:
        return Value(None, raw["status"], reason=dict(raw["reason"]))
    if isinstance(raw, dict):
        return Value(_to_decimal(raw["value"]), note=dict(raw["note"]) if raw.get("note") else None)
    return Value(_to_decimal(raw))


def load_report_data(data_dir: Path) -> ReportData:
    """Load ``data_dir``; raise ``DataError`` with every problem found."""
    problems = Diagnostics()
    data_dir = Path(data_dir)
    report_file = data_dir / "report.yml"
    files = [report_file]
    if not report_file.exists():
        problems.error("data.missing-file", "report metadata not found", file=str(report_file),
                       hint="create data/report.yml (see `esg-report new` for a starter)")
        raise DataError(problems)
    meta = load_yaml(report_file)
    _validate_schema(meta, "report.schema.json", report_file, problems)

    units = load_units()
    kpis: dict[str, KPI] = {}
    groups: dict[str, Group] = {}
    for kpi_file in sorted((data_dir / "kpis").glob("*.yml")):
        files.append(kpi_file)
        document = load_yaml(kpi_file)
        if not _validate_schema(document, "kpis.schema.json", kpi_file, problems):
            continue
        group_id = document["group"]
        if group_id in groups:
            problems.error("data.duplicate-group", f"KPI group '{group_id}' is also defined in {groups[group_id].file}",
                           file=str(kpi_file), line=document.line_of("group"), hint="give each group file its own `group` id")
            continue
        group = Group(group_id, dict(document["title"]), [], str(kpi_file), document.line)
        groups[group_id] = group
        for index, raw in enumerate(document["kpis"]):
            line = document["kpis"].line_of(index)
            if raw["id"] in kpis:
                other = kpis[raw["id"]]
                problems.error("data.duplicate-id", f"KPI '{raw['id']}' is defined twice (first in {other.file}:{other.line})",
                               file=str(kpi_file), line=line, hint="KPI ids must be unique across data/kpis/")
                continue
            kpi = KPI(
                id=raw["id"], name=dict(raw["name"]), unit=raw["unit"], group=group_id,
                decimals=int(raw.get("decimals", 0)), disclose=list(raw.get("disclose", [])),
                formula=raw.get("formula"), breakdown_of=raw.get("breakdown_of"),
                source=raw.get("source"), boundary=raw.get("boundary"), file=str(kpi_file), line=line,
            )
            values = raw.get("values") or {}
            for year, raw_value in values.items():
                # The schema's year pattern only sees string keys; YAML makes `2024:` an int.
                if isinstance(year, bool) or not re.fullmatch(r"(19|20)[0-9]{2}", str(year)):
                    problems.error("data.schema", f"kpis/{index}/values: {year!r} is not a year", file=str(kpi_file),
                                   line=values.line_of(year), hint="years are written 2024 (1900 to 2099)")
                    continue
                if int(year) in kpi.values:
                    problems.error("data.duplicate-key", f"KPI '{kpi.id}': year {year} is given twice", file=str(kpi_file),
                                   line=values.line_of(year), hint="remove one of the two entries")
                    continue
                value = _parse_value(raw_value)
                if value.amount is not None and not value.amount.is_finite():
                    problems.error("data.not-a-number", f"KPI '{kpi.id}': the {year} value is not a finite number",
                                   file=str(kpi_file), line=values.line_of(year),
                                   hint="write the figure as digits (.nan and .inf are not figures)")
                    continue
                kpi.values[int(year)] = value
            if kpi.unit not in units:
                problems.error("data.unknown-unit", f"KPI '{kpi.id}': unknown unit '{kpi.unit}'", file=kpi.file,
                               line=raw.line_of("unit"), hint=suggest(kpi.unit, units) or "units are listed in build_tools/units.yml")
            kpis[kpi.id] = kpi
            group.kpi_ids.append(kpi.id)

    if not problems.errors:
        _compute_formulas(kpis, problems)
        _check_reporting_year(kpis, int(meta["report"]["year"]), problems)
        _check_breakdowns(kpis, problems)
        _check_year_on_year(kpis, float(meta["report"].get("yoy_threshold", 0.5)), problems)
    materiality = None
    materiality_file = data_dir / "materiality.yml"
    if materiality_file.exists():
        files.append(materiality_file)
        materiality = load_yaml(materiality_file)
        _validate_schema(materiality, "materiality.schema.json", materiality_file, problems)
    if problems.errors:
        raise DataError(problems)
    warnings = Diagnostics()
    for item in problems.warnings:
        warnings.add(item)
    return ReportData(meta=meta, kpis=kpis, groups=groups, units=units, files=files, materiality=materiality,
                      warnings=warnings)


# --- derived KPIs -----------------------------------------------------------------

_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _formula_names(kpi: KPI, problems: Diagnostics) -> tuple[ast.expr | None, list[str]]:
    # A tiny arithmetic language parsed with ``ast`` rather than eval(): data files are
    # edited by many hands and must never execute code.
    try:
        tree = ast.parse(kpi.formula, mode="eval").body
    except (SyntaxError, RecursionError) as exc:
        reason = getattr(exc, "msg", None) or "too deeply nested"
        problems.error("data.formula-syntax", f"KPI '{kpi.id}': formula '{kpi.formula}' is not valid ({reason})",
                       file=kpi.file, line=kpi.line, hint="use KPI ids, numbers, + - * / and parentheses")
        return None, []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.Constant) and not _is_number(node.value):
            problems.error("data.formula-syntax", f"KPI '{kpi.id}': {ast.unparse(node)} is not a number",
                           file=kpi.file, line=kpi.line, hint="use KPI ids, numbers, + - * / and parentheses")
            return None, []
        elif not isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Constant, ast.USub, ast.Load, *_OPERATORS)):
            problems.error("data.formula-syntax", f"KPI '{kpi.id}': '{ast.unparse(node)}' is not allowed in a formula",
                           file=kpi.file, line=kpi.line, hint="use KPI ids, numbers, + - * / and parentheses")
            return None, []
    return tree, names


def _is_number(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def _evaluate(node: ast.expr, values: dict[str, Decimal]) -> Decimal:
    if isinstance(node, ast.Constant):
        return _to_decimal(node.value)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        return -_evaluate(node.operand, values)
    return _OPERATORS[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))


def _compute_formulas(kpis: dict[str, KPI], problems: Diagnostics) -> None:
    parsed: dict[str, tuple[ast.expr, list[str]]] = {}
    for kpi in kpis.values():
        if not kpi.formula:
            continue
        tree, names = _formula_names(kpi, problems)
        if tree is None:
            continue
        unknown = [n for n in names if n not in kpis]
        for name in unknown:
            problems.error("data.formula-unknown", f"KPI '{kpi.id}': formula names unknown KPI '{name}'",
                           file=kpi.file, line=kpi.line, hint=suggest(name, kpis) or "define that KPI in data/kpis/")
        if not unknown:
            parsed[kpi.id] = (tree, names)

    order: list[str] = []
    state: dict[str, str] = {}

    def visit(kpi_id: str, trail: list[str]) -> bool:
        if state.get(kpi_id) == "done" or kpi_id not in parsed:
            return True
        if state.get(kpi_id) == "visiting":
            cycle = " -> ".join(trail[trail.index(kpi_id):] + [kpi_id])
            kpi = kpis[kpi_id]
            problems.error("data.formula-cycle", f"formulas form a cycle: {cycle}", file=kpi.file, line=kpi.line,
                           hint="a derived KPI cannot depend on itself")
            return False
        state[kpi_id] = "visiting"
        ok = all(visit(dep, trail + [kpi_id]) for dep in parsed[kpi_id][1])
        state[kpi_id] = "done"
        order.append(kpi_id)
        return ok

    for kpi_id in parsed:
        if not visit(kpi_id, []):
            return

    for kpi_id in order:
        kpi, (tree, names) = kpis[kpi_id], parsed[kpi_id]
        years = set().union(*(kpis[n].values.keys() for n in names)) if names else set()
        for year in sorted(years):
            inputs = {n: kpis[n].values.get(year) for n in names}
            missing = [n for n, v in inputs.items() if v is None or v.amount is None]
            if missing:
                kpi.values[year] = Value(None, "not_available", reason={
                    "en": f"depends on {', '.join(missing)}, which has no {year} value",
                    "zh-Hant": f"所依據的{'、'.join(missing)}沒有{year}年數值"})
                continue
            try:
                kpi.values[year] = Value(_evaluate(tree, {n: v.amount for n, v in inputs.items()}), "derived")
            except (ZeroDivisionError, DivisionByZero, InvalidOperation):
                problems.error("data.division-by-zero", f"KPI '{kpi.id}': formula divides by zero for {year}",
                               file=kpi.file, line=kpi.line,
                               hint="check the denominator's value, or mark this year not_available with a reason")
            except RecursionError:
                problems.error("data.formula-syntax", f"KPI '{kpi.id}': formula is too long to compute",
                               file=kpi.file, line=kpi.line, hint="split it into intermediate derived KPIs")
                break


def _check_reporting_year(kpis: dict[str, KPI], year: int, problems: Diagnostics) -> None:
    for kpi in kpis.values():
        if kpi.formula:
            continue
        if year not in kpi.values:
            problems.error("data.missing-value", f"KPI '{kpi.id}' has no value for the reporting year {year}",
                           file=kpi.file, line=kpi.line,
                           hint=f"add `{year}: <number>` under values, or `{year}: {{status: not_available, reason: {{en: ..., zh-Hant: ...}}}}`")


def _check_year_on_year(kpis: dict[str, KPI], threshold: float, problems: Diagnostics) -> None:
    """Warn when a value changes by more than ``threshold`` (0.5 = 50%) from the year before
    without a note: either a data-entry slip or a change readers need explained."""
    for kpi in kpis.values():
        if kpi.formula:
            continue
        years = sorted(kpi.values)
        for before, after in zip(years, years[1:]):
            old, new = kpi.values[before], kpi.values[after]
            if after != before + 1 or old.amount in (None, 0) or new.amount is None or new.note:
                continue
            change = (new.amount - old.amount) / abs(old.amount)
            if abs(change) > Decimal(str(threshold)):
                problems.warning("data.yoy-change",
                                 f"KPI '{kpi.id}' changes by {change * 100:+.0f}% from {before} to {after} with no note",
                                 file=kpi.file, line=kpi.line,
                                 hint=f"check the value, or explain it: `{after}: {{value: {new.amount}, note: {{en: ..., zh-Hant: ...}}}}`")


def _check_breakdowns(kpis: dict[str, KPI], problems: Diagnostics) -> None:
    parts: dict[str, list[KPI]] = {}
    for kpi in kpis.values():
        if kpi.breakdown_of:
            if kpi.breakdown_of not in kpis:
                problems.error("data.breakdown-unknown", f"KPI '{kpi.id}' is a breakdown of unknown KPI '{kpi.breakdown_of}'",
                               file=kpi.file, line=kpi.line, hint=suggest(kpi.breakdown_of, kpis) or "name the total's KPI id")
                continue
            parts.setdefault(kpi.breakdown_of, []).append(kpi)
    for total_id, members in parts.items():
        total = kpis[total_id]
        for year, total_value in total.values.items():
            amounts = [m.values.get(year) for m in members]
            if total_value.amount is None or any(a is None or a.amount is None for a in amounts):
                continue
            added = sum(a.amount for a in amounts)
            # A part shown with decimals may be rounded by half a unit of its last decimal;
            # whole numbers (headcounts, suppliers) must add up exactly.
            tolerance = sum(_half_unit(m.decimals) for m in members) + _half_unit(total.decimals)
            if abs(added - total_value.amount) > tolerance:
                problems.error("data.breakdown-sum",
                               f"the parts of '{total_id}' add up to {added} for {year}, but the total is {total_value.amount}",
                               file=total.file, line=total.line,
                               hint=f"check the values of {', '.join(m.id for m in members)}")


def _half_unit(decimals: int) -> Decimal:
    return Decimal(5) / Decimal(10) ** (decimals + 1) if decimals > 0 else Decimal(0)
