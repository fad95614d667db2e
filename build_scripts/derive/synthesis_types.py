"""What the synthesis gives: strata and groups, entries and exclusions, estimates, analyses, answers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from build_scripts.derive.meta_analysis import RandomEffects
from build_scripts.derive.partners import PARTNER_GROUP_ROLES, partner_group_label, partner_group_order
from build_scripts.derive.questions import Question
from build_scripts.load.vocabulary import (
    EXPOSURE_STATUSES, POOLED_MEASURES, POOLING_METHODS, PRIMARY_POOLING_METHOD, RANGE_MEASURES, SYNTHESIS_EXCLUSIONS,
    TopicList, exposure_rules,
)
if TYPE_CHECKING:
    from build_scripts.load.parts import Outcome, Source


MIN_COHORTS = 3


# Designs left out of the sensitivity analysis.
CASE_DESIGNS: tuple[str, ...] = ("case_report", "case_series")


# Cohorts with these roles under one parent (or at the top of one study) share no patient.
PARTITION_ROLES: tuple[str, ...] = ("arm", "part", "dose_level")


# Prior statuses no patient has two of at one line: sibling cohorts defined by two of them share no patient.
EXCLUSIVE_STATUSES: Sequence[str] = TopicList(lambda: exposure_rules().exclusive)


@dataclass(frozen=True)
class Stratum:
    """A partner group (partners.partner_group_key) and a prior status with the index class (EXPOSURE_STATUSES)."""

    partner_class: str
    prior_status: str

    @property
    def label(self) -> str:
        return f"{partner_group_label(self.partner_class)}; {EXPOSURE_STATUSES[self.prior_status].label}"

    @property
    def poolable(self) -> bool:
        """Whether the stratum is in the atlas's question, so that its cohorts may be pooled at all."""
        return self.partner_class != PARTNER_GROUP_ROLES["outside"] and EXPOSURE_STATUSES[self.prior_status].in_question

    @property
    def order(self) -> tuple:
        """Sort key: partner groups in their order, then statuses in the vocabulary's."""
        return partner_group_order(self.partner_class), list(EXPOSURE_STATUSES).index(self.prior_status)


# The group an analysis is of: a stratum, or a clinical question (questions.Question), whose cohorts are all in the
# atlas's question by its definition.
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


def expit_percent(x: float) -> float:
    """A logit back on the per-cent scale."""
    return 100 / (1 + math.exp(-x))
