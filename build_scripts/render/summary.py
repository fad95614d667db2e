"""The Evidence summary: what the evidence says per partner class and prior exposure status.

Pure functions from the evidence (and the exploratory synthesis, synthesis.py) to page contexts, which the templates
summary.md.j2 and summary_details.md.j2 render (the cohorts and their patients come from members.py, the evidence
map from evidence_map.py, the regimen tables are regimen_tables.py's). Every figure carries a link to the cohort section of the study page it
comes from; every cohort that does not report a measure is counted, never dropped; patients are counted once (a cohort
is added only when it shares no patient with those already counted, by the synthesis's rule).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from build_scripts.derive.entries import cohorts_may_share_patients
from build_scripts.derive.facts import cohort_regimens, defining_population
from build_scripts.derive.partners import partner_group_label
from build_scripts.derive.synthesis_types import MIN_COHORTS, RANGE_MEASURES, Analysis, Stratum, Synthesis
from build_scripts.load.evidence import Evidence, evidence_type
from build_scripts.load.model import Study
from build_scripts.load.numbers import number
from build_scripts.load.parts import Cohort, Population
from build_scripts.load.vocabulary import (
    INDEX_AXIS, DESIGNS, EVIDENCE_TYPES, MEASURES, POOLING_METHODS, PRIMARY_POOLING_METHOD, EXPOSURE_STATUSES,
    SUMMARY_MEASURES, SYNTHESIS_EXCLUSIONS, TABLE_MEASURES, WORDS, Measure, TopicTable, summary_pooled_measure,
    exposure_rules, upper_first,
)
from build_scripts.render.evidence_map import MapCell, evidence_map, review_views
from build_scripts.render.links import QUESTIONS_URL, REGIMEN_TABLES_URL, SUMMARY_DETAILS_URL, SUMMARY_URL, relative
from build_scripts.render.long_lists import (
    anchor_name, cohort_href, list_pages, listed_whole, long_list, stratum_anchor, summary_list_url,
)
from build_scripts.render.members import (
    MeasureSummary, Member, PatientTotal, measure_summary, members, n_text, nested_in, patient_total,
)
from build_scripts.render.paging import table_page_items
from build_scripts.render.profile import ProfileLine, arm_comparison, evidence_profile, follow_up


def summary_description() -> str:
    """The Evidence summary's meta description."""
    return (f"{upper_first(WORDS['question_cohort'])} in {WORDS['disease_short']} by partner drug and prior"
            f" {WORDS['index_adjective']} status: studies, patients, response rates and median survival, each number"
            " linked to its source.")


def summary_details_description() -> str:
    """The meta description of the page of the cohorts behind the Evidence summary."""
    return (f"The cohorts behind each row and mark of the Evidence summary of {WORDS['question_cohort']}, those it"
            " leaves out and why, and a systematic review's conclusions beside them.")


# ---------------------------------------------------------------- lists too long for their page


# ---------------------------------------------------------------- cohorts and their derived facts


# ---------------------------------------------------------------- patients, each counted once


# ---------------------------------------------------------------- figures of a measure, with their cohorts


# ---------------------------------------------------------------- the exploratory pooled estimate

@dataclass(frozen=True)
class PooledCohort:
    """A cohort used in, or left out of, a pooled analysis, with its link and (when left out) the reason."""

    member: Member
    href: str
    responders: int | None = None
    n: int | None = None
    derived: bool = False
    corrected: bool = False
    reason: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class PooledView:
    """A stratum's pooled analysis of a rate, as the summary shows it: estimates, cohorts used and left out."""

    anchor: str
    measure: Measure
    analysis: Analysis
    used: tuple[PooledCohort, ...]
    excluded: tuple[PooledCohort, ...]
    sensitivity: Analysis | None

    @property
    def estimate(self):  # noqa: ANN201 - synthesis_types.Estimate
        """The estimate the table shows: the primary pooling method's (vocabulary.PRIMARY_POOLING_METHOD)."""
        return self.analysis.primary


