"""YAML loading that remembers where every mapping and key came from.

PyYAML's SafeLoader drops source positions once objects are built; error messages
for data owners need the file and line, so mappings are built as ``SourceMap``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .errors import DataError, Diagnostic


class SourceMap(dict):
    """A dict that knows its file, its own line and the line of each key (1-based)."""

    file: str = ""
    line: int = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_lines: dict = {}

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


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
# Dates stay ISO strings: the schema checks their format and JSON exports need no conversion.
_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


def load_yaml(path: Path):
    """Parse one YAML file; syntax errors become a located ``DataError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(Diagnostic("error", "data.encoding", f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})",
                                   file=str(path), hint="save the file as UTF-8")) from None
    loader = None
    try:
        loader = _Loader(text)  # the reader rejects control characters here already
        loader.source_file = str(path)
        return loader.get_single_data()
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
