"""The Evidence summary and the regimen tables: what the evidence says per partner class and prior anti-CD38 status.

Pure functions from the evidence (and the exploratory synthesis, synthesis.py) to page contexts, which the templates
summary.md.j2 and regimen_tables.md.j2 render. Every figure carries a link to the cohort section of the study page it
comes from; every cohort that does not report a measure is counted, never dropped; patients are counted once (a cohort
is added only when it shares no patient with those already counted, by the synthesis's rule).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Iterator, Sequence

from build_scripts.render.charts import preferred_outcome
from build_scripts.load.evidence import Evidence, count_cohort, evidence_type, patient_count
from build_scripts.derive.facts import (
    Antibody, PartnerClass, PriorStatus, antibody, cohort_regimens, defining_population, partner_group_label, partner_group_order,
    partner_groups_in_order, partners, retreatment,
)
from build_scripts.derive.lines import ancestors, is_grouping
from build_scripts.render.links import QUESTIONS_URL, REGIMEN_TABLES_URL, SUMMARY_DETAILS_URL, SUMMARY_URL, relative, url_of
from build_scripts.load.numbers import number
from build_scripts.load.model import Cohort, Outcome, PatientCount, Population, Review, Study
from build_scripts.derive.responses import PatientDerivedOutcome, cohort_outcomes
from build_scripts.render.pages import (
    SourceView, arms_view, comparison_view, count_text, finding_figure, fits_on_page, source_view, table_page_items,
    table_page_urls, table_pager,
)
from build_scripts.render.profile import ProfileLine, arm_comparison, evidence_profile, follow_up, follow_up_text
from build_scripts.derive.synthesis import MIN_COHORTS, RANGE_MEASURES, Analysis, Stratum, Synthesis, cohorts_may_share_patients
from build_scripts.load.vocabulary import (
    ANTIBODY_AXIS, COHORT_ROLES, DESIGNS, EVIDENCE_TYPES, FINDING_SCOPES, MEASURES, PARTNER_JOIN, POOLING_METHODS,
    PRIMARY_POOLING_METHOD, PRIOR_ANTI_CD38_STATUSES, STATUSES, SYNTHESIS_EXCLUSIONS, Measure,
)

SUMMARY_DESCRIPTION = ("Anti-CD38 retreatment in myeloma by partner drug and prior anti-CD38 status: studies, patients,"
                       " response rates and median survival, each number linked to its source.")
SUMMARY_DETAILS_DESCRIPTION = ("The cohorts behind each row and mark of the Evidence summary of anti-CD38 retreatment,"
                               " those it leaves out and why, and a systematic review's conclusions beside them.")
REGIMEN_TABLES_DESCRIPTION = ("Every cohort of the atlas by regimen, with its response rate, median PFS and OS, the"
                              " patients behind each figure and its source; randomised arms side by side.")
# Columns of the summary-of-findings table, and of the regimen tables.
SUMMARY_MEASURES: tuple[str, ...] = ("orr", "cr_or_better", "pfs", "os")
TABLE_MEASURES: tuple[str, ...] = ("orr", "pfs", "os")
# The measure whose pooled estimate the summary table shows (synthesis.POOLED_MEASURES holds the others).
POOLED_MEASURE = "orr"
# Diameters of the evidence map's marks, in em: the largest cell gets MARK_MAX, a cell with no patient count MARK_MIN.
MARK_MIN, MARK_MAX = 0.7, 3.2


def anchor_name(*parts: str) -> str:
    """A fragment id from vocabulary names: 'cohorts-imid-refractory', 'row-imid-and-chemotherapy-refractory'."""
    return "-".join(part.replace("_", "-").replace(PARTNER_JOIN, "-and-") for part in parts if part)


def stratum_anchor(prefix: str, stratum: Stratum) -> str:
    """A stratum's fragment id: 'row-imid-refractory', 'row-imid-and-chemotherapy-refractory'."""
    return anchor_name(prefix, stratum.partner_class, stratum.prior_status)


def cohort_href(page_url: str, study_id: str, cohort_id: str) -> str:
    """The link from a page to a cohort's section on its study page."""
    return relative(page_url, url_of("study", study_id)) + f"#cohort-{cohort_id}"


# ---------------------------------------------------------------- lists too long for their page

