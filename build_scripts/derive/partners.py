"""The partner and index agent axes of a question cohort: its partner drugs and their class, the index agent before and now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from build_scripts.derive.facts import (
    _enclosing, cohort_regimens, regimen_has_index_agent, question_fit,
)
from build_scripts.load.cache import cohort_memo
from build_scripts.load.vocabulary import (
    INDEX_AXIS, PARTNER_CLASSES, PARTNER_GROUPS_FIRST, PARTNER_GROUPS_LAST, PARTNER_HISTORY, PARTNER_JOIN,
    REFRACTORY_CLASS_AGENTS, WORDS, TopicList, TopicTable, index_class, outside_key,
)
from build_scripts.load.topic_model import active
if TYPE_CHECKING:
    from build_scripts.load.evidence import Evidence
    from build_scripts.load.model import Study
    from build_scripts.load.parts import Cohort, Population


# Agent classes that are never partners: the index class itself, and the topic's never_partners.
NOT_PARTNERS = TopicList(lambda: (index_class(), *active().never_partners))
# The partner class an agent class gives a regimen (the topic's partner_class_of_agent; 'other' when not listed).
PARTNER_OF_AGENT_CLASS = TopicTable(lambda topic: topic.partner_class_of_agent)
# The key of each partner group given by rule (the topic's partner_group_roles): 'alone' (an agent of the index class
# with no partner), 'unspecified' and 'outside' (not in the atlas's question).
PARTNER_GROUP_ROLES = TopicTable(lambda topic: topic.partner_group_roles.model_dump())


def partner_group_key(classes: Iterable[str]) -> str:
    """The key of the partner group made of these partner classes, in their vocabulary order."""
    present = set(classes)
    return PARTNER_JOIN.join(name for name in PARTNER_CLASSES if name in present) or PARTNER_GROUP_ROLES["alone"]


def partner_group_classes(key: str) -> tuple[str, ...]:
    """The partner classes of a group key; none for monotherapy, unspecified partners or not in the question."""
    if key in PARTNER_GROUPS_FIRST or key in PARTNER_GROUPS_LAST:
        return ()
    return tuple(key.split(PARTNER_JOIN))


def partner_group_label(key: str) -> str:
    """'+ A', '+ A, B and C' for partner classes A, B and C, or the label of a group given by rule (e.g. alone)."""
    special = {**PARTNER_GROUPS_FIRST, **PARTNER_GROUPS_LAST}
    if key in special:
        return special[key]
    names = [PARTNER_CLASSES[name] for name in partner_group_classes(key)]
    return "+ " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


def partner_group_order(key: str) -> tuple:
    """Where a group stands: alone first; then by its first class, fewer classes before more; unspecified last."""
    if key in PARTNER_GROUPS_FIRST:
        return (0, list(PARTNER_GROUPS_FIRST).index(key))
    if key in PARTNER_GROUPS_LAST:
        return (2, list(PARTNER_GROUPS_LAST).index(key))
    return (1, *(list(PARTNER_CLASSES).index(name) for name in partner_group_classes(key)))


def partner_groups_in_order(keys: Iterable[str]) -> list[str]:
    """The distinct group keys among `keys`, in the order pages, charts and downloads list them."""
    return sorted(set(keys), key=partner_group_order)


@dataclass(frozen=True)
class PartnerDrug:
    """One partner drug of a question cohort: its agent, class, and whether its patients had it before."""

    agent: str
    name: str
    partner_class: str
    history: str  # a key of vocabulary.PARTNER_HISTORY
    history_basis: str

    @property
    def text(self) -> str:
        if self.history == "not_stated":
            return self.name
        return f"{self.name} ({PARTNER_HISTORY[self.history]})"


@dataclass(frozen=True)
class PartnerClass:
    """A cohort's (or a regimen's) partner group, a key built by partner_group_key, its drugs and why."""

    name: str
    reason: str
    drugs: tuple[PartnerDrug, ...] = ()

    @property
    def label(self) -> str:
        return partner_group_label(self.name)

    @property
    def classes(self) -> tuple[str, ...]:
        return partner_group_classes(self.name)

    @property
    def drugs_text(self) -> str:
        """The partner drugs by name, with what the source says of the patients' history of each."""
        return ", ".join(drug.text for drug in self.drugs)


