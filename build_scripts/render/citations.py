"""How to cite an atlas page and its sources: citation items, BibTeX, RIS, CSL-JSON, meta tags and JSON-LD."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable
from urllib.parse import quote

from build_scripts.load.evidence import Evidence
from build_scripts.load.history import Revision
from build_scripts.load.model import Publication, Record, Study
from build_scripts.load.vocabulary import RECORD_KINDS
from build_scripts.render.links import author_surname, cited_title


def atlas_author(site_name: str) -> str:
    """Who wrote what no named curator did: the site's contributors (mkdocs.yml's site_name names the atlas)."""
    return f"{site_name} contributors" if site_name else "The atlas's contributors"


# Publication types of the atlas as CSL, BibTeX and RIS types.
TYPE_MAP = {
    "article": ("article-journal", "article", "JOUR"),
    "letter": ("article-journal", "article", "JOUR"),
    "case_report": ("article-journal", "article", "JOUR"),
    "review": ("article-journal", "article", "JOUR"),
    "abstract": ("paper-conference", "inproceedings", "ABST"),
    "registry_entry": ("webpage", "misc", "ELEC"),
}


@dataclass(frozen=True)
class Person:
    family: str | None = None
    given: str | None = None
    literal: str | None = None


@dataclass(frozen=True)
class CitationItem:
    """One citable work, in the fields every citation format needs."""

    key: str
    csl_type: str
    bibtex_type: str
    ris_type: str
    title: str
    authors: tuple[Person, ...]
    container: str | None = None
    publisher: str | None = None
    year: int | None = None
    date: str | None = None  # YYYY-MM-DD of the version cited
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    url: str | None = None
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def doi_url(doi: str) -> str:
    """The resolver URL of a DOI, percent-encoded so that '#', '?', '%' or a space stay part of the DOI."""
    return "https://doi.org/" + quote(doi, safe="/:()")


def person(author: str) -> Person:
    """'Frerichs KA' -> family Frerichs, given KA; a single word stays a literal name."""
    parts = author.split()
    if len(parts) > 1 and re.fullmatch(r"[A-Z]{1,4}", parts[-1]):
        return Person(family=author_surname(author), given=parts[-1])
    return Person(literal=author)


def publication_item(publication: Publication) -> CitationItem:
    csl_type, bibtex_type, ris_type = TYPE_MAP[publication.type]
    return CitationItem(
        key=publication.id, csl_type=csl_type, bibtex_type=bibtex_type, ris_type=ris_type,
        title=cited_title(publication), authors=tuple(person(a) for a in publication.authors),
        container=publication.journal, year=publication.year, volume=publication.volume, issue=publication.issue,
        pages=publication.pages, doi=publication.doi,
        url=doi_url(publication.doi) if publication.doi else (
            f"https://clinicaltrials.gov/study/{quote(publication.registry_id, safe='')}" if publication.registry_id
            else None),
        note=None if publication.authors_complete or not publication.authors else "Author list incomplete (et al.)",
    )


def page_title(kind: str, record: Record) -> str:
    name = getattr(record, "title", None) or getattr(record, "name", record.id)
    return f"{name} [{RECORD_KINDS[kind].label.lower()} record]"


def page_item(kind: str, record: Record, site_name: str, site_url: str, revision: Revision | None) -> CitationItem:
    """The atlas page itself as a citable web page: its curators (or the contributors), revision date, stable URL."""
    authors = tuple(person(name) if " " in name else Person(literal=name) for name in record.curators) or (
        Person(literal=atlas_author(site_name)),)
    date = revision.changed if revision else None
    return CitationItem(
        key=f"atlas-{RECORD_KINDS[kind].folder}-{record.id}", csl_type="webpage", bibtex_type="misc", ris_type="ELEC",
        title=page_title(kind, record), authors=authors, container=site_name, publisher=site_name,
        year=int(date[:4]) if date else None, date=date, url=site_url.rstrip("/") + "/" + RECORD_KINDS[kind].url(record.id),
    )


# ---------------------------------------------------------------- formats

# Every value of a BibTeX or RIS file is one line: control characters and every kind of line break (CR, LF, NEL,
# U+2028, ...) are spaces, runs of white space one space.
def one_line(text: str) -> str:
    """The text on a single line, with control characters as spaces and white space collapsed."""
    return " ".join("".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text).split())


# LaTeX's own names for its special characters. Braces become commands whose own braces are balanced, so the
# braces of a field are balanced by construction; BibTeX counts braces and ignores backslashes.
BIBTEX_SPECIALS = {"\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}",
                   "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                   "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
# A name part that BibTeX would split into several names at a top-level "and", or into name parts at a comma, is
# braced; so is one holding a LaTeX command, which some readers (bibtexparser 2) otherwise cut off before an "and".
_NAME_SPLITTERS = re.compile(r"(?:^|\s)and(?:\s|$)|,|\\", re.IGNORECASE)
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")


def bibtex_text(text: str) -> str:
    """A field value in LaTeX: on one line, with every special character as the command that prints it."""
    return "".join(BIBTEX_SPECIALS.get(ch, ch) for ch in one_line(text))


def percent_encoded(text: str, unsafe: str) -> str:
    """A URL or DOI with white space, control characters and the given characters percent-encoded, the rest as it is."""
    return "".join(quote(ch, safe="") if ch in unsafe or ch.isspace() or unicodedata.category(ch) == "Cc" else ch
                   for ch in text)


def bibtex_verbatim(text: str) -> str:
    """A URL or DOI, which BibTeX styles print verbatim: what could end the field or the line is percent-encoded."""
    return percent_encoded(text, "{}\\")


def _bibtex_name_part(text: str) -> str:
    escaped = bibtex_text(text)
    return "{" + escaped + "}" if _NAME_SPLITTERS.search(escaped) else escaped


def _bibtex_name(p: Person) -> str:
    if p.literal:
        return "{" + bibtex_text(p.literal) + "}"
    return f"{_bibtex_name_part(p.family or '')}, {_bibtex_name_part(p.given or '')}"


def citation_key(key: str) -> str:
    """A key as it is, or an error: keys are record ids, so anything else is a bug upstream, never to be written."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"citation key {key!r} is not a plain identifier")
    return key


