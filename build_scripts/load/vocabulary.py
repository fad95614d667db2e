"""The controlled vocabulary: record kinds and their URLs, measures and units, response categories, designs.

Every other module (schema, checks, pages, charts, exports) reads these definitions;
none of them restates a label, a unit or a URL pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

from build_scripts.load.topic_model import (
    ExposureDefinition, ExposureRules, ExposureStatus, Measure, ResponseCategory, Topic, active,
)


@dataclass(frozen=True)
class RecordKind:
    """A kind of evidence record: the folder it lives in and the URL its page gets."""

    name: str
    folder: str
    url_prefix: str
    label: str
    label_plural: str

    def url(self, record_id: str) -> str:
        """Site-relative URL of a record's page, with a trailing slash."""
        return f"{self.url_prefix}/{record_id}/"

    def page_path(self, record_id: str) -> str:
        """Path of the record's generated Markdown page inside the docs folder."""
        return f"{self.url_prefix}/{record_id}/index.md"


RECORD_KINDS: dict[str, RecordKind] = {
    kind.name: kind
    for kind in (
        RecordKind("publication", "publications", "publications", "Publication", "Publications"),
        RecordKind("study", "studies", "studies", "Study", "Studies"),
        RecordKind("regimen", "regimens", "regimens", "Regimen", "Regimens"),
        RecordKind("agent", "agents", "agents", "Agent", "Agents"),
        RecordKind("review", "reviews", "reviews", "Systematic review", "Systematic reviews"),
    )
}

KIND_BY_FOLDER: dict[str, RecordKind] = {kind.folder: kind for kind in RECORD_KINDS.values()}


@dataclass(frozen=True)
class Unit:
    """A unit of an outcome value."""

    name: str
    symbol: str
    label: str
    minimum: float
    maximum: float | None


UNITS: dict[str, Unit] = {
    "percent": Unit("percent", "%", "per cent of patients", 0.0, 100.0),
    "months": Unit("months", "mo", "months", 0.0, None),
}


@dataclass(frozen=True)
class Status:
    """Whether and how a figure was reported."""

    name: str
    label: str
    has_value: bool


STATUSES: dict[str, Status] = {
    status.name: status
    for status in (
        Status("reported", "Reported", True),
        Status("not_reached", "Not reached", False),
        Status("not_estimable", "Not estimable", False),
        Status("not_reported", "Not reported", False),
        # The source gives the figure, but not where the curators could read it (only in a chart image, a
        # supplement they did not have, a full text they knew only through its abstract): never 'not reported'.
        Status("not_available", "Not available to the curators", False),
    )
}


@dataclass(frozen=True)
class Design:
    """A study design and the evidence type it belongs to."""

    name: str
    label: str
    evidence_type: str


EVIDENCE_TYPES: dict[str, str] = {
    "clinical_trial": "Clinical trial",
    "real_world": "Real-world study",
    "case_report": "Case report",
}

DESIGNS: dict[str, Design] = {
    design.name: design
    for design in (
        Design("randomised", "Randomised controlled trial", "clinical_trial"),
        Design("single_arm", "Single-arm trial", "clinical_trial"),
        Design("prospective_real_world", "Prospective real-world study", "real_world"),
        Design("retrospective_real_world", "Retrospective real-world study", "real_world"),
        Design("real_world_unspecified", "Real-world study, design not stated", "real_world"),
        Design("case_series", "Case series", "real_world"),
        Design("case_report", "Case report", "case_report"),
    )
}

COHORT_ROLES: dict[str, str] = {
    "overall": "Whole study population",
    "arm": "Treatment arm",
    "part": "Study part",
    "dose_level": "Dose level",
    "subgroup": "Subgroup",
}

PUBLICATION_TYPES: dict[str, str] = {
    "article": "Journal article",
    "abstract": "Conference abstract",
    "letter": "Letter",
    "case_report": "Case report",
    "review": "Review",
    "registry_entry": "Trial registry entry",
}