def summary_list_url(*slugs: str) -> str:
    """Where a list of cohorts too long for the Evidence summary goes on: summary/<slug>/.../, slugs from vocabulary
    names ('summary/imid-refractory/cohorts/', 'summary/map/imid-real-world/', 'summary/not-summarised/naive/')."""
    return SUMMARY_URL + "".join(f"{anchor_name(slug)}/" for slug in slugs)


def regimen_table_url(slug: str) -> str:
    """Where a regimen table too long for its page goes on: regimen-tables/<slug>/ ('all-regimens', a partner class)."""
    return f"{REGIMEN_TABLES_URL}{slug}/"


@dataclass(frozen=True)
class LongList:
    """A list of cohorts longer than pages.TABLE_PAGE_SIZE: the page that shows it links to the list's own pages
    (pages.table_page_urls) instead of listing it."""

    urls: tuple[str, ...]
    total: int
    href: str  # the list's first page, from the page that shows the list

    @property
    def text(self) -> str:
        """'1,234 cohorts, on 13 pages'."""
        pages = len(self.urls)
        return f"{self.total:,} cohort{'s' if self.total != 1 else ''}, on {pages} page{'s' if pages != 1 else ''}"


def long_list(page_url: str, list_url: str, total: int, whole: bool) -> LongList | None:
    """The list's own pages when the page at page_url does not list it whole; None when it does."""
    urls = table_page_urls(list_url, total, whole)
    return LongList(tuple(urls), total, relative(page_url, urls[0])) if urls else None


def list_pages(long: LongList) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(number, URL, pager) of each page of a long list."""
    for number, url in enumerate(long.urls, 1):
        yield number, url, table_pager(number, long.total, [relative(url, u) for u in long.urls], "Cohorts")


# ---------------------------------------------------------------- cohorts and their derived facts

@dataclass(frozen=True)
class Member:
    """A cohort with what the summary reads of it: its study, partner class and prior anti-CD38 status."""

    study: Study
    cohort: Cohort
    partner: PartnerClass
    prior: PriorStatus
    antibody: Antibody

    @cached_property
    def key(self) -> str:
        """'study-id/cohort-id', as synthesis.csv names a cohort."""
        return f"{self.study.id}/{self.cohort.id}"

    @property
    def retreatment(self) -> bool:
        return self.partner.name != "not_retreatment"

    @property
    def evidence_type(self) -> str:
        return evidence_type(self.study)

    @property
    def stratum(self) -> Stratum:
        return Stratum(self.partner.name, self.prior.status)

    @property
    def study_name(self) -> str:
        return self.study.short_name or self.study.title

    @property
    def row_anchor(self) -> str:
        """The id of the summary table's row this cohort belongs to (retreatment cohorts only)."""
        return stratum_anchor("row", self.stratum)

    @property
    def follow_up(self) -> str:
        """'median follow-up 2.9 months', or 'follow-up not stated': shown beside a median not reached."""
        return follow_up_text(self.study, self.cohort)


def members(evidence: Evidence) -> list[Member]:
    """Every cohort of every study, in study id order, then in the order the study lists its cohorts."""
    found = []
    for study in sorted(evidence.studies.values(), key=lambda s: s.id):
        for cohort in study.cohorts:
            derived = retreatment(evidence, study, cohort)
            found.append(Member(study, cohort, partners(evidence, study, cohort), derived.prior,
                                antibody(evidence, study, cohort)))
    return found


def nested_in(inner: Member, outer: Member) -> bool:
    """Whether a cohort lies within another cohort of the same study (so its patients are among the other's)."""
    return inner.study.id == outer.study.id and outer.cohort.id in ancestors(inner.study, inner.cohort.id)


# ---------------------------------------------------------------- patients, each counted once

class Kept:
    """Cohorts already taken, by study, so that a new one is checked only against those that may share patients
    with it: the cohorts of its own study and of the studies related to it (synthesis.cohorts_may_share_patients
    is false for any other pair), which keeps the check linear in the number of studies."""

    def __init__(self, evidence: Evidence):
        self.evidence = evidence
        self.by_study: dict[str, list[Any]] = {}

    def clash(self, member: Member) -> Any | None:
        """The first kept item whose cohort may share patients with this one, or None."""
        near = [member.study.id] + [other for other, _, _ in self.evidence.related_by_study.get(member.study.id, [])]
        for study_id in near:
            for item, kept in self.by_study.get(study_id, []):
                if cohorts_may_share_patients(self.evidence, member.study, member.cohort.id, kept.study, kept.cohort.id):
                    return item
        return None

    def add(self, member: Member, item: Any) -> None:
        self.by_study.setdefault(member.study.id, []).append((item, member))


