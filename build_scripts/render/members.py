"""The cohorts a page summarises: each with its derived facts, their patients counted once, and a measure's figures."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Sequence

from build_scripts.derive.entries import cohorts_may_share_patients
from build_scripts.derive.facts import PriorStatus, question_fit
from build_scripts.derive.lines import ancestors, is_grouping
from build_scripts.derive.partners import PARTNER_GROUP_ROLES, IndexSwitch, PartnerClass, index_switch, partners
from build_scripts.derive.responses import PatientDerivedOutcome, cohort_outcomes
from build_scripts.derive.synthesis_types import Stratum
from build_scripts.load.evidence import Evidence, count_cohort, evidence_type, patient_count
from build_scripts.load.model import Study
from build_scripts.load.numbers import number
from build_scripts.load.parts import Cohort, Outcome, PatientCount
from build_scripts.load.vocabulary import MEASURES, STATUSES, Measure
from build_scripts.render.forest_rows import preferred_outcome
from build_scripts.render.long_lists import cohort_href, stratum_anchor
from build_scripts.render.pages import count_text
from build_scripts.render.paging import fits_on_page
from build_scripts.render.profile import follow_up_text


@dataclass(frozen=True)
class Member:
    """A cohort with what the summary reads of it: its study, partner class and prior exposure status."""

    study: Study
    cohort: Cohort
    partner: PartnerClass
    prior: PriorStatus
    index_switch: IndexSwitch

    @cached_property
    def key(self) -> str:
        """'study-id/cohort-id', as synthesis.csv names a cohort."""
        return f"{self.study.id}/{self.cohort.id}"

    @property
    def in_question(self) -> bool:
        return self.partner.name != PARTNER_GROUP_ROLES["outside"]

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
        """The id of the summary table's row this cohort belongs to (cohorts in the question only)."""
        return stratum_anchor("row", self.stratum)

    @property
    def follow_up(self) -> str:
        """'median follow-up 2.9 months', or 'follow-up not stated': shown beside a median not reached."""
        return follow_up_text(self.study, self.cohort)


def members(evidence: Evidence) -> list[Member]:
    """Every cohort of every study, in study id order, then in the order the study lists its cohorts."""
    return [member(evidence, study, cohort)
            for study in sorted(evidence.studies.values(), key=lambda s: s.id) for cohort in study.cohorts]


def member(evidence: Evidence, study: Study, cohort: Cohort) -> Member:
    derived = question_fit(evidence, study, cohort)
    return Member(study, cohort, partners(evidence, study, cohort), derived.prior, index_switch(evidence, study, cohort))


def member_list(evidence: Evidence, keys: Sequence[tuple[str, str]]) -> list[Member]:
    """The members of the given (study id, cohort id) pairs, each study read from the evidence (so that a trace
    holds it)."""
    found = []
    for study_id, cohort_id in keys:
        study = evidence.studies[study_id]
        found.append(member(evidence, study, next(c for c in study.cohorts if c.id == cohort_id)))
    return found


def nested_in(inner: Member, outer: Member) -> bool:
    """Whether a cohort lies within another cohort of the same study (so its patients are among the other's)."""
    return inner.study.id == outer.study.id and outer.cohort.id in ancestors(inner.study, inner.cohort.id)


class TakenCohorts:
    """Cohorts already taken, by study, so that a new one is checked only against those that may share patients
    with it: the cohorts of its own study and of the studies related to it (entries.cohorts_may_share_patients
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
    added (entries.cohorts_may_share_patients: a cohort nested in another, two data cuts or reports of one study,
    studies linked by related_studies). The total is exact only when every other cohort of the group lies within an
    added one; a cohort whose number is not reported, or a report that may hold other patients, makes it 'at least'.
    """
    numbered = [(count.value, m) for m in group
                if (count := cohort_patients(m.study, m.cohort)) is not None and count.value is not None]
    order = {m.key: i for i, m in enumerate(group)}
    numbered.sort(key=lambda item: (-item[0], order[item[1].key]))
    counted: list[Member] = []
    kept = TakenCohorts(evidence)
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

    Each cohort's figure is the one its charts show (forest_rows.preferred_outcome). Figures are taken largest cohort
    first, each only when its cohort shares no patient with one already taken (entries.cohorts_may_share_patients,
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
    taken = TakenCohorts(evidence)
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


def n_text(member: Member) -> str:
    """A cohort's number of patients as the pages write it: the number, 'Not reported', or 'not recorded'."""
    count = cohort_patients(member.study, member.cohort)
    return count_text(count) if count is not None else "not recorded"
