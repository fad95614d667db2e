"""Search: what each record page gives Pagefind (its type, the names readers use, its filter values), and the map of
exact names that puts a record's own page first."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Iterable

from build_scripts.derive.facts import cohort_regimens, exposure_status
from build_scripts.derive.partners import index_switch, partner_group_classes, partners, regimen_partner_class
from build_scripts.load.evidence import Evidence
from build_scripts.load.vocabulary import (
    INDEX_AXIS, DESIGNS, PARTNER_CLASSES, PARTNER_GROUPS_FIRST, PARTNER_GROUPS_LAST, EXPOSURE_STATUSES,
    RECORD_KINDS, SEARCH_FILTERS, TopicTable,
)
from build_scripts.render.links import url_of

# The partner facet: each partner class on its own (a regimen with partners of two classes is found under both),
# and the groups that are no set of classes.
PARTNER_FACET = TopicTable(lambda topic: {
    **PARTNER_GROUPS_FIRST, **{name: f"+ {label}" for name, label in PARTNER_CLASSES.items()}, **PARTNER_GROUPS_LAST})

# Names per file of the exact-name map (publish/pagefind.py writes the files; atlas-search.js reads them).
PINS_PER_FILE = 100


@dataclass(frozen=True)
class Named:
    """A record's name with its other names (brand and code names, abbreviations)."""

    name: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class SearchView:
    """What a record's page gives search: its type label, the names of what it involves, its filter values.

    Filter values are identifiers (record kinds, agent ids, vocabulary keys), never record text: Pagefind decodes
    entities in a value, twice, and collapses its white space, so text would not come back as the page sent it.
    """

    type: str
    names: tuple[tuple[str, tuple[Named, ...]], ...]      # (group label, names), e.g. ("Agents", (an agent, ...))
    filters: tuple[tuple[str, tuple[str, ...]], ...]      # (key of SEARCH_FILTERS, values), values in listing order


def _named(records: Iterable) -> tuple[Named, ...]:
    return tuple(Named(r.name, tuple(r.aliases)) for r in records)


def _ordered(values: Iterable[str], order: Iterable[str]) -> tuple[str, ...]:
    present = set(values)
    return tuple(v for v in order if v in present)


def study_regimen_ids(evidence: Evidence, study_id: str) -> tuple[str, ...]:
    """The regimens a study's cohorts were given, in the order the cohorts list them."""
    study = evidence.studies[study_id]
    return tuple(dict.fromkeys(c.regimen for c in study.cohorts if c.regimen and c.regimen in evidence.regimens))


def _partner_facets(group: str) -> tuple[str, ...]:
    """A partner group's values of the partner facet: its classes, or the group itself when it is no set of them."""
    return partner_group_classes(group) or (group,)


def _agent_ids(evidence: Evidence, regimen_ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a for r in regimen_ids for a in evidence.regimens[r].agents if a in evidence.agents))


def search_view(evidence: Evidence, kind: str, record_id: str) -> SearchView:
    """A record's type, the names it is searched by beyond its own text, and its values of SEARCH_FILTERS."""
    label = RECORD_KINDS[kind].label
    if kind == "study":
        study = evidence.studies[record_id]
        regimen_ids = study_regimen_ids(evidence, record_id)
        agent_ids = _agent_ids(evidence, regimen_ids)
        # A cohort without a regimen of its own (an overall cohort over several arms) has no partner group of its own.
        groups = [partners(evidence, study, c).name for c in study.cohorts if len(cohort_regimens(study, c)) == 1]
        facets = [facet for group in groups for facet in _partner_facets(group)]
        switches = [index_switch(evidence, study, c).name for c in study.cohorts]
        priors = [exposure_status(study, c).status for c in study.cohorts]
        return SearchView(label, (
            ("Agents", _named(evidence.agents[a] for a in agent_ids)),
            ("Regimens", _named(evidence.regimens[r] for r in regimen_ids)),
        ), (
            ("type", (kind,)),
            ("agent", agent_ids),
            ("partner", _ordered(facets, PARTNER_FACET)),
            ("index_switch", _ordered(switches, INDEX_AXIS)),
            ("design", (study.design,)),
            ("prior", _ordered(priors, EXPOSURE_STATUSES)),
        ))
    if kind == "regimen":
        agent_ids = _agent_ids(evidence, [record_id])
        return SearchView(label, (("Agents", _named(evidence.agents[a] for a in agent_ids)),), (
            ("type", (kind,)),
            ("agent", agent_ids),
            ("partner", _partner_facets(regimen_partner_class(evidence, record_id).name)),
        ))
    if kind == "agent":
        return SearchView(label, (), (("type", (kind,)), ("agent", (record_id,))))
    return SearchView(label, (), (("type", (kind,)),))


