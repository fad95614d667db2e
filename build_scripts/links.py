"""URLs between pages and the short forms of citations and numbers that every output uses."""

from __future__ import annotations

import posixpath

from .model import Publication
from .vocabulary import RECORD_KINDS

# The pages that summarise the evidence across studies (summary.py builds them).
SUMMARY_URL = "summary/"
REGIMEN_TABLES_URL = "regimen-tables/"


def url_of(kind: str, record_id: str) -> str:
    return RECORD_KINDS[kind].url(record_id)


def relative(from_url: str, to_url: str) -> str:
    """A link from one directory-style page URL to another, relative so the site works under any prefix."""
    target = posixpath.relpath(to_url or ".", from_url or ".")
    return target if target.endswith("/") or "#" in target else target + "/"


def number(value: float | None) -> str:
    """A number as the source printed it: no trailing '.0' on whole numbers."""
    if value is None:
        return ""
    return f"{value:g}" if abs(value) < 1e6 else f"{value:,.0f}"


def author_surname(author: str) -> str:
    parts = author.split()
    return " ".join(parts[:-1]) if len(parts) > 1 else author


def short_citation(publication: Publication) -> str:
    """'Frerichs 2021' style label of a publication."""
    who = author_surname(publication.authors[0]) if publication.authors else publication.title[:40]
    return f"{who} {publication.year}" if publication.year else who
