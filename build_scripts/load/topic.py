"""Reads an evidence folder's topic.yaml into a Topic, each problem located by file, line, column and field."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from pydantic import ValidationError

from build_scripts.load.cache import digest
from build_scripts.load.model import validation_messages
from build_scripts.load.problems import Problem, display_path
from build_scripts.load.reader import TOPIC_NAME, FieldPath, located_problem, parse_yaml, read_regular_file
from build_scripts.load.topic_model import Topic
from build_scripts.load.vocabulary import (
    AXIS_DERIVATIONS, INDEX_AXIS_DERIVED, SEARCH_FILTER_KEYS, UNITS,
)

# Response categories the schema itself uses: a patient's best response defaults to 'unknown', and rates computed
# from best responses keep 'ne' patients in the denominator.
REQUIRED_CATEGORIES = {"unknown": "a best response the source does not report",
                       "ne": "a best response that was not evaluable"}
MAX_TOPIC_BYTES = 1_000_000


def _listed(names: object) -> str:
    return ", ".join(str(name) for name in names)


def _exposure_rule_problems(topic: Topic) -> Iterator[tuple[FieldPath, str]]:
    """The exposure rules name statuses and definitions of the topic; every definition but the one the share splits
    is a status of its own; every status is one the rules can give."""
    rules, statuses, definitions = topic.exposure_rules, topic.exposure_statuses, topic.exposure_definitions
    status_roles = {role: getattr(rules, role) for role in
                    ("share_all", "share_none", "share_some", "share_not_stated", "partly_naive", "naive", "not_stated")}
    for role, name in status_roles.items():
        if name not in statuses:
            yield ("exposure_rules", role), f"{name!r} is not an exposure status; use one of: {_listed(statuses)}"
    for role in ("every_subset", "exclusive"):
        for position, name in enumerate(getattr(rules, role)):
            if name not in statuses:
                yield (("exposure_rules", role, position),
                       f"{name!r} is not an exposure status; use one of: {_listed(statuses)}")
    if rules.exposed_by_share not in definitions:
        yield (("exposure_rules", "exposed_by_share"),
               f"{rules.exposed_by_share!r} is not an exposure definition; use one of: {_listed(definitions)}")
    for name in definitions:
        if name != rules.exposed_by_share and name not in statuses:
            yield (("exposure_definitions", name),
                   f"{name!r} is not an exposure status: a definition other than {rules.exposed_by_share!r} (which"
                   " the share splits) is recorded as the status of the same name")
    for name in statuses:
        if name not in status_roles.values() and name not in definitions:
            yield (("exposure_statuses", name),
                   f"no rule gives {name!r}: a status is an exposure definition or a role of exposure_rules")


def _reference_problems(topic: Topic) -> Iterator[tuple[FieldPath, str]]:
    """References inside the topic that name nothing it defines."""
    measures, categories = topic.measures, topic.response_categories
    for name, measure in measures.items():
        if measure.unit not in UNITS:
            yield ("measures", name, "unit"), f"{measure.unit!r} is not a unit; use one of: {_listed(UNITS)}"
        if measure.at_least is not None:
            if measure.family != "rate":
                yield ("measures", name, "at_least"), "only a rate counts patients from a response category up"
            elif measure.at_least not in categories:
                yield (("measures", name, "at_least"),
                       f"{measure.at_least!r} is not a response category; use one of: {_listed(categories)}")
    roles = topic.measure_roles
    for role in type(roles).model_fields:
        value = getattr(roles, role)
        for position, name in enumerate((value,) if isinstance(value, str) else value):
            where = ("measure_roles", role) if isinstance(value, str) else ("measure_roles", role, position)
            if name not in measures:
                yield where, f"{name!r} is not a measure of the topic; use one of: {_listed(measures)}"
    families = {"pooled": "rate", "summary_pooled": "rate", "ranged": "time"}
    for role, family in families.items():
        value = getattr(roles, role)
        for position, name in enumerate((value,) if isinstance(value, str) else value):
            if name in measures and measures[name].family != family:
                where = ("measure_roles", role) if isinstance(value, str) else ("measure_roles", role, position)
                yield where, f"{name!r} is a {measures[name].family}, and '{role}' takes only {family}s"
    if roles.key[0] in measures and measures[roles.key[0]].family != "rate":
        yield ("measure_roles", "key", 0), "the first key measure is a rate"
    if roles.key[1] in measures and measures[roles.key[1]].family != "time":
        yield ("measure_roles", "key", 1), "the second key measure is a median time"
    if topic.index_class not in topic.agent_classes:
        yield ("index_class",), f"{topic.index_class!r} is not an agent class; use one of: {_listed(topic.agent_classes)}"
    for position, name in enumerate(topic.index_refractory_classes):
        if name not in topic.refractory_classes:
            yield (("index_refractory_classes", position),
                   f"{name!r} is not a refractory class; use one of: {_listed(topic.refractory_classes)}")
    for name in topic.refractory_class_agents:
        if name not in topic.refractory_classes:
            yield (("refractory_class_agents", name),
                   f"{name!r} is not a refractory class; use one of: {_listed(topic.refractory_classes)}")
    for agent_class, partner_class in topic.partner_class_of_agent.items():
        if agent_class not in topic.agent_classes:
            yield (("partner_class_of_agent", agent_class),
                   f"{agent_class!r} is not an agent class; use one of: {_listed(topic.agent_classes)}")
        if partner_class not in topic.partner_classes:
            yield (("partner_class_of_agent", agent_class),
                   f"{partner_class!r} is not a partner class; use one of: {_listed(topic.partner_classes)}")
    if "other" not in topic.partner_classes:
        yield ("partner_classes",), "the partner classes need 'other', the class of an agent class not listed"
    for position, name in enumerate(topic.never_partners):
        if name not in topic.agent_classes:
            yield (("never_partners", position),
                   f"{name!r} is not an agent class; use one of: {_listed(topic.agent_classes)}")
    yield from _exposure_rule_problems(topic)
    derived: dict[str, str] = {}
    for name, axis in topic.axes.items():
        if axis.derive not in AXIS_DERIVATIONS:
            yield ("axes", name, "derive"), f"{axis.derive!r} is not a derivation; use one of: {_listed(AXIS_DERIVATIONS)}"
        elif axis.derive in derived:
            yield ("axes", name, "derive"), f"axis {derived[axis.derive]!r} already has this derivation"
        derived.setdefault(axis.derive, name)
    for field, expected in (("index_axis", (*INDEX_AXIS_DERIVED, topic.partner_group_roles.outside)),
                            ("search_filters", SEARCH_FILTER_KEYS)):
        given = tuple(getattr(topic, field))
        if set(given) != set(expected):
            missing, extra = [n for n in expected if n not in given], [n for n in given if n not in expected]
            yield ((field,), "the derivation gives exactly these values, which the topic words and orders: "
                   + ", ".join(expected) + (f"; missing: {_listed(missing)}" if missing else "")
                   + (f"; not derived: {_listed(extra)}" if extra else ""))
    for name in REQUIRED_CATEGORIES:
        if name not in categories:
            yield ("response_categories",), f"the response categories need {name!r} ({REQUIRED_CATEGORIES[name]})"
    for name, definition in topic.exposure_definitions.items():
        if definition.label is None and name not in topic.exposure_statuses:
            yield (("exposure_definitions", name, "label"),
                   "a definition that is not also a status needs its own label")
    shared = set(topic.partner_classes) & (set(topic.partner_groups_first) | set(topic.partner_groups_last))
    for name in sorted(shared):
        yield ("partner_classes", name), f"{name!r} is both a partner class and a partner group; rename one"
    groups = {**topic.partner_groups_first, **topic.partner_groups_last}
    for role, name in topic.partner_group_roles.model_dump().items():
        if name not in groups:
            yield (("partner_group_roles", role),
                   f"{name!r} is not a partner group of partner_groups_first or _last; use one of: {_listed(groups)}")
    for name in topic.refractory_class_partners:
        if name not in topic.refractory_classes:
            yield (("refractory_class_partners", name),
                   f"{name!r} is not a refractory class; use one of: {_listed(topic.refractory_classes)}")


def parse_topic(text: str, shown_path: str) -> tuple[Topic | None, list[Problem]]:
    """A topic from the text of a topic file, or None and every problem with it."""
    data, locations, problems = parse_yaml(text, shown_path)

    def problem(field_path: FieldPath, message: str) -> Problem:
        return located_problem(shown_path, locations, field_path, message)

    if problems:
        return None, problems
    if not isinstance(data, dict):
        return None, [problem((), "the topic file must be a mapping of the topic's vocabularies")]
    try:
        topic = Topic.model_validate(data)
    except ValidationError as error:
        return None, [problem(path, message) for path, message in validation_messages(error)]
    problems = [problem(path, message) for path, message in _reference_problems(topic)]
    if problems:
        return None, problems
    # A definition without a label reads as the status of the same name.
    definitions = {name: definition if definition.label else
                   definition.model_copy(update={"label": topic.exposure_statuses[name].label})
                   for name, definition in topic.exposure_definitions.items()}
    return topic.model_copy(update={"digest": digest(text), "exposure_definitions": definitions}), []


def read_topic(evidence_dir: Path) -> tuple[Topic | None, list[Problem]]:
    """The topic of an evidence folder's topic.yaml, or None and every problem with it."""
    path = evidence_dir / TOPIC_NAME
    shown = display_path(path)
    if not path.exists() and not path.is_symlink():
        return None, [Problem(shown, 1, 1, "(file)", "every evidence folder has a topic file, topic.yaml, that"
                                                     " declares its measures, classes, statuses and axes; it is"
                                                     " missing")]
    raw, problem = read_regular_file(path, MAX_TOPIC_BYTES, "the topic file")
    if raw is None:
        return None, [problem]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, [Problem(shown, 1, 1, "(file)", f"the file is not UTF-8: {error.reason}")]
    return parse_topic(text, shown)
