"""Build bilingual HKEX ESG reports (website and print PDF) from Markdown chapters and data files.

The pipeline, in the order ``build_tools.pipeline.build_report`` runs it:

1. ``data``        load and validate ``data/`` (report metadata, KPIs) into a ``ReportData``
2. ``formatting``  bind a Babel locale to an edition: numbers, money, units, dates, changes
3. ``macros``      render Jinja in each chapter with the KPI macros (sandboxed, strict)
4. ``site``        MkDocs builds the edition's website (through ``mkdocs_plugin``, a thin adapter)
5. ``disclosures`` collect the sections tagged with framework provisions; build the content index
6. ``printing``    assemble the same rendered pages into one print document; WeasyPrint writes the PDF
7. ``pipeline``    both editions into a staging directory, then one atomic swap into ``site/``

``cli`` owns argument parsing, messages and exit codes.
"""

__version__ = "0.1.0"