def _regimen_partners(evidence: Evidence, regimen_id: str) -> list[tuple[str, str, str]]:
    """(agent id, agent name, partner class) of each partner drug of a regimen."""
    regimen = evidence.regimens[regimen_id]
    found = []
    for agent_id in regimen.agents:
        agent = evidence.agents.get(agent_id)
        if agent is None or agent.agent_class in NOT_PARTNERS:
            continue
        found.append((agent_id, agent.name, PARTNER_OF_AGENT_CLASS.get(agent.agent_class, "other")))
    return found


def regimen_partner_class(evidence: Evidence, regimen_id: str) -> PartnerClass:
    """A regimen's partner group, from its agents' classes alone (the patients' history is a cohort's: partners).

    A regimen without an agent of the index class is in the 'outside' group; one whose partners the source does not
    name (Regimen.partners_specified false) is 'unspecified', never 'alone' (the topic's partner_group_roles name
    these groups). Every partner class present names the group: none is hidden behind another.
    """
    regimen, roles, index_agent = evidence.regimens.get(regimen_id), PARTNER_GROUP_ROLES, WORDS["index_agent"]
    if regimen is None or not regimen_has_index_agent(evidence, regimen_id):
        return PartnerClass(roles["outside"], f"the regimen holds no {index_agent}")
    if not regimen.partners_specified:
        return PartnerClass(roles["unspecified"], f"the source does not name the drugs given with the {index_agent}")
    found = _regimen_partners(evidence, regimen_id)
    drugs = tuple(PartnerDrug(agent, name, kind, "not_stated", "") for agent, name, kind in found)
    if not found:
        return PartnerClass(roles["alone"], WORDS["alone_reason"], drugs)
    return PartnerClass(partner_group_key(kind for _, _, kind in found),
                        "partners: " + ", ".join(name for _, name, _ in found), drugs)


def _named_index_agents(evidence: Evidence, agent_ids: Iterable[str]) -> tuple[set[str], bool]:
    """The named agents of the index class among agent ids, and whether every such agent among them is named."""
    named, complete = set(), True
    for agent_id in agent_ids:
        agent = evidence.agents.get(agent_id)
        if agent is None or agent.agent_class != index_class():
            continue
        if agent.placeholder:
            complete = False
        else:
            named.add(agent_id)
    return named, complete


def _population_index_agents(evidence: Evidence, population: Population | None) -> frozenset[str] | None:
    """The index agents a population had before, when its record says so for every patient; else None.

    A listed 'index agents' (none of them a placeholder) says it; failing that, 100% refractory to a named index agent.
    """
    if population is None:
        return None
    defined = population.prior_exposure
    if defined is not None and defined.agents:
        named, complete = _named_index_agents(evidence, defined.agents)
        return frozenset(named) if complete and named else None
    whole = set()
    for item in population.refractory:
        if item.to in REFRACTORY_CLASS_AGENTS and item.status == "reported":
            share = item.percent if item.percent is not None else (
                100 * item.patients / item.n if item.patients is not None and item.n else None)
            if share is not None and share >= 100:
                whole.add(REFRACTORY_CLASS_AGENTS[item.to])
    return frozenset(whole) or None


def prior_index_agents(evidence: Evidence, study: Study, cohort: Cohort) -> tuple[frozenset[str], str] | None:
    """The index class's agents (ids) a cohort's patients had before, and where that is recorded; None if unknown.

    The cohort's own population first, then the populations that contain it: every subset of a population had
    at most the index agents the population had.
    """
    levels = [(cohort.population, "this cohort")] + list(_enclosing(study, cohort))
    for population, where in levels:
        found = _population_index_agents(evidence, population)
        if found is not None:
            return found, where
    return None


@cohort_memo
def partners(evidence: Evidence, study: Study, cohort: Cohort) -> PartnerClass:
    """A cohort's partner group: the 'outside' group, or its regimens' partner group with each drug's history.

    A cohort outside the atlas's question (see question_fit) is in the 'outside' group; one whose regimens (e.g. the
    arms under an overall cohort) fall in different groups is 'unspecified'. Whether the index agent is the same as
    before is the index-switch axis (see index agent), not a partner group.
    """
    found = question_fit(evidence, study, cohort)
    if not found.value:
        return PartnerClass(PARTNER_GROUP_ROLES["outside"], found.reason)
    classes = {r: regimen_partner_class(evidence, r) for r in cohort_regimens(study, cohort)}
    names = {c.name for c in classes.values()}
    if len(names) != 1:
        shown = ", ".join(f"'{evidence.regimens[r].name}': {c.label}" for r, c in classes.items())
        return PartnerClass(PARTNER_GROUP_ROLES["unspecified"],
                            f"its regimens fall in different partner groups ({shown})")
    group = next(iter(classes.values()))
    drugs = tuple(PartnerDrug(d.agent, d.name, d.partner_class, *partner_history(evidence, study, cohort, d.agent))
                  for d in group.drugs)
    return PartnerClass(group.name, group.reason, drugs)


