"""The record types and their per-record validation (pydantic; unknown fields are errors)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Annotated, Any, Iterator, Literal, Union
from urllib.parse import urlsplit

import markdown as markdown_lib
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    WrapValidator,
    field_validator,
)

from .numbers import keep_printed

from .vocabulary import (
    ADVERSE_EVENT_GRADES,
    AGENT_CLASSES,
    COHORT_ROLES,
    DESIGNS,
    EFFECT_MEASURES,
    ELIGIBILITY_KINDS,
    FINDING_SCOPES,
    FINDING_STATISTICS,
    FINDING_UNITS,
    MEASURES,
    PRIOR_ANTI_CD38_DEFINITIONS,
    PUBLICATION_TYPES,
    REFRACTORY_CLASSES,
    RESPONSE_CATEGORIES,
    SPREADS,
    RATIO_EFFECT_MEASURES,
    STATUSES,
    TRIAL_STATUSES,
    UNITS,
)

# Patterns spell digits [0-9]: \d would also match Arabic-Indic, full-width and other Unicode digits.
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_MAX = 80
# Printable ASCII after the prefix: old DOIs hold <, >, ; and parentheses, but never spaces or controls.
DOI_PATTERN = r"^10\.[0-9]{4,9}/[!-~]+$"
PMID_PATTERN = r"^[1-9][0-9]{0,8}$"
PMCID_PATTERN = r"^PMC[0-9]{1,9}$"
NCT_PATTERN = r"^NCT[0-9]{8}$"
# Registry ids other than ClinicalTrials.gov: EudraCT and ISRCTN.
REGISTRY_PATTERN = r"^(NCT[0-9]{8}|[0-9]{4}-[0-9]{6}-[0-9]{2}|ISRCTN[0-9]{8})$"

MAX_TEXT = 20_000
MAX_SHORT = 500


@dataclass(frozen=True)
class TextField:
    """Marks a str type as curator text, so tools can find every text field of every model by introspection."""

    kind: str


# What str.splitlines() splits on: any of them would end the line wherever the text is printed.
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# Embedding, override and isolate controls: they make text display in an order other than the one stored.
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
# C0 (NUL and TAB included), DEL and C1 are Unicode's control characters (category Cc); line breaks as above.
_NOT_ONE_LINE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_LINE_BREAKS}{_BIDI_CONTROLS}]")
# Markdown keeps its ordinary line ends (LF, CR) and tabs.
_NOT_MARKDOWN = re.compile(f"[\\x00-\\x08\\x0b-\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u2028\\u2029{_BIDI_CONTROLS}]")


def _character_problem(char: str, one_line: bool) -> str:
    """Why a character is refused, naming it by code point."""
    code = f"U+{ord(char):04X}"
    if char == "\t" and one_line:
        return f"contains a tab ({code}); this field is one line of text, use a space"
    if char in _LINE_BREAKS:
        if one_line:
            return f"contains a line break ({code}); this field is one line of text"
        return f"contains an unusual line break ({code}); start a new line with an ordinary line end instead"
    if "\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069":
        return (f"contains a bidirectional formatting character ({code}), which makes text display in another"
                " order than it reads; remove it")
    return f"contains a control character ({code}), which text may not hold; remove it"


def _check_one_line(value: Any) -> Any:
    """One-line text: no line break, control or bidirectional formatting character."""
    # Runs before whitespace is stripped, so a trailing line break is refused rather than silently dropped.
    if isinstance(value, str) and (found := _NOT_ONE_LINE.search(value)):
        raise ValueError(f"{_character_problem(found.group(), True)} (character {found.start() + 1})")
    return value


def _check_markdown(value: str) -> str:
    """Markdown text: line ends and tabs but no other control character, and links that work on every page."""
    if found := _NOT_MARKDOWN.search(value):
        raise ValueError(f"{_character_problem(found.group(), False)} (character {found.start() + 1})")
    bad = [link for link in markdown_links(value) if not _is_allowed_link(link)]
    if bad:
        shown = ", ".join(repr(link) for link in bad)
        raise ValueError(f"link {shown}: links must be absolute http(s) URLs or '#' fragments of the same page"
                         " (record text appears on pages at different depths, where a relative link cannot be right"
                         " on all of them)")
    return value


# The renderer's Markdown (pages.render_markdown uses the same library with no extensions); reused because
# building an instance costs more than converting a field.
_MARKDOWN = markdown_lib.Markdown(extensions=[], output_format="html")
# Every Markdown link (inline, reference-style, autolink) and raw HTML anchor needs one of these.
_LINK_SYNTAX = re.compile(r"[\[<]")


class _Hrefs(HTMLParser):
    """Collects every href of an HTML fragment, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs.extend(value or "" for name, value in attrs if name == "href")

    handle_startendtag = handle_starttag


