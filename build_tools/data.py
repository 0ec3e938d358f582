"""Load and validate a report's data files into one ``ReportData``.

``data/report.yml`` holds the report metadata; ``data/kpis/*.yml`` hold the KPIs, one
file per group. Everything is checked (JSON Schema, then the rules a schema cannot
express: units, duplicate ids, formulas, breakdowns, reporting-year values) and every
problem is collected with its file and line before anything renders.
"""

from __future__ import annotations

import ast
import datetime as dt
import difflib
import graphlib
import json
import math
import operator
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, DivisionByZero, InvalidOperation
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import jsonschema
import yaml

from .brand import check_brand
from .errors import DataError, Diagnostics
from .yamlsource import line_for_path, load_yaml



@dataclass(frozen=True)
class Value:
    """One KPI value for one year. ``amount`` is None when not applicable/available.

    A derived value whose inputs lack the year has no ``reason`` of its own: ``depends_on``
    names the inputs, and the formatter words the reason in each edition's catalog.
    """

    amount: Decimal | None
    status: str = "reported"  # reported | derived | not_applicable | not_available | pending
    note: dict | None = None
    reason: dict | None = None
    depends_on: tuple[str, ...] = ()


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
    breakdowns: dict[str, list[str]] = field(default_factory=dict)  # name -> part ids, declared on a total
    min: Decimal | None = None
    source: str | None = None
    owner: str | None = None  # asked for the figure each year; `responsible` falls back to source
    boundary: str | None = None
    assured: bool = False  # independently assured (trace.py, tables.py)
    file: str = ""
    line: int = 0
    value_lines: dict[int, int] = field(default_factory=dict)  # year -> line of its value
    breakdown_lines: dict[str, int] = field(default_factory=dict)  # breakdown name -> line

    def value(self, year: int) -> Value | None:
        return self.values.get(year)

    @property
    def responsible(self) -> str | None:
        """Who is asked for pending figures: `owner:`, else `source:` (the department that provides them)."""
        return self.owner or self.source


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

    @cached_property
    def _breakdown_map(self) -> dict[str, dict[str | None, list[str]]]:
        # Derived once: the KPIs do not change after loading, and every KPI table asks.
        return _breakdowns(self.kpis)

    @cached_property
    def _parents(self) -> dict[str, tuple[str, str | None]]:
        parents: dict[str, tuple[str, str | None]] = {}
        for total_id, named in self._breakdown_map.items():
            for name, part_ids in named.items():
                for part_id in part_ids:
                    parents.setdefault(part_id, (total_id, name))
        return parents

    def breakdowns(self, total_id: str) -> dict[str | None, list[str]]:
        """The breakdowns of a total: name -> part ids (None names the one declared by `breakdown_of`)."""
        return self._breakdown_map.get(total_id, {})

    def outline(self, kpi_ids: list[str]) -> list[tuple[str, int]]:
        """A table's KPIs with the depth of each row: the parts of a total that is in the table come
        right under it (depth 1, their parts at 2 ...), breakdown by breakdown in declared order;
        everything else keeps the writer's order at depth 0."""
        selected = list(dict.fromkeys(kpi_ids))
        chosen = set(selected)
        parents = {k: self.parent_of(k) for k in selected}
        rows: list[tuple[str, int]] = []
        placed: set[str] = set()

        def place(kpi_id: str, depth: int) -> None:
            placed.add(kpi_id)
            rows.append((kpi_id, depth))
            for part_ids in self.breakdowns(kpi_id).values():
                for part_id in part_ids:
                    if part_id in chosen and part_id not in placed and parents[part_id][0] == kpi_id:
                        place(part_id, depth + 1)

        for kpi_id in selected:
            if kpi_id not in placed and not (parents[kpi_id] and parents[kpi_id][0] in chosen):
                place(kpi_id, 0)
        for kpi_id in selected:  # parts of totals that are themselves parts in a loop
            if kpi_id not in placed:
                place(kpi_id, 0)
        return rows

    def parent_of(self, kpi_id: str) -> tuple[str, str | None] | None:
        """The total a KPI is a part of, and the breakdown's name (None for `breakdown_of`)."""
        return self._parents.get(kpi_id)


@lru_cache(maxsize=None)
def schema(name: str) -> dict:
    """A JSON schema of build_tools/schemas/ (shared: not to be changed)."""
    return json.loads(resources.files("build_tools").joinpath("schemas", name).read_text("utf-8"))


@lru_cache(maxsize=None)
def _builtin_units() -> MappingProxyType:
    units = yaml.safe_load(resources.files("build_tools").joinpath("units.yml").read_text("utf-8"))
    # Read-only: one cached mapping is shared by every build in the process.
    return MappingProxyType({name: MappingProxyType(spec) for name, spec in units.items()})


