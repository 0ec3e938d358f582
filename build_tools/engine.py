"""The site engine, chosen by name: the core reaches the engine only through this interface.

An engine adapter is a module with:

- ``build_site(context, site_dir, search=True)``: render one edition's site into ``site_dir``,
  feeding ``context`` (an ``edition.EditionContext``) the pages as they are rendered, and
  adding the engine's own messages to ``context.problems``;
- ``serve(project, edition, dev_addr)``: a live preview of one edition;
- ``NOT_FOUND_PAGE``: the file name of the edition's "page not found" page.

The core imports no engine: ``load_engine`` imports the adapter when a build needs it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

ADAPTERS = {"mkdocs": "build_tools.mkdocs_adapter"}
DEFAULT_ENGINE = "mkdocs"


def load_engine(name: str = DEFAULT_ENGINE) -> ModuleType:
    return importlib.import_module(ADAPTERS[name])
