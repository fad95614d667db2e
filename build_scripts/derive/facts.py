"""Facts derived from the records, defined once: whether a cohort is in the question, and its prior status with the
index class (its two other axes, the index agent and the partners, are partners.py's).

Curators record what a source says (a regimen's agents, how the source defines a population, the share
refractory); these functions derive the rest, so no consumer reads a fact a curator could type twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from build_scripts.load.cache import cohort_memo
from build_scripts.load.evidence import parent_chain
from build_scripts.load.numbers import number
from build_scripts.load.vocabulary import (
    EXPOSURE_STATUSES, INDEX_REFRACTORY_CLASSES, KEY_MEASURES, TRIAL_STATUSES, WORDS, exposure_rules, index_class,
)

if TYPE_CHECKING:
    from build_scripts.load.evidence import Evidence
    from build_scripts.load.model import Study
    from build_scripts.load.parts import Cohort, Population

# Roles whose cohort has the enclosing population's make-up: the whole population, or an arm randomised from it.
_SAME_MAKE_UP = ("overall", "arm")


@dataclass(frozen=True)
class PriorStatus:
    """A cohort's prior status with the index class, the share refractory where recorded, and how it was found."""

    status: str
    refractory_share: float | None
    basis: str

    @property
    def label(self) -> str:
        return EXPOSURE_STATUSES[self.status].label

    @property
    def in_question(self) -> bool:
        return EXPOSURE_STATUSES[self.status].in_question

    @property
    def text(self) -> str:
        """The label, with the refractory share where the source states one."""
        rules = exposure_rules()
        if self.status == rules.share_some and self.refractory_share is not None:
            return f"Exposed, {number(self.refractory_share)}% refractory"
        if self.status == rules.partly_naive and self.refractory_share is not None:
            return f"{self.label} ({number(self.refractory_share)}% refractory)"
        return self.label


@dataclass(frozen=True)
class QuestionFit:
    """Whether a cohort is in the atlas's question (a question cohort), and why, in words a curator can check."""

    value: bool
    reason: str
    prior: PriorStatus


def index_refractory_share(population: Population | None) -> float | None:
    """The first reported share of a population refractory to the index class, in per cent."""
    if population is None:
        return None
    for item in population.refractory:
        if item.to in INDEX_REFRACTORY_CLASSES and item.status == "reported":
            if item.percent is not None:
                return item.percent
            if item.patients is not None and item.n:
                return 100 * item.patients / item.n
    return None


def population_status(population: Population | None, where: str) -> tuple[PriorStatus, bool] | None:
    """A population's own status and whether the source defined it; None when it says nothing about it.

    A defined status wins; 'exposed' is resolved by the population's refractory share: 100% refractory, 0% not
    refractory, another share exposed with that share refractory, and no share 'refractoriness not stated'.
    Without a definition only 100% refractory says something of every patient (refractory, so exposed); a smaller
    share says nothing of the others' exposure, so it gives no status.
    """
    if population is None:
        return None
    share = index_refractory_share(population)
    shown = f"{number(share)}%" if share is not None else ""
    defined, rules = population.prior_exposure, exposure_rules()
    if defined is not None:
        status = defined.status
        basis = f"as the source defines {where}"
        if status == rules.exposed_by_share:
            if share is None:
                status = rules.share_not_stated
            else:
                status = {100: rules.share_all, 0: rules.share_none}.get(share, rules.share_some)
            basis += f" (exposed, with {shown} refractory)" if share is not None else \
                " (exposed; the share refractory is not stated)"
        return PriorStatus(status, share, basis), True
    if share is not None and share >= 100:
        return PriorStatus(rules.share_all, share, f"{shown} refractory in {where}"), False
    return None


def _enclosing(study: Study, cohort: Cohort) -> Iterator[tuple[Population | None, str]]:
    """The populations that contain a cohort's patients, nearest first: parent cohorts, then the study."""
    for current in parent_chain(study, cohort.id):
        yield current.population, f"cohort '{current.id}', which contains it"
    yield study.population, "the study population"


def defining_population(study: Study, cohort: Cohort) -> tuple[Population | None, str]:
    """The nearest population whose source defines its prior therapy with the index class (the cohort's own, a cohort
    containing it, the study's) and where it is; (None, '') when none does."""
    for population, where in [(cohort.population, "this cohort"), *_enclosing(study, cohort)]:
        if population is not None and population.prior_exposure is not None:
            return population, where
    return None, ""


def exposure_status(study: Study, cohort: Cohort) -> PriorStatus:
    """A cohort's prior status with the index class: its own, else inherited along parent cohorts to the study.

    An overall cohort or a randomised arm takes an enclosing status as it is. A subgroup, part or dose level
    takes only what holds for every subset: refractory, not refractory, naive, and, from a population the source
    defines as exposed, exposed with its own share refractory not stated; a partly naive population tells nothing
    about its subsets.
    """
    own = population_status(cohort.population, "this cohort")
    if own is not None:
        return own[0]
    rules = exposure_rules()
    for population, where in _enclosing(study, cohort):
        found = population_status(population, where)
        if found is None:
            continue
        status, defined = found
        if cohort.role in _SAME_MAKE_UP or status.status in rules.every_subset:
            return status
        if defined and status.status in rules.every_patient_exposed():
            # Every patient of the enclosing population was exposed; the cohort's own share, where recorded, says how
            # many of its own were refractory (100% already made it refractory above).
            share = index_refractory_share(cohort.population)
            if share is not None:
                return PriorStatus(rules.share_none if share == 0 else rules.share_some, share,
                                   status.basis + f"; {number(share)}% refractory in this cohort")
            return PriorStatus(rules.share_not_stated, None,
                               status.basis + "; this cohort's own share refractory is not stated")
    return PriorStatus(rules.not_stated, None, "not stated for this cohort nor for any group that contains it")


