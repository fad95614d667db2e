"""The settings of mkdocs.yml that generated pages, downloads and citations need."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class SiteSettings:
    """Site name, published base URL and the repository whose history each record links to."""

    name: str
    url: str
    repository: str = ""

    @classmethod
    def read(cls, mkdocs_yml: Path) -> "SiteSettings":
        config = yaml.safe_load(mkdocs_yml.read_text(encoding="utf-8")) or {}
        extra = config.get("extra") or {}
        return cls(str(config.get("site_name") or ""), str(config.get("site_url") or ""),
                   str(extra.get("repository") or "").rstrip("/"))