@dataclass(frozen=True)
class TitleStatus:
    """Whether a publication's title is the document's own, and if not, why the curators wrote one."""

    name: str
    label: str  # what the publication page says of the title
    qualifier: str | None  # what a citation adds after a title the document's own is not


# A title in the curators' words is shown in square brackets, as library catalogues show a supplied title.
TITLE_STATUSES: dict[str, TitleStatus] = {
    status.name: status
    for status in (
        TitleStatus("given", "As printed in the document", None),
        TitleStatus("supplied", "Supplied by the curators: the document has no title", None),
        TitleStatus("not_known", "Not known to the curators: the document's title was not available to them, and the"
                                 " title shown is their description of it", "published title not known to the curators"),
    )
}

# Why a cohort is left out of an exploratory pooled analysis (synthesis.py), worded for the pages and downloads.
_GENERAL_EXCLUSIONS: dict[str, str] = {
    "control_arm": "control arm of a randomised comparison",
    "not_reported": "the measure is not reported",
    "not_available": "the source gives the measure, but not where the curators could read it",
    "not_comparable": "the figure is not comparable with other studies' (e.g. another time origin)",
    "no_patient_count": "a rate without the number of patients it is based on",
    "overlap": "shares patients with a larger cohort that is used (a parent cohort, a subgroup, another data cut or"
               " an overlapping report)",
    "case_design": "case report or case series (left out of the sensitivity analysis)",
}

# Methods of pooling proportions (build_scripts/derive/meta_analysis.py), in the order they are reported: the primary
# method first, then the sensitivity analyses.
POOLING_METHODS: dict[str, str] = {
    "bn": "binomial-normal model",
    "dl": "DerSimonian-Laird",
    "pm": "Paule-Mandel",
}
PRIMARY_POOLING_METHOD = "bn"

SPREADS: dict[str, str] = {
    "range": "range",
    "iqr": "interquartile range",
    "ci95": "95% confidence interval",
}

ADVERSE_EVENT_GRADES: dict[str, str] = {
    "any": "Any grade",
    "1-2": "Grade 1-2",
    "2": "Grade 2",
    "3-4": "Grade 3-4",
    "3+": "Grade ≥3",
    "5": "Grade 5",
}

# A trial's recruitment status, as ClinicalTrials.gov words it, plus "ongoing" for a source that says only
# that a trial is under way (without saying whether it still recruits).
TRIAL_STATUSES: dict[str, str] = {
    "not_yet_recruiting": "Not yet recruiting",
    "recruiting": "Recruiting",
    "ongoing": "Ongoing (recruitment not stated)",
    "active_not_recruiting": "Active, not recruiting",
    "completed": "Completed",
    "terminated": "Terminated",
    "suspended": "Suspended",
    "withdrawn": "Withdrawn",
    "unknown": "Unknown",
}

ELIGIBILITY_KINDS: dict[str, str] = {
    "inclusion": "Inclusion",
    "exclusion": "Exclusion",
}

# The statistic a between-arm comparison reports; "not_reported" when the source compares the arms only in words.
EFFECT_MEASURES: dict[str, str] = {
    "hazard_ratio": "Hazard ratio",
    "odds_ratio": "Odds ratio",
    "risk_ratio": "Risk ratio",
    "difference": "Difference",
    "not_reported": "No statistic reported",
}

# Effect measures that are ratios: their value and interval are above zero, and 1 means no difference.
RATIO_EFFECT_MEASURES = ("hazard_ratio", "odds_ratio", "risk_ratio")

# Which studies a review-level figure summarises.
FINDING_SCOPES: dict[str, str] = {
    "clinical_trial": "Clinical trials",
    "real_world": "Real-world studies",
    "all": "All studies",
}

