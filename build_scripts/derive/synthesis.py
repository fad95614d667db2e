"""Exploratory synthesis: response rates pooled per stratum (partner group x prior anti-CD38 status), medians as ranges.

Pure functions from the evidence to frozen dataclasses; the Evidence summary page, the charts and synthesis.csv all
read `synthesise(evidence)`. The rules, in the order they are applied to every cohort of a stratum:

1. the stratum must be an anti-CD38 retreatment (facts.partners is not 'not_retreatment', so every patient had an
   anti-CD38 antibody before), and the cohort must not be the control arm of a comparison;
2. the cohort must report the measure, comparable across studies, as responders and n, or as a rate and n (the
   responder count is then derived, rounded half up; n is the figure's own, else the cohort's patient count);
3. one cohort per patient population: cohorts that may share patients (a cohort and any cohort nested in it,
   sibling cohorts other than arms, parts and dose levels unless their prior anti-CD38 statuses exclude each other,
   two top-level cohorts of a study that are not arms, parts or dose levels, such as two data cuts, cohorts at
   successive lines of the same patients (`follows`, lines.py), and any cohorts of studies linked by
   `related_studies`) never enter together; the largest enters;
4. a pooled estimate needs at least MIN_COHORTS cohorts.

Proportions are pooled on the logit scale (meta_analysis.py). The primary estimate is the binomial-normal
random-effects model fitted by maximum likelihood, which uses each cohort's exact binomial likelihood (no continuity
correction); where it has no estimate (no patient, or every patient, responded in every cohort), the analysis is not
pooled. DerSimonian-Laird and Paule-Mandel inverse-variance pooling of logits (a cohort with no or every patient
responding gets CONTINUITY_CORRECTION added to both cells) are sensitivity analyses. Each estimate has a 95% Wald
confidence interval, tau-squared and a 95% prediction interval (t with k-2 degrees of freedom); I-squared (Higgins and
Thompson) comes from Cochran's Q of the corrected logits. Medians of time-to-event measures are never pooled:
MedianRange holds their range over the same kind of independent cohorts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

from build_scripts.derive.facts import partner_group_label, partner_group_order, partners, prior_anti_cd38_status
from build_scripts.derive.lines import ancestors, in_one_line
from build_scripts.derive.questions import Question, matching
from build_scripts.derive.meta_analysis import (  # noqa: F401 - the numbers' own names, read from here by export.py and the tests
    CONFIDENCE, CONTINUITY_CORRECTION, NotEstimable, RandomEffects, logit_proportion, pool, random_effects,
)
from build_scripts.derive.responses import cohort_outcomes
from build_scripts.load.vocabulary import (
    MEASURES, POOLING_METHODS, PRIMARY_POOLING_METHOD, PRIOR_ANTI_CD38_STATUSES, SYNTHESIS_EXCLUSIONS,
)

if TYPE_CHECKING:
    from build_scripts.load.evidence import Evidence
    from build_scripts.load.model import Cohort, Outcome, Source, Study

POOLED_MEASURES: tuple[str, ...] = ("orr", "vgpr_or_better", "cr_or_better")
RANGE_MEASURES: tuple[str, ...] = ("pfs", "os")
MIN_COHORTS = 3
# Designs left out of the sensitivity analysis.
CASE_DESIGNS: tuple[str, ...] = ("case_report", "case_series")
# Cohorts with these roles under one parent (or at the top of one study) share no patient.
PARTITION_ROLES: tuple[str, ...] = ("arm", "part", "dose_level")
# Prior anti-CD38 statuses no patient has two of at one line: sibling cohorts defined by two of them share no patient.
EXCLUSIVE_STATUSES: tuple[str, ...] = ("refractory", "exposed_not_refractory", "naive")


@dataclass(frozen=True)
class Stratum:
    """A partner group (facts.partner_group_key) and a prior anti-CD38 status (PRIOR_ANTI_CD38_STATUSES)."""

    partner_class: str
    prior_status: str

    @property
    def label(self) -> str:
        return f"{partner_group_label(self.partner_class)}; {PRIOR_ANTI_CD38_STATUSES[self.prior_status].label}"

    @property
    def poolable(self) -> bool:
        """Whether the stratum is an anti-CD38 retreatment, so that its cohorts may be pooled at all."""
        return self.partner_class != "not_retreatment" and PRIOR_ANTI_CD38_STATUSES[self.prior_status].retreatment

    @property
    def order(self) -> tuple:
        """Sort key: partner groups in their order, then statuses in the vocabulary's."""
        return partner_group_order(self.partner_class), list(PRIOR_ANTI_CD38_STATUSES).index(self.prior_status)