def markdown_links(text: str) -> list[str]:
    """The targets of every link in a Markdown text, as the renderer would produce them."""
    if not _LINK_SYNTAX.search(text):
        return []
    parser = _Hrefs()
    parser.feed(_MARKDOWN.reset().convert(text))
    parser.close()
    return parser.hrefs


def _is_allowed_link(link: str) -> bool:
    """An absolute http(s) URL with a host, or a fragment of the page the text is shown on."""
    if link.startswith("#"):
        return True
    parts = urlsplit(link.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, min_length=1, max_length=SLUG_MAX)]
OneLine = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SHORT, strip_whitespace=True),
                    BeforeValidator(_check_one_line), TextField("one_line")]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT), AfterValidator(_check_markdown),
                     TextField("markdown")]
Doi = Annotated[str, StringConstraints(pattern=DOI_PATTERN, max_length=MAX_SHORT)]
Pmid = Annotated[str, StringConstraints(pattern=PMID_PATTERN)]
Pmcid = Annotated[str, StringConstraints(pattern=PMCID_PATTERN)]
RegistryId = Annotated[str, StringConstraints(pattern=REGISTRY_PATTERN)]
# Every float field is a Number: one read from a record keeps the decimals its source printed (numbers.py).
Number = Annotated[float, WrapValidator(keep_printed)]
NonNegative = Annotated[Number, Field(ge=0)]
Percent = Annotated[Number, Field(ge=0, le=100)]
Level = Annotated[Number, Field(gt=0, lt=100)]
Count = Annotated[int, Field(ge=0)]


def _choice(name: str, options: dict[str, Any]) -> Any:
    """A str field restricted to a vocabulary's keys, with the options in the error message."""

    def check(value: str) -> str:
        if value not in options:
            raise ValueError(f"'{value}' is not a known {name}; use one of: {', '.join(options)}")
        return value

    return Annotated[str, AfterValidator(check)]


MeasureName = _choice("measure", MEASURES)
UnitName = _choice("unit", UNITS)
StatusName = _choice("status", STATUSES)
ResponseName = _choice("response category", RESPONSE_CATEGORIES)
DesignName = _choice("design", DESIGNS)
RoleName = _choice("cohort role", COHORT_ROLES)
PublicationTypeName = _choice("publication type", PUBLICATION_TYPES)
AgentClassName = _choice("agent class", AGENT_CLASSES)
RefractoryClassName = _choice("refractory class", REFRACTORY_CLASSES)
GradeName = _choice("adverse event grade", ADVERSE_EVENT_GRADES)
SpreadName = _choice("kind of spread", SPREADS)
TrialStatusName = _choice("trial status", TRIAL_STATUSES)
EligibilityKindName = _choice("kind of criterion", ELIGIBILITY_KINDS)
EffectMeasureName = _choice("effect measure", EFFECT_MEASURES)
FindingScopeName = _choice("evidence type of a review finding", FINDING_SCOPES)
FindingStatisticName = _choice("statistic", FINDING_STATISTICS)
FindingUnitName = _choice("unit of a review finding", FINDING_UNITS)
PriorAntiCD38Name = _choice("prior anti-CD38 status", PRIOR_ANTI_CD38_DEFINITIONS)


