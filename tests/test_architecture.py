"""The boundaries the code base claims, checked on its source: one engine adapter, one HTML
output boundary, editions from the registry, and an import graph without cycles."""

import ast
import graphlib
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "build_tools"
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))
ENGINE_ADAPTER = "mkdocs_adapter"
#: ProperDocs runs the MkDocs adapter: its adapter only redirects the `mkdocs` names to it.
ENGINE_ADAPTERS = {ENGINE_ADAPTER, "properdocs_adapter"}
EDITION_REGISTRY = "i18n"


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text("utf-8"), filename=str(path))


def _runtime_nodes(module: ast.Module):
    """Every node but those under `if TYPE_CHECKING:` (imports for annotations only)."""
    stack = [module]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                continue
            stack.append(child)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of everything a module imports at run time, function-level imports too."""
    names = set()
    package = module_name(path).rpartition(".")[0]
    for node in _runtime_nodes(tree(path)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(["build_tools", *filter(None, [package])][: None])
                parts = base.split(".")[: len(base.split(".")) - (node.level - 1)]
                prefix = ".".join(parts)
                if node.module:
                    names.add(f"{prefix}.{node.module}")
                else:
                    names.update(f"{prefix}.{alias.name}" for alias in node.names)
            else:
                names.add(node.module)
    return names


def docstring_nodes(module: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(module):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def test_the_source_tree_has_modules():
    assert len(MODULES) > 20 and any(module_name(p) == ENGINE_ADAPTER for p in MODULES)


def test_only_the_engine_adapter_imports_the_site_engine():
    leaks = {module_name(p): sorted(n for n in imported_modules(p) if n.split(".")[0] in ("mkdocs", "material", "properdocs"))
             for p in MODULES if module_name(p) not in ENGINE_ADAPTERS}
    assert {m: n for m, n in leaks.items() if n} == {}


# HTML and SVG elements (a hint's `<number>` placeholder is not one).
_ELEMENTS = ("a abbr article aside b body br caption circle code dd details div dl dt em figcaption figure "
             "footer g h1 h2 h3 h4 h5 h6 head header html i img input li line link main meta nav ol p path "
             "polygon pre rect script section small span strong style sub summary sup svg table tbody td text "
             "tfoot th thead title tr ul").split()
_TAG = re.compile(r"<\s*/?\s*(?:!DOCTYPE|%s)(?=[\s>/])" % "|".join(_ELEMENTS), re.I)


def test_no_module_builds_html_with_f_strings_or_concatenation():
    """HTML comes from templates (build_tools/fragments, templates/) through html.render."""
    found = []
    for path in MODULES:
        for node in ast.walk(tree(path)):
            pieces = []
            if isinstance(node, ast.JoinedStr):
                pieces = [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
            elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
                pieces = [s.value for s in (node.left, node.right) if isinstance(s, ast.Constant) and isinstance(s.value, str)]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format" \
                    and isinstance(node.func.value, ast.Constant) and isinstance(node.func.value.value, str):
                pieces = [node.func.value.value]
            if any(_TAG.search(piece) for piece in pieces):
                found.append(f"{module_name(path)}:{node.lineno}")
    assert found == []


EDITION_CODES = {"en", "zh-Hant", "zh_Hant", "zh_Hant_HK", "zh-HK"}


def test_edition_codes_appear_only_in_the_registry():
    """A third edition is configuration: no module but the registry names an edition."""
    found = []
    for path in MODULES:
        if module_name(path) == EDITION_REGISTRY:
            continue
        module = tree(path)
        skip = docstring_nodes(module)
        for node in ast.walk(module):
            if isinstance(node, ast.Constant) and node.value in EDITION_CODES and id(node) not in skip:
                found.append(f"{module_name(path)}:{node.lineno} {node.value!r}")
    assert found == []


def test_the_import_graph_has_no_cycle():
    graph = {}
    for path in MODULES:
        name = "build_tools." + module_name(path)
        graph[name.removesuffix(".__init__")] = {n for n in imported_modules(path) if n.startswith("build_tools.")}
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")
