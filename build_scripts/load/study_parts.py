"""The parts of a study beyond its cohorts (comparisons, discrepancies, trial status) and of a systematic review."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Iterator, Literal

from pydantic import Field

from build_scripts.load.choices import (
    EffectMeasureName, EligibilityKindName, FindingScopeName, FindingStatisticName, FindingUnitName, MeasureName,
    TrialStatusName,
)
from build_scripts.load.fields import Count, Level, LongText, NonNegative, Number, OneLine, Slug
from build_scripts.load.parts import Source, Sourced, Strict
from build_scripts.load.vocabulary import EFFECT_MEASURES, FINDING_STATISTICS, RATIO_EFFECT_MEASURES


class DiscrepancyClaim(Strict):
    """What one source says about the disputed figure."""

    source: Source = Field(description="Where this claim is printed.")
    says: OneLine = Field(description="What the source says there, quoted or closely paraphrased: enough to see the"
                                      " disagreement.", examples=["ORR 25% (5/20)"])


class Discrepancy(Strict):
    """Sources that disagree, or a source that contradicts itself, described in the curators' words."""

    id: Slug = Field(description="Id of the discrepancy, unique within the study; each figure concerned names it in"
                                 " its 'discrepancy', and the page anchors it as #discrepancy-<id>.",
                     examples=["orr-differs"])
    title: OneLine = Field(description="A short heading for the disagreement in the curators' words, shown on the page"
                                       " (the id is never shown).", examples=["Response rate differs between abstract"
                                                                               " and article"])
    summary: LongText = Field(description="What disagrees with what, in the curators' words.")
    claims: list[DiscrepancyClaim] = Field(min_length=1, max_length=20,
                                           description="What each source, or each place in one source, says.")
    resolution: LongText | None = Field(None, description="The curators' reading, if they have one, and why; leave it"
                                                          " out rather than pick a winner without saying so.")


class RelatedStudy(Strict):
    """Another study record that reports some of the same patients."""

    study: Slug = Field(description="Id of the other study record.", examples=["nooka-2019-dpd"])
    relation: Literal["same_patients", "overlapping_patients", "extension", "subgroup_of", "parent_of"] = Field(
        description="How this study's patients relate to the other's: the same patients, some of the same, an"
                    " extension of it, a subgroup of it ('subgroup_of'), or the study it is a subgroup of"
                    " ('parent_of').")
    note: LongText | None = Field(None, description="How the two overlap, in the curators' words.")


class TrialStatus(Sourced):
    """A trial's status as one source gives it (a study lists them oldest first)."""

    status: TrialStatusName = Field(description="The status in the vocabulary's words.", examples=["terminated"])
    reason: OneLine | None = Field(None, description="Why the trial stopped or was suspended, as the source gives it.",
                                   examples=["futility"])
    as_stated: OneLine | None = Field(None, description="The source's own words for the status.",
                                      examples=["terminated early due to futility"])
    note: LongText | None = Field(None, description="Anything a reader needs to read the status right, in the curators' words.")


class EligibilityCriterion(Sourced):
    """One criterion for entering a study, as a source states it."""

    text: OneLine = Field(description="The criterion as the source states it (close to its words, not a reading of"
                                      " it).")
    kind: EligibilityKindName = Field("inclusion", description="Whether patients had to meet it or were excluded by it.")


class ResponseCriteria(Sourced):
    """The criteria a study's responses were judged by, as its source names them."""

    criteria: OneLine = Field(description="The criteria as the source names them.")


class Appraisal(Sourced):
    """A review's quality appraisal of its studies, as it reports it."""

    tool: OneLine = Field(description="The appraisal tool.", examples=["Mixed Methods Appraisal Tool (MMAT)"])
    appraised: Count = Field(description="How many studies the review appraised.", examples=[16])
    judgement: LongText = Field(description="What the review judged of them, in the curators' words; say whether it"
                                            " names the studies it appraised.")