# Refractory classes that name a partner drug itself, with its agent id (the topic's refractory_class_partners): only
# these say a population was refractory to that drug. A class of drugs does not say which of its drugs, nor that the
# patients were refractory to the one given now.
_REFRACTORY_TO_DRUG = TopicTable(lambda topic: topic.refractory_class_partners)


def partner_history(evidence: Evidence, study: Study, cohort: Cohort, agent_id: str) -> tuple[str, str]:
    """Whether a cohort's patients were refractory to a partner drug before, as its records state; else not stated.

    Only a reported share of 100% refractory to that drug by name, which no discrepancy puts in doubt, says it of every
    patient, in the cohort's own population or in one that contains it.
    """
    for population, where in [(cohort.population, "this cohort")] + list(_enclosing(study, cohort)):
        for item in population.refractory if population is not None else ():
            if item.status != "reported" or item.discrepancy or _REFRACTORY_TO_DRUG.get(item.to) != agent_id:
                continue
            share = item.percent if item.percent is not None else (
                100 * item.patients / item.n if item.patients is not None and item.n else None)
            if share is not None and share >= 100:
                return "refractory", f"100% refractory to {item.to.replace('_', ' ')} in {where}"
    return "not_stated", ""


@dataclass(frozen=True)
class IndexSwitch:
    """A cohort's index-switch axis: a key of vocabulary.INDEX_AXIS, the index agents given and had before, and why."""

    name: str
    given: tuple[str, ...]
    before: tuple[str, ...]
    reason: str

    @property
    def label(self) -> str:
        return INDEX_AXIS[self.name]

    @property
    def text(self) -> str:
        """'Switch: B after A', the label of 'same' with its agents ('Same index agent again: A'), or the label."""
        given, before = " and ".join(self.given), " and ".join(self.before)
        if self.name == "switch":
            return f"Switch: {given} after {before}"
        if self.name == "same":
            return f"{self.label}: {given}"
        return self.label


@cohort_memo
def index_switch(evidence: Evidence, study: Study, cohort: Cohort) -> IndexSwitch:
    """Whether a question cohort gives the index agent its patients had before, or switches to another.

    'same' when every index agent given is one every patient had before; 'switch' when none is; otherwise (an
    index agent not named, the earlier one not recorded for every patient, or some given and some not) 'not_stated'.
    """
    found = question_fit(evidence, study, cohort)
    if not found.value:
        return IndexSwitch(outside_key(), (), (), found.reason)
    regimen_ids = cohort_regimens(study, cohort)
    given, complete = _named_index_agents(evidence, [a for r in regimen_ids for a in evidence.regimens[r].agents])
    before = prior_index_agents(evidence, study, cohort)
    given_names = tuple(sorted(evidence.agents[a].name for a in given))
    if not complete or not given:
        return IndexSwitch("not_stated", given_names, (), f"the regimen does not name its {WORDS['index_agent']}")
    if before is None:
        return IndexSwitch("not_stated", given_names, (),
                        f"the records do not name the {WORDS['index_noun']} every patient had before")
    before_names = tuple(sorted(evidence.agents[a].name for a in before[0]))
    if given <= before[0]:
        return IndexSwitch("same", given_names, before_names,
                        f"it is given {_agent_names(evidence, given)}, which its patients had before"
                        f" (recorded for {before[1]})")
    if not given & before[0]:
        return IndexSwitch("switch", given_names, before_names,
                        f"it is given {_agent_names(evidence, given)} after {_agent_names(evidence, before[0])}"
                        f" (recorded for {before[1]})")
    return IndexSwitch("not_stated", given_names, before_names,
                    f"some of the {WORDS['index_nouns']} given were had before and some were not")


def _agent_names(evidence: Evidence, agent_ids: frozenset[str] | set[str]) -> str:
    return " and ".join(sorted(evidence.agents[a].name for a in agent_ids))