def cohort_patients(study: Study, cohort: Cohort) -> PatientCount | None:
    """A cohort's number of patients: its population's, or the study's when the cohort stands for the whole study."""
    if cohort.population is not None and cohort.population.n is not None:
        return cohort.population.n
    whole = count_cohort(study)
    found = patient_count(study)
    if whole is not None and whole.id == cohort.id and found is not None:
        return found[0]
    return None


@dataclass(frozen=True)
class PatientTotal:
    """Patients of a group of cohorts, each counted once; a lower bound unless `exact`."""

    value: int
    exact: bool
    counted: tuple[Member, ...]  # the cohorts whose numbers are added
    unreported: tuple[Member, ...]  # cohorts whose number of patients is not reported

    @property
    def text(self) -> str:
        if not self.counted:
            return STATUSES["not_reported"].label
        return str(self.value) if self.exact else f"at least {self.value}"


def patient_total(evidence: Evidence, group: Sequence[Member]) -> PatientTotal:
    """The patients of a group of cohorts, never counting the same patients twice.

    Cohorts with a reported number are added largest first, each only when it shares no patient with one already
    added (synthesis.cohorts_may_share_patients: a cohort nested in another, two data cuts or reports of one study,
    studies linked by related_studies). The total is exact only when every other cohort of the group lies within an
    added one; a cohort whose number is not reported, or a report that may hold other patients, makes it 'at least'.
    """
    numbered = [(count.value, m) for m in group
                if (count := cohort_patients(m.study, m.cohort)) is not None and count.value is not None]
    order = {m.key: i for i, m in enumerate(group)}
    numbered.sort(key=lambda item: (-item[0], order[item[1].key]))
    counted: list[Member] = []
    kept = Kept(evidence)
    for _, member in numbered:
        if kept.clash(member) is None:
            counted.append(member)
            kept.add(member, member)
    value = sum(cohort_patients(m.study, m.cohort).value for m in counted)  # type: ignore[union-attr, misc]
    keys = {m.key for m in counted}
    exact = all(m.key in keys or any(f"{m.study.id}/{a}" in keys for a in ancestors(m.study, m.cohort.id))
                for m in group)
    unreported = tuple(m for m in group if (c := cohort_patients(m.study, m.cohort)) is None or c.value is None)
    return PatientTotal(value, exact, tuple(counted), unreported)


# ---------------------------------------------------------------- figures of a measure, with their cohorts

@dataclass(frozen=True)
class Figure:
    """One cohort's figure of a measure, as the summary shows it, with the link to its cohort."""

    member: Member
    outcome: Outcome
    href: str

    @property
    def value(self) -> float | None:
        return self.outcome.value

    @property
    def computed(self) -> bool:
        """Whether the atlas computed the figure from per-patient responses (no source states it)."""
        return isinstance(self.outcome, PatientDerivedOutcome)

    @property
    def number(self) -> str:
        """The value as printed, without its unit (the unit is written once per range)."""
        return number(self.outcome.value) if self.outcome.value is not None else STATUSES[self.outcome.status].label


