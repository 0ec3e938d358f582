"""YAML loading that remembers where every mapping and key came from.

PyYAML's SafeLoader drops source positions once objects are built; error messages
for data owners need the file and line, so mappings are built as ``SourceMap``.

Data files come from many hands, so loading is bounded: a file larger than
``MAX_DATA_BYTES`` is refused before parsing, and aliases may add at most
``MAX_ALIAS_NODES`` nodes to what is written out (a "billion laughs" file of a few
hundred bytes otherwise expands to gigabytes once something walks it).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .errors import DataError, Diagnostic

MAX_DATA_BYTES = 4 * 1024 * 1024  # the sample's largest data file is 12 kB
MAX_ALIAS_NODES = 10_000  # nodes aliases may add; real files reuse a few small anchors, if any


class SourceMap(dict):
    """A dict that knows its file, its own line and the line of each key (1-based)."""

    file: str = ""
    line: int = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_lines: dict = {}

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class SourceFloat(float):
    """A float that remembers its digits as written: 8.750 is 8.75 to arithmetic, but ``text``
    keeps '8.750', so a spreadsheet export repeats the figure exactly as the data owner typed it."""

    text: str = ""


class SourceList(list):
    file: str = ""
    line: int = 0

    def __init__(self, *args):
        super().__init__(*args)
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


# libyaml's parser (CSafeLoader) when PyYAML was built with it: 3x faster, same marks.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    source_file = ""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> SourceMap:
    loader.flatten_mapping(node)
    mapping = SourceMap()
    mapping.file = loader.source_file
    mapping.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise DataError(
                Diagnostic(
                    "error",
                    "data.duplicate-key",
                    f"duplicate key {key!r} (first on line {mapping.key_lines[key]})",
                    file=loader.source_file,
                    line=key_node.start_mark.line + 1,
                    hint="remove or rename one of the two entries",
                )
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> SourceList:
    items = SourceList(loader.construct_object(child, deep=True) for child in node.value)
    items.file = loader.source_file
    items.line = node.start_mark.line + 1
    items.item_lines = [child.start_mark.line + 1 for child in node.value]
    return items


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    value = loader.construct_yaml_float(node)
    text = loader.construct_scalar(node).replace("_", "")
    if not _PLAIN_NUMBER.fullmatch(text):  # .inf, .nan, 1:30.5 (sexagesimal) have no digits to keep
        return value
    exact = SourceFloat(value)
    exact.text = text
    return exact


_PLAIN_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
# Dates stay ISO strings: the schema checks their format and JSON exports need no conversion.
_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


class _AliasBomb(Exception):
    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message, self.hint = message, hint


def _alias_growth(root: yaml.Node) -> int:
    """How many nodes the aliases of a composed document add when it is expanded.

    An alias is the same node object as its anchor, so the graph stays small; sizes are
    memoised per node and the walk is iterative (no recursion limit on deep nesting).
    """
    size: dict[int, int] = {}
    distinct = 0
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = ([n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode)
                    else node.value if isinstance(node, yaml.SequenceNode) else [])
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(child)] for child in children)
            continue
        if key in size:
            continue
        if key in on_path:
            raise _AliasBomb("an alias refers to the collection that contains it",
                             "a data file cannot contain itself; write the values out")
        distinct += 1
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children) if id(child) not in size)
        if any(id(child) in on_path for child in children):
            raise _AliasBomb("an alias refers to the collection that contains it",
                             "a data file cannot contain itself; write the values out")
    return size[id(root)] - distinct


def _line_of_excess_alias(text: str) -> int | None:
    """The line of the alias at which the expansion passes the limit (the composed graph
    no longer knows where its aliases were written, the event stream does)."""
    sizes: dict[str, int] = {}
    open_sizes: list[list] = []  # [anchor, nodes so far] of each open collection
    added = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent):
            if any(anchor == event.anchor for anchor, _ in open_sizes):
                return event.start_mark.line + 1
            grown = sizes.get(event.anchor, 1)
            added += grown
            if open_sizes:
                open_sizes[-1][1] += grown
            if added > MAX_ALIAS_NODES:
                return event.start_mark.line + 1
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            open_sizes.append([event.anchor, 1])
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, count = open_sizes.pop()
            if anchor:
                sizes[anchor] = count
            if open_sizes:
                open_sizes[-1][1] += count
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            if open_sizes:
                open_sizes[-1][1] += 1
    return None


def load_yaml(path: Path):
    """Parse one YAML file; syntax errors and resource bombs become a located ``DataError``."""
    try:
        size = path.stat().st_size
        if size > MAX_DATA_BYTES:
            raise DataError(Diagnostic(
                "error", "data.too-large", f"the file is {size:,} bytes; data files are limited to "
                f"{MAX_DATA_BYTES:,} bytes", file=str(path),
                hint="a data file holds metadata and KPI figures; check that the right file was saved here"))
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(Diagnostic("error", "data.encoding", f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})",
                                   file=str(path), hint="save the file as UTF-8")) from None
    loader = None
    try:
        loader = _Loader(text)  # the reader rejects control characters here already
        loader.source_file = str(path)
        # get_single_data() as two steps, so the expansion is measured between composing and
        # constructing: libyaml composes in C, where a compose_node override would never run.
        root = loader.get_single_node()
        if root is None:
            return None
        growth = _alias_growth(root)
        if growth > MAX_ALIAS_NODES:
            raise _AliasBomb(f"aliases expand this file by more than {MAX_ALIAS_NODES:,} values",
                             "aliases (*name) that repeat other aliases multiply; write the values out instead")
        return loader.construct_document(root)
    except _AliasBomb as exc:
        raise DataError(Diagnostic("error", "data.yaml-alias", exc.message, file=str(path),
                                   line=_line_of_excess_alias(text), hint=exc.hint)) from None
    except RecursionError:
        raise DataError(Diagnostic("error", "data.yaml-nesting", "the file is nested too deeply to read",
                                   file=str(path), hint="data files need a few levels of indentation, not hundreds")) from None
    except yaml.reader.ReaderError as exc:  # e.g. a control character pasted from a spreadsheet
        line = text.count("\n", 0, exc.position) + 1
        raise DataError(Diagnostic("error", "data.yaml-syntax", f"character {exc.character!r} is not allowed in YAML",
                                   file=str(path), line=line, hint="delete the invisible character on this line")) from None
    except (ValueError, TypeError) as exc:  # a 4,301-digit integer; an unhashable key such as `? [1]`
        raise DataError(Diagnostic("error", "data.yaml-syntax", f"unreadable value: {str(exc).splitlines()[0][:120]}",
                                   file=str(path), hint="check the keys and numbers of this file")) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise DataError(
            Diagnostic(
                "error",
                "data.yaml-syntax",
                f"YAML syntax error: {exc.problem or exc.context}",
                file=str(path),
                line=mark.line + 1 if mark else None,
                col=mark.column + 1 if mark else None,
                hint="check indentation and quoting around this line",
            )
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def line_for_path(document, path) -> int | None:
    """Best line for a JSON-Schema style path (sequence of keys and indexes) into a loaded document."""
    node, line = document, getattr(document, "line", None)
    for step in path:
        if isinstance(node, SourceMap) and step in node:
            line = node.line_of(step)
            node = node[step]
        elif isinstance(node, SourceList) and isinstance(step, int) and step < len(node):
            line = node.line_of(step)
            node = node[step]
        else:
            break
    return line
