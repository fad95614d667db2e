"""The regimen tables: every cohort of the atlas by regimen, with its figures, grouped by partner class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from build_scripts.derive.partners import (
    PARTNER_GROUP_ROLES, partner_group_label, partner_group_order, partner_groups_in_order,
)
from build_scripts.derive.responses import cohort_outcomes
from build_scripts.load.evidence import Evidence
from build_scripts.load.numbers import number
from build_scripts.load.vocabulary import (
    COHORT_ROLES, DESIGNS, EVIDENCE_TYPES, MEASURES, EXPOSURE_STATUSES, STATUSES,
)
from build_scripts.render.forest_rows import preferred_outcome
from build_scripts.render.links import REGIMEN_TABLES_URL, SUMMARY_URL, relative, url_of
from build_scripts.render.long_lists import (
    LongList, anchor_name, cohort_href, list_pages, listed_whole, long_list, regimen_table_url,
)
from build_scripts.render.members import Member, cohort_patients, member_list, members, n_text
from build_scripts.render.pages import SourceView, arms_view, comparison_view, source_view
from build_scripts.render.paging import table_page_items
from build_scripts.render.profile import follow_up_text
from build_scripts.load.vocabulary import TABLE_MEASURES


REGIMEN_TABLES_DESCRIPTION = ("Every cohort of the atlas by regimen, with its response rate, median PFS and OS, the"
                              " patients behind each figure and its source; randomised arms side by side.")


@dataclass(frozen=True)
class TableCell:
    """A figure of the regimen tables: text, the number it sorts by, its patients and source; or why it is missing."""

    text: str
    sort: float | None
    counts: str
    source: SourceView | None


def table_cell(evidence: Evidence, member: Member, measure_name: str, page_url: str) -> TableCell:
    """A cohort's figure of a measure (the one its charts show), or 'Not reported' with the source that says so."""
    outcomes = [o for o in cohort_outcomes(member.cohort) if o.measure == measure_name]
    outcome = preferred_outcome(evidence, member.study, outcomes)
    study_url = url_of("study", member.study.id)
    if outcome is None:
        stated = next((o for o in outcomes if o.status in ("not_reported", "not_available")), None)
        return TableCell(STATUSES[stated.status].label if stated else "not recorded", None, "",
                         source_view(evidence, stated, page_url, study_url) if stated else None)
    unit = "%" if MEASURES[measure_name].unit == "percent" else " months"
    text = f"{number(outcome.value)}{unit}" if outcome.value is not None else STATUSES[outcome.status].label
    if outcome.responders is not None and outcome.n is not None:
        counts = f"{outcome.responders}/{outcome.n}"
    else:
        counts = f"n = {outcome.n}" if outcome.n is not None else "n not reported"
    if outcome.status == "not_reached":  # a median not reached says little without how long patients were followed
        counts += "; " + follow_up_text(member.study, member.cohort)
    return TableCell(text, outcome.value, counts, source_view(evidence, outcome, page_url, study_url))


def partner_sort_number(group: str) -> int:
    """A partner group's place as one whole number, for the tables' numeric sort: its order's first part, then one
    digit per class (each class's position plus one, so that a group sorts before the groups it is a start of)."""
    first, *classes = partner_group_order(group)
    return int(str(first) + "".join(str(position + 1) for position in classes).ljust(7, "0"))


def table_rows(evidence: Evidence, group: Iterable[Member], page_url: str) -> list[dict[str, Any]]:
    """Rows of a regimen table: one per cohort, with its regimen, classes, patients and figures."""
    rows = []
    for member in group:
        regimen = evidence.regimens.get(member.cohort.regimen) if member.cohort.regimen else None
        count = cohort_patients(member.study, member.cohort)
        rows.append({
            "member": member,
            "regimen": regimen.name if regimen else (member.cohort.regimen_as_stated or "not specified"),
            "regimen_href": relative(page_url, url_of("regimen", regimen.id)) if regimen else None,
            "partner": member.partner,
            "partner_order": partner_sort_number(member.partner.name),
            "index_switch": member.index_switch,
            "prior": member.prior.text,
            "prior_order": list(EXPOSURE_STATUSES).index(member.prior.status),
            "study_href": relative(page_url, url_of("study", member.study.id)),
            "cohort_href": cohort_href(page_url, member.study.id, member.cohort.id),
            "role": COHORT_ROLES[member.cohort.role],
            "evidence_type": EVIDENCE_TYPES[member.evidence_type],
            "patients": count.value if count is not None else None,
            "patients_text": n_text(member),
            "cells": [table_cell(evidence, member, name, page_url) for name in TABLE_MEASURES],
        })
    return rows


@dataclass(frozen=True)
class TableGroup:
    """One list of the regimen tables: every cohort, or those of one partner class."""

    slug: str  # its pages' URL when too long for the page (regimen_table_url)
    label: str
    back: str  # the anchor of its section on the regimen tables page
    members: tuple[Member, ...]
    partner: str | None = None