def to_bibtex(items: list[CitationItem]) -> str:
    entries = []
    for item in items:
        fields = [("title", "{" + bibtex_text(item.title) + "}")]
        if item.authors:
            fields.append(("author", " and ".join(_bibtex_name(p) for p in item.authors)))
        container_field = "booktitle" if item.bibtex_type == "inproceedings" else (
            "journal" if item.bibtex_type == "article" else "howpublished")
        for name, value in ((container_field, item.container), ("publisher", item.publisher if item.bibtex_type == "misc" else None),
                            ("year", str(item.year) if item.year else None), ("volume", item.volume),
                            ("number", item.issue), ("pages", item.pages.replace("-", "--") if item.pages else None),
                            ("doi", item.doi), ("url", item.url), ("note", item.note),
                            ("date", item.date)):
            value = (bibtex_verbatim if name in ("url", "doi") else bibtex_text)(value or "")
            if value:
                fields.append((name, value))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        entries.append(f"@{item.bibtex_type}{{{citation_key(item.key)},\n{body}\n}}\n")
    return "\n".join(entries)


def to_ris(items: list[CitationItem]) -> str:
    """RIS, one tag per line; values are kept to one line, so no value can end its record or start another."""
    lines = []
    for item in items:
        start, _, end = (item.pages or "").partition("-")
        fields = [
            ("TY", item.ris_type), ("ID", citation_key(item.key)), ("TI", item.title),
            *(("AU", p.literal or f"{p.family}, {p.given}") for p in item.authors),
            ("T2" if item.ris_type == "ELEC" else "JO", item.container), ("PB", item.publisher),
            ("PY", str(item.year) if item.year else None), ("DA", item.date.replace("-", "/") if item.date else None),
            ("VL", item.volume), ("IS", item.issue), ("SP", start or None), ("EP", end or None),
            # Readers split UR at ';' into several URLs.
            ("DO", item.doi), ("UR", percent_encoded(item.url, ";") if item.url else None), ("N1", item.note),
        ]
        lines.extend(f"{tag}  - {one_line(value)}" for tag, value in fields if value and one_line(value))
        lines.extend(["ER  - ", ""])
    return "\n".join(lines)


def csl_item(item: CitationItem) -> dict[str, Any]:
    data: dict[str, Any] = {"id": item.key, "type": item.csl_type, "title": item.title}
    if item.authors:
        data["author"] = [{"literal": p.literal} if p.literal else {"family": p.family, "given": p.given}
                          for p in item.authors]
    if item.container:
        data["container-title"] = item.container
    if item.publisher:
        data["publisher"] = item.publisher
    if item.date:
        data["issued"] = {"date-parts": [[int(part) for part in item.date.split("-")]]}
    elif item.year:
        data["issued"] = {"date-parts": [[item.year]]}
    for key, value in (("volume", item.volume), ("issue", item.issue), ("page", item.pages), ("DOI", item.doi),
                       ("URL", item.url), ("note", item.note)):
        if value:
            data[key] = value
    return data