class Strict(BaseModel):
    """Base for every record part: unknown fields are errors and types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        """(field, message) for each rule of the domain this part breaks; checked after the types."""
        return iter(())


class Source(Strict):
    """Where a figure comes from: a publication record and a location inside it."""

    publication: Slug
    location: OneLine = Field(description="Table, figure (legend) or section, e.g. 'Table 2' or 'Results, Efficacy'.")


class Sourced(Strict):
    """A part whose figures all come from one place in one publication."""

    source: Source
    derived: bool = False
    derivation: OneLine | None = None
    discrepancy: Slug | None = None

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        if self.derived and not self.derivation:
            yield "derivation", "a derived figure needs 'derivation': say how it was computed (e.g. '2/44')"
        if self.derivation and not self.derived:
            yield "derived", "'derivation' is given but 'derived' is not true"


class Outcome(Sourced):
    """One reported figure: a measure for one cohort, with its precision and its source."""

    measure: MeasureName
    status: StatusName = "reported"
    value: NonNegative | None = None
    unit: UnitName | None = None
    ci_low: NonNegative | None = None
    ci_high: NonNegative | None = None
    ci_high_status: Literal["not_estimable", "not_reached"] | None = None
    ci_level: Level | None = None
    range_low: NonNegative | None = None
    range_high: NonNegative | None = None
    range_kind: SpreadName = "range"
    n: Annotated[int, Field(ge=1)] | None = None
    responders: Count | None = None
    variant: OneLine | None = Field(None, description="A qualifier such as a different time origin (e.g. 'PFS-AB').")
    cross_study: bool = Field(True, description="False when the figure is not comparable with other studies' figures"
                                                " of the measure (e.g. another time origin); cross-study charts leave it out.")
    p_value: OneLine | None = None
    note: LongText | None = None

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        yield from super().domain_problems()
        measure = MEASURES[self.measure]
        unit = UNITS[measure.unit]
        status = STATUSES[self.status]
        if status.has_value and self.value is None:
            yield "value", f"status '{self.status}' needs a 'value'"
        if not status.has_value and self.value is not None:
            yield "value", f"status '{self.status}' must not have a 'value'; 'not reported' is never written as a number"
        if self.value is not None and self.unit is None:
            yield "unit", f"'unit' is required with a value; {measure.short} is in {measure.unit}"
        if self.unit is not None and self.unit != measure.unit:
            yield "unit", f"unit '{self.unit}' does not match measure '{self.measure}', which is in {measure.unit}"
        for name in ("value", "ci_low", "ci_high", "range_low", "range_high"):
            number = getattr(self, name)
            if number is not None and unit.maximum is not None and number > unit.maximum:
                yield name, f"{number:g} is above {unit.maximum:g} ({unit.name})"
        has_ci = self.ci_low is not None or self.ci_high is not None or self.ci_high_status is not None
        if has_ci:
            if self.ci_level is None:
                yield "ci_level", "a confidence interval needs 'ci_level' (e.g. 95)"
            if self.ci_low is None:
                yield "ci_low", "a confidence interval needs 'ci_low'"
            if self.ci_high is None and self.ci_high_status is None:
                yield "ci_high", "a confidence interval needs 'ci_high' or 'ci_high_status'"
            if self.ci_high is not None and self.ci_high_status is not None:
                yield "ci_high_status", "give either 'ci_high' or 'ci_high_status', not both"
        elif self.ci_level is not None:
            yield "ci_level", "'ci_level' is given without a confidence interval"
        if self.ci_low is not None and self.ci_high is not None and self.ci_low > self.ci_high:
            yield "ci_low", f"ci_low {self.ci_low:g} is above ci_high {self.ci_high:g}"
        if self.value is not None:
            if self.ci_low is not None and self.value < self.ci_low:
                yield "value", f"value {self.value:g} lies below its confidence interval ({self.ci_low:g} to ...)"
            if self.ci_high is not None and self.value > self.ci_high:
                yield "value", f"value {self.value:g} lies above its confidence interval (... to {self.ci_high:g})"
        if (self.range_low is None) != (self.range_high is None):
            yield "range_low", "a range needs both 'range_low' and 'range_high'"
        elif self.range_low is not None and self.range_low > self.range_high:
            yield "range_low", f"range_low {self.range_low:g} is above range_high {self.range_high:g}"
        if self.responders is not None:
            if measure.family != "rate":
                yield "responders", f"'responders' applies to response rates, not to {measure.short}"
            if self.n is not None and self.responders > self.n:
                yield "responders", f"responders {self.responders} exceeds n {self.n}"


class AdverseEvent(Sourced):
    """Patients with one kind of adverse event at one grade."""

    term: OneLine
    grade: GradeName
    patients: Count
    percent: Percent | None = None
    n: Annotated[int, Field(ge=1)] | None = None

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        yield from super().domain_problems()
        if self.n is not None and self.patients > self.n:
            yield "patients", f"patients {self.patients} exceeds n {self.n}"


class Refractoriness(Sourced):
    """The share of a population refractory to a drug or drug class."""

    to: RefractoryClassName
    percent: Percent | None = None
    patients: Count | None = None
    n: Annotated[int, Field(ge=1)] | None = None
    status: Literal["reported", "not_reported"] = "reported"

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        yield from super().domain_problems()
        if self.status == "reported" and self.percent is None and self.patients is None:
            yield "percent", "give 'percent' or 'patients', or set status: not_reported"
        if self.status == "not_reported" and (self.percent is not None or self.patients is not None):
            yield "status", "a figure marked not_reported must not carry 'percent' or 'patients'"
        if self.patients is not None and self.n is not None and self.patients > self.n:
            yield "patients", f"patients {self.patients} exceeds n {self.n}"


class PriorLines(Sourced):
    """Prior lines of therapy: a median and range, or a bound such as '>3'."""

    median: NonNegative | None = None
    low: NonNegative | None = None
    high: NonNegative | None = None
    spread: SpreadName = Field("range", description="What low and high are: range, interquartile range or 95% CI.")
    as_stated: OneLine | None = Field(None, description="The figure as printed when it is not a plain median, e.g. '>3'.")
    status: Literal["reported", "not_reported"] = "reported"

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        yield from super().domain_problems()
        if self.status == "reported" and self.median is None and self.as_stated is None:
            yield "median", "give 'median' (with 'low'/'high') or 'as_stated', or set status: not_reported"
        if self.low is not None and self.high is not None and self.low > self.high:
            yield "low", f"low {self.low:g} is above high {self.high:g}"
        if self.median is not None and (self.low is not None and self.median < self.low
                                        or self.high is not None and self.median > self.high):
            yield "median", f"the median {self.median:g} lies outside its range"


class PatientCount(Sourced):
    """A number of patients with where it is stated, or where the source leaves it out."""

    value: Count | None = Field(None, description="The number of patients; leave it out when status is not_reported.",
                                examples=[44])
    status: Literal["reported", "not_reported"] = Field(
        "reported", description="'not_reported' when the source gives no count (then give no value, and the source"
                                " that leaves it out).")

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        yield from super().domain_problems()
        if self.status == "reported" and self.value is None:
            yield "value", "give the number of patients in 'value', or set status: not_reported"
        if self.status == "not_reported" and self.value is not None:
            yield "value", "a count marked not_reported must not have a 'value'; 'not reported' is never written as a number"


class PriorAntiCD38(Sourced):
    """Earlier anti-CD38 therapy of a population, as its source defines the population."""

    status: PriorAntiCD38Name = Field(
        description="How the source defines the population: " + "; ".join(
            f"'{name}': {definition.text}" for name, definition in PRIOR_ANTI_CD38_DEFINITIONS.items()),
        examples=["refractory", "exposed", "naive"])
    as_stated: OneLine | None = Field(
        None, description="The source's own words for the population, e.g. 'daratumumab-refractory patients'.",
        examples=["daratumumab-refractory patients", "88% anti-CD38 exposed"])


class Population(Strict):
    """Who was treated: numbers, prior therapy and refractoriness, each with its source."""

    n: PatientCount | None = None
    prior_lines: PriorLines | None = None
    refractory: list[Refractoriness] = Field(default_factory=list, max_length=50)
    prior_anti_cd38: PriorAntiCD38 | None = Field(
        None, description="Earlier anti-CD38 therapy as the source defines the population. With the regimen's"
                          " agents it decides whether a cohort is an anti-CD38 retreatment; cohorts and groups"
                          " within the population inherit it where it holds for every subset.")
    description: LongText | None = None


class TherapyLine(Strict):
    """One line of therapy of one patient."""

    line: Annotated[int, Field(ge=1, le=50)]
    regimen: Slug | None = None
    regimen_as_stated: OneLine = Field(description="The regimen as the source names it.")
    cycles: Count | None = None
    start_month: NonNegative | None = None
    duration_months: NonNegative | None = None
    best_response: ResponseName = "unknown"
    anti_cd38: bool = False
    note: LongText | None = None


def _value_kind(value: Any) -> str | None:
    # bool before int: True is an int to Python.
    return next((name for name, kind in (("bool", bool), ("int", int), ("float", float), ("str", str))
                 if isinstance(value, kind)), None)


# Picked by the input's type, so a bad value gets the one error of its own kind, not one per member.
AttributeValue = Annotated[
    Union[Annotated[OneLine, Tag("str")], Annotated[int, Tag("int")], Annotated[Number, Tag("float")],
          Annotated[bool, Tag("bool")]],
    Discriminator(_value_kind, custom_error_type="attribute_value",
                  custom_error_message="a value is text, a whole number, a number or true/false"),
]


class PatientAttribute(Strict):
    """A per-patient characteristic as the source gives it."""

    name: OneLine
    value: AttributeValue


class Patient(Sourced):
    """One patient of a case report or case series, with the lines of therapy as the source lists them."""

    id: Slug
    label: OneLine
    attributes: list[PatientAttribute] = Field(default_factory=list, max_length=100)
    lines: list[TherapyLine] = Field(default_factory=list, max_length=50)
    note: LongText | None = None

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        yield from super().domain_problems()
        numbers = [line.line for line in self.lines]
        if numbers != sorted(numbers):
            yield "lines", f"lines must be listed in order; found {numbers}"


class Cohort(Strict):
    """An arm, part, dose level or subgroup of a study, with its regimen and its outcomes."""

    id: Slug
    label: OneLine
    role: RoleName
    parent: Slug | None = None
    regimen: Slug | None = None
    regimen_as_stated: OneLine | None = None
    anti_cd38_retreatment: bool | None = Field(
        None, description="Optional. Whether the cohort is an anti-CD38 retreatment is derived from its regimen's"
                          " agents and its prior anti-CD38 status; a value typed here must agree with that"
                          " derivation, or validation fails.")
    description: LongText | None = None
    population: Population | None = None
    outcomes: list[Outcome] = Field(default_factory=list, max_length=500)
    adverse_events: list[AdverseEvent] = Field(default_factory=list, max_length=500)
    best_response: list["ResponseShare"] = Field(default_factory=list, max_length=20)
    patients: list[Patient] = Field(default_factory=list, max_length=500)


class ResponseShare(Sourced):
    """Patients whose best response fell in one IMWG category."""

    category: ResponseName
    patients: Count | None = None
    percent: Percent | None = None
    n: Annotated[int, Field(ge=1)] | None = None

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        yield from super().domain_problems()
        if self.patients is None and self.percent is None:
            yield "patients", "give 'patients' or 'percent'"
        if self.patients is not None and self.n is not None and self.patients > self.n:
            yield "patients", f"patients {self.patients} exceeds n {self.n}"


class DiscrepancyClaim(Strict):
    """What one source says about the disputed figure."""

    source: Source
    says: OneLine


class Discrepancy(Strict):
    """Sources that disagree, or a source that contradicts itself, described in the curators' words."""

    id: Slug = Field(description="Id of the disagreement, unique within the record; figures flag it with"
                                 " 'discrepancy: <id>' and its anchor is #discrepancy-<id>.", examples=["part-a-flow-counts"])
    title: OneLine = Field(description="A short heading for the disagreement in the curators' words, shown on the page"
                                       " (the id is never shown).", examples=["Patient flow counts in part A"])
    summary: LongText = Field(description="What the sources say and how they disagree, in the curators' words.")
    claims: list[DiscrepancyClaim] = Field(min_length=1, max_length=20)
    resolution: LongText | None = None


