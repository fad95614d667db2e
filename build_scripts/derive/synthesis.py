"""Exploratory synthesis: response rates pooled per stratum (partner group x prior status), medians as ranges.

Pure functions from the evidence to frozen dataclasses; the Evidence summary page, the charts and synthesis.csv all
read `synthesise(evidence)`. The rules, in the order they are applied to every cohort of a stratum:

1. the stratum must be in the atlas's question (its partner group is not the 'outside' one, so every patient had an
   agent of the index class before), and the cohort must not be the control arm of a comparison;
2. the cohort must report the measure, comparable across studies, as responders and n, or as a rate and n (the
   responder count is then derived, rounded half up; n is the figure's own, else the cohort's patient count);
3. one cohort per patient population: cohorts that may share patients (a cohort and any cohort nested in it,
   sibling cohorts other than arms, parts and dose levels unless their prior statuses exclude each other,
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

from collections import defaultdict
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from build_scripts.derive.entries import eligibility, independent, median_entry, rate_entry, stratum_of
from build_scripts.derive.meta_analysis import NotEstimable, RandomEffects, pool
from build_scripts.derive.questions import Question, matching
from build_scripts.derive.synthesis_types import (
    Analysis, Answer, CASE_DESIGNS, Entry, Estimate, Exclusion, Group, MIN_COHORTS, MedianRange, POOLED_MEASURES,
    RANGE_MEASURES, Stratum, Synthesis, expit_percent,
)
from build_scripts.load.cache import digest, fragment
from build_scripts.load.vocabulary import POOLING_METHODS, PRIMARY_POOLING_METHOD, WORDS

if TYPE_CHECKING:
    from build_scripts.load.evidence import Evidence
    from build_scripts.load.model import Study
    from build_scripts.load.parts import Cohort


# ---------------------------------------------------------------- pooling


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


# ---------------------------------------------------------------- analyses

def _chosen(evidence: Evidence, stratum: Group, members: Sequence[tuple[Study, Cohort]], sensitivity: bool,
            entry_of: Callable[[Study, Cohort], Entry | Exclusion]) -> tuple[list[Entry], list[Exclusion]]:
    """The independent cohorts of a stratum that give a figure, and every other one with why it is left out."""
    excluded: list[Exclusion] = []
    candidates: list[Entry] = []
    for study, cohort in members:
        found = eligibility(evidence, stratum, study, cohort, sensitivity) or entry_of(study, cohort)
        (excluded if isinstance(found, Exclusion) else candidates).append(found)
    used, overlapping = independent(evidence, candidates)
    return used, excluded + list(overlapping)


def analyse(evidence: Evidence, stratum: Group, members: Sequence[tuple[Study, Cohort]], measure: str,
            sensitivity: bool = False) -> Analysis:
    """One rate measure in one stratum: every member cohort used or excluded with its reason, pooled if allowed."""
    used, excluded = _chosen(evidence, stratum, members, sensitivity,
                             lambda study, cohort: rate_entry(study, cohort, measure))
    if isinstance(stratum, Stratum) and not stratum.poolable:
        not_pooled = f"not {WORDS['a_question_cohort']} stratum"
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
    used, excluded = _chosen(evidence, stratum, members, False,
                             lambda study, cohort: median_entry(study, cohort, measure))
    return MedianRange(stratum=stratum, measure=measure,
                       used=tuple(e for e in used if e.value is not None),
                       not_reached=tuple(e for e in used if e.value is None), excluded=tuple(excluded))


def _kept(evidence: Evidence, name: str, group: Group, members: Sequence[tuple[Study, Cohort]], measure: str,
          make: Callable[[], Analysis | MedianRange]) -> Analysis | MedianRange:
    """One analysis or range of a group, kept between builds (a fragment) while its members and what it reads are
    unchanged: an edit recomputes only the groups holding the edited cohorts."""
    ids = tuple((study.id, cohort.id) for study, cohort in members)

    def traced() -> Analysis | MedianRange:
        # The members come in as objects; looking each study up charges its record to the fragment's reads.
        for study_id in dict.fromkeys(study_id for study_id, _ in ids):
            evidence.studies.get(study_id)
        return make()

    return fragment(name, (group, measure, digest(repr(ids))), traced)


def group_analyses(evidence: Evidence, group: Group, members: Sequence[tuple[Study, Cohort]]) -> list[Analysis]:
    """A group's analysis of each of POOLED_MEASURES, each followed by its sensitivity analysis where that differs."""
    analyses = []
    for measure in POOLED_MEASURES:
        primary = _kept(evidence, "analysis", group, members, measure,
                        lambda measure=measure: analyse(evidence, group, members, measure))
        analyses.append(primary)
        if any(entry.design in CASE_DESIGNS for entry in primary.used):
            analyses.append(_kept(evidence, "sensitivity analysis", group, members, measure,
                                  lambda measure=measure: analyse(evidence, group, members, measure, sensitivity=True)))
    return analyses


