"""Response rates the atlas computes from per-patient best responses, and the counts behind any rate figure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

from build_scripts.load.parts import Cohort, Outcome, Source
from build_scripts.load.vocabulary import MEASURES, RESPONSE_CATEGORIES, TopicList

# Best responses that are not a response assessment's result: never responders. A patient whose response is not
# evaluable was treated and assessed, so is kept in the denominator (as the response criteria's rates do); one whose
# response the source does not report is left out of it, since counting them either way would infer a result.
NOT_EVALUABLE, NOT_REPORTED = "ne", "unknown"

# The rates computed from best responses, in vocabulary order: those whose measure names its threshold category.
DERIVABLE_MEASURES = TopicList(lambda: tuple(name for name, measure in MEASURES.items() if measure.at_least is not None))

# What a summary of figures says after a rate no source states, which the atlas computed from per-patient responses.
COMPUTED_FROM_PATIENTS = " (computed from per-patient responses)"

# A printed rate may differ from responders/n by half a point through rounding
# (as record_checks.RATE_ROUNDING_TOLERANCE).
ROUNDING_TOLERANCE = 0.5 + 1e-9


class PatientDerivedOutcome(Outcome):
    """A rate no source states, computed by the atlas from the best responses a cohort lists patient by patient."""

    basis: str  # "patients" (each patient's line of the cohort's regimen) or "best_response" (a complete tally)


@dataclass(frozen=True)
class BestResponses:
    """A cohort's best responses, one per patient, where its record lists every patient's, and where they are."""

    categories: tuple[str, ...]
    source: Source
    basis: str
    discrepancy: str | None  # a discrepancy flagged on the per-patient figures themselves


def _rank(category: str) -> int:
    return RESPONSE_CATEGORIES[category].rank


def _cohort_n(cohort: Cohort) -> int | None:
    count = cohort.population.n if cohort.population is not None else None
    return count.value if count is not None else None


def _covers(cohort: Cohort, listed: int) -> bool:
    """Whether patients listed are all of the cohort's: its number of patients, where recorded, and no figure of
    it based on more patients (a figure of 10 patients beside one listed patient means the list is a sample)."""
    if _cohort_n(cohort) not in (None, listed):
        return False
    stated = [o.n for o in cohort.outcomes if o.n is not None] + [s.n for s in cohort.best_response if s.n is not None]
    return all(n <= listed for n in stated)


def _one_source(sources: list[Source]) -> Source | None:
    """One Source for several places in one publication (their locations joined, each once); None across several."""
    if not sources or len({s.publication for s in sources}) != 1:
        return None
    return Source(publication=sources[0].publication,
                  location="; ".join(dict.fromkeys(s.location for s in sources)))


def _from_patients(cohort: Cohort) -> BestResponses | None:
    """Each listed patient's best response on the cohort's own regimen: their one therapy line of that regimen."""
    if not cohort.patients or cohort.regimen is None:
        return None
    categories = []
    for patient in cohort.patients:
        lines = [line for line in patient.lines if line.regimen == cohort.regimen]
        if len(lines) != 1:  # none, or several lines of the regimen: which one is the cohort's is not recorded
            return None
        categories.append(lines[0].best_response)
    if not _covers(cohort, len(categories)):
        return None
    source = _one_source([patient.source for patient in cohort.patients])
    return None if source is None else BestResponses(tuple(categories), source, "patients", None)


def _from_tally(cohort: Cohort) -> BestResponses | None:
    """A best-response tally that accounts for every patient: counts in every entry, one n, summing to it."""
    shares = cohort.best_response
    if not shares or any(s.patients is None or s.n is None for s in shares):
        return None
    n = shares[0].n
    if any(s.n != n for s in shares) or sum(s.patients for s in shares) != n:  # type: ignore[misc]
        return None
    if not _covers(cohort, n):  # type: ignore[arg-type]
        return None
    source = _one_source([s.source for s in shares])
    if source is None:
        return None
    categories = tuple(s.category for s in shares for _ in range(s.patients))  # type: ignore[arg-type]
    flagged = next((s.discrepancy for s in shares if s.discrepancy), None)
    return BestResponses(categories, source, "best_response", flagged)


def best_responses(cohort: Cohort) -> BestResponses | None:
    """The cohort's per-patient best responses: from its patients' lines, else from a complete tally; else None."""
    return _from_patients(cohort) or _from_tally(cohort)


def _tally_text(categories: list[str]) -> str:
    counts: dict[str, int] = {}
    for category in sorted(categories, key=_rank):
        counts[category] = counts.get(category, 0) + 1
    return ", ".join(f"{RESPONSE_CATEGORIES[c].short} {k}" for c, k in counts.items())


def derived_rate(found: BestResponses, measure_name: str) -> PatientDerivedOutcome | None:
    """A rate computed from per-patient best responses, its derivation saying how and which patients n counts;
    None when no patient counts.

    Not evaluable and not reported responses are never responses. A count of patients by best response is the
    source's own denominator, so n is its n, whatever the categories. Of patients listed one by one, one whose
    response is not evaluable is in n (assessed, not responding) and one whose response is not reported is not.
    """
    measure = MEASURES[measure_name]
    threshold = _rank(measure.at_least)  # type: ignore[arg-type]
    tally = found.basis == "best_response"
    counted = [c for c in found.categories if tally or c != NOT_REPORTED]
    if not counted:
        return None
    responders = sum(1 for c in counted if _rank(c) <= threshold and c not in (NOT_EVALUABLE, NOT_REPORTED))
    n = len(counted)
    where = ("the source's count of its patients by best response" if tally
             else f"the best response of each of the {len(found.categories)} patients listed, on their line of the"
                  " cohort's regimen")
    parts = [f"{responders}/{n}, computed by the atlas from {where} ({_tally_text(list(found.categories))});"
             f" {RESPONSE_CATEGORIES[measure.at_least].short} or better counts as a response"]  # type: ignore[index]
    parts.append("n is the n of that count" if tally else "n is every patient listed")
    unevaluable = found.categories.count(NOT_EVALUABLE)
    unknown = found.categories.count(NOT_REPORTED)
    if unevaluable:
        parts.append(f"{unevaluable} not evaluable counted in n as not responding")
    if unknown and tally:
        parts.append(f"{unknown} whose response is not reported counted in n, as the source counts them, as not"
                     " responding")
    elif unknown:
        parts[1] = f"n is every patient listed but the {unknown} whose response is not reported"
    return PatientDerivedOutcome(
        measure=measure_name, status="reported", value=round(100 * responders / n, 1), unit=measure.unit,
        responders=responders, n=n, derived=True, derivation="; ".join(parts), source=found.source,
        discrepancy=found.discrepancy, basis=found.basis)


def derived_rates(cohort: Cohort) -> dict[str, PatientDerivedOutcome]:
    """Every rate of DERIVABLE_MEASURES computable from the cohort's per-patient best responses, by measure."""
    found = best_responses(cohort)
    if found is None:
        return {}
    rates = {name: derived_rate(found, name) for name in DERIVABLE_MEASURES}
    return {name: rate for name, rate in rates.items() if rate is not None}