def cohort_regimens(study: Study, cohort: Cohort) -> tuple[str, ...]:
    """A cohort's regimen records: its own, or, without one, those of its arms when every arm has one."""
    if cohort.regimen:
        return (cohort.regimen,)
    arms = [c for c in study.cohorts if c.parent == cohort.id and c.role == "arm"]
    if arms and all(arm.regimen for arm in arms):
        return tuple(dict.fromkeys(arm.regimen for arm in arms))
    return ()


def regimen_has_index_agent(evidence: Evidence, regimen_id: str) -> bool:
    """Whether a regimen record holds an agent of the index class."""
    regimen = evidence.regimens.get(regimen_id)
    return regimen is not None and any(
        agent_id in evidence.agents and evidence.agents[agent_id].agent_class == index_class()
        for agent_id in regimen.agents)


@cohort_memo
def question_fit(evidence: Evidence, study: Study, cohort: Cohort) -> QuestionFit:
    """Whether a cohort is in the atlas's question: an agent of the index class in every regimen, after an earlier one
    (the topic's exposure statuses say which prior statuses count).

    Unknown, partly naive and naive cohorts are never in the question, so that they are never mixed with it.
    """
    prior = exposure_status(study, cohort)
    regimens = cohort_regimens(study, cohort)
    if not regimens:
        return QuestionFit(False, "it has no regimen record (regimen_as_stated alone names no agents)", prior)
    agent = WORDS["index_agent"]
    without = [r for r in regimens if not regimen_has_index_agent(evidence, r)]
    if without:
        return QuestionFit(False, f"{_regimens_text(evidence, without)} no {agent}", prior)
    status = f"its prior {WORDS['index_adjective']} status is '{prior.label}' ({prior.basis})"
    if not prior.in_question:
        return QuestionFit(False, status, prior)
    return QuestionFit(True, f"{_regimens_text(evidence, regimens)} {WORDS['a_index_agent']} and {status}", prior)


def _regimens_text(evidence: Evidence, regimen_ids: list[str] | tuple[str, ...]) -> str:
    """'its regimen 'X' holds' or 'its regimens 'X' and 'Y' each hold', for messages."""
    names = " and ".join(f"'{evidence.regimens[r].name}'" if r in evidence.regimens else f"'{r}'" for r in regimen_ids)
    return f"its regimen {names} holds" if len(regimen_ids) == 1 else f"its regimens {names} each hold"


def is_in_question(evidence: Evidence, study: Study, cohort: Cohort) -> bool:
    """True when the cohort is in the atlas's question (see question_fit)."""
    return question_fit(evidence, study, cohort).value


# Roles that stand for a whole population or one of its main divisions, before dose levels and subgroups.
_MAIN_ROLES = ("overall", "arm", "part")


def _depth(study: Study, cohort: Cohort) -> int:
    return len(parent_chain(study, cohort.id))


def main_question_cohort(evidence: Evidence, study: Study) -> Cohort | None:
    """The cohort in the atlas's question whose result stands for the study; None when no cohort is in the question.

    Among the question cohorts, the first by: a reported ORR or median PFS before none; the most patients
    (population n; a count not recorded or not reported comes after every count); then the highest in the
    study's hierarchy (top-level before nested; overall, arm or part before dose level or subgroup); then record
    order. Since a subgroup never has more patients than the cohort it belongs to, the overall cohort wins
    whenever both report a figure and a count.
    """
    def rank(item: tuple[int, Cohort]) -> tuple:
        position, cohort = item
        reports = any(o.measure in KEY_MEASURES and o.value is not None for o in cohort.outcomes)
        count = cohort.population.n.value if cohort.population and cohort.population.n else None
        return (not reports, count is None, -(count or 0), _depth(study, cohort), cohort.role not in _MAIN_ROLES,
                position)

    candidates = [(i, c) for i, c in enumerate(study.cohorts) if question_fit(evidence, study, c).value]
    return min(candidates, key=rank)[1] if candidates else None


# ---------------------------------------------------------------- the partner axis


# Trial statuses that mean a trial ended before it was meant to.
STOPPED_STATUSES = ("terminated", "suspended", "withdrawn")


def stopping(study: Study) -> str | None:
    """Whether and why the trial stopped early, as its latest stopping status gives it; None when no source says so."""
    stopped = [s for s in study.trial_status if s.status in STOPPED_STATUSES]
    if not stopped:
        return None
    latest = stopped[-1]
    return TRIAL_STATUSES[latest.status] + (f" early: {latest.reason}" if latest.reason else "")


def is_arm(study: Study, cohort: Cohort) -> bool:
    """Whether a cohort is an arm of one of its study's recorded comparisons."""
    return any(cohort.id in (c.experimental, c.control) for c in study.comparisons)