class RelatedStudy(Strict):
    """Another study record that reports some of the same patients."""

    study: Slug
    relation: Literal["same_patients", "overlapping_patients", "extension", "subgroup_of", "parent_of"]
    note: LongText | None = None


class TrialStatus(Sourced):
    """A trial's status as one source gives it (a study lists them oldest first)."""

    status: TrialStatusName = Field(description="The status in the vocabulary's words.", examples=["terminated"])
    reason: OneLine | None = Field(None, description="Why the trial stopped or was suspended, as the source gives it.",
                                   examples=["futility"])
    as_stated: OneLine | None = Field(None, description="The source's own words for the status.",
                                      examples=["terminated early due to futility"])
    note: LongText | None = Field(None, description="Anything a reader needs to read the status right, in the curators' words.")


class EligibilityCriterion(Sourced):
    """One criterion for entering a study, as a source states it."""

    text: OneLine = Field(description="The criterion as the source states it (close to its words, not a reading of it).",
                          examples=["1 to 3 prior lines of therapy, one of which contained daratumumab"])
    kind: EligibilityKindName = Field("inclusion", description="Whether patients had to meet it or were excluded by it.")


class Comparison(Sourced):
    """A between-arm comparison of one measure, with the statistic as the source gives it."""

    measure: MeasureName = Field(description="The outcome measure compared.", examples=["pfs"])
    experimental: Slug = Field(description="Id of the experimental arm (a cohort of this study with role 'arm').",
                               examples=["dkd"])
    control: Slug = Field(description="Id of the control arm (a cohort of this study with role 'arm').", examples=["kd"])
    effect_measure: EffectMeasureName = Field(
        description="The statistic reported; 'not_reported' when the source compares the arms only in words.",
        examples=["hazard_ratio"])
    value: Number | None = Field(None, description="The effect estimate, experimental against control.", examples=[0.63])
    ci_low: Number | None = Field(None, description="Lower bound of its confidence interval.")
    ci_high: Number | None = Field(None, description="Upper bound of its confidence interval.")
    ci_level: Level | None = Field(None, description="Confidence level in per cent, e.g. 95.")
    p_value: OneLine | None = Field(None, description="The p-value as printed, e.g. '0.002' or '<0.001'.")
    as_stated: OneLine | None = Field(None, description="The comparison in the source's words, e.g. 'not notably different'.")
    note: LongText | None = Field(None, description="Anything a reader needs to read the comparison right.")

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        yield from super().domain_problems()
        numbers = ("value", "ci_low", "ci_high", "ci_level")
        if self.effect_measure == "not_reported":
            for name in numbers:
                if getattr(self, name) is not None:
                    yield name, "effect_measure not_reported must not carry a number; 'not reported' is never written as one"
            if self.as_stated is None and self.p_value is None:
                yield "as_stated", "without a statistic, give the comparison as the source states it in 'as_stated'"
            return
        if self.value is None:
            yield "value", f"effect_measure {self.effect_measure} needs its 'value'"
        if (self.ci_low is None) != (self.ci_high is None):
            yield "ci_low", "a confidence interval needs both 'ci_low' and 'ci_high'"
        if (self.ci_low is not None) != (self.ci_level is not None):
            yield "ci_level", "a confidence interval needs 'ci_level' (e.g. 95), and 'ci_level' needs an interval"
        if self.ci_low is not None and self.ci_high is not None:
            if self.ci_low > self.ci_high:
                yield "ci_low", f"ci_low {self.ci_low:g} is above ci_high {self.ci_high:g}"
            elif self.value is not None and not self.ci_low <= self.value <= self.ci_high:
                yield "value", f"value {self.value:g} lies outside its confidence interval"
        if self.effect_measure in RATIO_EFFECT_MEASURES:
            for name in ("value", "ci_low", "ci_high"):
                number = getattr(self, name)
                if number is not None and number <= 0:
                    yield name, f"{EFFECT_MEASURES[self.effect_measure].lower()} must be above 0; found {number:g}"