# The group an analysis is of: a stratum, or a clinical question (questions.Question), whose cohorts are all anti-CD38
# retreatments by its definition.
Group = Stratum | Question


@dataclass(frozen=True)
class Entry:
    """One cohort's figure as an analysis uses it (a rate with its counts, or a median in months)."""

    study_id: str
    cohort_id: str
    design: str
    value: float | None  # the figure as recorded: per cent, or months; None for a median not reached
    responders: int | None  # rates only
    n: int | None
    responders_derived: bool  # computed here from the rate and n, rounded half up
    n_from_cohort: bool  # the figure gives no n, so the cohort's patient count is used
    corrected: bool  # no or every patient responded: CONTINUITY_CORRECTION added to both cells (DL and PM only)
    figure_derived: bool  # the figure itself was derived by the curators (Outcome.derived)
    source: Source
    discrepancy: str | None  # the study's discrepancy this figure is part of, if any
    outcome: Outcome | None = None  # the figure as recorded

    @property
    def key(self) -> str:
        """'study-id/cohort-id', the cohort's id in synthesis.csv."""
        return f"{self.study_id}/{self.cohort_id}"


@dataclass(frozen=True)
class Exclusion:
    """A cohort of the stratum left out of an analysis, with a reason from vocabulary.SYNTHESIS_EXCLUSIONS."""

    study_id: str
    cohort_id: str
    reason: str
    detail: str  # for pages: the specific reason, which may quote record text
    overlaps: str | None = None  # for 'overlap': the key of the cohort used instead

    @property
    def key(self) -> str:
        return f"{self.study_id}/{self.cohort_id}"

    @property
    def label(self) -> str:
        return SYNTHESIS_EXCLUSIONS[self.reason]


@dataclass(frozen=True)
class Estimate:
    """A pooled proportion, back-transformed to per cent, with the logit-scale fit it comes from."""

    method: str
    k: int
    patients: int
    value: float  # per cent
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float  # logit scale
    i2: float  # per cent
    q: float
    fit: RandomEffects

    @property
    def method_label(self) -> str:
        return POOLING_METHODS[self.method]


@dataclass(frozen=True)
class Analysis:
    """One measure in one stratum (or question): the cohorts used, those left out and why, the pooled estimates."""

    stratum: Group
    measure: str
    sensitivity: bool  # True: the analysis without case reports and case series
    used: tuple[Entry, ...]
    excluded: tuple[Exclusion, ...]
    estimates: tuple[Estimate, ...]  # one per POOLING_METHODS key, in its order; empty when not pooled
    not_pooled: str | None  # why there is no estimate, in words; None when pooled

    @property
    def primary(self) -> Estimate | None:
        """The estimate of the primary method (PRIMARY_POOLING_METHOD); the others are sensitivity analyses."""
        return next((e for e in self.estimates if e.method == PRIMARY_POOLING_METHOD), None)

    @property
    def sensitivity_estimates(self) -> tuple[Estimate, ...]:
        return tuple(e for e in self.estimates if e.method != PRIMARY_POOLING_METHOD)

    @property
    def k(self) -> int:
        return len(self.used)

    @property
    def patients(self) -> int:
        return sum(entry.n or 0 for entry in self.used)

    @property
    def low(self) -> float | None:
        """The lowest rate among the cohorts used, as recorded (per cent)."""
        return min((e.value for e in self.used if e.value is not None), default=None)

    @property
    def high(self) -> float | None:
        return max((e.value for e in self.used if e.value is not None), default=None)


