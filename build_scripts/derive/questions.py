"""The clinical questions of content/questions.yaml: read, checked and matched against each cohort's derived axes.

A question is a filter over the axes the atlas derives for every cohort (facts.py): prior status with the index
class, the index agent (the same again, or a switch) and which one is given, the partner group, its classes and whether
any is an established partner against the disease, design and evidence type. Only cohorts in the atlas's question
ever match. The
answer to each question (synthesis.answer) is computed from the cohorts that match, by the synthesis's rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Callable, Mapping

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from build_scripts.derive.facts import cohort_regimens, exposure_status, question_fit
from build_scripts.derive.partners import index_switch, partner_group_classes, partners
from build_scripts.load.evidence import evidence_type
from build_scripts.load.fields import LongText, OneLine, Slug
from build_scripts.load.model import validation_messages
from build_scripts.load.problems import Problem, display_path
from build_scripts.load.reader import FieldPath, Location, located_problem, parse_yaml, read_regular_file
from build_scripts.load.vocabulary import (
    AXIS_DERIVATIONS, DESIGNS, EVIDENCE_TYPES, EXPOSURE_STATUSES, INDEX_AXIS, PARTNER_CLASSES, PARTNER_GROUPS_FIRST,
    PARTNER_GROUPS_LAST, WORDS, TopicTable, index_class, outside_key,
)

if TYPE_CHECKING:
    from build_scripts.load.evidence import Evidence
    from build_scripts.load.model import Study
    from build_scripts.load.parts import Cohort

QUESTIONS_FILE = "questions.yaml"  # in content/; read by the build, never published as it stands
MAX_QUESTIONS_BYTES = 200_000

# The partner novelty axis: whether a question cohort's partners include a class the curators count as established
# therapy of the disease (the file's `established_partner_classes`).
PARTNER_NOVELTY: Mapping[str, str] = TopicTable(lambda topic: {
    "established_partner": f"With an established anti-{topic.wording.disease_short} partner",
    "no_established_partner": f"Without an established anti-{topic.wording.disease_short} partner",
    "not_stated": "Partners not specified",
})


# An axis value as the vocabulary spells it (prior_status: exposed_not_refractory), or a record id.
Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_+-]{0,99}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SetCondition(_Strict):
    """A condition on an axis with several values per cohort: any of the values, or none of them."""

    any_of: list[Key] | None = Field(None, min_length=1, max_length=50)
    none_of: list[Key] | None = Field(None, min_length=1, max_length=50)


Condition = list[Key] | SetCondition


class QuestionRecord(_Strict):
    """One question as the file gives it."""

    id: Slug = Field(description="The question's id: its page is questions/<id>/.")
    question: OneLine = Field(description="The question as a clinician asks it, in the curators' words.")
    short: OneLine = Field(description="A few words for tables and charts.")
    where: dict[str, Condition] = Field(min_length=1, max_length=20,
                                        description="Axis name: the values a matching cohort has.")
    note: LongText | None = Field(None, description="What the question covers and leaves out, in the curators' words.")


class QuestionsFile(_Strict):
    """The file: the classes counted as established partners, and the questions in the order pages list them."""

    established_partner_classes: list[Key] = Field(min_length=1, max_length=50)
    questions: list[QuestionRecord] = Field(min_length=1, max_length=200)


AxisFunction = Callable[["Evidence", "Study", "Cohort", tuple[str, ...]], tuple[str, ...]]


@dataclass(frozen=True)
class Axis:
    """A derived axis a question may filter on: its values (None: record ids, checked against the evidence), whether
    a cohort has several values at once, and how a cohort's values are found."""

    label: str
    values: dict[str, str] | None
    several: bool
    of: AxisFunction
    derivation: str  # a key of vocabulary.AXIS_DERIVATIONS


def _status(evidence: Evidence, study: Study, cohort: Cohort, established: tuple[str, ...]) -> tuple[str, ...]:
    return (exposure_status(study, cohort).status,)


def _index_switch_axis(evidence: Evidence, study: Study, cohort: Cohort, established: tuple[str, ...]) -> tuple[str, ...]:
    return (index_switch(evidence, study, cohort).name,)


def _index_given(evidence: Evidence, study: Study, cohort: Cohort, established: tuple[str, ...]) -> tuple[str, ...]:
    agents = [a for r in cohort_regimens(study, cohort) for a in evidence.regimens[r].agents]
    return tuple(sorted({a for a in agents if a in evidence.agents
                         and evidence.agents[a].agent_class == index_class()}))


def _partner_group(evidence: Evidence, study: Study, cohort: Cohort, established: tuple[str, ...]) -> tuple[str, ...]:
    return (partners(evidence, study, cohort).name,)