class Record(Strict):
    """Fields every record has."""

    id: Slug
    curators: list[OneLine] = Field(default_factory=list, max_length=50)
    curation_note: LongText | None = None
    moved_from: list[Slug] = Field(default_factory=list, max_length=20)


class Publication(Record):
    """A source document: article, abstract, letter or registry entry."""

    type: PublicationTypeName
    title: OneLine = Field(description="The title as the source prints it; for a source without one (title_supplied),"
                                       " a short description in the curators' words.")
    title_supplied: bool = Field(
        False, description="True when the source has no title and 'title' is the curators' description of it; pages"
                           " and citations show it in square brackets, as library catalogues do.",
        examples=[True])
    authors: list[OneLine] = Field(default_factory=list, max_length=200)
    authors_complete: bool = Field(False, description="True when 'authors' lists every author (no 'et al.').")
    journal: OneLine | None = None
    year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    volume: OneLine | None = None
    issue: OneLine | None = None
    pages: OneLine | None = None
    doi: Doi | None = None
    pmid: Pmid | None = None
    pmcid: Pmcid | None = None
    registry_id: RegistryId | None = None
    cited_as: OneLine | None = Field(None, description="How the source is cited where the atlas found it, e.g. 'Gay 2025, ref. 23'.")
    note: LongText | None = None

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        if self.title_supplied and (self.title.startswith("[") or self.title.endswith("]")):
            yield "title", "write a supplied title without square brackets; pages and citations add them"

    @field_validator("doi")
    @classmethod
    def _doi_lowercase_prefix(cls, doi: str | None) -> str | None:
        if doi is not None and re.match(r"^(https?://|doi:)", doi, re.IGNORECASE):
            raise ValueError("write the bare DOI (10.xxxx/...), without 'https://doi.org/' or 'doi:'")
        return doi