@dataclass(frozen=True)
class MeasureSummary:
    """A measure over a group of cohorts: the figures of its independent cohorts (lowest first) and medians not
    reached, which make the range; figures left out because their cohort shares patients with one in the range; and
    the cohorts that did not report the measure."""

    measure: Measure
    figures: tuple[Figure, ...]
    not_reached: tuple[Figure, ...]
    overlapping: tuple[tuple[Figure, Figure], ...]  # (figure left out, the figure in the range it shares patients with)
    missing: tuple[Member, ...]
    total: int  # cohorts that could report the measure: every cohort but those that only group others
    # cohorts whose source gives the measure where the curators could not read it: not among 'missing'
    unavailable: tuple[Member, ...] = ()
    groupings: tuple[Member, ...] = ()  # cohorts with no figure of their own, whose subgroups or lines have them

    @property
    def low(self) -> Figure | None:
        return self.figures[0] if self.figures else None

    @property
    def high(self) -> Figure | None:
        return self.figures[-1] if self.figures else None

    @property
    def single(self) -> bool:
        """True when the range is one value (one cohort, or several with the same value)."""
        return bool(self.figures) and self.figures[0].value == self.figures[-1].value

    @property
    def unit(self) -> str:
        return "%" if self.measure.unit == "percent" else " months"

    @property
    def missing_text(self) -> str:
        """'3 of 7 cohorts did not report ORR'; 'by its 7 cohorts' (after 'not reported') when none did; '' when all did."""
        if not self.missing:
            return ""
        if len(self.missing) == self.total:
            return f"by its {'cohort' if self.total == 1 else f'{self.total} cohorts'}"
        return f"{len(self.missing)} of {self.total} cohorts did not report {self.measure.short}"

    @property
    def unavailable_text(self) -> str:
        """'for 2 of 7 cohorts not available to the curators'; 'for its 7 cohorts ...' when so for all; '' when none."""
        if not self.unavailable:
            return ""
        if len(self.unavailable) == self.total:
            return f"for its {'cohort' if self.total == 1 else f'{self.total} cohorts'}"
        return f"{self.measure.short} of {len(self.unavailable)} of {self.total} cohorts not available to the curators"

    @property
    def lists_not_reached(self) -> bool:
        """Whether the cell names each cohort whose median is not reached (or only counts them, when too many)."""
        return fits_on_page(len(self.not_reached))

    @property
    def overlapping_text(self) -> str:
        """'2 more from overlapping cohorts' (that may share patients with those in the range), or ''."""
        if not self.overlapping:
            return ""
        return f"{len(self.overlapping)} more from overlapping cohorts"

    def status_of(self, member: Member) -> tuple[str, Figure | None, Figure | None]:
        """How a cohort stands for this measure: ('range', its figure), ('not_reached', figure), ('overlap', its
        figure, the figure it shares patients with), ('grouping',) for a cohort that only groups others
        (lines.is_grouping) or ('missing',)."""
        for figure in self.figures:
            if figure.member.key == member.key:
                return "range", figure, None
        for figure in self.not_reached:
            if figure.member.key == member.key:
                return "not_reached", figure, None
        for figure, kept in self.overlapping:
            if figure.member.key == member.key:
                return "overlap", figure, kept
        if any(m.key == member.key for m in self.unavailable):
            return "unavailable", None, None
        if any(m.key == member.key for m in self.groupings):
            return "grouping", None, None
        return "missing", None, None


def figure_patients(figure: Figure) -> int:
    """The patients a figure is based on: its own n, else its cohort's; 0 when neither is reported."""
    if figure.outcome.n is not None:
        return figure.outcome.n
    count = cohort_patients(figure.member.study, figure.member.cohort)
    return count.value if count is not None and count.value is not None else 0


def measure_summary(evidence: Evidence, group: Sequence[Member], measure_name: str, page_url: str) -> MeasureSummary:
    """The figures of a measure over a group of cohorts, one cohort per patient population.

    Each cohort's figure is the one its charts show (charts.preferred_outcome). Figures are taken largest cohort
    first, each only when its cohort shares no patient with one already taken (synthesis.cohorts_may_share_patients,
    the pooling's rule), so a subgroup never widens the range of its own trial; the others are kept as 'overlapping'.
    """
    found = []
    unavailable = set()
    for member in group:
        outcomes = [o for o in cohort_outcomes(member.cohort) if o.measure == measure_name]
        outcome = preferred_outcome(evidence, member.study, outcomes)
        if outcome is not None:
            found.append(Figure(member, outcome, cohort_href(page_url, member.study.id, member.cohort.id)))
        elif any(o.status == "not_available" for o in outcomes):
            unavailable.add(member.key)
    order = {m.key: i for i, m in enumerate(group)}
    kept: list[Figure] = []
    taken = Kept(evidence)
    overlapping: list[tuple[Figure, Figure]] = []
    for figure in sorted(found, key=lambda f: (-figure_patients(f), order[f.member.key])):
        clash = taken.clash(figure.member)
        if clash is None:
            kept.append(figure)
            taken.add(figure.member, figure)
        else:
            overlapping.append((figure, clash))
    kept.sort(key=lambda f: order[f.member.key])
    overlapping.sort(key=lambda pair: order[pair[0].member.key])
    reported = {f.member.key for f in found}
    return MeasureSummary(
        MEASURES[measure_name],
        figures=tuple(sorted((f for f in kept if f.value is not None), key=lambda f: f.value)),
        not_reached=tuple(f for f in kept if f.value is None),
        overlapping=tuple(overlapping),
        missing=tuple(m for m in group if m.key not in reported and m.key not in unavailable
                      and not is_grouping(m.study, m.cohort)),
        total=sum(1 for m in group if m.key in reported or not is_grouping(m.study, m.cohort)),
        unavailable=tuple(m for m in group if m.key in unavailable and not is_grouping(m.study, m.cohort)),
        groupings=tuple(m for m in group if m.key not in reported and m.key not in unavailable
                        and is_grouping(m.study, m.cohort)))


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
    def estimate(self):  # noqa: ANN201 - synthesis.Estimate
        """The estimate the table shows: the primary pooling method's (vocabulary.PRIMARY_POOLING_METHOD)."""
        return self.analysis.primary


