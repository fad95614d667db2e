"""Which cohorts enter a pooled analysis: eligibility, each cohort's figure as an entry, and patients counted once."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Iterable

from build_scripts.derive.facts import exposure_status
from build_scripts.derive.lines import ancestors, in_one_line
from build_scripts.derive.partners import partners
from build_scripts.derive.responses import cohort_outcomes
from build_scripts.derive.synthesis_types import (
    CASE_DESIGNS, EXCLUSIVE_STATUSES, Entry, Exclusion, Group, PARTITION_ROLES, Stratum,
)
from build_scripts.load.vocabulary import MEASURES, outside_key
if TYPE_CHECKING:
    from build_scripts.load.evidence import Evidence
    from build_scripts.load.model import Study
    from build_scripts.load.parts import Cohort, Outcome


def stratum_of(evidence: Evidence, study: Study, cohort: Cohort) -> Stratum:
    """A cohort's stratum: its partner group and prior status with the index class (facts.py). The index-switch axis does
    not divide strata: the same index agent again and a switch are pooled together, each cohort's index agent listed."""
    return Stratum(partners(evidence, study, cohort).name, exposure_status(study, cohort).status)


def _control_arms(study: Study) -> set[str]:
    return {comparison.control for comparison in study.comparisons}


def eligibility(evidence: Evidence, stratum: Group, study: Study, cohort: Cohort,
                 sensitivity: bool) -> Exclusion | None:
    """Why a cohort may not enter any analysis of its stratum, whatever it reports; None when it may."""
    if isinstance(stratum, Stratum) and not stratum.poolable:
        return Exclusion(study.id, cohort.id, outside_key(), partners(evidence, study, cohort).reason)
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
    """Whether two cohorts under one parent are told apart by their prior status (refractory, exposed not
    refractory, naive): at one line, no patient is in both. Across lines or data cuts it proves nothing."""
    by_id = {c.id: c for c in study.cohorts}
    if a not in by_id or b not in by_id:
        return False
    status_a = exposure_status(study, by_id[a]).status
    status_b = exposure_status(study, by_id[b]).status
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