def pooled_view(evidence: Evidence, synthesis: Synthesis, stratum: Stratum, by_key: dict[str, Member],
                page_url: str, measure_name: str | None = None) -> PooledView | None:
    """The pooled analysis of a stratum's rate, or None when the synthesis has none for it."""
    measure_name = measure_name or summary_pooled_measure()
    analysis = synthesis.analysis(stratum, measure_name)
    if analysis is None:
        return None

    def href(study_id: str, cohort_id: str) -> str:
        return cohort_href(page_url, study_id, cohort_id)

    used = tuple(PooledCohort(by_key[e.key], href(e.study_id, e.cohort_id), e.responders, e.n, e.responders_derived,
                              e.corrected) for e in analysis.used)
    excluded = tuple(PooledCohort(by_key[x.key], href(x.study_id, x.cohort_id), reason=SYNTHESIS_EXCLUSIONS[x.reason],
                                  detail=x.detail) for x in analysis.excluded)
    return PooledView(stratum_anchor("pooled", stratum), MEASURES[measure_name],
                      analysis, used, excluded, synthesis.analysis(stratum, measure_name, sensitivity=True))


# ---------------------------------------------------------------- the summary-of-findings table

@dataclass(frozen=True)
class SummaryRow:
    """One partner class and prior exposure status: its cohorts, patients, figures, pooled estimate and caveats."""

    stratum: Stratum
    members: tuple[Member, ...]
    studies: tuple[Study, ...]
    evidence_types: tuple[tuple[str, int], ...]  # (label, studies)
    patients: PatientTotal
    measures: dict[str, MeasureSummary]
    pooled: PooledView | None
    caveats: tuple[str, ...]
    # per measure: what a reader needs beside its figures (whose cohort, a randomised arm's comparator and its trial's
    # stop, a median's follow-up)
    cell_notes: dict[str, tuple[CellNote, ...]] = field(default_factory=dict)
    profile: tuple[ProfileLine, ...] = ()

    @property
    def anchor(self) -> str:
        return stratum_anchor("row", self.stratum)

    @property
    def cohorts_anchor(self) -> str:
        return stratum_anchor("cohorts", self.stratum)

    @property
    def partner_label(self) -> str:
        return partner_group_label(self.stratum.partner_class)

    @property
    def status_label(self) -> str:
        return EXPOSURE_STATUSES[self.stratum.prior_status].label

    @property
    def index_switches(self) -> str:
        """The index-switch axis values of the row's cohorts, in the vocabulary's order: 'Same index agent again', ..."""
        found = {member.index_switch.name for member in self.members}
        return "; ".join(label for name, label in INDEX_AXIS.items() if name in found)


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def caveats(evidence: Evidence, group: Sequence[Member], patients: PatientTotal,
            measures: dict[str, MeasureSummary]) -> tuple[str, ...]:
    """What limits a row's evidence, in a few words generated from its cohorts (never typed by a curator)."""
    studies = list({m.study.id: m.study for m in group}.values())
    notes = []
    if len(studies) == 1:
        notes.append("one " + DESIGNS[studies[0].design].label.lower())
    by_study: dict[str, list[Member]] = {}
    for member in group:
        by_study.setdefault(member.study.id, []).append(member)
    nested = [m for m in group if any(nested_in(m, other) for other in by_study[m.study.id])]
    if nested:
        notes.append(_plural(len(nested), "cohort") + " nested in another cohort of the row")
    # Cohorts not nested in another of the row that may still share patients: data cuts, reports, subgroups.
    nested_keys = {m.key for m in nested}
    overlapping = set()
    for study_id, study_members in by_study.items():
        roots = [m for m in study_members if m.key not in nested_keys]
        if any(cohorts_may_share_patients(evidence, a.study, a.cohort.id, b.study, b.cohort.id)
               for i, a in enumerate(roots) for b in roots[i + 1:]):
            overlapping.add(study_id)
    if overlapping:
        notes.append(_plural(len(overlapping), "study", "studies") + " with reports or subgroups that may share patients")
    ids = {s.id for s in studies}
    related = {s.id for s in studies for other, _, _ in evidence.related_by_study.get(s.id, []) if other in ids}
    if related:
        notes.append(_plural(len(related), "study", "studies") + " that may share patients with another")
    cases = [s for s in studies if s.design in ("case_report", "case_series")]
    if cases and len(cases) == len(studies):
        notes.append("case reports or case series only")
    elif cases:
        notes.append(_plural(len(cases), "case report or series", "case reports or series"))
    figures = [f for summary in measures.values() for f in summary.figures + summary.not_reached]
    if figures and all(f.outcome.source.publication not in f.member.study.publications for f in figures):
        notes.append("every figure second-hand (from a review)")
    flagged = [f for f in figures if f.outcome.discrepancy]
    if flagged:
        notes.append(f"sources disagree on {_plural(len(flagged), 'figure')}")
    if not figures:
        notes.append("no cohort reports " + ", ".join(MEASURES[m].short for m in measures))
    if patients.unreported:
        notes.append(f"patients not reported for {len(patients.unreported)} of {_plural(len(group), 'cohort')}")
    return tuple(notes)