def pooled_view(evidence: Evidence, synthesis: Synthesis, stratum: Stratum, by_key: dict[str, Member],
                page_url: str, measure_name: str = POOLED_MEASURE) -> PooledView | None:
    """The pooled analysis of a stratum's rate, or None when the synthesis has none for it."""
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
    """One partner class and prior anti-CD38 status: its cohorts, patients, figures, pooled estimate and caveats."""

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
        return PRIOR_ANTI_CD38_STATUSES[self.stratum.prior_status].label

    @property
    def antibodies(self) -> str:
        """The antibody axis values of the row's cohorts, in the vocabulary's order: 'Same antibody again', ..."""
        found = {member.antibody.name for member in self.members}
        return "; ".join(label for name, label in ANTIBODY_AXIS.items() if name in found)


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
    """One row per partner class and prior status of the anti-CD38 retreatment cohorts, in the vocabulary's order.

    `everyone` is members(evidence) when the caller has it already (here and below: it is derived once per page)."""
    everyone = members(evidence) if everyone is None else everyone
    by_key = {m.key: m for m in everyone}
    strata: dict[Stratum, list[Member]] = {}
    for member in everyone:
        if member.retreatment:
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
    """The nearest population (the cohort's, its parents', the study's) whose source defines its prior anti-CD38."""
    return defining_population(study, cohort)[0]


def not_given_reason(evidence: Evidence, member: Member) -> str:
    """Why a cohort is not given an anti-CD38 antibody, in a reader's words."""
    regimens = cohort_regimens(member.study, member.cohort)
    if regimens:
        names = " and ".join(f"“{evidence.regimens[r].name}”" for r in regimens if r in evidence.regimens)
        return f"its regimen {names} holds no anti-CD38 antibody"
    if member.cohort.regimen_as_stated:
        return f"no regimen with an anti-CD38 antibody is recorded (the source: “{member.cohort.regimen_as_stated}”)"
    return "no regimen is recorded"


def unsummarised(evidence: Evidence, page_url: str = SUMMARY_URL,
                 everyone: Sequence[Member] | None = None) -> dict[str, list[Unsummarised]]:
    """Cohorts that are not anti-CD38 retreatments, in three groups: partly naive or prior therapy not stated
    ('uncertain'), anti-CD38-naive ('naive'), and given no anti-CD38 antibody ('other')."""
    groups: dict[str, list[Unsummarised]] = {"uncertain": [], "naive": [], "other": []}
    for member in members(evidence) if everyone is None else everyone:
        if member.retreatment:
            continue
        status = PRIOR_ANTI_CD38_STATUSES[member.prior.status]
        population = defined_population(member.study, member.cohort)
        as_stated = population.prior_anti_cd38.as_stated if population is not None else None  # type: ignore[union-attr]
        href = cohort_href(page_url, member.study.id, member.cohort.id)
        if member.prior.status == "naive":
            groups["naive"].append(Unsummarised(member, href, status.definition, as_stated))
        elif not status.retreatment:
            groups["uncertain"].append(Unsummarised(member, href, f"{member.prior.text}: {status.definition}", as_stated))
        else:
            groups["other"].append(Unsummarised(member, href, not_given_reason(evidence, member), None))
    return groups