@dataclass(frozen=True)
class MedianRange:
    """The range of a median time (PFS, OS) over one stratum's (or question's) independent cohorts; never pooled."""

    stratum: Group
    measure: str
    used: tuple[Entry, ...]  # cohorts with a reported median
    not_reached: tuple[Entry, ...]  # cohorts whose median was not reached
    excluded: tuple[Exclusion, ...]

    @property
    def low(self) -> float | None:
        return min((e.value for e in self.used if e.value is not None), default=None)

    @property
    def high(self) -> float | None:
        return max((e.value for e in self.used if e.value is not None), default=None)

    @property
    def patients(self) -> int | None:
        """Patients behind the medians; None when a cohort used does not report its number (never counted as 0)."""
        counts = [entry.n for entry in self.used + self.not_reached]
        return None if None in counts else sum(counts)  # type: ignore[arg-type]

    @property
    def patients_known(self) -> int:
        """Patients of the cohorts used that report their number."""
        return sum(entry.n for entry in self.used + self.not_reached if entry.n is not None)

    @property
    def unreported(self) -> int:
        """Cohorts used that do not report their number of patients."""
        return sum(entry.n is None for entry in self.used + self.not_reached)


@dataclass(frozen=True)
class Answer:
    """A clinical question's answer: the cohorts that match it, its analyses of each rate and ranges of medians."""

    question: Question
    members: tuple[tuple[str, str], ...]  # (study id, cohort id) of every matching cohort
    analyses: tuple[Analysis, ...]  # per POOLED_MEASURES: the primary analysis, then the sensitivity one if it differs
    ranges: tuple[MedianRange, ...]

    def analysis(self, measure: str, sensitivity: bool = False) -> Analysis | None:
        return next((a for a in self.analyses if a.measure == measure and a.sensitivity == sensitivity), None)

    def median_range(self, measure: str) -> MedianRange | None:
        return next((r for r in self.ranges if r.measure == measure), None)


@dataclass(frozen=True)
class Synthesis:
    """Every stratum with cohorts, its analyses (primary, and sensitivity where it differs) and its median ranges;
    and the answer to each clinical question."""

    strata: tuple[Stratum, ...]
    analyses: tuple[Analysis, ...]
    ranges: tuple[MedianRange, ...]
    answers: tuple[Answer, ...] = ()

    def answer(self, question_id: str) -> Answer | None:
        return next((a for a in self.answers if a.question.id == question_id), None)

    def analysis(self, stratum: Stratum, measure: str, sensitivity: bool = False) -> Analysis | None:
        """The analysis of a measure in a stratum; the sensitivity one is None where it would not differ."""
        return next((a for a in self.analyses
                     if a.stratum == stratum and a.measure == measure and a.sensitivity == sensitivity), None)

    def median_range(self, stratum: Stratum, measure: str) -> MedianRange | None:
        return next((r for r in self.ranges if r.stratum == stratum and r.measure == measure), None)


# ---------------------------------------------------------------- pooling

def expit_percent(x: float) -> float:
    """A logit back on the per-cent scale."""
    return 100 / (1 + math.exp(-x))


def pooled_estimates(used: Sequence[Entry]) -> tuple[Estimate, ...] | NotEstimable:
    """One Estimate per pooling method, or why the primary method has none (then nothing is pooled)."""
    responders, n = [entry.responders or 0 for entry in used], [entry.n or 0 for entry in used]
    patients = sum(n)
    fits = {method: pool(method, responders, n) for method in POOLING_METHODS}
    primary = fits[PRIMARY_POOLING_METHOD]
    if isinstance(primary, NotEstimable):
        return primary
    return tuple(Estimate(
        method=method, k=fit.k, patients=patients, value=expit_percent(fit.mean),
        ci_low=expit_percent(fit.ci_low), ci_high=expit_percent(fit.ci_high),
        pi_low=expit_percent(fit.pi_low), pi_high=expit_percent(fit.pi_high),  # type: ignore[arg-type]
        tau2=fit.tau2, i2=fit.i2, q=fit.q, fit=fit)
        for method, fit in fits.items() if isinstance(fit, RandomEffects))


# ---------------------------------------------------------------- which cohorts enter

def stratum_of(evidence: Evidence, study: Study, cohort: Cohort) -> Stratum:
    """A cohort's stratum: its partner group and prior anti-CD38 status (both from facts.py). The antibody axis does
    not divide strata: the same antibody again and a switch are pooled together, each cohort's antibody listed."""
    return Stratum(partners(evidence, study, cohort).name, prior_anti_cd38_status(study, cohort).status)