@dataclass(frozen=True)
class CellNote:
    """A note under a figure of the summary table; its one number, if any, links to the cohort it comes from."""

    before: str
    figure: str | None = None
    href: str | None = None
    after: str = ""


def cell_notes(evidence: Evidence, group: Sequence[Member], measures: dict[str, MeasureSummary],
               page_url: str = SUMMARY_URL) -> dict[str, tuple[CellNote, ...]]:
    """For each measure's cell of a row: the cohort its figures come from where its neighbours' come from others,
    a randomised arm's comparator with its figure and whether the trial stopped, and a median's follow-up."""
    shown = {name: [f for f in {id(x): x for x in (s.low, s.high) if x is not None}.values()] + list(s.not_reached)
             for name, s in measures.items()}
    keys = {name: {f.member.key for f in figures} for name, figures in shown.items() if figures}
    notes: dict[str, tuple[CellNote, ...]] = {}
    for name, figures in shown.items():
        out = []
        if len(group) > 1 and name in keys and any(other != keys[name] for n, other in keys.items() if n != name):
            out.append(CellNote("from " + " and ".join(dict.fromkeys(
                f"{f.member.study_name}: {f.member.cohort.label}" for f in figures))))
        for f in figures:
            arm = arm_comparison(evidence, f.member.study, f.member.cohort, name)
            if arm is not None:
                out.append(CellNote(f"{f.member.cohort.label} ({arm.role} arm) against {arm.other.label}: ",
                                    arm.figure, cohort_href(page_url, arm.other_study.id, arm.other.id),
                                    f"; trial {arm.stopped.lower()}" if arm.stopped else ""))
        for f in measures[name].not_reached:
            found = follow_up(f.member.study, f.member.cohort)
            if found is None:
                out.append(CellNote(f"not reached in {f.member.study_name}: follow-up not stated"))
            else:
                outcome, holder = found
                out.append(CellNote(f"not reached in {f.member.study_name}: median follow-up ",
                                    f"{number(outcome.value)} months",
                                    cohort_href(page_url, f.member.study.id, holder.id)))
        notes[name] = tuple(out)
    return notes