class Study(Record):
    """One trial or real-world cohort, possibly reported in several publications."""

    title: OneLine
    short_name: OneLine | None = None
    aliases: list[OneLine] = Field(default_factory=list, max_length=50)
    design: DesignName
    phase: OneLine | None = None
    registry_ids: list[RegistryId] = Field(default_factory=list, max_length=20)
    publications: list[Slug] = Field(min_length=1, max_length=100)
    countries: list[OneLine] = Field(default_factory=list, max_length=100)
    summary: LongText
    population: Population | None = None
    prior_anti_cd38: LongText | None = None
    cohorts: list[Cohort] = Field(min_length=1, max_length=200)
    discrepancies: list[Discrepancy] = Field(default_factory=list, max_length=100)
    related_studies: list[RelatedStudy] = Field(default_factory=list, max_length=100)
    cited_sources: list[Slug] = Field(
        default_factory=list, max_length=100,
        description="Publications that state some of this study's figures second-hand (a review, another study's"
                    " article) without being its own publications; figures may name them as their source.",
        examples=[["gay-2025-front-oncol"]])
    trial_status: list[TrialStatus] = Field(
        default_factory=list, max_length=20,
        description="The trial's status as each source gives it, oldest first (the last is the latest known).")
    eligibility: list[EligibilityCriterion] = Field(
        default_factory=list, max_length=100, description="Criteria for entering the study, as the sources state them.")
    comparisons: list[Comparison] = Field(
        default_factory=list, max_length=200,
        description="Between-arm comparisons (hazard ratios, differences, p-values) as the sources give them.")