class Comparison(Sourced):
    """A between-arm comparison of one measure, with the statistic as the source gives it."""

    measure: MeasureName = Field(description="The outcome measure compared.", examples=["pfs"])
    experimental: Slug = Field(description="Id of the experimental arm (a cohort of this study with role 'arm').",
                               examples=["dkd"])
    control: Slug = Field(description="Id of the control arm (a cohort of this study with role 'arm').", examples=["kd"])
    effect_measure: EffectMeasureName = Field(
        description="The statistic reported; 'not_reported' when the source compares the arms only in words.",
        examples=["hazard_ratio"])
    value: Number | None = Field(None, description="The effect estimate, experimental against control.", examples=[0.63])
    ci_low: Number | None = Field(None, description="Lower bound of its confidence interval.")
    ci_high: Number | None = Field(None, description="Upper bound of its confidence interval.")
    ci_level: Level | None = Field(None, description="Confidence level in per cent, e.g. 95.")
    p_value: OneLine | None = Field(None, description="The p-value as printed, e.g. '0.002' or '<0.001'.")
    as_stated: OneLine | None = Field(None, description="The comparison in the source's words, e.g. 'not notably different'.")
    note: LongText | None = Field(None, description="Anything a reader needs to read the comparison right.")

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        yield from super().domain_problems()
        numbers = ("value", "ci_low", "ci_high", "ci_level")
        if self.effect_measure == "not_reported":
            for name in numbers:
                if getattr(self, name) is not None:
                    yield name, "effect_measure not_reported must not carry a number; 'not reported' is never written as one"
            if self.as_stated is None and self.p_value is None:
                yield "as_stated", "without a statistic, give the comparison as the source states it in 'as_stated'"
            return
        if self.value is None:
            yield "value", f"effect_measure {self.effect_measure} needs its 'value'"
        if (self.ci_low is None) != (self.ci_high is None):
            yield "ci_low", "a confidence interval needs both 'ci_low' and 'ci_high'"
        if (self.ci_low is not None) != (self.ci_level is not None):
            yield "ci_level", "a confidence interval needs 'ci_level' (e.g. 95), and 'ci_level' needs an interval"
        if self.ci_low is not None and self.ci_high is not None:
            if self.ci_low > self.ci_high:
                yield "ci_low", f"ci_low {self.ci_low:g} is above ci_high {self.ci_high:g}"
            elif self.value is not None and not self.ci_low <= self.value <= self.ci_high:
                yield "value", f"value {self.value:g} lies outside its confidence interval"
        if self.effect_measure in RATIO_EFFECT_MEASURES:
            for name in ("value", "ci_low", "ci_high"):
                number = getattr(self, name)
                if number is not None and number <= 0:
                    yield name, f"{EFFECT_MEASURES[self.effect_measure].lower()} must be above 0; found {number:g}"


class PrismaFlow(Sourced):
    """PRISMA flow counts of a systematic review, as the review reports them."""

    records_identified_databases: Count | None = Field(
        None, description="Records identified by searching the databases.")
    records_identified_other: Count | None = Field(
        None, description="Records identified from other sources (registers, reference lists).")
    duplicates_removed: Count | None = Field(None, description="Duplicate records removed before screening.")
    excluded_title_abstract: Count | None = Field(None, description="Records excluded at title and abstract screening.")
    excluded_full_text: Count | None = Field(None, description="Full texts excluded.")
    publications_included: Count | None = Field(None, description="Publications included.")
    studies_included: Count | None = Field(
        None, description="Studies included (several publications may report one study).")


class SearchWindow(Sourced):
    """The databases and dates a review searched."""

    databases: list[OneLine] = Field(min_length=1, max_length=50, description="Databases searched, as the review names"
                                                                              " them.", examples=[["Medline", "Embase"]])
    start: dt.date | Literal["inception"] = Field(description="First date searched, or 'inception' when the review"
                                                              " searched from each database's start.",
                                                  examples=["inception", dt.date(2015, 1, 1)])
    end: dt.date = Field(description="Last date searched (the search's cut-off).", examples=[dt.date(2024, 6, 30)])
    languages: list[OneLine] = Field(default_factory=list, max_length=20, description="Languages the search was"
                                                                                     " restricted to, if any.",
                                     examples=[["English"]])

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        yield from super().domain_problems()
        if isinstance(self.start, dt.date) and self.end < self.start:
            yield "end", f"the search ends ({self.end.isoformat()}) before it starts ({self.start.isoformat()})"


class DiscussedStudy(Strict):
    """A study a review discusses but did not include, with the review's reason."""

    study: Slug = Field(description="Id of the study record.", examples=["lynx"])
    reason: OneLine = Field(description="Why the review did not include it, in the curators' words.",
                            examples=["reported after the review's search cut-off"])
    as_stated: OneLine | None = Field(None, description="The review's own words for the reason.")
    source: Source = Field(description="Where the review discusses the study.")