# What a review-level figure is.
FINDING_STATISTICS: dict[str, str] = {
    "range": "Range across studies",
    "upper_bound": "Upper bound across studies",
    "median": "Median",
    "pooled": "Pooled estimate",
    "count": "Count",
    "percent": "Percentage",
    "value": "Single figure",
}

# Units of review-level figures: those of outcomes, and the counts a review gives across studies
# (as written after the number: singular, plural).
FINDING_UNITS: dict[str, tuple[str, str]] = {
    "percent": ("%", "%"),
    "months": ("month", "months"),
    "patients": ("patient", "patients"),
    "lines": ("prior line", "prior lines"),
    "studies": ("study", "studies"),
}


class _PerTopic:
    """A value made from the topic of the run, made again only when another topic is active."""

    def __init__(self, make: Callable[[Topic], Any]):
        self._make = make
        self._made: tuple[Topic, Any] | None = None

    def _value(self) -> Any:
        topic = active()
        if self._made is None or self._made[0] is not topic:
            self._made = (topic, self._make(topic))
        return self._made[1]


class TopicTable(_PerTopic, Mapping[str, Any]):
    """A vocabulary the topic defines, read from the topic of the run (so a module can name it at import, before
    any topic is read)."""

    def __init__(self, pick: Callable[[Topic], Mapping[str, Any]]):
        super().__init__(pick)

    def _table(self) -> Mapping[str, Any]:
        return self._value()

    def __getitem__(self, key: str) -> Any:
        return self._table()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return f"TopicTable({dict(self._table())!r})"


class TopicList(_PerTopic, Sequence[Any]):
    """A tuple made from the topic of the run (so a module can define it at import, before any topic is read)."""

    def __init__(self, make: Callable[[], Sequence[Any]]):
        super().__init__(lambda topic: tuple(make()))

    def _items(self) -> tuple[Any, ...]:
        return self._value()

    def __getitem__(self, index: Any) -> Any:
        return self._items()[index]

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items())

    def __add__(self, other: Sequence[Any]) -> tuple[Any, ...]:
        return self._items() + tuple(other)

    def __eq__(self, other: object) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, (tuple, list, TopicList)) else other)

    def __hash__(self) -> int:
        return hash(self._items())

    def __repr__(self) -> str:
        return f"TopicList({self._items()!r})"


MEASURES: Mapping[str, Measure] = TopicTable(lambda topic: topic.measures)
RESPONSE_CATEGORIES: Mapping[str, ResponseCategory] = TopicTable(lambda topic: topic.response_categories)
AGENT_CLASSES: Mapping[str, str] = TopicTable(lambda topic: topic.agent_classes)
# Drug classes a cohort or population can be refractory to, as they read after "Refractory to" (pages never
# change the case of a label).
REFRACTORY_CLASSES: Mapping[str, str] = TopicTable(lambda topic: topic.refractory_classes)
# In the order pages, legends and filters list them. A status never claims more than the sources state.
EXPOSURE_STATUSES: Mapping[str, ExposureStatus] = TopicTable(lambda topic: topic.exposure_statuses)
EXPOSURE_DEFINITIONS: Mapping[str, ExposureDefinition] = TopicTable(lambda topic: topic.exposure_definitions)
# Refractory classes naming one agent of the index class, with that agent's record: a population refractory to
# it had it before (partners.prior_index_agents reads this when a population does not list its index agents).
REFRACTORY_CLASS_AGENTS: Mapping[str, str] = TopicTable(lambda topic: topic.refractory_class_agents)
# The partner axis: what a cohort in the question is given with, from its regimen's agents (partners.partners holds
# the rules). A regimen's partner group is the set of these classes among its partners, none hidden behind another.
PARTNER_CLASSES: Mapping[str, str] = TopicTable(lambda topic: topic.partner_classes)
# Partner groups that are not a set of partner classes, with where they stand among the groups.
PARTNER_GROUPS_FIRST: Mapping[str, str] = TopicTable(lambda topic: topic.partner_groups_first)
PARTNER_GROUPS_LAST: Mapping[str, str] = TopicTable(lambda topic: topic.partner_groups_last)
# Whether a partner drug is new to a cohort's patients: derived only where the source says so.
PARTNER_HISTORY: Mapping[str, str] = TopicTable(lambda topic: topic.partner_history)
# The index-switch axis: the agent of the index class a cohort is given against the one its patients had before.
INDEX_AXIS: Mapping[str, str] = TopicTable(lambda topic: topic.index_axis)
# Why a cohort is left out of an exploratory pooled analysis (synthesis.py), worded for the pages and downloads.
SYNTHESIS_EXCLUSIONS: Mapping[str, str] = TopicTable(
    lambda topic: {topic.partner_group_roles.outside: topic.not_in_question, **_GENERAL_EXCLUSIONS})
