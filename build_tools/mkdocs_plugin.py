"""The entry point MkDocs loads for ``- esg-report`` in mkdocs.yml (see ``mkdocs_adapter``)."""

from .mkdocs_adapter import ReportPlugin

__all__ = ["ReportPlugin"]