# ---------------------------------------------------------------- the evidence map

@dataclass(frozen=True)
class MapCell:
    """One partner class and evidence type of the evidence map: its cohorts and patients, and the size of its mark."""

    partner: str
    evidence_type: str
    members: tuple[Member, ...]
    studies: int
    patients: PatientTotal
    size: float  # diameter of the mark, in em

    @property
    def anchor(self) -> str:
        return anchor_name("map", self.partner, self.evidence_type)

    @property
    def label(self) -> str:
        return f"{partner_group_label(self.partner)}, {EVIDENCE_TYPES[self.evidence_type].lower()}"


def mark_size(patients: int, largest: int) -> float:
    """A mark's diameter: its area grows with the patients it stands for (MARK_MIN with none counted)."""
    if patients <= 0 or largest <= 0:
        return MARK_MIN
    return round(MARK_MIN + (MARK_MAX - MARK_MIN) * math.sqrt(patients / largest), 2)


def evidence_map(evidence: Evidence, everyone: Sequence[Member] | None = None) -> list[tuple[str, list[MapCell | None]]]:
    """Rows of (partner class, one cell per evidence type or None where there is no cohort) over retreatment cohorts."""
    cells: dict[tuple[str, str], list[Member]] = {}
    for member in members(evidence) if everyone is None else everyone:
        if member.retreatment:
            cells.setdefault((member.partner.name, member.evidence_type), []).append(member)
    totals = {key: patient_total(evidence, group) for key, group in cells.items()}
    largest = max((total.value for total in totals.values()), default=0)
    rows = []
    for partner in partner_groups_in_order(key[0] for key in cells):
        row: list[MapCell | None] = []
        for kind in EVIDENCE_TYPES:
            group = cells.get((partner, kind))
            row.append(None if group is None else MapCell(
                partner, kind, tuple(group), len({m.study.id for m in group}), totals[(partner, kind)],
                mark_size(totals[(partner, kind)].value, largest)))
        rows.append((partner, row))
    return rows


# ---------------------------------------------------------------- the review beside the atlas

def _scope(member: Member, scope: str) -> bool:
    return scope == "all" or member.evidence_type == scope


def outside_review(review: Review, summary: MeasureSummary) -> list[Figure]:
    """The figures of an atlas range that come from studies the review does not include."""
    included = set(review.included_studies)
    return [f for f in summary.figures + summary.not_reached if f.member.study.id not in included]


def review_views(evidence: Evidence, page_url: str = SUMMARY_URL,
                 everyone: Sequence[Member] | None = None) -> list[dict[str, Any]]:
    """Each review's outcome findings, grouped by measure and evidence type, beside the atlas's figures of the same;
    and its conclusions beside the atlas's figures of their measure by prior status, or how the atlas treats the
    studies they name. Atlas figures are over anti-CD38 retreatment cohorts, one per patient population."""
    everyone = members(evidence) if everyone is None else everyone
    retreated = [m for m in everyone if m.retreatment]
    views = []
    for review in sorted(evidence.reviews.values(), key=lambda r: r.id):
        review_url = url_of("review", review.id)
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for finding in review.findings:
            if finding.measure is not None:
                groups.setdefault((finding.measure, finding.evidence_type), []).append(
                    {"finding": finding, "figure": finding_figure(finding),
                     "source": source_view(evidence, finding, page_url, review_url)})
        findings = []
        for (measure_name, scope), items in groups.items():
            atlas = measure_summary(evidence, [m for m in retreated if _scope(m, scope)], measure_name, page_url)
            outside = outside_review(review, atlas)
            findings.append({"measure": MEASURES[measure_name], "scope": FINDING_SCOPES[scope], "items": items,
                             "atlas": atlas, "outside": outside, "outside_listed": fits_on_page(len(outside))})
        conclusions = []
        for conclusion in review.conclusions:
            by_status = []
            if conclusion.measure is not None:
                for status, definition in PRIOR_ANTI_CD38_STATUSES.items():
                    group = [m for m in retreated if m.prior.status == status and _scope(m, conclusion.evidence_type)]
                    if group:
                        atlas = measure_summary(evidence, group, conclusion.measure, page_url)
                        outside = outside_review(review, atlas)
                        by_status.append({"label": definition.label, "atlas": atlas, "outside": outside,
                                          "outside_listed": fits_on_page(len(outside))})
            studies = []
            for study_id in conclusion.studies:
                studies.append({"study": evidence.studies[study_id],
                                "href": relative(page_url, url_of("study", study_id)),
                                "cohorts": [{"member": m, "href": cohort_href(page_url, study_id, m.cohort.id)}
                                            for m in everyone if m.study.id == study_id]})
            conclusions.append({"conclusion": conclusion, "scope": FINDING_SCOPES[conclusion.evidence_type],
                                "source": source_view(evidence, conclusion, page_url, review_url),
                                "by_status": by_status, "studies": studies})
        if findings or conclusions:
            views.append({"review": review, "href": relative(page_url, review_url),
                          "findings": findings, "conclusions": conclusions})
    return views