def disagrees(reported: Outcome, derived: Outcome) -> bool:
    """Whether a reported rate and the one computed from per-patient responses differ beyond rounding."""
    if reported.responders is not None and reported.n is not None:
        return (reported.responders, reported.n) != (derived.responders, derived.n)
    if reported.n is not None and reported.n != derived.n:
        return True
    return reported.value is not None and abs(reported.value - derived.value) > ROUNDING_TOLERANCE  # type: ignore[operator]


def disagreements(cohort: Cohort) -> Iterator[tuple[int, Outcome, PatientDerivedOutcome]]:
    """(position, reported figure, computed figure) for each reported rate its per-patient responses contradict."""
    derived = derived_rates(cohort)
    for position, outcome in enumerate(cohort.outcomes):
        computed = derived.get(outcome.measure)
        if computed is not None and outcome.value is not None and disagrees(outcome, computed):
            yield position, outcome, computed


def _noted(computed: PatientDerivedOutcome, why: str, discrepancy: str | None) -> PatientDerivedOutcome:
    return computed.model_copy(update={"derivation": f"{computed.derivation}; {why}", "discrepancy": discrepancy})


def cohort_outcomes(cohort: Cohort) -> list[Outcome]:
    """The cohort's figures with the rates computed from its per-patient responses: each where no source reports
    the measure, and beside a reported figure it contradicts (carrying that figure's discrepancy flag)."""
    if not cohort.patients and not cohort.best_response:
        return cohort.outcomes
    outcomes = list(cohort.outcomes)
    for name, computed in derived_rates(cohort).items():
        reported = [o for o in cohort.outcomes if o.measure == name and o.value is not None]
        if not reported:
            outcomes.append(_noted(computed, "the source states no such rate", computed.discrepancy))
            continue
        against = next((o for o in reported if disagrees(o, computed)), None)
        if against is not None:
            outcomes.append(_noted(computed, "it differs from the rate the source reports",
                                   against.discrepancy or computed.discrepancy))
    return outcomes


# ---------------------------------------------------------------- the counts behind any rate figure

@dataclass(frozen=True)
class RateCounts:
    """Responders and patients behind a rate figure, and which of them the source does not state."""

    responders: int
    n: int
    responders_derived: bool  # from the printed rate and n, rounded half up
    n_from_cohort: bool  # the cohort's number of patients, the figure stating none


def rate_counts(outcome: Outcome, cohort: Cohort) -> RateCounts | None:
    """The counts of a rate: as stated, else responders from the rate and n (rounded half up, as the pooling
    does) and n from the cohort; None when there is no rate or no number of patients."""
    if MEASURES[outcome.measure].family != "rate" or outcome.value is None:
        return None
    n = outcome.n if outcome.n is not None else _cohort_n(cohort)
    if not n:
        return None
    responders = outcome.responders
    if responders is None:
        responders = math.floor(outcome.value * n / 100 + 0.5)
    if not 0 <= responders <= n:
        return None
    return RateCounts(responders, n, outcome.responders is None, outcome.n is None)