def load_units(data_dir: Path | None = None, problems: Diagnostics | None = None) -> dict[str, dict]:
    """The built-in units, plus a report's own from ``data_dir/units.yml`` when given.

    A report's unit may not redefine a built-in one (its meaning would differ between
    reports); problems are added to ``problems`` with their file and line.
    """
    units = {name: dict(spec) for name, spec in _builtin_units().items()}
    path = Path(data_dir) / "units.yml" if data_dir is not None else None
    if path is None or not path.exists():
        return units
    problems = problems if problems is not None else Diagnostics()
    document = load_yaml(path)
    if document is None:
        return units
    if not _validate_schema(document, "units.schema.json", path, problems):
        return units
    for name, spec in document.items():
        name = str(name)
        if name in units:
            problems.error("data.unit-clash", f"unit '{name}' is already a built-in unit",
                           file=str(path), line=document.line_of(name),
                           hint=f"use the built-in '{name}' (remove this entry), or give your unit another name")
            continue
        units[name] = spec
    return units


def suggest(word: str, choices) -> str | None:
    """'did you mean' text for an unknown name, or None."""
    # Compare NFKC-folded, case-folded forms so 'm³' finds 'm3' and 'b5.1' finds 'B5.1'.
    folded = {unicodedata.normalize("NFKC", str(c)).casefold(): c for c in choices}
    close = difflib.get_close_matches(unicodedata.normalize("NFKC", word).casefold(), list(folded), n=1, cutoff=0.6)
    return f"did you mean '{folded[close[0]]}'?" if close else None