def _partner_classes(evidence: Evidence, study: Study, cohort: Cohort,
                     established: tuple[str, ...]) -> tuple[str, ...]:
    return partner_group_classes(partners(evidence, study, cohort).name)


def _partner_novelty(evidence: Evidence, study: Study, cohort: Cohort, established: tuple[str, ...]) -> tuple[str, ...]:
    group = partners(evidence, study, cohort).name
    if group in PARTNER_GROUPS_LAST:
        return ("not_stated",)
    classes = partner_group_classes(group)
    return ("established_partner" if set(classes) & set(established) else "no_established_partner",)


def _design(evidence: Evidence, study: Study, cohort: Cohort, established: tuple[str, ...]) -> tuple[str, ...]:
    return (study.design,)


def _evidence_type(evidence: Evidence, study: Study, cohort: Cohort, established: tuple[str, ...]) -> tuple[str, ...]:
    return (evidence_type(study),)


# What each derivation gives: its values (None: record ids, checked against the evidence), whether a cohort has
# several at once, and how a cohort's values are found.
_DERIVATIONS: Mapping[str, tuple[Callable[[], dict[str, str] | None], bool, AxisFunction]] = {
    "prior_status": (lambda: {k: s.label for k, s in EXPOSURE_STATUSES.items() if s.in_question}, False, _status),
    "index_switch": (lambda: {k: v for k, v in INDEX_AXIS.items() if k != outside_key()}, False, _index_switch_axis),
    "index_given": (lambda: None, True, _index_given),
    "partner_group": (lambda: None, False, _partner_group),
    "partner_classes": (lambda: dict(PARTNER_CLASSES), True, _partner_classes),
    "partner_novelty": (lambda: dict(PARTNER_NOVELTY), False, _partner_novelty),
    "design": (lambda: {k: d.label for k, d in DESIGNS.items()}, False, _design),
    "evidence_type": (lambda: dict(EVIDENCE_TYPES), False, _evidence_type),
}
assert tuple(_DERIVATIONS) == AXIS_DERIVATIONS

# The topic's axes by name, in its order.
AXES: Mapping[str, Axis] = TopicTable(lambda topic: {
    name: Axis(declared.label, _DERIVATIONS[declared.derive][0](), _DERIVATIONS[declared.derive][1],
               _DERIVATIONS[declared.derive][2], declared.derive)
    for name, declared in topic.axes.items()})


@dataclass(frozen=True)
class Question:
    """A checked question: its words, its conditions as (axis, mode, values), and the established partner classes."""

    id: str
    question: str
    short: str
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]  # mode: 'in', 'any_of' or 'none_of'
    note: str | None
    established: tuple[str, ...]

    @property
    def anchor(self) -> str:
        return f"question-{self.id}"

    def matches(self, evidence: Evidence, study: Study, cohort: Cohort) -> bool:
        """Whether a cohort answers the question: a cohort in the atlas's question meeting every condition."""
        if not question_fit(evidence, study, cohort).value:
            return False
        for name, mode, wanted in self.conditions:
            found = set(AXES[name].of(evidence, study, cohort, self.established))
            if mode == "none_of":
                # 'none of these partners' says nothing of a cohort whose partners are not known
                if found & set(wanted) or (AXES[name].derivation == "partner_classes" and _partner_novelty(
                        evidence, study, cohort, self.established) == ("not_stated",)):
                    return False
            elif not found & set(wanted):
                return False
        return True

    def conditions_text(self) -> list[str]:
        """Each condition in words, for the page's 'which cohorts' line."""
        out = []
        for name, mode, wanted in self.conditions:
            axis = AXES[name]
            words = [axis.values.get(v, v) if axis.values else v for v in wanted]
            joined = " or ".join(words) if mode != "none_of" else " nor ".join(words)
            out.append(f"{axis.label}: {'neither ' if mode == 'none_of' and len(words) > 1 else ''}"
                       f"{'not ' if mode == 'none_of' and len(words) == 1 else ''}{joined}")
        return out


@dataclass(frozen=True)
class Questions:
    """The questions of one file, with where each field sits in it (for problems found once the evidence is known)."""

    path: str
    items: tuple[Question, ...]
    locations: dict[FieldPath, Location]

    def problem(self, field_path: FieldPath, message: str) -> Problem:
        return located_problem(self.path, self.locations, field_path, message)

    def by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.items}


NO_QUESTIONS = Questions("", (), {})


def _partner_group_problem(value: str) -> str | None:
    if value in PARTNER_GROUPS_FIRST or value in PARTNER_GROUPS_LAST:
        return None
    unknown = [part for part in partner_group_classes(value) if part not in PARTNER_CLASSES]
    return (f"{value!r} is not a partner group: join partner classes ({', '.join(PARTNER_CLASSES)}) with '+', or"
            f" use one of {', '.join(list(PARTNER_GROUPS_FIRST) + list(PARTNER_GROUPS_LAST))}") if unknown else None