class Regimen(Record):
    """A controlled regimen: its component agents and the abbreviations used for it."""

    name: OneLine
    agents: list[Slug] = Field(min_length=1, max_length=20)
    aliases: list[OneLine] = Field(default_factory=list, max_length=50)
    description: LongText | None = None


class Agent(Record):
    """A drug, its class and its other names."""

    name: OneLine
    agent_class: AgentClassName = Field(alias="class")
    aliases: list[OneLine] = Field(default_factory=list, max_length=50)
    description: LongText | None = None


class PrismaFlow(Sourced):
    """PRISMA flow counts of a systematic review, as the review reports them."""

    records_identified_databases: Count | None = None
    records_identified_other: Count | None = None
    duplicates_removed: Count | None = None
    excluded_title_abstract: Count | None = None
    excluded_full_text: Count | None = None
    publications_included: Count | None = None
    studies_included: Count | None = None


class SearchWindow(Sourced):
    """The databases and dates a review searched."""

    databases: list[OneLine] = Field(min_length=1, max_length=50)
    start: dt.date | Literal["inception"]
    end: dt.date
    languages: list[OneLine] = Field(default_factory=list, max_length=20)

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        yield from super().domain_problems()
        if isinstance(self.start, dt.date) and self.end < self.start:
            yield "end", f"the search ends ({self.end.isoformat()}) before it starts ({self.start.isoformat()})"


class DiscussedStudy(Strict):
    """A study a review discusses but did not include, with the review's reason."""

    study: Slug = Field(description="Id of the study record.", examples=["lynx"])
    reason: OneLine = Field(description="Why the review did not include it, in the curators' words.",
                            examples=["reported after the review's search cut-off"])
    as_stated: OneLine | None = Field(None, description="The review's own words for the reason.")
    source: Source = Field(description="Where the review discusses the study.")


