"""The site engine, chosen by name: the core reaches the engine only through this interface.

An engine adapter is a module with:

- ``build_site(context, site_dir, search=True)``: render one edition's site into ``site_dir``,
  feeding ``context`` (an ``edition.EditionContext``) the pages as they are rendered, and
  adding the engine's own messages to ``context.problems``;
- ``serve(project, edition, dev_addr)``: a live preview of one edition;
- ``NOT_FOUND_PAGE``: the file name of the edition's "page not found" page.

The report chooses its engine in mkdocs.yml, as an option of the report plugin
(``- esg-report: {engine: properdocs}``); without it the engine is MkDocs.
The core imports no engine: ``load_engine`` imports the adapter when a build needs it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import yaml

from .errors import Diagnostic, ReportError
from .project import Project

ADAPTERS = {"mkdocs": "build_tools.mkdocs_adapter", "properdocs": "build_tools.properdocs_adapter"}
#: the distribution each engine needs, for the hint when it is not installed
PACKAGES = {"mkdocs": "mkdocs==1.6.1", "properdocs": "properdocs==1.6.7"}
DEFAULT_ENGINE = "mkdocs"
PLUGIN_NAME = "esg-report"


def load_engine(name: str = DEFAULT_ENGINE) -> ModuleType:
    adapter = importlib.import_module(ADAPTERS[name])
    if adapter.ENGINE_PACKAGE != name:  # ProperDocs takes over the `mkdocs` names for the whole process
        raise RuntimeError(f"this process already runs the {adapter.ENGINE_PACKAGE} engine; {name} needs a process of its own")
    return adapter


def engine_for(project: Project) -> ModuleType:
    """The adapter of the engine the report's mkdocs.yml chooses; a wrong choice is a located error."""
    name = configured_engine(project)
    try:
        return load_engine(name)
    except ModuleNotFoundError as exc:
        raise ReportError(Diagnostic("error", "config.engine", f"the site engine '{name}' is not installed ({exc.name})",
                                     file=str(project.config_file),
                                     hint=f"install it with `pip install {PACKAGES[name]}`, or remove `engine: {name}`"))


def configured_engine(project: Project) -> str:
    options = plugin_options(project).get(PLUGIN_NAME) or {}
    name = options.get("engine") or DEFAULT_ENGINE
    if name not in ADAPTERS:
        raise ReportError(Diagnostic("error", "config.engine", f"unknown site engine '{name}'",
                                     file=str(project.config_file), line=_line_of(project, "engine:"),
                                     hint=f"the engines are {', '.join(ADAPTERS)}"))
    return name


def plugin_entries(project: Project) -> list:
    """mkdocs.yml's plugin list as written (names, or one-key mappings of name to options)."""
    try:
        config = yaml.load(project.config_file.read_text("utf-8"), Loader=ConfigLoader) or {}
    except (OSError, yaml.YAMLError):
        return []  # the engine reports an unreadable mkdocs.yml with its own words
    entries = config.get("plugins") if isinstance(config, dict) else None
    return entries if isinstance(entries, list) else []


def plugin_options(project: Project) -> dict[str, dict]:
    options = {}
    for entry in plugin_entries(project):
        name = entry if isinstance(entry, str) else next(iter(entry), None) if isinstance(entry, dict) else None
        if name is not None:
            settings = entry[name] if isinstance(entry, dict) else None
            options[name] = dict(settings) if isinstance(settings, dict) else {}
    return options


def _line_of(project: Project, text: str) -> int | None:
    for number, line in enumerate(project.config_file.read_text("utf-8").splitlines(), 1):
        if line.strip().startswith(text):
            return number
    return None


class ConfigLoader(yaml.SafeLoader):
    """Reads mkdocs.yml's plugin list; the engines' own tags (!ENV, !relative) are left as text."""


ConfigLoader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node)
                                   if isinstance(node, yaml.ScalarNode) else None)