class ReviewFinding(Sourced):
    """A figure a review states across several studies (a range, a count, a pooled estimate), as it states it."""

    id: Slug = Field(description="Id of the finding, unique within the review.", examples=["pfs-rwe"])
    topic: OneLine = Field(description="What the figure is about.", examples=["Median PFS"])
    evidence_type: FindingScopeName = Field(description="Which studies the figure summarises.", examples=["real_world"])
    statistic: FindingStatisticName = Field(description="What kind of figure it is.", examples=["range"])
    measure: MeasureName | None = Field(
        None, description="The outcome measure the figure is about, when it is one; the Evidence summary shows the"
                          " atlas's own figures of that measure, for the same evidence type, beside it.",
        examples=["pfs"])
    value: NonNegative | None = Field(None, description="The figure, for a single figure, count, median or pooled estimate.")
    low: NonNegative | None = Field(None, description="Low end of a range.")
    high: NonNegative | None = Field(None, description="High end of a range, or the bound of an upper bound.")
    unit: FindingUnitName | None = Field(None, description="Unit of value, low and high.", examples=["months"])
    ci_low: NonNegative | None = Field(None, description="Lower bound of the confidence interval of a single figure.")
    ci_high: NonNegative | None = Field(None, description="Upper bound of that interval.")
    ci_level: Level | None = Field(None, description="Confidence level in per cent.")
    n: Annotated[int, Field(ge=1)] | None = Field(None, description="Patients a single figure is based on.")
    studies_count: Count | None = Field(None, description="How many studies the source says the figure covers.")
    studies: list[Slug] = Field(default_factory=list, max_length=1000,
                                description="Study records the source cites for the figure, jointly.")
    as_stated: OneLine | None = Field(None, description="The figure in the source's words, when they say more than"
                                                         " the numbers (e.g. '1.0-2.8 months in all but one trial').")
    note: LongText | None = Field(None, description="Anything a reader needs to read the figure right.")

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        yield from super().domain_problems()
        if self.statistic == "range":
            if self.low is None or self.high is None:
                yield "low", "a range needs 'low' and 'high'"
        elif self.statistic == "upper_bound":
            if self.high is None:
                yield "high", "an upper bound needs 'high'"
        elif self.value is None:
            yield "value", f"a {FINDING_STATISTICS[self.statistic].lower()} needs 'value'"
        if self.low is not None and self.high is not None and self.low > self.high:
            yield "low", f"low {self.low:g} is above high {self.high:g}"
        if (self.ci_low is None) != (self.ci_high is None) or (self.ci_low is None) != (self.ci_level is None):
            yield "ci_level", "a confidence interval needs 'ci_low', 'ci_high' and 'ci_level'"
        elif self.ci_low is not None and self.ci_low > self.ci_high:
            yield "ci_low", f"ci_low {self.ci_low:g} is above ci_high {self.ci_high:g}"
        if self.unit == "percent":
            for name in ("value", "low", "high", "ci_low", "ci_high"):
                number = getattr(self, name)
                if number is not None and number > 100:
                    yield name, f"{number:g} is above 100 (per cent)"


class ReviewConclusion(Sourced):
    """A conclusion a review draws in words, restated by the curators, with at most a short quotation."""

    id: Slug = Field(description="Id of the conclusion, unique within the review.", examples=["limited-benefit"])
    statement: OneLine = Field(description="The conclusion in the curators' own words.")
    as_stated: OneLine | None = Field(
        None, description="A short quotation of the review's own words: a phrase, not a passage; the statement says"
                          " the rest in the curators' words.", examples=["limited clinical benefit"])
    measure: MeasureName | None = Field(
        None, description="The outcome measure the conclusion is about, when it is one; the Evidence summary shows the"
                          " atlas's figures of that measure by prior {index_adjective} status beside it.",
        examples=["pfs"])
    evidence_type: FindingScopeName = Field(
        "all", description="Which studies the conclusion is about; the figures shown beside it are from those.",
        examples=["real_world"])
    studies: list[Slug] = Field(default_factory=list, max_length=1000,
                                description="Study records the conclusion is about, when it names some.")