class ReviewFinding(Sourced):
    """A figure a review states across several studies (a range, a count, a pooled estimate), as it states it."""

    id: Slug = Field(description="Id of the finding, unique within the review.", examples=["pfs-rwe"])
    topic: OneLine = Field(description="What the figure is about.", examples=["Median PFS"])
    evidence_type: FindingScopeName = Field(description="Which studies the figure summarises.", examples=["real_world"])
    statistic: FindingStatisticName = Field(description="What kind of figure it is.", examples=["range"])
    value: NonNegative | None = Field(None, description="The figure, for a single figure, count, median or pooled estimate.")
    low: NonNegative | None = Field(None, description="Low end of a range.")
    high: NonNegative | None = Field(None, description="High end of a range, or the bound of an upper bound.")
    unit: FindingUnitName | None = Field(None, description="Unit of value, low and high.", examples=["months"])
    ci_low: NonNegative | None = Field(None, description="Lower bound of the confidence interval of a single figure.")
    ci_high: NonNegative | None = Field(None, description="Upper bound of that interval.")
    ci_level: Level | None = Field(None, description="Confidence level in per cent.")
    n: Annotated[int, Field(ge=1)] | None = Field(None, description="Patients a single figure is based on.")
    studies_count: Count | None = Field(None, description="How many studies the source says the figure covers.")
    studies: list[Slug] = Field(default_factory=list, max_length=1000,
                                description="Study records the source cites for the figure, jointly.")
    as_stated: OneLine | None = Field(None, description="The figure in the source's words, when they say more than"
                                                         " the numbers (e.g. '1.0-2.8 months in all but one trial').")
    note: LongText | None = Field(None, description="Anything a reader needs to read the figure right.")

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        yield from super().domain_problems()
        if self.statistic == "range":
            if self.low is None or self.high is None:
                yield "low", "a range needs 'low' and 'high'"
        elif self.statistic == "upper_bound":
            if self.high is None:
                yield "high", "an upper bound needs 'high'"
        elif self.value is None:
            yield "value", f"a {FINDING_STATISTICS[self.statistic].lower()} needs 'value'"
        if self.low is not None and self.high is not None and self.low > self.high:
            yield "low", f"low {self.low:g} is above high {self.high:g}"
        if (self.ci_low is None) != (self.ci_high is None) or (self.ci_low is None) != (self.ci_level is None):
            yield "ci_level", "a confidence interval needs 'ci_low', 'ci_high' and 'ci_level'"
        elif self.ci_low is not None and self.ci_low > self.ci_high:
            yield "ci_low", f"ci_low {self.ci_low:g} is above ci_high {self.ci_high:g}"
        if self.unit == "percent":
            for name in ("value", "low", "high", "ci_low", "ci_high"):
                number = getattr(self, name)
                if number is not None and number > 100:
                    yield name, f"{number:g} is above 100 (per cent)"


class Review(Record):
    """A systematic review: its question, search, eligibility, flow, and the studies it includes and discusses."""

    title: OneLine
    publication: Slug
    question: LongText
    summary: LongText
    search: SearchWindow
    eligibility: list[LongText] = Field(min_length=1, max_length=100)
    prisma: PrismaFlow
    included_studies: list[Slug] = Field(min_length=1, max_length=10_000)
    discussed_studies: list[DiscussedStudy] = Field(
        default_factory=list, max_length=10_000,
        description="Studies the review discusses but did not include, each with the reason; never also included.")
    findings: list[ReviewFinding] = Field(
        default_factory=list, max_length=1000,
        description="Figures the review states across studies (ranges, counts, pooled estimates), as it states them.")
    discrepancies: list[Discrepancy] = Field(
        default_factory=list, max_length=100,
        description="Points where the review disagrees with itself or with other sources, in the curators' words.")


Cohort.model_rebuild()

RECORD_MODELS: dict[str, type[Record]] = {
    "publication": Publication,
    "study": Study,
    "regimen": Regimen,
    "agent": Agent,
    "review": Review,
}


def validation_messages(error: ValidationError) -> list[tuple[tuple[Any, ...], str]]:
    """Turn pydantic's errors into (field path, plain message) pairs a curator can act on."""
    messages = []
    for item in error.errors(include_url=False):
        location = tuple(part for part in item["loc"] if not _is_union_tag(part))
        kind = item["type"]
        if kind == "extra_forbidden":
            message = "unknown field (check its spelling, or see the record template for the allowed fields)"
        elif kind == "missing":
            message = "required field is missing"
        elif kind == "string_pattern_mismatch":
            message = f"{item['input']!r} is not well formed ({_pattern_hint(item['ctx']['pattern'])})"
        elif kind in ("value_error", "assertion_error"):
            message = str(item["ctx"].get("error", item["msg"])) if "ctx" in item else item["msg"]
        else:
            message = f"{item['msg']} (found {item['input']!r})" if "input" in item and not isinstance(item["input"], (dict, list)) else item["msg"]
        messages.append((location, message))
    return messages


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part in {"function-after", "str", "int", "float", "bool", "date"})


_PATTERN_HINTS = {
    SLUG_PATTERN: "ids are lowercase letters, digits and single hyphens, e.g. 'frerichs-2021'",
    DOI_PATTERN: "a DOI looks like 10.1182/bloodadvances.2021005220",
    PMID_PATTERN: "a PMID is digits only, e.g. '34625791'",
    PMCID_PATTERN: "a PMCID looks like PMC9153006",
    REGISTRY_PATTERN: "a registry id looks like NCT02751255 (or an EudraCT / ISRCTN number)",
}


def _pattern_hint(pattern: str) -> str:
    return _PATTERN_HINTS.get(pattern, f"expected the pattern {pattern}")