def _conditions(record: QuestionRecord, index: int, problem: Callable[[FieldPath, str], Problem],
                problems: list[Problem]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    out = []
    for name, condition in record.where.items():
        at = ("questions", index, "where", name)
        axis = AXES.get(name)
        if axis is None:
            problems.append(problem(at, f"unknown axis; the axes are {', '.join(AXES)}"))
            continue
        if isinstance(condition, SetCondition):
            if not axis.several:
                problems.append(problem(at, "this axis has one value per cohort: give a list of values, not"
                                            " 'any_of' or 'none_of'"))
                continue
            if (condition.any_of is None) == (condition.none_of is None):
                problems.append(problem(at, "give exactly one of 'any_of' and 'none_of'"))
                continue
            mode, values = ("any_of", condition.any_of) if condition.any_of is not None else ("none_of",
                                                                                            condition.none_of)
        else:
            mode, values = "in", condition
        if not values:
            problems.append(problem(at, "give at least one value"))
            continue
        for position, value in enumerate(values or ()):
            where = at + ((mode,) if mode != "in" else ()) + (position,)
            if axis.values is not None and value not in axis.values:
                problems.append(problem(where, f"{value!r} is not a value of this axis; its values are"
                                               f" {', '.join(axis.values)}"))
            elif axis.derivation == "partner_group" and (why := _partner_group_problem(value)):
                problems.append(problem(where, why))
        out.append((name, mode, tuple(values or ())))
    return tuple(out)


def parse_questions(text: str, shown_path: str) -> tuple[Questions, list[Problem]]:
    """The questions of a file's text, and every problem with it (file, line and field)."""
    data, locations, problems = parse_yaml(text, shown_path)
    empty = Questions(shown_path, (), locations)
    if problems:
        return empty, problems

    def problem(field_path: FieldPath, message: str) -> Problem:
        return Questions(shown_path, (), locations).problem(field_path, message)

    if not isinstance(data, dict):
        return empty, [problem((), "the file must be a mapping with 'established_partner_classes' and 'questions'")]
    try:
        parsed = QuestionsFile.model_validate(data)
    except ValidationError as error:
        return empty, [problem(path, message) for path, message in validation_messages(error)]
    for position, name in enumerate(parsed.established_partner_classes):
        if name not in PARTNER_CLASSES:
            problems.append(problem(("established_partner_classes", position),
                                    f"{name!r} is not a partner class; the classes are {', '.join(PARTNER_CLASSES)}"))
    established = tuple(name for name in parsed.established_partner_classes)
    seen: dict[str, int] = {}
    items = []
    for index, record in enumerate(parsed.questions):
        if record.id in seen:
            problems.append(problem(("questions", index, "id"),
                                    f"the id {record.id!r} is already used by question {seen[record.id] + 1}"))
        seen.setdefault(record.id, index)
        items.append(Question(record.id, record.question, record.short, _conditions(record, index, problem, problems),
                              record.note, established))
    return Questions(shown_path, tuple(items), locations), problems


def read_questions(content_dir: Path) -> tuple[Questions, list[Problem]]:
    """The questions of content/questions.yaml (none when the file is absent), and every problem with them."""
    path = content_dir / QUESTIONS_FILE
    if not path.exists() and not path.is_symlink():
        return NO_QUESTIONS, []
    raw, problem = read_regular_file(path, MAX_QUESTIONS_BYTES, "the questions file")
    if raw is None:
        return NO_QUESTIONS, [problem]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return NO_QUESTIONS, [Problem(display_path(path), 1, 1, "(file)", f"the file is not UTF-8: {error.reason}")]
    return parse_questions(text, display_path(path))


def evidence_problems(questions: Questions, evidence: Evidence) -> list[Problem]:
    """Problems only the evidence can show: an index agent id that names no agent record of the index class."""
    problems = []
    for index, question in enumerate(questions.items):
        for name, mode, values in question.conditions:
            if AXES[name].derivation != "index_given":
                continue
            for position, value in enumerate(values):
                agent = evidence.agents.get(value)
                if agent is None or agent.agent_class != index_class():
                    at = ("questions", index, "where", name) + ((mode,) if mode != "in" else ()) + (position,)
                    problems.append(questions.problem(at, f"{value!r} is not the id of {WORDS['a_index_agent']}'s"
                                                          " agent record"))
    return problems


def matching(evidence: Evidence, question: Question) -> list[tuple[Study, Cohort]]:
    """The cohorts that answer a question, studies in id order and cohorts in their study's order."""
    return [(study, cohort) for study in sorted(evidence.studies.values(), key=lambda s: s.id)
            for cohort in study.cohorts if question.matches(evidence, study, cohort)]