def _control_arms(study: Study) -> set[str]:
    return {comparison.control for comparison in study.comparisons}


def _eligibility(evidence: Evidence, stratum: Group, study: Study, cohort: Cohort,
                 sensitivity: bool) -> Exclusion | None:
    """Why a cohort may not enter any analysis of its stratum, whatever it reports; None when it may."""
    if isinstance(stratum, Stratum) and not stratum.poolable:
        return Exclusion(study.id, cohort.id, "not_retreatment", partners(evidence, study, cohort).reason)
    if cohort.id in _control_arms(study):
        return Exclusion(study.id, cohort.id, "control_arm", "the control arm of a comparison recorded for the study")
    if sensitivity and study.design in CASE_DESIGNS:
        return Exclusion(study.id, cohort.id, "case_design", f"design: {study.design.replace('_', ' ')}")
    return None


def _cohort_n(cohort: Cohort) -> int | None:
    count = cohort.population.n if cohort.population is not None else None
    return count.value if count is not None else None


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _figures(study: Study, cohort: Cohort, measure: str) -> tuple[list[Outcome], Exclusion | None]:
    """The cohort's reported, comparable figures of a measure, or why there are none."""
    short = MEASURES[measure].short
    outcomes = [o for o in cohort_outcomes(cohort) if o.measure == measure]  # with rates from per-patient responses
    if not outcomes:
        return [], Exclusion(study.id, cohort.id, "not_reported", f"no {short} recorded for this cohort")
    reported = [o for o in outcomes if o.status == "reported" and o.value is not None]
    if not reported and not any(o.status == "not_reached" for o in outcomes):
        if any(o.status == "not_available" for o in outcomes):
            return [], Exclusion(study.id, cohort.id, "not_available", f"{short} not available to the curators")
        return [], Exclusion(study.id, cohort.id, "not_reported", f"{short} not reported")
    comparable = [o for o in outcomes if o.cross_study and o.status in ("reported", "not_reached")]
    if not comparable:
        return [], Exclusion(study.id, cohort.id, "not_comparable", f"{short} recorded only as not comparable across"
                                                                    " studies")
    return comparable, None


def rate_entry(study: Study, cohort: Cohort, measure: str) -> Entry | Exclusion:
    """The cohort's figure of a rate with responders and n, or why it has none that can be pooled.

    Of several figures, one with its responder count stated is taken before one whose count is derived here,
    one with its own n before one using the cohort's patient count, and the first recorded before later ones.
    """
    figures, why = _figures(study, cohort, measure)
    if why is not None:
        return why
    cohort_n = _cohort_n(cohort)
    options = []
    for index, outcome in enumerate(o for o in figures if o.value is not None):
        n = outcome.n if outcome.n is not None else cohort_n
        if n is None:
            continue
        stated = outcome.responders is not None
        responders = outcome.responders if stated else _round_half_up(outcome.value * n / 100)  # type: ignore[operator]
        options.append(((not stated, outcome.n is None, index), outcome, responders, n))
    if not options:
        return Exclusion(study.id, cohort.id, "no_patient_count",
                         f"{MEASURES[measure].short} is given as a rate without its number of patients")
    _, outcome, responders, n = min(options, key=lambda option: option[0])
    return Entry(study_id=study.id, cohort_id=cohort.id, design=study.design, value=outcome.value,
                 responders=responders, n=n, responders_derived=outcome.responders is None,
                 n_from_cohort=outcome.n is None, corrected=responders in (0, n), figure_derived=outcome.derived,
                 source=outcome.source, discrepancy=outcome.discrepancy, outcome=outcome)


def median_entry(study: Study, cohort: Cohort, measure: str) -> Entry | Exclusion:
    """The cohort's comparable median of a time measure (a value, or not reached), or why it has none."""
    figures, why = _figures(study, cohort, measure)
    if why is not None:
        return why
    # A stated median before 'not reached'; a figure with its own n before one without; then the order recorded.
    outcome = min(figures, key=lambda o: (o.value is None, o.n is None, figures.index(o)))
    n = outcome.n if outcome.n is not None else _cohort_n(cohort)
    return Entry(study_id=study.id, cohort_id=cohort.id, design=study.design, value=outcome.value, responders=None,
                 n=n, responders_derived=False, n_from_cohort=outcome.n is None and n is not None, corrected=False,
                 figure_derived=outcome.derived, source=outcome.source, discrepancy=outcome.discrepancy,
                 outcome=outcome)