def summary_rows(evidence: Evidence, synthesis: Synthesis | None, page_url: str = SUMMARY_URL,
                 everyone: Sequence[Member] | None = None) -> list[SummaryRow]:
    """One row per partner class and prior status of the cohorts in the question, in the vocabulary's order.

    `everyone` is members(evidence) when the caller has it already (here and below: it is derived once per page)."""
    everyone = members(evidence) if everyone is None else everyone
    by_key = {m.key: m for m in everyone}
    strata: dict[Stratum, list[Member]] = {}
    for member in everyone:
        if member.in_question:
            strata.setdefault(member.stratum, []).append(member)
    rows = []
    for stratum in sorted(strata, key=lambda s: s.order):
        group = strata[stratum]
        studies = tuple({m.study.id: m.study for m in group}.values())
        types = Counter(evidence_type(s) for s in studies)
        patients = patient_total(evidence, group)
        measures = {name: measure_summary(evidence, group, name, page_url) for name in SUMMARY_MEASURES}
        pooled = pooled_view(evidence, synthesis, stratum, by_key, page_url) if synthesis is not None else None
        ranges = [r for r in (synthesis.median_range(stratum, m) for m in RANGE_MEASURES) if r is not None] \
            if synthesis is not None else []
        rows.append(SummaryRow(
            stratum=stratum, members=tuple(group), studies=studies,
            evidence_types=tuple((EVIDENCE_TYPES[t], types[t]) for t in EVIDENCE_TYPES if types[t]),
            patients=patients, measures=measures,
            pooled=pooled, caveats=caveats(evidence, group, patients, measures),
            cell_notes=cell_notes(evidence, group, measures, page_url),
            profile=evidence_profile(evidence, [(m.study, m.cohort) for m in group],
                                     pooled.analysis if pooled is not None else None, ranges)))
    return rows


# ---------------------------------------------------------------- cohorts not summarised

@dataclass(frozen=True)
class Unsummarised:
    """A cohort left out of the summary table, and why."""

    member: Member
    href: str
    reason: str
    as_stated: str | None  # how the source defines the patients, where it does


def defined_population(study: Study, cohort: Cohort) -> Population | None:
    """The nearest population (the cohort's, its parents', the study's) whose source defines its prior exposure."""
    return defining_population(study, cohort)[0]


def not_given_reason(evidence: Evidence, member: Member) -> str:
    """Why a cohort is not given an agent of the index class, in a reader's words."""
    agent = WORDS["index_agent"]
    regimens = cohort_regimens(member.study, member.cohort)
    if regimens:
        names = " and ".join(f"“{evidence.regimens[r].name}”" for r in regimens if r in evidence.regimens)
        return f"its regimen {names} holds no {agent}"
    if member.cohort.regimen_as_stated:
        return (f"no regimen with {WORDS['a_index_agent']} is recorded"
                f" (the source: “{member.cohort.regimen_as_stated}”)")
    return "no regimen is recorded"


def unsummarised(evidence: Evidence, page_url: str = SUMMARY_URL,
                 everyone: Sequence[Member] | None = None) -> dict[str, list[Unsummarised]]:
    """Cohorts outside the question, in three groups: partly naive or prior therapy not stated ('uncertain'), naive
    to the index class ('naive'), and given no agent of it ('other')."""
    groups: dict[str, list[Unsummarised]] = {"uncertain": [], "naive": [], "other": []}
    for member in members(evidence) if everyone is None else everyone:
        if member.in_question:
            continue
        status = EXPOSURE_STATUSES[member.prior.status]
        population = defined_population(member.study, member.cohort)
        as_stated = population.prior_exposure.as_stated if population is not None else None  # type: ignore[union-attr]
        href = cohort_href(page_url, member.study.id, member.cohort.id)
        if member.prior.status == exposure_rules().naive:
            groups["naive"].append(Unsummarised(member, href, status.definition, as_stated))
        elif not status.in_question:
            groups["uncertain"].append(Unsummarised(member, href, f"{member.prior.text}: {status.definition}", as_stated))
        else:
            groups["other"].append(Unsummarised(member, href, not_given_reason(evidence, member), None))
    return groups


# ---------------------------------------------------------------- the evidence map


