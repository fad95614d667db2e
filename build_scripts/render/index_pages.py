"""The index pages of each record kind and the studies index's data: one item per record, in pages."""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Iterable

from build_scripts.derive.partners import partner_group_label, partner_groups_in_order, regimen_partner_class
from build_scripts.derive.responses import COMPUTED_FROM_PATIENTS, PatientDerivedOutcome
from build_scripts.derive.question_count import question_count_note
from build_scripts.load.evidence import Evidence
from build_scripts.load.parts import Outcome
from build_scripts.load.vocabulary import (
    AGENT_CLASSES, DESIGNS, EVIDENCE_TYPES, INDEX_AXIS, EXPOSURE_STATUSES, RECORD_KINDS, STATUSES,
)
from build_scripts.render.export import DATA_FOLDER
from build_scripts.render.indexes import KeyResult, StudyFacts, regimen_uses, study_facts
from build_scripts.render.links import relative, short_citation, url_of
from build_scripts.render.pages import figure_text, publication_link, study_link
from build_scripts.render.paging import pager_context


# Beside the hand-written Contribute page, which links to it.
FIELD_REFERENCE_PAGE = "contribute/fields.md"


INDEX_PAGE_SIZE = 100


INDEX_TEMPLATES = {"study": "studies_index.md.j2", "regimen": "regimens_index.md.j2", "agent": "agents_index.md.j2",
                   "publication": "publications_index.md.j2", "review": "reviews_index.md.j2"}


def index_item(evidence: Evidence, kind: str, record: Any, page_url: str) -> dict[str, Any]:
    """One row of an index page, with links relative to that page."""
    if kind == "study":
        return study_index_view(evidence, study_facts(evidence, record), page_url)
    if kind == "regimen":
        return {"record": record, "href": relative(page_url, url_of("regimen", record.id)),
                "partner": regimen_partner_class(evidence, record.id),
                "uses": regimen_uses_view(evidence, record.id, page_url)}
    if kind == "agent":
        return {"record": record, "class": AGENT_CLASSES[record.agent_class],
                "href": relative(page_url, url_of("agent", record.id))}
    if kind == "publication":
        return publication_link(evidence, record.id, page_url)
    return {"record": record, "href": relative(page_url, url_of(kind, record.id))}


def regimen_uses_view(evidence: Evidence, regimen_id: str, page_url: str) -> dict[str, Any]:
    """How many studies gave a regimen to a cohort and, when none did, why the regimen is listed."""
    uses = regimen_uses(evidence, regimen_id)
    return {
        "studies": uses.studies,
        "context": len(uses.context_studies),
        "lines": [study_link(evidence, study_id, page_url) for study_id in uses.line_studies],
        "within": [{"record": evidence.regimens[r], "href": relative(page_url, url_of("regimen", r))}
                   for r in uses.within],
    }


def headline_text(outcome: Outcome) -> str:
    """A figure as a summary cell shows it: the value or status, with its variant when it has one, and said to be
    computed when the atlas computed it from per-patient responses (no source states it)."""
    return (figure_text(outcome) + (f" ({outcome.variant})" if outcome.variant else "")
            + (COMPUTED_FROM_PATIENTS if isinstance(outcome, PatientDerivedOutcome) else ""))


# The fields of a key result in the studies index data, in order.
KEY_RESULT_FIELDS = ("cohort", "label", "orr", "orr_value", "pfs", "pfs_value", "n")


def key_result_view(key: KeyResult | None) -> dict[str, Any] | None:
    """A key result as text and numbers: None fields when the cohort records no such figure."""
    if key is None:
        return None
    return {"cohort": key.cohort.id, "label": key.cohort.label,
            "orr": headline_text(key.orr) if key.orr else None, "orr_value": key.orr.value if key.orr else None,
            "pfs": headline_text(key.pfs) if key.pfs else None, "pfs_value": key.pfs.value if key.pfs else None,
            "n": key.n}


def patients_text(n: int | None) -> str:
    """A study's number of patients in an index: the number, or 'Not reported' (never empty, never zero)."""
    return str(n) if n is not None else STATUSES["not_reported"].label


def study_index_view(evidence: Evidence, facts: StudyFacts, page_url: str) -> dict[str, Any]:
    """A row of the studies index as the page shows it without JavaScript."""
    study = facts.study
    href = relative(page_url, url_of("study", study.id))
    key = key_result_view(facts.key)
    return {
        "record": study, "href": href, "year": facts.year,
        "design": DESIGNS[facts.design].label, "evidence_type": EVIDENCE_TYPES[facts.evidence_type],
        "regimens": [{"record": evidence.regimens[r], "href": relative(page_url, url_of("regimen", r))}
                     for r in facts.regimens],
        "partner_classes": [partner_group_label(name) for name in facts.partner_classes],
        "index_switches": [INDEX_AXIS[name] for name in facts.index_switches],
        "prior_statuses": [EXPOSURE_STATUSES[name].label for name in facts.prior_statuses],
        "n": patients_text(facts.n),
        "key": {**key, "href": f"{href}#cohort-{key['cohort']}"} if key else None,
        "patients_note": question_count_note(facts.question_count, facts.n),
    }


