"""What the index pages list, derived from the records: each study's row facts and each regimen's uses."""

from __future__ import annotations

from dataclasses import dataclass

from build_scripts.derive.facts import main_question_cohort, exposure_status, question_fit
from build_scripts.derive.partners import index_switch, partner_groups_in_order, partners
from build_scripts.derive.responses import cohort_outcomes
from build_scripts.derive.question_count import QuestionCount, question_count
from build_scripts.load.evidence import Evidence, evidence_type, first_publication_year, patient_count, study_regimens
from build_scripts.load.model import Study
from build_scripts.load.parts import Cohort, Outcome
from build_scripts.load.vocabulary import INDEX_AXIS, EXPOSURE_STATUSES, KEY_MEASURES


def headline_outcome(cohort: Cohort, measure: str) -> Outcome | None:
    """The figure of a measure a summary shows for a cohort.

    A reported value before a status; no variant (another time origin) before a variant; a figure comparable
    across studies before one that is not; then record order, a rate computed from per-patient responses last.
    """
    found = [(o.value is None, o.variant is not None, not o.cross_study, position, o)
             for position, o in enumerate(cohort_outcomes(cohort)) if o.measure == measure]
    return min(found, key=lambda item: item[:4])[4] if found else None


@dataclass(frozen=True)
class KeyResult:
    """A study's headline: ORR and median PFS of its main question cohort, and how many patients they concern."""

    cohort: Cohort
    orr: Outcome | None
    pfs: Outcome | None
    n: int | None  # the cohort's population n; else the n the ORR (or PFS) figure states


def key_result(evidence: Evidence, study: Study) -> KeyResult | None:
    """The key result of a study (see facts.main_question_cohort); None when no cohort is in the question."""
    cohort = main_question_cohort(evidence, study)
    if cohort is None:
        return None
    orr, pfs = (headline_outcome(cohort, name) for name in KEY_MEASURES)
    count = cohort.population.n.value if cohort.population and cohort.population.n else None
    stated = [o.n for o in (orr, pfs) if o is not None and o.n is not None]
    return KeyResult(cohort, orr, pfs, count if count is not None else (stated[0] if stated else None))


@dataclass(frozen=True)
class StudyFacts:
    """What the studies index shows of a study, as record ids and vocabulary names (labels are the page's job)."""

    study: Study
    year: int | None
    design: str
    evidence_type: str
    regimens: tuple[str, ...]
    partner_classes: tuple[str, ...]
    index_switches: tuple[str, ...]
    prior_statuses: tuple[str, ...]
    n: int | None              # evidence.patient_count: the one count of a study; None when not reported
    key: KeyResult | None
    question_count: QuestionCount | None = None  # question_count.question_count: its patients in the question, recorded or derived


def study_facts(evidence: Evidence, study: Study) -> StudyFacts:
    """A study's row of the studies index: every column derived from its cohorts and publications."""
    found = patient_count(study)
    partner_names = {partners(evidence, study, cohort).name for cohort in study.cohorts}
    index_switch_names = {index_switch(evidence, study, cohort).name for cohort in study.cohorts}
    prior_names = {exposure_status(study, cohort).status for cohort in study.cohorts}
    return StudyFacts(
        study=study,
        year=first_publication_year(evidence, study),
        design=study.design,
        evidence_type=evidence_type(study),
        regimens=tuple(study_regimens(study)),
        partner_classes=tuple(partner_groups_in_order(partner_names)),
        index_switches=tuple(name for name in INDEX_AXIS if name in index_switch_names),
        prior_statuses=tuple(name for name in EXPOSURE_STATUSES if name in prior_names),
        n=found[0].value if found is not None else None,
        key=key_result(evidence, study),
        question_count=question_count(evidence, study),
    )


@dataclass(frozen=True)
class RegimenUses:
    """Where a regimen appears: studies whose cohorts were given it, and where else when none was."""

    question_studies: tuple[str, ...]  # a cohort given it is in the atlas's question
    context_studies: tuple[str, ...]      # cohorts given it, none in the question (control arm, naive, not stated)
    line_studies: tuple[str, ...]         # per-patient lines of therapy name it (e.g. a case report's prior lines)
    within: tuple[str, ...]               # regimens that hold every agent of this one and more

    @property
    def studies(self) -> int:
        """Studies with a cohort given the regimen: the number the indexes show."""
        return len(self.question_studies) + len(self.context_studies)


def regimen_uses(evidence: Evidence, regimen_id: str) -> RegimenUses:
    """Every place a regimen record is used, in study id order."""
    given: dict[str, bool] = {}
    for study, cohort in sorted(evidence.cohorts_by_regimen.get(regimen_id, []), key=lambda pair: pair[0].id):
        given[study.id] = given.get(study.id, False) or question_fit(evidence, study, cohort).value
    lines = dict.fromkeys(study.id for study, _, _ in evidence.line_uses_by_regimen.get(regimen_id, []))
    agents = set(evidence.regimens[regimen_id].agents)
    within = sorted((r for r in evidence.regimens.values() if r.id != regimen_id and agents < set(r.agents)),
                    key=lambda r: (r.name.lower(), r.id))
    return RegimenUses(
        question_studies=tuple(s for s, value in given.items() if value),
        context_studies=tuple(s for s, value in given.items() if not value),
        line_studies=tuple(lines),
        within=tuple(r.id for r in within),
    )
