"""The evidence profile of a set of cohorts: the facts a GRADE assessment needs, without a certainty rating.

Designs and their counts, independent cohorts and patients, follow-up, the appraisal of the reviews that include
the studies, response criteria, denominators, heterogeneity and the width of the interval. Also the two facts that
keep a figure honest where it is shown: a randomised arm's comparator and its trial's stopping status
(arm_comparison), and a median's follow-up (follow_up).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from build_scripts.derive.exact import clopper_pearson
from build_scripts.derive.facts import stopping
from build_scripts.derive.responses import cohort_outcomes
from build_scripts.load.evidence import parent_chain
from build_scripts.load.numbers import number
from build_scripts.load.vocabulary import DESIGNS, MEASURES, POOLING_METHODS, TRIAL_STATUSES
from build_scripts.render.forest_rows import preferred_outcome, study_name

if TYPE_CHECKING:
    from build_scripts.load.evidence import Evidence
    from build_scripts.load.model import Study
    from build_scripts.load.parts import Cohort, Outcome
    from build_scripts.derive.synthesis_types import Analysis, Entry, MedianRange

def _cohort(study: Study, cohort_id: str) -> Cohort | None:
    return next((c for c in study.cohorts if c.id == cohort_id), None)


def follow_up(study: Study, cohort: Cohort) -> tuple[Outcome, Cohort] | None:
    """The median follow-up of a cohort's patients: its own, else that of the nearest cohort containing it."""
    for current in [cohort, *parent_chain(study, cohort.id)]:
        found = next((o for o in current.outcomes if o.measure == "follow_up" and o.value is not None), None)
        if found is not None:
            return found, current
    return None


def follow_up_text(study: Study, cohort: Cohort) -> str:
    """'median follow-up 2.9 months' (of the enclosing cohort where it is not the cohort's own), or not stated."""
    found = follow_up(study, cohort)
    if found is None:
        return "follow-up not stated"
    outcome, holder = found
    whose = "" if holder.id == cohort.id else f" (of {holder.label})"
    return f"median follow-up {number(outcome.value)} months{whose}"


@dataclass(frozen=True)
class ArmComparison:
    """A randomised arm's comparator: the other arm, its figure of the measure, and whether the trial stopped."""

    role: str  # 'experimental' or 'control': the role of the arm shown
    other_study: Study
    other: Cohort
    figure: str  # the comparator's figure of the measure, or 'not reported'
    stopped: str | None
    latest_status: str | None


def arm_comparison(evidence: Evidence, study: Study, cohort: Cohort, measure_name: str) -> ArmComparison | None:
    """The comparison a cohort is an arm of, with the other arm's figure of the measure; None when it is no arm."""
    for comparison in study.comparisons:
        if cohort.id not in (comparison.experimental, comparison.control):
            continue
        other_id = comparison.control if cohort.id == comparison.experimental else comparison.experimental
        other = _cohort(study, other_id)
        if other is None:
            continue
        outcome = preferred_outcome(evidence, study, [o for o in cohort_outcomes(other) if o.measure == measure_name])
        measure = MEASURES[measure_name]
        if outcome is None or outcome.value is None:
            figure = "not reached" if outcome is not None and outcome.status == "not_reached" else "not reported"
        else:
            figure = f"{number(outcome.value)}{' months' if measure.family == 'time' else '%'}"
        latest = TRIAL_STATUSES[study.trial_status[-1].status] if study.trial_status else None
        return ArmComparison("experimental" if cohort.id == comparison.experimental else "control", study, other,
                             figure, stopping(study), latest)
    return None