# The search page's filters: the key Pagefind indexes each under (search.search_view gives each record its
# values), with the label the page shows. Ordered as the page lists them.
SEARCH_FILTERS: Mapping[str, str] = TopicTable(lambda topic: topic.search_filters)


# Refractory classes whose share is the share refractory to the index class.
INDEX_REFRACTORY_CLASSES: Sequence[str] = TopicList(lambda: active().index_refractory_classes)


def index_class() -> str:
    """The agent class the atlas's question is about."""
    return active().index_class


def _role(name: str) -> TopicList:
    return TopicList(lambda: getattr(active().measure_roles, name))


# Which measures each part of the site pools, shows or charts (the topic's measure_roles).
POOLED_MEASURES = _role("pooled")
RANGE_MEASURES = _role("ranged")
KEY_MEASURES = _role("key")
SUMMARY_MEASURES = _role("summary")
TABLE_MEASURES = _role("summary_table")
CROSS_STUDY_MEASURES = _role("cross_study_charts")
REGIMEN_MEASURES = _role("regimen_charts")
STUDY_CHART_MEASURES = _role("study_charts")


def summary_pooled_measure() -> str:
    """The rate the summary pools."""
    return active().measure_roles.summary_pooled


# The words that name the topic (topic_model.Wording), by name.
WORDS: Mapping[str, str] = TopicTable(lambda topic: topic.wording.model_dump())
_WORD = re.compile(r"\{([a-z_]+)\}")


def upper_first(text: str) -> str:
    """The text with its first character in upper case and the rest as written ('anti-PD-1' -> 'Anti-PD-1')."""
    return text[:1].upper() + text[1:]


def worded(text: str) -> str:
    """A text with each {name} of the topic's words in place, and {index_class} as the index class's key (which a
    description quotes as records spell it); other braces are left as they are."""
    words = {**WORDS, "index_class": index_class()}
    return _WORD.sub(lambda found: words.get(found.group(1), found.group(0)), text)


# The values of the index-switch axis the derivation gives (derive/partners.py); the topic words and orders them.
INDEX_AXIS_DERIVED = ("same", "switch", "not_stated")  # and, outside the question, outside_key()


def exposure_rules() -> ExposureRules:
    """How a definition and a stated share become a prior status (the topic's exposure_rules)."""
    return active().exposure_rules


# The derivations an analysis axis of the topic may name (derive/questions.py gives each one's values); the topic
# names its axes, labels and orders them.
AXIS_DERIVATIONS = ("prior_status", "index_switch", "index_given", "partner_group", "partner_classes",
                    "partner_novelty", "design", "evidence_type")


# The search filters the pages derive (render/search.py); the topic labels them.
SEARCH_FILTER_KEYS = ("type", "agent", "partner", "index_switch", "design", "prior")


def outside_key() -> str:
    """The key the topic gives what is outside its question: a partner group, an index agent-axis value and a reason
    a cohort is left out of pooling (partner_group_roles.outside)."""
    return active().partner_group_roles.outside


# Joins the partner classes of one group in its key (steroid+chemotherapy).
PARTNER_JOIN = "+"