def _validate_schema(document, schema_name: str, file: Path, problems: Diagnostics) -> bool:
    validator = jsonschema.Draft202012Validator(
        schema(schema_name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    ok = True
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        ok = False
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        message = error.message
        main = [e for e in error.context or [] if e.schema_path and e.schema_path[0] == 0]
        if error.validator == "anyOf" and main:  # a date, or `pending`: say what is wrong with the date
            message = f"{main[0].message} (or `pending`)"
        elif error.validator == "oneOf" and error.absolute_path and "values" in error.absolute_path:
            message = "a value must be a number, {value: N, note: {...}}, {status: not_available|not_applicable, reason: {...}} or {status: pending}"
        problems.error(
            "data.schema",
            f"{where}: {message}",
            file=str(file),
            line=line_for_path(document, list(error.absolute_path)),
            hint=f"see the field reference in docs/reference/{schema_name.removesuffix('.schema.json')}.md",
        )
    return ok


def read_kpi_file(path: Path, problems: Diagnostics):
    """One ``data/kpis/*.yml`` file as loaded here, if it fits the KPI schema (else None, with
    the problems added): for readers of single files such as the spreadsheet export."""
    document = load_yaml(path)
    return document if _validate_schema(document, "kpis.schema.json", path, problems) else None


#: The status of a figure still being collected (rollover.py sets it on the new year).
PENDING = "pending"


def _to_decimal(number) -> Decimal:
    return Decimal(str(number))


def _parse_value(raw) -> Value:
    if isinstance(raw, dict) and raw.get("status") == PENDING:
        return Value(None, PENDING)
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

    units = load_units(data_dir, problems)
    if (data_dir / "units.yml").exists():
        files.append(data_dir / "units.yml")
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
                breakdowns={str(n): list(ids) for n, ids in (raw.get("breakdowns") or {}).items()},
                min=_to_decimal(raw["min"]) if "min" in raw else None,
                source=raw.get("source"), owner=raw.get("owner"), boundary=raw.get("boundary"), file=str(kpi_file), line=line,
                assured=raw.get("assured", False),
            )
            if raw.get("breakdowns"):
                kpi.breakdown_lines = {str(n): raw["breakdowns"].line_of(n) for n in raw["breakdowns"]}
            values = raw.get("values") or {}
            if kpi.formula and values:
                problems.error("data.formula-values", f"KPI '{kpi.id}' has a formula and typed values; "
                               "a derived KPI's values are computed", file=str(kpi_file), line=raw.line_of("values"),
                               hint="remove `values:` (or remove `formula:` to report the figures as typed)")
                values = {}
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
                kpi.value_lines[int(year)] = values.line_of(year)
            if kpi.unit not in units:
                problems.error("data.unknown-unit", f"KPI '{kpi.id}': unknown unit '{kpi.unit}'", file=kpi.file,
                               line=raw.line_of("unit"),
                               hint=suggest(kpi.unit, units) or "units are listed in build_tools/units.yml; "
                                                                 "define your own in data/units.yml")
            kpis[kpi.id] = kpi
            group.kpi_ids.append(kpi.id)

    if not problems.errors:
        year = int(meta["report"]["year"])
        _check_period(meta, report_file, problems)
        check_brand(meta, report_file, problems)  # brand.py: contrast
        _check_plausible(kpis, units, year, problems)
        _compute_formulas(kpis, problems)
        _check_reporting_year(kpis, year, problems)
        _check_breakdowns(kpis, problems)
        _check_year_on_year(kpis, float(meta["report"].get("yoy_threshold", 0.5)), problems)
        _warn_pending(kpis, problems)
        if meta["report"]["approved"] == PENDING:
            problems.warning("data.pending", "the Board approval date is pending", file=str(report_file),
                             line=meta["report"].line_of("approved"),
                             hint="set `approved: YYYY-MM-DD` in data/report.yml once the Board has approved the report")
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

    sorter = graphlib.TopologicalSorter({kpi_id: [n for n in names if n in parsed] for kpi_id, (_, names) in parsed.items()})
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as exc:
        cycle = exc.args[1][:-1]
        # Start the cycle at the KPI defined first, so the message does not depend on set order.
        first = min(range(len(cycle)), key=lambda i: list(kpis).index(cycle[i]))
        cycle = cycle[first:] + cycle[:first]
        # graphlib lists a cycle against the edges (dependency before dependant); read it as "a uses b".
        cycle = [cycle[0], *reversed(cycle[1:])]
        kpi = kpis[cycle[0]]
        problems.error("data.formula-cycle", f"formulas form a cycle: {' -> '.join([*cycle, cycle[0]])}",
                       file=kpi.file, line=kpi.line, hint="a derived KPI cannot depend on itself")
        return

    for kpi_id in order:
        kpi, (tree, names) = kpis[kpi_id], parsed[kpi_id]
        years = set().union(*(kpis[n].values.keys() for n in names)) if names else set()
        for year in sorted(years):
            inputs = {n: kpis[n].values.get(year) for n in names}
            missing = [n for n, v in inputs.items() if v is None or v.amount is None]
            waiting = [n for n in missing if inputs[n] is not None and inputs[n].status == PENDING]
            if waiting:
                kpi.values[year] = Value(None, PENDING, depends_on=tuple(waiting))
                continue
            if missing:
                kpi.values[year] = Value(None, "not_available", depends_on=tuple(missing))
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


def pending_values(data_kpis: dict[str, KPI]) -> list[tuple[KPI, int]]:
    """Every typed value still pending, as (KPI, year), in file order (derived ones follow their inputs)."""
    return [(kpi, year) for kpi in data_kpis.values() if not kpi.formula
            for year, value in sorted(kpi.values.items()) if value.status == PENDING]


def _warn_pending(kpis: dict[str, KPI], problems: Diagnostics) -> None:
    """A pending value is a warning: the draft builds with a placeholder, `--strict` fails."""
    for kpi, year in pending_values(kpis):
        owner = kpi.responsible or "no owner"
        problems.warning("data.pending", f"KPI '{kpi.id}': the {year} value is pending ({owner})",
                         file=kpi.file, line=kpi.value_lines.get(year, kpi.line),
                         hint=f"type the figure, or ask its owner: esg-report export --pending --owner \"{owner}\" request.xlsx"
                         if kpi.responsible else "type the figure, and name who provides it with `owner:`")


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


def _breakdowns(kpis: dict[str, KPI]) -> dict[str, dict[str | None, list[str]]]:
    """total id -> breakdown name -> part ids: the named `breakdowns:` of each total, and the
    parts that name their total with `breakdown_of:` (and are in none of its named breakdowns)
    as one breakdown named None."""
    result: dict[str, dict[str | None, list[str]]] = {}
    for kpi in kpis.values():
        if kpi.breakdowns:
            result.setdefault(kpi.id, {}).update({name: list(ids) for name, ids in kpi.breakdowns.items()})
    for kpi in kpis.values():
        if kpi.breakdown_of and kpi.breakdown_of in kpis:
            named = result.get(kpi.breakdown_of, {})
            if any(kpi.id in ids for name, ids in named.items() if name is not None):
                continue
            result.setdefault(kpi.breakdown_of, {}).setdefault(None, []).append(kpi.id)
    return result


def breakdown_label(total_id: str, name: str | None) -> str:
    """How messages name a breakdown: "the 'gender' breakdown of 'staff'" or "the breakdown of 'staff'"."""
    return f"the '{name}' breakdown of '{total_id}'" if name else f"the breakdown of '{total_id}'"


def _check_breakdowns(kpis: dict[str, KPI], problems: Diagnostics) -> None:
    bad: set[tuple[str, str | None]] = set()
    for kpi in kpis.values():
        if kpi.breakdown_of == kpi.id:
            problems.error("data.breakdown-self", f"KPI '{kpi.id}' is a breakdown of itself", file=kpi.file, line=kpi.line,
                           hint="`breakdown_of:` names the total this KPI is a part of")
            bad.add((kpi.id, None))
        elif kpi.breakdown_of and kpi.breakdown_of not in kpis:
            problems.error("data.breakdown-unknown", f"KPI '{kpi.id}' is a breakdown of unknown KPI '{kpi.breakdown_of}'",
                           file=kpi.file, line=kpi.line, hint=suggest(kpi.breakdown_of, kpis) or "name the total's KPI id")
        for name, part_ids in kpi.breakdowns.items():
            line = kpi.breakdown_lines.get(name, kpi.line)
            if kpi.id in part_ids:
                problems.error("data.breakdown-self", f"{breakdown_label(kpi.id, name)} names the total itself",
                               file=kpi.file, line=line, hint="list the parts of the total, not the total")
                bad.add((kpi.id, name))
            for part_id in part_ids:
                if part_id != kpi.id and part_id not in kpis:
                    problems.error("data.breakdown-unknown", f"{breakdown_label(kpi.id, name)} names unknown KPI '{part_id}'",
                                   file=kpi.file, line=line, hint=suggest(part_id, kpis) or "define that KPI in data/kpis/")
                    bad.add((kpi.id, name))
    for total_id, named in _breakdowns(kpis).items():
        total = kpis[total_id]
        for name, part_ids in named.items():
            if (total_id, name) in bad:
                continue
            members = [kpis[p] for p in part_ids]
            for year, total_value in sorted(total.values.items()):
                amounts = [m.values.get(year) for m in members]
                if total_value.amount is None or any(a is None or a.amount is None for a in amounts):
                    continue
                added = sum(a.amount for a in amounts)
                # A part shown with decimals may be rounded by half a unit of its last decimal;
                # whole numbers (headcounts, suppliers) must add up exactly.
                tolerance = sum(_half_unit(m.decimals) for m in members) + _half_unit(total.decimals)
                if abs(added - total_value.amount) > tolerance:
                    problems.error("data.breakdown-sum",
                                   f"{breakdown_label(total_id, name)} adds up to {added} for {year}, "
                                   f"but the total is {total_value.amount}",
                                   file=total.file, line=total.value_lines.get(year, total.line),
                                   hint=f"check the {year} values of {', '.join(part_ids)} and of '{total_id}'")


# --- plausibility ----------------------------------------------------------------

# No figure in an ESG report comes near this (10^15 RMB is ten times world GDP): a value this
# large is a unit slip or a pasted cell, not a measurement.
IMPLAUSIBLE = Decimal("1e15")


def _check_plausible(kpis: dict[str, KPI], units: dict, year: int, problems: Diagnostics) -> None:
    for kpi in kpis.values():
        spec = units.get(kpi.unit) or {}
        floor = kpi.min if kpi.min is not None else (_to_decimal(spec["min"]) if "min" in spec else None)
        for value_year, value in sorted(kpi.values.items()):
            where = {"file": kpi.file, "line": kpi.value_lines.get(value_year, kpi.line)}
            if value_year > year:
                problems.error("data.future-year", f"KPI '{kpi.id}' has a value for {value_year}, after the reporting year {year}",
                               **where, hint="check the year; a target for a later year belongs in the text, not in values")
            if value.amount is None:
                continue
            if abs(value.amount) > IMPLAUSIBLE:
                problems.error("data.implausible", f"KPI '{kpi.id}': the {value_year} value {value.amount} is implausibly large",
                               **where, hint="check the figure and its unit (the limit is 10^15)")
            elif floor is not None and value.amount < floor:
                source = "KPI" if kpi.min is not None else f"unit '{kpi.unit}'"
                problems.error("data.below-minimum", f"KPI '{kpi.id}': the {value_year} value {value.amount} is below "
                               f"the minimum {floor} of its {source}", **where,
                               hint="check the sign of the figure" if floor == 0 else "check the figure")


def _check_period(meta, report_file: Path, problems: Diagnostics) -> None:
    report = meta["report"]
    try:
        start, end = dt.date.fromisoformat(str(report["period_start"])), dt.date.fromisoformat(str(report["period_end"]))
    except ValueError:
        return  # the schema's date format check has said so
    if end < start:
        problems.error("data.period", f"the reporting period ends ({end}) before it starts ({start})",
                       file=str(report_file), line=report.line_of("period_end"),
                       hint="check period_start and period_end in data/report.yml")


def _half_unit(decimals: int) -> Decimal:
    return Decimal(5) / Decimal(10) ** (decimals + 1) if decimals > 0 else Decimal(0)