# ---------------------------------------------------------------- page contexts

def n_text(member: Member) -> str:
    """A cohort's number of patients as the pages write it: the number, 'Not reported', or 'not recorded'."""
    count = cohort_patients(member.study, member.cohort)
    return count_text(count) if count is not None else "not recorded"


# The groups of cohorts not in the summary table (unsummarised), with their headings.
UNSUMMARISED_GROUPS: dict[str, str] = {
    "uncertain": "Given an anti-CD38 antibody, but not all patients had one before, or it is not stated",
    "naive": "Anti-CD38-naive comparison groups",
    "other": "Not given an anti-CD38 antibody (control arms, later therapy)",
}


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


def listed_whole(totals: Sequence[int], at_most: int) -> list[bool]:
    """For lists shown one after another on a page, in page order: whether each is listed whole there. A list is,
    when it fits on a page (pages.fits_on_page) and the lists listed before it leave room for it under `at_most`."""
    listed, whole = 0, []
    for total in totals:
        fits = fits_on_page(total) and listed + total <= at_most
        listed += total if fits else 0
        whole.append(fits)
    return whole


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
    """Everything the Evidence summary page shows. A list of cohorts longer than pages.TABLE_PAGE_SIZE is not listed
    but linked (`long`, by CohortList.key): it goes on over pages of its own (summary_pages)."""
    everyone = members(evidence)
    rows = summary_rows(evidence, synthesis, page_url, everyone)
    groups = unsummarised(evidence, page_url, everyone)
    cells = evidence_map(evidence, everyone)
    lists = summary_lists(rows, groups, cells)
    return {
        **summary_list_pages(lists, page_url),
        "unsummarised_labels": UNSUMMARISED_GROUPS,
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
        "pooled_measure": MEASURES[POOLED_MEASURE],
        "pooling_methods": POOLING_METHODS,
        "primary_pooling_method": PRIMARY_POOLING_METHOD,
        "unsummarised": groups,
        "map": cells,
        "map_columns": list(EVIDENCE_TYPES.values()),
        "reviews": review_views(evidence, page_url, everyone),
        "regimen_tables_href": relative(page_url, REGIMEN_TABLES_URL),
        "patients_everyone": patient_total(evidence, [m for r in rows for m in r.members]),
    }


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
            "antibody": member.antibody,
            "prior": member.prior.text,
            "prior_order": list(PRIOR_ANTI_CD38_STATUSES).index(member.prior.status),
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
    A table longer than pages.TABLE_PAGE_SIZE is not listed here but linked: it goes on over pages of its own
    (regimen_table_pages)."""
    everyone = members(evidence)
    shown = []
    for group, more in regimen_table_groups(everyone, page_url):
        shown.append({"partner": group.partner, "label": group.label, "more": more,
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
    made = []
    for group, more in regimen_table_groups(members(evidence)):
        if more is None:
            continue
        for number, url, pager in list_pages(more):
            made.append((f"{url}index.md", {
                "page_url": url, "label": group.label, "pager": pager,
                "measures": [MEASURES[name] for name in TABLE_MEASURES],
                "rows": table_rows(evidence, table_page_items(group.members, number), url),
                "back_href": relative(url, REGIMEN_TABLES_URL) + f"#{group.back}",
            }))
    return made
