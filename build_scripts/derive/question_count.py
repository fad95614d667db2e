"""How many of a study's patients were in the question with the index class: as recorded, or derived from its cohorts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from build_scripts.derive.entries import cohorts_may_share_patients
from build_scripts.derive.facts import cohort_regimens, regimen_has_index_agent, question_fit
from build_scripts.derive.lines import ancestors
from build_scripts.load.evidence import count_cohort, home_figure, parent_chain, patient_count
from build_scripts.load.vocabulary import WORDS, exposure_rules

if TYPE_CHECKING:
    from build_scripts.load.evidence import Evidence
    from build_scripts.load.model import Study
    from build_scripts.load.parts import Cohort, PatientCount


@dataclass(frozen=True)
class QuestionCount:
    """A study's patients in the question: a recorded count (with its source), or one derived from question cohorts."""

    value: int | None  # None: not reported
    exact: bool  # False: at least `value` (a cohort's number is not reported, or two cohorts may share patients)
    recorded: PatientCount | None  # the count as recorded (Population.in_question), with its source
    cohorts: tuple[Cohort, ...]  # derived: the cohorts whose numbers are added
    counts: tuple[int, ...] = ()  # derived: their numbers, in the same order

    @property
    def derived(self) -> bool:
        return self.recorded is None

    @property
    def derivation(self) -> str:
        """How a derived count was made (the cohorts are in `cohorts`): '56 + 22', or 'one question cohort's count'."""
        if not self.derived or self.value is None:
            return ""
        ending = "" if self.exact else f", and more patients may have been {WORDS['question_participle']}"
        if len(self.cohorts) == 1:
            return f"the number of patients of its {WORDS['question_noun']} cohort" + ending
        return " + ".join(map(str, self.counts)) + ending

    @property
    def text(self) -> str:
        """'22', 'at least 50', or 'Not reported'."""
        if self.value is None:
            return "Not reported"
        return str(self.value) if self.exact else f"at least {self.value}"


def question_count_note(found: QuestionCount | None, total: int | None) -> str | None:
    """What a list of studies says under a study's number of patients: '22 in the question' (recorded), '78 in the question
    (derived)', 'all in the question (derived)', 'at least 50 in the question (derived)', 'number in the question not reported' (only
    when recorded so); None when it would say nothing. A number the atlas computed says so, as on the study page."""
    if found is None or (found.value is None and found.derived):
        return None
    participle = WORDS["question_participle"]
    if found.value is None:
        return f"number {participle} not reported"
    derived = " (derived)" if found.derived else ""
    if found.exact and found.value == total:
        return f"all {participle}{derived}"
    return f"{found.text} {participle}{derived}"


def recorded_question_count(study: Study) -> tuple[PatientCount, Cohort | None] | None:
    """The in the question count as recorded beside the study's own count, and the cohort it is recorded on (None: the
    study's population); None when it is not recorded."""
    return home_figure(study, "in_question")


def _cohort_count(cohort: Cohort) -> int | None:
    count = cohort.population.n if cohort.population is not None else None
    return count.value if count is not None else None


def _patients(study: Study, cohort: Cohort) -> int | None:
    """A cohort's number of patients: its own, or the study's when the cohort stands for the whole study."""
    own = _cohort_count(cohort)
    if own is not None:
        return own
    found = patient_count(study)
    home = count_cohort(study)
    if found is not None and home is not None and home.id == cohort.id:
        return found[0].value
    return None


def question_count(evidence: Evidence, study: Study) -> QuestionCount | None:
    """A study's patients in the question (see the module); None when no cohort of it is in the question and none is recorded.

    Derived, question cohorts are added largest first, each only when it shares no patient with one already added
    (entries.cohorts_may_share_patients: nested cohorts, successive lines, siblings not told apart); the sum is
    exact only when every question cohort is added or nested in one added, and is never a count of zero patients.
    """
    found = recorded_question_count(study)
    if found is not None:
        count = found[0]
        return QuestionCount(count.value, True, count, ())
    cohorts = [c for c in study.cohorts if question_fit(evidence, study, c).value]
    if not cohorts:
        return None
    numbered = sorted(((n, i, c) for i, c in enumerate(cohorts) if (n := _patients(study, c)) is not None),
                      key=lambda item: (-item[0], item[1]))
    added: list[Cohort] = []
    for _, _, cohort in numbered:
        if not any(cohorts_may_share_patients(evidence, study, cohort.id, study, other.id) for other in added):
            added.append(cohort)
    if not added:
        return QuestionCount(None, False, None, ())
    ids = {c.id for c in added}

    def within_added(cohort_id: str) -> bool:
        return cohort_id in ids or any(c.id in ids for c in parent_chain(study, cohort_id))

    exact = all(within_added(c.id) for c in cohorts) and not any(
        _may_hold_question_patients(evidence, study, c, cohorts) and not within_added(c.id) for c in study.cohorts)
    order = {c.id: i for i, c in enumerate(study.cohorts)}
    added.sort(key=lambda c: order[c.id])
    counts = tuple(_patients(study, c) for c in added)
    return QuestionCount(sum(counts), exact, None, tuple(added), counts)  # type: ignore[arg-type]


def _may_hold_question_patients(evidence: Evidence, study: Study, cohort: Cohort, question_cohorts: list[Cohort]) -> bool:
    """A cohort given an agent of the index class that is not in the question only for want of knowledge: its prior
    status is not stated, or it is partly naive and its patients are not all accounted for by the cohorts directly
    within it (their counts must add up to its own stated count), so some of its patients in the question may be in none of
    them."""
    found = question_fit(evidence, study, cohort)
    if found.value or not any(regimen_has_index_agent(evidence, r) for r in cohort_regimens(study, cohort)):
        return False
    if found.prior.status == exposure_rules().not_stated:
        return True
    if found.prior.status != exposure_rules().partly_naive:
        return False
    if not any(cohort.id in ancestors(study, c.id) for c in question_cohorts):
        return True
    within = [_cohort_count(c) for c in study.cohorts if c.parent == cohort.id]
    own = _patients(study, cohort)
    return own is None or None in within or sum(within) != own  # type: ignore[arg-type]


def question_count_problems(study: Study) -> list[tuple[tuple, str]]:
    """(field path, message) for a in the question count recorded away from the study's own count, or twice."""
    home = count_cohort(study)
    patients = f"{WORDS['question_participle']} patients"
    problems = []
    study_has = study.population is not None and study.population.in_question is not None
    for i, cohort in enumerate(study.cohorts):
        if cohort.population is None or cohort.population.in_question is None:
            continue
        path = ("cohorts", i, "population", "in_question")
        if home is None or cohort.id != home.id:
            where = (f"in the study's 'population' or in that of cohort '{home.id}', which stands for the whole study"
                     if home is not None else "in the study's 'population'")
            problems.append((path, f"the number of {patients} is the study's: record it once, {where}"))
        elif study_has:
            problems.append((path, f"the number of {patients} is given twice, here and in the study's"
                                   " 'population'; a fact has one home, so keep one"))
    return problems