@dataclass(frozen=True)
class ProfileLine:
    """One line of an evidence profile: what it is about, and what the records say."""

    label: str
    text: str


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def evidence_profile(evidence: Evidence, members: Sequence[tuple[Study, Cohort]], analysis: Analysis | None,
                     ranges: Sequence[MedianRange] = ()) -> tuple[ProfileLine, ...]:
    """The profile of a set of cohorts and its analysis of a rate: every line generated from the records."""
    studies = list({study.id: study for study, _ in members}.values())
    lines = []
    designs = Counter(study.design for study in studies)
    lines.append(ProfileLine("Studies and designs", _plural(len(studies), "study", "studies") + (": " + "; ".join(
        f"{DESIGNS[d].label.lower()}: {n}" for d, n in sorted(designs.items(), key=lambda i: (-i[1], i[0])))
        if studies else "")))
    used: Sequence[Entry] = analysis.used if analysis is not None else ()
    if analysis is not None:
        measure = MEASURES[analysis.measure]
        lines.append(ProfileLine("Cohorts and patients", f"{_plural(len(members), 'cohort')} match; {len(used)}"
                                 f" independent {'cohort gives' if len(used) == 1 else 'cohorts give'} {measure.short}"
                                 f" with its patients, {_plural(analysis.patients, 'patient')} counted once"))
    # Follow-up of the independent cohorts behind the figures (rates and medians).
    behind = {(e.study_id, e.cohort_id) for e in used} | {(e.study_id, e.cohort_id) for r in ranges
                                                           for e in r.used + r.not_reached}
    by_key = {(study.id, cohort.id): (study, cohort) for study, cohort in members}
    values = [f[0].value for key in sorted(behind) if key in by_key
              for f in [follow_up(*by_key[key])] if f is not None]
    if behind:
        stated = (f"median follow-up {number(min(values))}–{number(max(values))} months" if len(values) > 1
                  else f"median follow-up {number(values[0])} months" if values else "not stated for any of them")
        lines.append(ProfileLine("Follow-up", f"{stated} ({len(values)} of {_plural(len(behind), 'cohort')} behind"
                                 " the figures state it)"))
    ids = {study.id for study in studies}
    for review in sorted(evidence.reviews.values(), key=lambda r: r.id):
        included = ids & set(review.included_studies)
        if not included and review.appraisal is None:
            continue
        text = f"{len(included)} of {_plural(len(studies), 'study', 'studies')} included in “{review.title}”"
        if review.appraisal is not None:
            a = review.appraisal
            text += (f"; it appraised {a.appraised} studies with the {a.tool}: {a.judgement}"
                     f" ({a.source.location})")
        lines.append(ProfileLine("Review appraisal", text))
    criteria = [study for study in studies if study.response_criteria is not None]
    lines.append(ProfileLine("Response criteria", "; ".join(
        f"{study.short_name or study.title}: {study.response_criteria.criteria}" for study in criteria)
        if criteria else f"not stated by the sources of any of the {_plural(len(studies), 'study', 'studies')}"))
    if used:
        own = sum(not e.n_from_cohort for e in used)
        derived = sum(e.responders_derived for e in used)
        lines.append(ProfileLine("Denominators", f"{own} of {_plural(len(used), 'figure')} state their own number of"
                                 f" patients; {len(used) - own} use the cohort's patient count;"
                                 f" responders derived from the rate for {derived}"))
    if analysis is not None and analysis.primary is not None:
        e = analysis.primary
        lines.append(ProfileLine("Heterogeneity", f"I² {e.i2:.0f}%, τ² {e.tau2:.3g} on the logit scale"
                                 f" ({POOLING_METHODS[e.method]}); 95% prediction interval"
                                 f" {e.pi_low:.1f}–{e.pi_high:.1f}%"))
        lines.append(ProfileLine("Width of the interval", f"95% CI {e.ci_low:.1f}–{e.ci_high:.1f}%:"
                                 f" {e.ci_high - e.ci_low:.1f} percentage points"))
    elif used:
        widths = [clopper_pearson(e.responders, e.n) for e in used if e.responders is not None and e.n]
        spans = [high - low for low, high in widths]
        lines.append(ProfileLine("Width of the interval", "not pooled; each cohort's exact 95% interval spans "
                                 + (f"{min(spans):.0f}–{max(spans):.0f}" if len(spans) > 1 else f"{spans[0]:.0f}")
                                 + " percentage points" if spans else "not pooled"))
    arms = [(study, cohort) for study, cohort in members
            if any(cohort.id in (c.experimental, c.control) for c in study.comparisons)]
    trials = list({study.id: study for study, _ in arms}.values())
    if trials:
        lines.append(ProfileLine("Randomised comparisons", "; ".join(
            f"{study_name(study, evidence)}: {stopping(study) or 'no early stop stated'}" for study in trials)))
    else:
        lines.append(ProfileLine("Randomised comparisons", "none"))
    lines.append(ProfileLine("Certainty", "not rated: the atlas gives the facts above, not a GRADE judgement"))
    return tuple(lines)
