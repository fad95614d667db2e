"""The topic of an atlas as data: its measures, classes, statuses, axes and wording, and the topic of this run."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from build_scripts.load.fields import OneLine, Slug

# Keys of the topic's vocabularies: what records, exports and URLs of filters spell.
KEY_PATTERN = r"^[a-z][a-z0-9_]*$"
Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN, max_length=60)]
Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")]


class _Entry(BaseModel):
    """A vocabulary entry; its name is the key it is listed under in the topic file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Key = ""


class Measure(_Entry):
    """An outcome measure: what it is called, what unit it takes and how it is summarised."""

    label: OneLine
    short: OneLine
    unit: Key
    family: Literal["rate", "time"]  # a proportion of patients, or a median time
    definition: OneLine
    # The label inside a sentence, where it reads otherwise ("overall response rate").
    phrase: OneLine | None = None
    # For a rate of best responses: the shallowest response category it counts (the categories' ranks define
    # "or better"), so the rate can be computed from per-patient best responses (responses.py).
    at_least: Key | None = None

    @property
    def in_sentence(self) -> str:
        """The label as it reads inside a sentence; never the label lowercased, which would lowercase 'VGPR'."""
        return self.phrase or self.label


class ResponseCategory(_Entry):
    """A best-response category, ranked from deepest to none."""

    label: OneLine
    short: OneLine
    rank: int = Field(ge=1, le=99)


class ExposureStatus(_Entry):
    """What a cohort's patients had of the index drug class before, and whether that puts the cohort in the
    atlas's question."""

    label: OneLine
    in_question: bool
    definition: OneLine
    colour: Colour | None = None  # in charts; only statuses of cohorts in the question are charted by status


class ExposureDefinition(_Entry):
    """How a curator records a population's earlier therapy with the index class, as its source defines it."""

    label: OneLine | None = None  # the status's label when the definition reads as a status of the same name
    text: OneLine


def _named(entries: dict[str, Any]) -> dict[str, Any]:
    """Each entry of a vocabulary mapping, given the key it is listed under as its name."""
    return {key: {**value, "name": key} if isinstance(value, dict) else value for key, value in entries.items()}