def _records(evidence: Evidence) -> Iterable[tuple[str, str]]:
    for kind in RECORD_KINDS:
        for record_id in sorted(evidence.by_kind(kind)):
            yield kind, record_id


def filter_options(evidence: Evidence) -> list[dict]:
    """Each filter of the search page with its label and every value some record has, as (value, label) in
    listing order."""
    found: dict[str, set[str]] = {key: set() for key in SEARCH_FILTERS}
    for kind, record_id in _records(evidence):
        for key, values in search_view(evidence, kind, record_id).filters:
            found[key].update(values)
    labels = {
        "type": {name: kind.label for name, kind in RECORD_KINDS.items()},
        "agent": {agent_id: agent.name for agent_id, agent in evidence.agents.items()},
        "partner": PARTNER_FACET,
        "index_switch": INDEX_AXIS,
        "design": {name: design.label for name, design in DESIGNS.items()},
        "prior": {name: status.label for name, status in EXPOSURE_STATUSES.items()},
    }
    # agents by name; the rest in the vocabulary's order
    labels["agent"] = dict(sorted(labels["agent"].items(), key=lambda item: (item[1].casefold(), item[0])))
    return [{"key": key, "label": label, "options": [(value, labels[key][value]) for value in labels[key]
                                                       if value in found[key]]}
            for key, label in SEARCH_FILTERS.items() if found[key]]


def pin_key(text: str) -> str:
    """A name as the exact-name map compares it: letters and digits only, lower case ("ICARIA-MM" -> "icariamm").

    atlas-search.js computes the same key from the query.
    """
    return "".join(c for c in unicodedata.normalize("NFKD", text).lower() if c.isascii() and c.isalnum())


def pins(evidence: Evidence) -> dict[str, list[str]]:
    """Exact names (keys of pin_key) with the pages they name: abbreviations, trial and brand names, registry ids.

    A search for exactly one of these names lists those pages first.
    """
    found: dict[str, list[str]] = {}

    def add(names: Iterable[str | None], kind: str, record_id: str) -> None:
        for name in names:
            key = pin_key(name or "")
            url = "/" + url_of(kind, record_id)
            if key and url not in found.setdefault(key, []):
                found[key].append(url)

    for kind, record_id in _records(evidence):
        record = evidence.by_kind(kind)[record_id]
        if kind == "study":
            add([record.short_name, *record.aliases, *record.registry_ids], kind, record_id)
        elif kind in ("regimen", "agent"):
            add([record.name, *record.aliases], kind, record_id)
    return dict(sorted(found.items()))


def companions(evidence: Evidence) -> dict[str, str]:
    """Pages that change with another page, by site path of their HTML: each publication's page goes with the page
    of the first study (by id) that it reports, whose edits show on it. The search index keeps them in one shard."""
    found: dict[str, str] = {}
    for study_id, study in sorted(evidence.studies.items()):
        page = url_of("study", study_id) + "index.html"
        for publication_id in study.publications:
            found.setdefault(url_of("publication", publication_id) + "index.html", page)
    return found


def pin_files(keys: int) -> int:
    """How many files the exact-name map is split into."""
    return max(1, math.ceil(keys / PINS_PER_FILE))


def pin_file(key: str, files: int) -> int:
    """The file that holds a key: 32-bit FNV-1a of the key, modulo the number of files (atlas-search.js agrees)."""
    value = 0x811C9DC5
    for byte in key.encode("ascii"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value % files