def to_csl_json(items: list[CitationItem]) -> str:
    return json.dumps([csl_item(item) for item in items], ensure_ascii=False, indent=1) + "\n"


def formatted_citation(item: CitationItem) -> str:
    """A Vancouver-style reference to the atlas page, ending before the access date the reader fills in."""
    authors = ", ".join(p.literal or f"{p.family} {p.given}" for p in item.authors)
    revised = f" Last revised {item.date}." if item.date else ""
    issued = f"{item.year}." if item.year else "n.d."  # 'n.d.' ends with its own full stop
    return f"{authors}. {item.title}. {item.container}; {issued}{revised} Available from: {item.url}"


# ---------------------------------------------------------------- metadata in the page head

def meta_tags(page: CitationItem, sources: list[CitationItem]) -> list[list[str]]:
    """Highwire Press citation_* tags describing the page itself, as (name, content) pairs."""
    tags = [["citation_title", page.title]]
    tags += [["citation_author", p.literal or f"{p.family}, {p.given}"] for p in page.authors]
    tags += [["citation_publisher", page.publisher or ""], ["citation_public_url", page.url or ""],
             ["citation_abstract_html_url", page.url or ""]]
    if page.date:
        tags += [["citation_date", page.date.replace("-", "/")], ["citation_online_date", page.date.replace("-", "/")]]
    for source in sources:
        reference = "; ".join(part for part in (source.title, f"doi:{source.doi}" if source.doi else None) if part)
        tags.append(["citation_reference", reference])
    return tags


def json_ld(kind: str, record: Record, page: CitationItem, sources: list[CitationItem], site_url: str) -> dict[str, Any]:
    """schema.org description of the page: a WebPage about the study (or regimen, or review) citing its sources."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": ["WebPage", "Dataset"],
        "@id": page.url,
        "url": page.url,
        "name": page.title,
        "isPartOf": {"@type": "WebSite", "name": page.container, "url": site_url},
        "publisher": {"@type": "Organization", "name": page.publisher},
        "author": [{"@type": "Person" if not p.literal else "Organization", "name": p.literal or f"{p.given} {p.family}"}
                   for p in page.authors],
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "citation": [
            {"@type": "ScholarlyArticle", "name": s.title, **({"identifier": f"doi:{s.doi}", "sameAs": doi_url(s.doi)}
                                                              if s.doi else {}),
             **({"datePublished": str(s.year)} if s.year else {})}
            for s in sources
        ],
    }
    if page.date:
        data["dateModified"] = page.date
    if isinstance(record, Study):
        trial = record.design in ("randomised", "single_arm")
        about: dict[str, Any] = {"@type": "MedicalTrial" if trial else "MedicalObservationalStudy" if record.design != "case_report" else "MedicalStudy",
                                 "name": record.title}
        if record.short_name:
            about["alternateName"] = [record.short_name, *record.aliases]
        if record.registry_ids:
            about["code"] = [{"@type": "MedicalCode", "codeValue": rid, "codingSystem": "ClinicalTrials.gov"}
                             for rid in record.registry_ids]
        data["about"] = about
    elif kind == "regimen":
        data["about"] = {"@type": "MedicalTherapy", "name": getattr(record, "name", record.id),
                         "alternateName": list(getattr(record, "aliases", []))}
    elif kind == "review":
        data["about"] = {"@type": "MedicalScholarlyArticle", "name": getattr(record, "title", record.id)}
    return data


# Inside <script> the HTML parser ends the element at '</script' and treats '<!--' specially, whatever JSON thinks;
# escaped as \uXXXX, the characters mean the same to a JSON parser and nothing to the HTML one.
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def json_ld_text(data: dict[str, Any]) -> str:
    """JSON-LD safe to put inside a <script> element."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return "".join(_SCRIPT_UNSAFE.get(ch, ch) for ch in text)


def source_items(evidence: Evidence, kind: str, record: Record) -> list[CitationItem]:
    """The source publications of a record page, for its citation downloads and metadata."""
    if isinstance(record, Study):
        ids = list(record.publications)
    elif kind == "review":
        ids = [record.publication]
    elif kind == "regimen":
        return cohort_sources(evidence, evidence.cohorts_by_regimen.get(record.id, []))
    else:
        ids = []
    return [publication_item(evidence.publications[i]) for i in ids]


def cohort_sources(evidence: Evidence, cohorts: Iterable[tuple[Study, Any]]) -> list[CitationItem]:
    """The publications of the studies of some (study, cohort) pairs, once each, in id order."""
    ids = sorted({publication for study, _ in cohorts for publication in study.publications})
    return [publication_item(evidence.publications[i]) for i in ids]