# ---------------------------------------------------------------- the review beside the atlas


# ---------------------------------------------------------------- page contexts


# The groups of cohorts not in the summary table (unsummarised), with their headings.
UNSUMMARISED_GROUPS: Mapping[str, str] = TopicTable(lambda topic: {
    "uncertain": f"Given {WORDS['a_index_agent']}, but not all patients had one before, or it is"
                 " not stated",
    "naive": f"{upper_first(WORDS['index_adjective'])}-naive comparison groups",
    "other": f"Not given {WORDS['a_index_agent']} (control arms, later therapy)",
})


@dataclass(frozen=True)
class CohortList:
    """A list of cohorts on the Evidence summary that grows with the evidence; summary_list.md.j2 shows its pages
    when it is too long for the summary."""

    kind: str  # what its items are: 'cohorts' or 'counted' (Member), 'pooled' or 'left-out' (PooledCohort),
    # 'not-summarised' (Unsummarised), 'map' (Member)
    anchor: str  # the id of the part of the summary page that holds it
    title: str
    url: str  # its first page of its own, when it needs them
    items: tuple[Any, ...]
    row: SummaryRow | None = None  # the summary table's row, for a row's cohorts and counted patients

    @property
    def key(self) -> tuple[str, str]:
        """How the summary page finds the list: (kind, anchor)."""
        return self.kind, self.anchor


def item_member(item: Any) -> Member:
    """The cohort an item of a CohortList stands for."""
    return item if isinstance(item, Member) else item.member


def summary_lists(rows: Sequence[SummaryRow], groups: dict[str, list[Unsummarised]],
                  evidence_map_rows: Sequence[tuple[str, list[MapCell | None]]]) -> list[CohortList]:
    """Every list of cohorts the Evidence summary shows, in page order."""
    lists = [CohortList("not-summarised", f"not-summarised-{name}", f"Not in the summary table: {label}",
                        summary_list_url("not-summarised", name), tuple(groups[name]))
             for name, label in UNSUMMARISED_GROUPS.items() if groups[name]]
    for row in rows:
        slug = stratum_anchor("", row.stratum)
        name = f"the row “{row.partner_label}; {row.status_label}”"
        lists.append(CohortList("cohorts", row.cohorts_anchor, f"Cohorts behind {name}",
                                summary_list_url(slug, "cohorts"), row.members, row))
        lists.append(CohortList("counted", row.cohorts_anchor, f"Cohorts whose patients are counted in {name}",
                                summary_list_url(slug, "patients-counted"), row.patients.counted, row))
        if row.pooled is not None:
            p = row.pooled
            pooled = "pooled" if p.analysis.estimates else "that could be pooled"
            lists.append(CohortList("pooled", p.anchor, f"Cohorts {pooled} for {p.measure.short} in {name}",
                                    summary_list_url(slug, "pooled"), p.used, row))
            lists.append(CohortList("left-out", p.anchor, f"Cohorts left out of the pooled {p.measure.short} of {name}",
                                    summary_list_url(slug, "pooled-left-out"), p.excluded, row))
    for _, cells in evidence_map_rows:
        for cell in cells:
            if cell is not None:
                lists.append(CohortList("map", cell.anchor, f"Cohorts behind the evidence map: {cell.label}",
                                        summary_list_url("map", anchor_name(cell.partner, cell.evidence_type)),
                                        cell.members))
    return lists


