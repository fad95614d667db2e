"""URLs between pages and the short forms of citations and numbers that every output uses."""

from __future__ import annotations

import posixpath
from functools import lru_cache

from build_scripts.load.model import Publication
from build_scripts.load.vocabulary import RECORD_KINDS, TITLE_STATUSES

# The pages that summarise the evidence across studies (summary.py builds them).
SUMMARY_URL = "summary/"
SUMMARY_DETAILS_URL = "summary/details/"  # the cohorts behind the summary's rows and marks, and the review beside it
QUESTIONS_URL = "questions/"  # the clinical questions; each question's page is questions/<id>/
REGIMEN_TABLES_URL = "regimen-tables/"


def url_of(kind: str, record_id: str) -> str:
    return RECORD_KINDS[kind].url(record_id)


@lru_cache(maxsize=1 << 16)
def relative(from_url: str, to_url: str) -> str:
    """A link from one directory-style page URL to another, relative so the site works under any prefix."""
    target = _relpath(to_url, from_url)
    return target if target.endswith("/") or "#" in target else target + "/"


def _relpath(to_url: str, from_url: str) -> str:
    """posixpath.relpath of two relative URLs, by their segments alone when neither climbs out with '..' or names
    '.': relpath makes both absolute first, and an edit at 10,000 studies spent 16 s in it (profiled)."""
    start, target = from_url.split("/"), to_url.split("/")
    if from_url.startswith("/") or to_url.startswith("/") or {".", ".."} & {*start, *target}:
        return posixpath.relpath(to_url or ".", from_url or ".")
    start, target = [part for part in start if part], [part for part in target if part]
    common = 0
    for mine, theirs in zip(start, target):
        if mine != theirs:
            break
        common += 1
    return "/".join([".."] * (len(start) - common) + target[common:]) or "."


def author_surname(author: str) -> str:
    parts = author.split()
    return " ".join(parts[:-1]) if len(parts) > 1 else author


def publication_title(publication: Publication) -> str:
    """A publication's title; one in the curators' words (the document has none, or they do not know it) in square
    brackets, as catalogues show a supplied title."""
    return publication.title if publication.title_status == "given" else f"[{publication.title}]"


def cited_title(publication: Publication) -> str:
    """The title a citation gives: publication_title, with what it is when the published title is not known."""
    qualifier = TITLE_STATUSES[publication.title_status].qualifier
    return f"{publication_title(publication)} ({qualifier})" if qualifier else publication_title(publication)


def short_citation(publication: Publication) -> str:
    """'Frerichs 2021' style label of a publication: first author and year; an authorless registry entry by its
    registry id; any other authorless source by its whole title (never cut short)."""
    if publication.authors:
        who = author_surname(publication.authors[0])
    elif publication.registry_id:
        return publication.registry_id
    else:
        who = publication_title(publication)
    return f"{who} {publication.year}" if publication.year else who


def title_after_citation(publication: Publication) -> str | None:
    """The title a page shows after the short citation; None when the short citation already is the title."""
    return publication_title(publication) if publication.authors or publication.registry_id else None


def citation_with_title(publication: Publication) -> str:
    """'Frerichs 2021: Title', or the title alone when it is the short citation."""
    title = title_after_citation(publication)
    return f"{short_citation(publication)}: {title}" if title else short_citation(publication)