def _ancestry(study: Study, cohort_id: str) -> list[str]:
    """A cohort's id followed by its parents' ids, nearest first."""
    return [cohort_id, *ancestors(study, cohort_id)]


def cohorts_may_share_patients(evidence: Evidence, study_a: Study, a: str, study_b: Study, b: str) -> bool:
    """Whether two cohorts may hold some of the same patients (see the module's rule 3)."""
    if study_a.id != study_b.id:
        return any(other == study_b.id for other, _, _ in evidence.related_by_study.get(study_a.id, []))
    if a == b or in_one_line(study_a, a, b):
        return True
    chain_a, chain_b = _ancestry(study_a, a), _ancestry(study_b, b)
    if a in chain_b or b in chain_a:
        return True  # one is nested in the other
    common = next((c for c in chain_a if c in chain_b), None)
    # The two cohorts where the chains part: siblings under the common ancestor, or at the top of the study.
    side_a = chain_a[chain_a.index(common) - 1] if common else chain_a[-1]
    side_b = chain_b[chain_b.index(common) - 1] if common else chain_b[-1]
    roles = {c.id: c.role for c in study_a.cohorts}
    if common is not None and _exclusive_statuses(study_a, side_a, side_b):
        return False
    return not (roles.get(side_a) in PARTITION_ROLES and roles.get(side_b) in PARTITION_ROLES)


def _exclusive_statuses(study: Study, a: str, b: str) -> bool:
    """Whether two cohorts under one parent are told apart by their prior anti-CD38 status (refractory, exposed not
    refractory, naive): at one line, no patient is in both. Across lines or data cuts it proves nothing."""
    by_id = {c.id: c for c in study.cohorts}
    if a not in by_id or b not in by_id:
        return False
    status_a = prior_anti_cd38_status(study, by_id[a]).status
    status_b = prior_anti_cd38_status(study, by_id[b]).status
    return status_a != status_b and {status_a, status_b} <= set(EXCLUSIVE_STATUSES)


def independent(evidence: Evidence, entries: Iterable[Entry]) -> tuple[list[Entry], list[Exclusion]]:
    """One cohort per patient population: the largest first, each later one only if it shares no patient with those kept."""
    studies = evidence.studies
    entries = list(entries)
    # Only the entries' own studies are looked at: this runs once per stratum and measure.
    own = {entry.study_id for entry in entries}
    related = {sid: {other for other, _, _ in evidence.related_by_study.get(sid, ())} for sid in own}
    order = {(sid, c.id): i for sid in own for i, c in enumerate(studies[sid].cohorts)}
    ranked = sorted(entries, key=lambda e: (-(e.n or 0), e.responders_derived, e.n_from_cohort, e.study_id,
                                            order.get((e.study_id, e.cohort_id), 0)))
    kept: list[Entry] = []
    by_study: dict[str, list[Entry]] = defaultdict(list)
    left_out: list[Exclusion] = []
    for entry in ranked:
        near = [k for sid in {entry.study_id} | related.get(entry.study_id, set()) for k in by_study.get(sid, [])]
        clash = next((k for k in near if cohorts_may_share_patients(
            evidence, studies[entry.study_id], entry.cohort_id, studies[k.study_id], k.cohort_id)), None)
        if clash is None:
            kept.append(entry)
            by_study[entry.study_id].append(entry)
        else:
            left_out.append(Exclusion(entry.study_id, entry.cohort_id, "overlap",
                                      f"may share patients with {clash.key}, which is used", clash.key))
    return kept, left_out


# ---------------------------------------------------------------- analyses