def group_ranges(evidence: Evidence, group: Group, members: Sequence[tuple[Study, Cohort]]) -> list[MedianRange]:
    """A group's range of each of RANGE_MEASURES."""
    return [_kept(evidence, "median range", group, members, measure,
                  lambda measure=measure: median_range(evidence, group, members, measure))
            for measure in RANGE_MEASURES]


def answer(evidence: Evidence, question: Question, members: Sequence[tuple[Study, Cohort]] | None = None) -> Answer:
    """A question's answer: its matching cohorts (`members`, when known) analysed by the same rules as a stratum's."""
    members = matching(evidence, question) if members is None else members
    return Answer(question=question, members=tuple((study.id, cohort.id) for study, cohort in members),
                  analyses=tuple(group_analyses(evidence, question, members)),
                  ranges=tuple(group_ranges(evidence, question, members)))


def _study_groups(evidence: Evidence, study_id: str, questions: Sequence[Question]) -> tuple[tuple, tuple]:
    """A study's cohorts' strata, in its order, and for each question the ids of the cohorts that answer it."""
    study = evidence.studies[study_id]
    return (tuple(stratum_of(evidence, study, cohort) for cohort in study.cohorts),
            tuple(tuple(cohort.id for cohort in study.cohorts if question.matches(evidence, study, cohort))
                  for question in questions))


def synthesise(evidence: Evidence, questions: Iterable[Question] = ()) -> Synthesis:
    """Every stratum's analyses of POOLED_MEASURES and ranges of RANGE_MEASURES, and each question's answer.

    A sensitivity analysis (without case reports and case series) is listed only where the primary analysis uses
    a case report or case series; elsewhere it would be the same analysis.
    """
    questions = tuple(questions)
    members: dict[Stratum, list[tuple[Study, Cohort]]] = defaultdict(list)
    answering: list[list[tuple[Study, Cohort]]] = [[] for _ in questions]
    asked = digest(repr(questions))
    for study in sorted(evidence.studies.values(), key=lambda s: s.id):
        # Kept between builds per study (a fragment), so that an edit looks again at the edited study's cohorts only.
        strata, matches = fragment("synthesis groups", (study.id, asked),
                                   lambda study_id=study.id: _study_groups(evidence, study_id, questions))
        cohorts = {cohort.id: cohort for cohort in study.cohorts}
        for cohort, stratum in zip(study.cohorts, strata):
            members[stratum].append((study, cohort))
        for found, cohort_ids in zip(answering, matches):
            found.extend((study, cohorts[cohort_id]) for cohort_id in cohort_ids)
    strata = tuple(sorted(members, key=lambda s: s.order))
    analyses: list[Analysis] = []
    ranges: list[MedianRange] = []
    for stratum in strata:
        analyses.extend(group_analyses(evidence, stratum, members[stratum]))
        ranges.extend(group_ranges(evidence, stratum, members[stratum]))
    return Synthesis(strata=strata, analyses=tuple(analyses), ranges=tuple(ranges),
                     answers=tuple(answer(evidence, question, found) for question, found in zip(questions, answering)))
