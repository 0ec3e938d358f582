"""Where things are in a report directory, and where the toolchain's defaults are.

A report directory has ``mkdocs.yml``, ``content/<edition>/``, ``data/`` and optionally its
own ``templates/`` and ``translations/``; those override the toolchain's defaults, which
live at the top of the toolchain's repository (installed editable by ``make``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import Diagnostic, ReportError

TOOLCHAIN_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Project:
    root: Path

    @classmethod
    def at(cls, root: Path | str) -> "Project":
        return cls(Path(root).resolve())

    @property
    def config_file(self) -> Path:
        return self.root / "mkdocs.yml"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def site_dir(self) -> Path:
        return self.root / "site"

    def content_dir(self, edition: str) -> Path:
        return self.root / "content" / edition

    def _search(self, name: str) -> list[Path]:
        dirs = [self.root / name, TOOLCHAIN_ROOT / name]
        unique: list[Path] = []
        for d in dirs:
            if d.is_dir() and d not in unique:
                unique.append(d)
        return unique

    @property
    def template_dirs(self) -> list[Path]:
        return self._search("templates")

    @property
    def translation_dirs(self) -> list[Path]:
        return self._search("translations")

    def template_file(self, relative: str) -> Path:
        for directory in self.template_dirs:
            candidate = directory / relative
            if candidate.exists():
                return candidate
        raise ReportError(Diagnostic("error", "config.template", f"template '{relative}' not found",
                                     file=str(self.root / "templates" / relative),
                                     hint=f"the templates are looked up in {', '.join(map(str, self.template_dirs))}; "
                                          "copy the toolchain's file to override it"))