STUDIES_INDEX_DATA = f"{DATA_FOLDER}/studies-index.json"


# The fields of a row in the studies index data, in order: rows are arrays, so no name is repeated 10,000 times.
STUDY_INDEX_FIELDS = ("id", "title", "short_name", "registry_ids", "year", "design", "evidence_type", "regimens",
                      "partner_classes", "index_switches", "prior_statuses", "n", "key", "patients_note")


def studies_index_json(evidence: Evidence) -> str:
    """The rows of the studies index for the page's script, in study id order.

    Compact by construction: regimens and agents are numbers into lists given once, vocabulary values are names
    whose labels are given once, and only what the table shows or filters on is there.
    """
    rows = [study_facts(evidence, study) for study in sorted(evidence.studies.values(), key=lambda s: s.id)]
    regimen_ids = sorted({r for row in rows for r in row.regimens},
                         key=lambda r: (evidence.regimens[r].name.lower(), r))
    agent_ids = sorted({a for r in regimen_ids for a in evidence.regimens[r].agents},
                       key=lambda a: (evidence.agents[a].name.lower(), a))
    regimen_number = {r: i for i, r in enumerate(regimen_ids)}
    agent_number = {a: i for i, a in enumerate(agent_ids)}

    def row_data(row: StudyFacts) -> list[Any]:
        key = key_result_view(row.key)
        return [row.study.id, row.study.title, row.study.short_name, row.study.registry_ids, row.year, row.design,
                row.evidence_type, [regimen_number[r] for r in row.regimens], list(row.partner_classes),
                list(row.index_switches), list(row.prior_statuses), row.n,
                [key[name] for name in KEY_RESULT_FIELDS] if key else None, question_count_note(row.question_count, row.n)]

    payload = {
        "fields": list(STUDY_INDEX_FIELDS),
        "key_fields": list(KEY_RESULT_FIELDS),
        "urls": {kind: f"{RECORD_KINDS[kind].url_prefix}/" for kind in ("study", "regimen")},
        "labels": {
            "design": {name: design.label for name, design in DESIGNS.items()},
            "evidence_type": dict(EVIDENCE_TYPES),
            "partner_class": {name: partner_group_label(name)
                              for name in partner_groups_in_order(p for row in rows for p in row.partner_classes)},
            "index_switch": dict(INDEX_AXIS),
            "prior_status": {name: status.label for name, status in EXPOSURE_STATUSES.items()},
            "not_reported": STATUSES["not_reported"].label,
        },
        "agents": [[a, evidence.agents[a].name] for a in agent_ids],
        "regimens": [[r, evidence.regimens[r].name, [agent_number[a] for a in evidence.regimens[r].agents]]
                     for r in regimen_ids],
        "rows": [row_data(row) for row in rows],
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n"


def _index_order(kind: str, record: Any) -> tuple:
    if kind == "publication":
        return (short_citation(record).lower(), record.id)
    if kind in ("regimen", "agent"):
        return (record.name.lower(), record.id)
    return (record.id,)


def index_pages(evidence: Evidence, kind: str) -> Iterable[tuple[str, dict[str, Any]]]:
    """(page path, context) of each page of a kind's index; pages hold INDEX_PAGE_SIZE records, so none grows."""
    return [(path, make()) for path, _, make in index_plan(evidence, kind)]


def index_plan(evidence: Evidence, kind: str) -> list[tuple[str, tuple, Callable[[], dict[str, Any]]]]:
    """Each page of index_pages as (path, key, context maker): the key is all the page shows besides what the maker
    reads (its records and its place among the pages), so that it can be kept while they are unchanged."""
    prefix = RECORD_KINDS[kind].url_prefix
    records = sorted(evidence.by_kind(kind).values(), key=lambda r: _index_order(kind, r))
    count = max(1, math.ceil(len(records) / INDEX_PAGE_SIZE))
    urls = [f"{prefix}/" if page == 1 else f"{prefix}/page/{page}/" for page in range(1, count + 1)]
    plan = []
    for page_number, url in enumerate(urls, start=1):
        ids = tuple(record.id for record in records[(page_number - 1) * INDEX_PAGE_SIZE: page_number * INDEX_PAGE_SIZE])
        pager = pager_context(page_number, len(records), [relative(url, u) for u in urls], INDEX_PAGE_SIZE)

        def make(url: str = url, ids: tuple[str, ...] = ids, pager: dict[str, Any] = pager) -> dict[str, Any]:
            chunk = [evidence.by_kind(kind)[record_id] for record_id in ids]
            return {"items": [index_item(evidence, kind, record, url) for record in chunk], "pager": pager,
                    "page_url": url, "site_root": relative(url, ""), "pager_size": INDEX_PAGE_SIZE}

        plan.append((f"{url}index.md", (kind, ids, repr(pager)), make))
    return plan