class MeasureRoles(BaseModel):
    """Which measures each part of the site shows, pools or lists as ranges."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    pooled: tuple[Key, ...]  # rates pooled across cohorts (exploratory)
    ranged: tuple[Key, ...]  # medians given as ranges across cohorts, never pooled
    key: tuple[Key, Key]  # the key rate and the key median of a study
    summary: tuple[Key, ...]  # the summary's measures
    summary_table: tuple[Key, ...]  # the summary table's columns
    summary_pooled: Key  # the rate the summary pools
    cross_study_charts: tuple[Key, ...]  # one chart page each, across studies
    regimen_charts: tuple[Key, ...]  # the charts of a regimen's page
    study_charts: tuple[Key, ...]  # the medians charted on a study's page


class Wording(BaseModel):
    """The words that name the topic on pages, in messages and in the field reference; code and templates use them
    by name (`WORDS["index_agent"]` in Python, `{{ words.index_agent }}` in templates, `{index_agent}` in a field's
    description, where `{index_class}` is also the index class's key). Each is written as it reads inside a
    sentence; upper_first capitalises one that starts it. The examples below are another atlas's (PD-1 inhibitor
    rechallenge in melanoma): this atlas's own words are in evidence/topic.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    disease: OneLine  # the disease, in full: "metastatic melanoma"
    disease_short: OneLine  # as a sentence names it again: "melanoma"
    index_agent: OneLine  # one agent of the index class: "PD-1 inhibitor"
    index_agents: OneLine  # "PD-1 inhibitors"
    index_adjective: OneLine  # the index class before a noun: "PD-1" (therapy, status, naive)
    question_cohort: OneLine  # what a cohort in the atlas's question is: "PD-1 rechallenge"
    question_cohorts: OneLine  # "PD-1 rechallenges"
    response_criteria: OneLine  # the response criteria rates follow: "RECIST"
    # Field descriptions show the curator an example of the topic's own; they are kept here so the code names none.
    # The order a regimen's name writes its drugs in: "PD-1 inhibitor first".
    regimen_name_order: OneLine
    example_agent: OneLine  # an agent of the index class as records name it (its id): "nivolumab"
    example_other_agent: OneLine  # another one, for a switch between the two: "pembrolizumab"
    example_study_id: OneLine  # a study record's id: "smith-2020-nivo-ipi"
    # How a source names a regimen whose partners it leaves unnamed: "nivolumab-based therapy".
    example_unnamed_partners: OneLine
    # The index class in the downloads' column names (prior_<index_key>_status): "pd1". A public contract: changing
    # it renames columns.
    index_key: Key
    # index_agent and question_cohort after their indefinite article (a or an, as the words need), so that pages
    # never guess it: "a PD-1 inhibitor", "a PD-1 rechallenge"
    a_index_agent: OneLine
    a_question_cohort: OneLine
    question: OneLine  # the atlas's question, as a sentence: "Does a PD-1 inhibitor work again after ...?"
    # what the search page says a reader can search by, with the topic's own examples (the page adds "or author"):
    # "drug or brand name (Opdivo, Keytruda), regimen abbreviation (Nivo-Ipi), trial name, registry id"
    search_examples: OneLine
    # The act the atlas's question is about, bare, as sentences name it: "rechallenge" ("not a rechallenge", "its
    # rechallenge cohorts"); its plural, and the patients it was given to.
    question_noun: OneLine
    question_nouns: OneLine
    question_participle: OneLine  # "rechallenged" (patients "rechallenged", "never rechallenged")
    # What is never counted as a partner, as a parenthesis names it: "corticosteroids are not partners".
    never_partners_note: OneLine
    # Why a regimen with the index class is in the 'alone' partner group: "no partner drug other than a corticosteroid".
    alone_reason: OneLine
    # question_participle as a column name takes it (n_<key>: "n_rechallenged"). A public contract, as index_key.
    question_participle_key: Key
    question_key: Key  # question_noun as a column name takes it (<index_key>_<key>: "pd1_rechallenge")
    # An agent of the index class, bare, as a label or a sentence names it once the class is plain: "inhibitor"
    # ("Inhibitor given", "a switch of inhibitor"); its plural: "inhibitors".
    index_noun: OneLine
    index_nouns: OneLine
    a_index_noun: OneLine  # index_noun after its indefinite article: "an inhibitor"
    # index_noun as a column and filter name (whether the index agent is the one had before: the same, or a switch):
    # "inhibitor". A public contract, as index_key.
    index_noun_key: Key


class PartnerGroupRoles(BaseModel):
    """The partner groups the code gives a regimen or a cohort by rule rather than from its partner classes, each
    named by its key among partner_groups_first and partner_groups_last."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    alone: Key  # an agent of the index class with no partner drug (a never_partners class aside)
    unspecified: Key  # partners the source does not name, or regimens of one cohort in different groups
    outside: Key  # a regimen without the index class, or a cohort outside the atlas's question


class AxisDeclaration(BaseModel):
    """An analysis axis of the topic: the derivation that gives its values (a key of vocabulary.AXIS_DERIVATIONS) and
    its label; questions filter by the axis's name, and pages list the axes in the topic's order."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    derive: Key
    label: OneLine


