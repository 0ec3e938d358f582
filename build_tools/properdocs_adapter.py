"""The ProperDocs engine: the MkDocs adapter, run on ProperDocs (the maintained MkDocs 1.x fork).

ProperDocs has MkDocs' API under its own package name and reads MkDocs' plugin and theme entry
points, so Material for MkDocs and the report plugin load unchanged. Its ``replacement`` module
redirects every later ``mkdocs.*`` import of the process to ``properdocs.*`` (as its own CLI does):
imported first, it makes ``mkdocs_adapter`` and Material run on ProperDocs. The redirection is
for the whole process, so one process runs one engine; the pipeline's editions run in workers.
"""

from __future__ import annotations

import sys

if "mkdocs.plugins" in sys.modules and not sys.modules["mkdocs.plugins"].__name__.startswith("properdocs"):
    raise RuntimeError("MkDocs is already loaded in this process; ProperDocs needs a process of its own")

import properdocs.replacement  # noqa: E402,F401  (before any `mkdocs` import below)

from .mkdocs_adapter import ENGINE_PACKAGE, NOT_FOUND_PAGE, build_site, serve  # noqa: E402

__all__ = ["ENGINE_PACKAGE", "NOT_FOUND_PAGE", "build_site", "serve"]