def analyse(evidence: Evidence, stratum: Group, members: Sequence[tuple[Study, Cohort]], measure: str,
            sensitivity: bool = False) -> Analysis:
    """One rate measure in one stratum: every member cohort used or excluded with its reason, pooled if allowed."""
    excluded: list[Exclusion] = []
    candidates: list[Entry] = []
    for study, cohort in members:
        found = _eligibility(evidence, stratum, study, cohort, sensitivity) or rate_entry(study, cohort, measure)
        (excluded if isinstance(found, Exclusion) else candidates).append(found)
    used, overlapping = independent(evidence, candidates)
    excluded.extend(overlapping)
    if isinstance(stratum, Stratum) and not stratum.poolable:
        not_pooled = "not an anti-CD38 retreatment stratum"
    elif len(used) < MIN_COHORTS:
        not_pooled = f"fewer than {MIN_COHORTS} independent cohorts report responders and n (k={len(used)})"
    else:
        not_pooled = None
    estimates: tuple[Estimate, ...] = ()
    if not_pooled is None:
        pooled = pooled_estimates(used)
        if isinstance(pooled, NotEstimable):
            not_pooled = f"the {POOLING_METHODS[pooled.method]} has no estimate: {pooled.reason}"
        else:
            estimates = pooled
    return Analysis(stratum=stratum, measure=measure, sensitivity=sensitivity, used=tuple(used),
                    excluded=tuple(excluded), estimates=estimates, not_pooled=not_pooled)


def median_range(evidence: Evidence, stratum: Group, members: Sequence[tuple[Study, Cohort]],
                 measure: str) -> MedianRange:
    """The range of a median time in one stratum, over cohorts chosen by the same rules as for pooling."""
    excluded: list[Exclusion] = []
    candidates: list[Entry] = []
    for study, cohort in members:
        found = _eligibility(evidence, stratum, study, cohort, False) or median_entry(study, cohort, measure)
        (excluded if isinstance(found, Exclusion) else candidates).append(found)
    used, overlapping = independent(evidence, candidates)
    excluded.extend(overlapping)
    return MedianRange(stratum=stratum, measure=measure,
                       used=tuple(e for e in used if e.value is not None),
                       not_reached=tuple(e for e in used if e.value is None), excluded=tuple(excluded))


def group_analyses(evidence: Evidence, group: Group, members: Sequence[tuple[Study, Cohort]]) -> list[Analysis]:
    """A group's analysis of each of POOLED_MEASURES, each followed by its sensitivity analysis where that differs."""
    analyses = []
    for measure in POOLED_MEASURES:
        primary = analyse(evidence, group, members, measure)
        analyses.append(primary)
        if any(entry.design in CASE_DESIGNS for entry in primary.used):
            analyses.append(analyse(evidence, group, members, measure, sensitivity=True))
    return analyses


def answer(evidence: Evidence, question: Question) -> Answer:
    """A question's answer: its matching cohorts analysed by the same rules as a stratum's."""
    members = matching(evidence, question)
    return Answer(question=question, members=tuple((study.id, cohort.id) for study, cohort in members),
                  analyses=tuple(group_analyses(evidence, question, members)),
                  ranges=tuple(median_range(evidence, question, members, measure) for measure in RANGE_MEASURES))


def synthesise(evidence: Evidence, questions: Iterable[Question] = ()) -> Synthesis:
    """Every stratum's analyses of POOLED_MEASURES and ranges of RANGE_MEASURES, and each question's answer.

    A sensitivity analysis (without case reports and case series) is listed only where the primary analysis uses
    a case report or case series; elsewhere it would be the same analysis.
    """
    members: dict[Stratum, list[tuple[Study, Cohort]]] = defaultdict(list)
    for study in sorted(evidence.studies.values(), key=lambda s: s.id):
        for cohort in study.cohorts:
            members[stratum_of(evidence, study, cohort)].append((study, cohort))
    strata = tuple(sorted(members, key=lambda s: s.order))
    analyses: list[Analysis] = []
    ranges: list[MedianRange] = []
    for stratum in strata:
        analyses.extend(group_analyses(evidence, stratum, members[stratum]))
        ranges.extend(median_range(evidence, stratum, members[stratum], measure) for measure in RANGE_MEASURES)
    return Synthesis(strata=strata, analyses=tuple(analyses), ranges=tuple(ranges),
                     answers=tuple(answer(evidence, question) for question in questions))