class ExposureRules(BaseModel):
    """How the derivation turns what a record states into a prior status (facts.py), each role named by its key among
    exposure_statuses and exposure_definitions."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # An exposed population by the share of it refractory to the index class, where its definition leaves the split
    # to that share (`exposed_by_share`): every patient, none, another share, no share stated. A population with no
    # definition whose share is every patient takes `share_all` too.
    share_all: Key
    share_none: Key
    share_some: Key
    share_not_stated: Key
    exposed_by_share: Key  # the definition whose split the share decides
    partly_naive: Key  # some patients had the index class before and some had not
    naive: Key  # no patient had it before
    not_stated: Key  # what a cohort gets when neither it nor any population containing it is defined
    # Statuses that hold for every subset of a population: a subgroup, part or dose level inherits them.
    every_subset: tuple[Key, ...] = Field(min_length=1)
    # Statuses no patient has two of at one line: sibling cohorts defined by two different ones share no patient.
    exclusive: tuple[Key, ...] = ()

    def every_patient_exposed(self) -> tuple[Key, ...]:
        """The statuses under which every patient had the index class before."""
        return self.share_all, self.share_none, self.share_some, self.share_not_stated


class Topic(BaseModel):
    """Everything specific to an atlas's question, validated from evidence/topic.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    measures: dict[Key, Measure] = Field(min_length=1)
    measure_roles: MeasureRoles
    response_categories: dict[Key, ResponseCategory] = Field(min_length=1)
    agent_classes: dict[Key, OneLine] = Field(min_length=1)
    index_class: Key  # the agent class the atlas's question is about
    refractory_classes: dict[Key, OneLine] = Field(min_length=1)
    index_refractory_classes: tuple[Key, ...] = Field(min_length=1)  # refractoriness to the index class
    refractory_class_agents: dict[Key, Slug] = {}  # refractory classes naming one agent of the index class
    exposure_statuses: dict[Key, ExposureStatus] = Field(min_length=1)
    exposure_definitions: dict[Key, ExposureDefinition] = Field(min_length=1)
    exposure_rules: ExposureRules
    partner_classes: dict[Key, OneLine] = Field(min_length=1)
    # The partner class each agent class gives a regimen; an agent class not listed gives 'other'.
    partner_class_of_agent: dict[Key, Key] = {}
    never_partners: tuple[Key, ...] = ()  # agent classes never counted as partners (besides the index class)
    partner_groups_first: dict[Key, OneLine] = {}
    partner_groups_last: dict[Key, OneLine] = {}
    partner_history: dict[Key, OneLine] = {}
    index_axis: dict[Key, OneLine] = Field(min_length=1)
    axes: dict[Key, AxisDeclaration] = Field(min_length=1)
    not_in_question: OneLine  # why a cohort outside the question is left out of pooling
    search_filters: dict[Key, OneLine] = Field(min_length=1)
    wording: Wording
    # Examples the field reference shows for a field, by 'Model.field', where the topic has better ones than the
    # schema's own (which name no drug or disease).
    field_examples: dict[Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z]*\.[a-z_]+$")], list[Any]] = {}
    # Set by the reader: the digest of the file, so caches keyed by the code are keyed by the topic too.
    digest: str = ""
    # The key of each partner group the code assigns by rule (partners.py), so the code spells none of them.
    partner_group_roles: PartnerGroupRoles
    # Refractory classes that name one partner drug, with that drug's agent record: only these say a population was
    # refractory to the partner given now (a class of drugs does not say which of its drugs).
    refractory_class_partners: dict[Key, Slug] = {}

    @model_validator(mode="before")
    @classmethod
    def _name_entries(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for field in ("measures", "response_categories", "exposure_statuses", "exposure_definitions"):
                if isinstance(data.get(field), dict):
                    data = {**data, field: _named(data[field])}
        return data


_ACTIVE: list[Topic] = []


def activate(topic: Topic) -> None:
    """Make `topic` the topic of this run: the vocabularies read it from now on (forked workers inherit it)."""
    _ACTIVE[:] = [topic]


def active() -> Topic:
    """The topic of this run, set when its evidence folder's topic file was read."""
    if not _ACTIVE:
        raise RuntimeError("no topic is active: the evidence folder's topic.yaml is read (load.topic.read_topic)"
                           " before any record is validated or rendered")
    return _ACTIVE[0]