def summary_pages(evidence: Evidence, synthesis: Synthesis | None
                  ) -> tuple[dict[str, Any], dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """The Evidence summary's context, that of its page of details (the cohorts behind it), and the (path, context)
    of the pages of each of its lists too long for the details page."""
    main = summary_context(evidence, synthesis)
    context = summary_context(evidence, synthesis, SUMMARY_DETAILS_URL)
    made = []
    for cohort_list in context["lists"]:
        more = context["long"].get(cohort_list.key)
        if more is None:
            continue
        for number, url, pager in list_pages(more):
            items = table_page_items(cohort_list.items, number)
            shown = [item_member(item) for item in items]
            made.append((f"{url}index.md", {
                "page_url": url, "list": cohort_list, "items": items, "pager": pager,
                "hrefs": {m.key: cohort_href(url, m.study.id, m.cohort.id) for m in shown},
                "n_texts": {m.key: n_text(m) for m in shown},
                "measures": context["measures"],
                "summary_href": relative(url, SUMMARY_URL),
                "details_href": relative(url, SUMMARY_DETAILS_URL),
            }))
    return main, context, made


# The Evidence summary lists at most this many cohorts in all; the lists after that go on pages of their own, as a list
# longer than TABLE_PAGE_SIZE does, so the page stays light however many lists grow at once. The atlas's own
# evidence lists 189 (2026-11), and keeps every list on the page.
SUMMARY_LISTED_AT_MOST = 200


def summary_list_pages(lists: Sequence[CohortList], page_url: str = SUMMARY_URL) -> dict[str, Any]:
    """The summary's lists ('lists', in page order) and those it links instead of listing ('long', by key): any longer
    than TABLE_PAGE_SIZE, and every one that would take the cohorts listed past SUMMARY_LISTED_AT_MOST."""
    long = {}
    for cohort_list, whole in zip(lists, listed_whole([len(c.items) for c in lists], SUMMARY_LISTED_AT_MOST)):
        more = long_list(page_url, cohort_list.url, len(cohort_list.items), whole)
        if more is not None:
            long[cohort_list.key] = more
    return {"lists": lists, "long": long}


def summary_context(evidence: Evidence, synthesis: Synthesis | None, page_url: str = SUMMARY_URL) -> dict[str, Any]:
    """Everything the Evidence summary page shows. A list of cohorts longer than paging.TABLE_PAGE_SIZE is not listed
    but linked (`long`, by CohortList.key): it goes on over pages of its own (summary_pages)."""
    everyone = members(evidence)
    rows = summary_rows(evidence, synthesis, page_url, everyone)
    groups = unsummarised(evidence, page_url, everyone)
    cells = evidence_map(evidence, everyone)
    lists = summary_lists(rows, groups, cells)
    return {
        **summary_list_pages(lists, page_url),
        "unsummarised_labels": dict(UNSUMMARISED_GROUPS),
        "hrefs": {m.key: cohort_href(page_url, m.study.id, m.cohort.id) for m in everyone},
        "n_texts": {m.key: n_text(m) for m in everyone},
        "partner_labels": {row.stratum.partner_class: row.partner_label for row in rows},
        "min_cohorts": MIN_COHORTS,
        "page_url": page_url,
        # the summary and its page of details link each other's parts
        "details_href": "" if page_url == SUMMARY_DETAILS_URL else relative(page_url, SUMMARY_DETAILS_URL),
        "summary_href": relative(page_url, SUMMARY_URL),
        "questions_href": relative(page_url, QUESTIONS_URL),
        "rows": rows,
        # rows of one partner class, together (the table groups them under one header cell)
        "row_groups": [[r for r in rows if r.stratum.partner_class == partner]
                       for partner in dict.fromkeys(r.stratum.partner_class for r in rows)],
        "measures": [MEASURES[name] for name in SUMMARY_MEASURES],
        "pooled_measure": MEASURES[summary_pooled_measure()],
        "pooling_methods": POOLING_METHODS,
        "primary_pooling_method": PRIMARY_POOLING_METHOD,
        "unsummarised": groups,
        "map": cells,
        "map_columns": list(EVIDENCE_TYPES.values()),
        "reviews": review_views(evidence, page_url, everyone),
        "regimen_tables_href": relative(page_url, REGIMEN_TABLES_URL),
        "patients_everyone": patient_total(evidence, [m for r in rows for m in r.members]),
    }