ALL_REGIMENS = "all-regimens"  # the anchor of the table of every cohort, and the slug of its pages


def table_groups(everyone: Sequence[Member]) -> list[TableGroup]:
    """The regimen tables' lists: every cohort, then those of each partner class that has any, in vocabulary order."""
    groups = [TableGroup(ALL_REGIMENS, "All regimens", ALL_REGIMENS, tuple(everyone))]
    for partner in partner_groups_in_order(m.partner.name for m in everyone):
        group = tuple(m for m in everyone if m.partner.name == partner)
        groups.append(TableGroup(anchor_name(partner), partner_group_label(partner), "by-partner-class", group, partner))
    return groups


# The regimen tables page lists at most this many cohorts in all (its rows, about 1.5 KB each, are the heaviest of the
# site); the tables after that go on pages of their own, as a table longer than TABLE_PAGE_SIZE does. The atlas's
# own evidence lists 136 (2026-11), and keeps every table on the page.
REGIMEN_TABLES_LISTED_AT_MOST = 150


def regimen_table_groups(everyone: Sequence[Member],
                         page_url: str = REGIMEN_TABLES_URL) -> list[tuple[TableGroup, LongList | None]]:
    """Each regimen table (all cohorts, then one per partner class) with its own pages when it is not listed whole on
    the regimen tables page (listed_whole, at most REGIMEN_TABLES_LISTED_AT_MOST cohorts)."""
    groups = table_groups(everyone)
    whole = listed_whole([len(group.members) for group in groups], REGIMEN_TABLES_LISTED_AT_MOST)
    return [(group, long_list(page_url, regimen_table_url(group.slug), len(group.members), fits))
            for group, fits in zip(groups, whole)]


def regimen_tables_context(evidence: Evidence, page_url: str = REGIMEN_TABLES_URL) -> dict[str, Any]:
    """The regimen tables: every cohort across regimens, the same per partner class, and randomised arms side by side.
    A table longer than paging.TABLE_PAGE_SIZE is not listed here but linked: it goes on over pages of its own
    (regimen_table_pages)."""
    everyone = members(evidence)
    shown = []
    for group, more in regimen_table_groups(everyone, page_url):
        shown.append({"partner": group.partner, "label": group.label, "more": more,
                      "outside": group.partner == PARTNER_GROUP_ROLES["outside"],  # the cohorts not in the question
                      "rows": [] if more else table_rows(evidence, group.members, page_url)})
    every_cohort, *sections = shown
    randomised = []
    for study in sorted(evidence.studies.values(), key=lambda s: s.id):
        arms = arms_view(evidence, study, page_url)
        if arms is None:
            continue
        randomised.append({"study": study, "href": relative(page_url, url_of("study", study.id)),
                           "design": DESIGNS[study.design].label, "arms": arms,
                           "comparisons": [comparison_view(evidence, study, c, page_url) for c in study.comparisons]})
    return {
        "page_url": page_url,
        "measures": [MEASURES[name] for name in TABLE_MEASURES],
        "all_rows": every_cohort["rows"],
        "all_more": every_cohort["more"],
        "sections": sections,
        "randomised": randomised,
        "summary_href": relative(page_url, SUMMARY_URL),
    }


def regimen_table_pages(evidence: Evidence) -> list[tuple[str, dict[str, Any]]]:
    """(path, context) of the pages of each regimen table too long for the regimen tables page, in order."""
    return [(path, make()) for path, _, make in regimen_table_plan(evidence)]


def regimen_table_plan(evidence: Evidence) -> list[tuple[str, tuple, Callable[[], dict[str, Any]]]]:
    """Each page of regimen_table_pages as (path, key, context maker): the key is all the page shows besides what the
    maker reads (its cohorts, its table and its place among the table's pages), so that it can be kept while they are
    unchanged."""
    plan = []
    for group, more in regimen_table_groups(members(evidence)):
        if more is None:
            continue
        for number, url, pager in list_pages(more):
            shown = tuple(table_page_items(group.members, number))

            def make(url: str = url, label: str = group.label, back: str = group.back, pager: dict[str, Any] = pager,
                     keys: tuple[tuple[str, str], ...] = tuple((m.study.id, m.cohort.id) for m in shown)) -> dict[str, Any]:
                return {
                    "page_url": url, "label": label, "pager": pager,
                    "measures": [MEASURES[name] for name in TABLE_MEASURES],
                    "rows": table_rows(evidence, member_list(evidence, keys), url),
                    "back_href": relative(url, REGIMEN_TABLES_URL) + f"#{back}",
                }

            plan.append((f"{url}index.md", (group.label, group.back, repr(pager),
                                            tuple(m.key for m in shown)), make))
    return plan
