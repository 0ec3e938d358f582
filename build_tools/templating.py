"""The Jinja environment for the toolchain's own templates (print document, content index, cover).

Distinct from the chapters' sandboxed environment: these templates are trusted, autoescaped,
and translated through the edition's gettext catalog.
"""

from __future__ import annotations

import gettext

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .project import Project


def template_environment(project: Project, translations: gettext.NullTranslations) -> Environment:
    env = Environment(
        loader=FileSystemLoader([str(d) for d in project.template_dirs]),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations, newstyle=True)
    return env
