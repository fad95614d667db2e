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

from build_scripts.load.numbers import keep_printed

from build_scripts.load.vocabulary import (
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
    TITLE_STATUSES,
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


# The renderer's Markdown (templating.render_markdown uses the same library with no extensions); reused because
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


@dataclass(frozen=True)
class Choice:
    """Marks a str type as one of a vocabulary's values, so the field reference can list them with their labels."""

    name: str
    options: tuple[tuple[str, str | None], ...]  # (value, label)


def _label(entry: Any) -> str | None:
    """A vocabulary entry's label: the entry itself when it is a plain string, None when it has no label."""
    return entry if isinstance(entry, str) else getattr(entry, "label", None)


def _choice(name: str, options: dict[str, Any]) -> Any:
    """A str field restricted to a vocabulary's keys, with the options in the error message."""

    def check(value: str) -> str:
        if value not in options:
            raise ValueError(f"'{value}' is not a known {name}; use one of: {', '.join(options)}")
        return value

    labelled = tuple((key, _label(entry)) for key, entry in options.items())
    return Annotated[str, AfterValidator(check), Choice(name, labelled)]


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
TitleStatusName = _choice("title status", TITLE_STATUSES)


class Strict(BaseModel):
    """Base for every record part: unknown fields are errors and types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        """(field, message) for each rule of the domain this part breaks; checked after the types."""
        return iter(())


class Source(Strict):
    """Where a figure comes from: a publication record and a location inside it."""

    publication: Slug = Field(description="Id of the publication record the figure is printed in"
                              " (evidence/publications/<id>.yaml). A study may cite its own 'publications', its"
                              " 'cited_sources' and the publication of a review that includes it.",
                              examples=["frerichs-2021-blood-adv"])
    location: OneLine = Field(description="Where in the publication the figure is printed, precise enough for a reader"
                              " to find it in a minute: a table (with its row, column or footnote), a figure legend or a"
                              " section. A value shown only in a chart image is not read off the image.",
                              examples=["Table 2", "Table 1, footnote §", "Figure 3 legend", "Results, Efficacy",
                                        "Abstract"])


class Sourced(Strict):
    """A part whose figures all come from one place in one publication."""

    source: Source = Field(description="Where the figures of this entry are printed: the publication record and the"
                                       " location in it.")
    derived: bool = Field(False, description="True when the curators computed a figure of this entry from numbers the"
                                             " source states (e.g. a percentage from responders and patients) instead"
                                             " of copying it as printed; 'derivation' then says how.")
    derivation: OneLine | None = Field(None, description="How the derived figure was computed from the source's own"
                                                         " numbers; required when 'derived' is true.",
                                       examples=["5/20", "12 + 9"])
    discrepancy: Slug | None = Field(None, description="Id of the entry of the study's 'discrepancies' that concerns this"
                                                       " figure: the page flags the figure with ⚑ and links to the"
                                                       " explanation, and a percentage may then disagree with its counts.",
                                     examples=["orr-differs"])

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        if self.derived and not self.derivation:
            yield "derivation", "a derived figure needs 'derivation': say how it was computed (e.g. '2/44')"
        if self.derivation and not self.derived:
            yield "derived", "'derivation' is given but 'derived' is not true"


class Outcome(Sourced):
    """One reported figure: a measure for one cohort, with its precision and its source."""

    measure: MeasureName = Field(description="What the figure measures: a response rate (in percent) or a median time"
                                             " (in months); the Definitions page defines each.")
    status: StatusName = Field("reported", description="Whether the source gives a number: 'reported' needs a 'value';"
                                                       " 'not_reached', 'not_estimable' and 'not_reported' have none."
                                                       " Not reported is never written as 0. 'not_available' (no value"
                                                       " either) when the source gives the figure where the curators"
                                                       " could not read it: only in a chart image, in a supplement or"
                                                       " full text they did not have; its location or 'note' says"
                                                       " which.")
    value: NonNegative | None = Field(None, description="The point estimate as printed, in 'unit': a percentage of"
                                                        " patients for a response rate, months for a median time.",
                                      examples=[25, 3.1])
    unit: UnitName | None = Field(None, description="Unit of 'value', of the confidence interval and of the range;"
                                                    " required with a value, and always the measure's own unit.")
    ci_low: NonNegative | None = Field(None, description="Lower bound of the confidence interval as printed, in 'unit';"
                                                         " give 'ci_level' with it.", examples=[2.0])
    ci_high: NonNegative | None = Field(None, description="Upper bound of the confidence interval as printed; when the"
                                                          " source gives it as not reached or not estimable, leave it out"
                                                          " and set 'ci_high_status'.", examples=[4.5])
    ci_high_status: Literal["not_estimable", "not_reached"] | None = Field(
        None, description="Instead of 'ci_high', when the source gives the upper bound as not estimable (NE) or not"
                          " reached.")
    ci_level: Level | None = Field(None, description="Confidence level of the interval,"
                                                                                     " in per cent.", examples=[95])
    range_low: NonNegative | None = Field(None, description="Lower end of the spread printed with the value (see"
                                                            " 'range_kind'); give 'range_high' with it.", examples=[1.2])
    range_high: NonNegative | None = Field(None, description="Upper end of the spread printed with the value.",
                                           examples=[14])
    range_kind: SpreadName = Field("range", description="What 'range_low' and 'range_high' are.")
    n: Annotated[int, Field(ge=1)] | None = Field(None, description="Patients the figure is based on, when the source"
                                                                    " states it; for a response rate, its denominator.",
                                                  examples=[20])
    responders: Count | None = Field(None, description="For a response rate: the patients with the response (its"
                                                       " numerator). A printed rate must agree with responders/n to half"
                                                       " a point, unless the figure names a 'discrepancy'.", examples=[5])
    variant: OneLine | None = Field(None, description="A qualifier shown with the measure when the figure is not the"
                                                      " measure as the Definitions page defines it, such as survival"
                                                      " counted from another time origin.",
                                    examples=["PFS-B (from start of part B)"])
    cross_study: bool = Field(True, description="False when the figure is not comparable with other studies' figures"
                                                " of the measure (e.g. another time origin); cross-study charts leave it out.")
    p_value: OneLine | None = Field(None, description="The p-value as printed, with what it compares when the source"
                                                      " says so.", examples=["0.002 vs PD in part A", "<0.001"])
    note: LongText | None = Field(None, description="What a reader needs to read this figure correctly, in the"
                                                    " curators' words (which patients it covers, how the source defines"
                                                    " it); shown beside the figure.")

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

    term: OneLine = Field(description="The event as the source names it.",
                          examples=["Neutropenia", "Infusion-related reaction"])
    grade: GradeName = Field(description="The grade or grades the source counts together in this row (CTCAE).")
    patients: Count = Field(description="Patients with the event at these grades.", examples=[3])
    percent: Percent | None = Field(
        None, description="The percentage as printed; it must agree with patients/n unless the entry names a"
                          " 'discrepancy'.", examples=[15])
    n: Annotated[int, Field(ge=1)] | None = Field(None, description="Patients the percentage is based on (usually the"
                                                                    " safety population).", examples=[20])

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        yield from super().domain_problems()
        if self.n is not None and self.patients > self.n:
            yield "patients", f"patients {self.patients} exceeds n {self.n}"


class Refractoriness(Sourced):
    """The share of a population refractory to a drug or drug class."""

    to: RefractoryClassName = Field(description="The drug or class of drugs the patients are refractory to.")
    percent: Percent | None = Field(None, description="Share of the population"
                                                                                    " refractory, in per cent as"
                                                                                    " printed.", examples=[100, 62.5])
    patients: Count | None = Field(None, description="Number of refractory patients, as printed.", examples=[27])
    n: Annotated[int, Field(ge=1)] | None = Field(None, description="Patients the share is based on.", examples=[44])
    status: Literal["reported", "not_reported"] = Field(
        "reported", description="'not_reported' when the source has a place for this figure (such as a table column)"
                                " but gives none for this population; then neither 'percent' nor 'patients'.")

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

    median: NonNegative | None = Field(None, description="Median number of prior lines of therapy.", examples=[4])
    low: NonNegative | None = Field(None, description="Lower end of the spread given with the median (see 'spread').",
                                    examples=[2])
    high: NonNegative | None = Field(None, description="Upper end of the spread given with the median.", examples=[9])
    spread: SpreadName = Field("range", description="What 'low' and 'high' are: the range, the interquartile range or"
                                                    " a 95% confidence interval.")
    as_stated: OneLine | None = Field(None, description="The figure exactly as the source prints it, when it is not a"
                                                        " median with a spread (a bound, a mean, a share of patients);"
                                                        " given instead of 'median' and shown as printed.",
                                      examples=[">3", "1 to 3"])
    status: Literal["reported", "not_reported"] = Field(
        "reported", description="'not_reported' when the source gives no figure for this population's prior lines;"
                                " then neither 'median' nor 'as_stated'.")

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
    antibodies: list[Slug] = Field(
        default_factory=list, max_length=10,
        description="Agent ids of the anti-CD38 antibodies every patient of the population had before, where the"
                    " source names them (a switch of antibody, e.g. daratumumab then isatuximab, is derived from"
                    " them). List an antibody only if every patient had it: for 'daratumumab or isatuximab', leave"
                    " the field out. Leave it out"
                    " when the population's refractory share to a named antibody already says it, or when the source"
                    " does not name the antibody.",
        examples=[["daratumumab"], ["felzartamab"]])


class Population(Strict):
    """Who was treated: numbers, prior therapy and refractoriness, each with its source."""

    n: PatientCount | None = Field(None, description="Number of patients, with where it is stated.")
    prior_lines: PriorLines | None = Field(None, description="Prior lines of therapy, with where they are stated.")
    refractory: list[Refractoriness] = Field(default_factory=list, max_length=50,
                                             description="Shares of the population refractory to a drug or class of"
                                                         " drugs, one entry per drug or class the source reports.")
    prior_anti_cd38: PriorAntiCD38 | None = Field(
        None, description="Earlier anti-CD38 therapy as the source defines the population. With the regimen's"
                          " agents it decides whether a cohort is an anti-CD38 retreatment; cohorts and groups"
                          " within the population inherit it where it holds for every subset.")
    description: LongText | None = Field(None, description="Who the patients were, in the curators' words, where the"
                                                           " figures do not say it all (how they were selected, what"
                                                           " they had in common).")
    retreated: PatientCount | None = Field(
        None, description="How many of these patients were given an anti-CD38 antibody again (retreated), when the"
                          " source states it and it differs from 'n' (e.g. 22 of 293); 'not_reported' when the source"
                          " leaves it out. Recorded once per study, beside the study's own number of patients (the"
                          " study's population, or that of the cohort standing for the whole study). Without it, the"
                          " atlas derives the number from the counts of the study's retreatment cohorts, marked"
                          " derived, counting patients in nested or overlapping cohorts once.",
        examples=[{"value": 22, "source": {"publication": "smith-2024-blood", "location": "Table 1"}}])

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        retreated = self.retreated.value if self.retreated is not None else None
        total = self.n.value if self.n is not None else None
        if retreated is not None and total is not None and retreated > total:
            yield "retreated", f"{retreated} retreated is more than the population's {total} patients"


class TherapyLine(Strict):
    """One line of therapy of one patient."""

    line: Annotated[int, Field(ge=1, le=50)] = Field(description="Number of the line in the patient's treatment history"
                                                                 " as the source counts it; 1 is the first line.",
                                                     examples=[3])
    regimen: Slug | None = Field(None, description="Id of the regimen record (evidence/regimens/<id>.yaml) when the line"
                                                   " was one; leave out otherwise.",
                                 examples=["lenalidomide-dexamethasone"])
    regimen_as_stated: OneLine = Field(description="The treatment as the source names it; shown in the patient's lines"
                                                   " even when 'regimen' is given.",
                                       examples=["Rd (lenalidomide, dexamethasone)"])
    cycles: Count | None = Field(None, description="Number of cycles given, as stated.", examples=[6])
    start_month: NonNegative | None = Field(None, description="Months from the patient's diagnosis to the start of the"
                                                              " line, when the source states it as a number (calendar"
                                                              " dates go in 'note').", examples=[26])
    duration_months: NonNegative | None = Field(None, description="How long the line lasted, in months, as stated.",
                                                examples=[4.5])
    best_response: ResponseName = Field("unknown", description="Best response to the line (IMWG); 'unknown' when the"
                                                               " source does not say.")
    anti_cd38: bool = Field(False, description="True when the line contains an anti-CD38 antibody; such lines are"
                                               " marked in the patient's lines and chart.")
    note: LongText | None = Field(None, description="What the source says about the line that the fields above cannot"
                                                    " hold (doses, dates, why it stopped), in the curators' words.")


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

    name: OneLine = Field(description="The characteristic, with its unit if it has one; each name is a row of the"
                                      " cohort's table of patients.", examples=["Age at diagnosis (years)", "Isotype"])
    value: AttributeValue = Field(description="Its value for this patient as the source gives it: text, a whole"
                                              " number, a number or true/false.", examples=[65, "IgA lambda", 19.4])


class Patient(Sourced):
    """One patient of a case report or case series, with the lines of therapy as the source lists them."""

    id: Slug = Field(description="Id of the patient, unique within the cohort.", examples=["case-1", "patient-3"])
    label: OneLine = Field(description="How the page names the patient, e.g. by the source's numbering; never more"
                                       " than the source publishes.", examples=["Patient 3"])
    attributes: list[PatientAttribute] = Field(default_factory=list, max_length=100,
                                               description="The patient's characteristics as the source gives them"
                                                           " (age, isotype, cytogenetics, ...), one entry each.")
    lines: list[TherapyLine] = Field(default_factory=list, max_length=50,
                                     description="The patient's lines of therapy, in order, as the source lists them.")
    note: LongText | None = Field(None, description="Anything else the source says about this patient that the page"
                                                    " should show, in the curators' words.")

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        yield from super().domain_problems()
        numbers = [line.line for line in self.lines]
        if numbers != sorted(numbers):
            yield "lines", f"lines must be listed in order; found {numbers}"


class Cohort(Strict):
    """An arm, part, dose level or subgroup of a study, with its regimen and its outcomes."""

    id: Slug = Field(description="Id of the cohort, unique within the study; the cohort's anchor on the study page is"
                                 " #cohort-<id>.", examples=["all-patients", "control-arm"])
    label: OneLine = Field(description="The cohort's name on the pages and charts: short, and clear beside the study's"
                                       " name.", examples=["All patients", "Part B (daratumumab + ATRA)"])
    role: RoleName = Field(description="What the cohort is within the study.")
    parent: Slug | None = Field(None, description="Id of the cohort of this study that this one was drawn from, e.g."
                                                  " the arm or the whole population a subgroup belongs to. The page"
                                                  " shows it as 'within <parent>', and the cohort inherits from it what"
                                                  " holds for every subset of its patients (a prior anti-CD38 status"
                                                  " such as 'refractory', a refractory share of 0% or 100%).",
                                examples=["all-patients"])
    regimen: Slug | None = Field(None, description="Id of the regimen record (evidence/regimens/<id>.yaml) the cohort"
                                                   " was treated with; its agents decide, with the prior anti-CD38"
                                                   " status, whether the cohort is an anti-CD38 retreatment. When the"
                                                   " source names the antibody but not its partners, use the"
                                                   " not-specified record (e.g. 'daratumumab-based-not-specified'); a"
                                                   " cohort without a regimen record is never counted as a retreatment.",
                                 examples=["daratumumab-pomalidomide-dexamethasone", "daratumumab-based-not-specified"])
    regimen_as_stated: OneLine | None = Field(None, description="The treatment in the source's words, shown beside the"
                                                                " regimen; needed when 'regimen' is left out.",
                                              examples=["Dara-based therapy", "DPd"])
    anti_cd38_retreatment: bool | None = Field(
        None, description="Optional. Whether the cohort is an anti-CD38 retreatment is derived from its regimen's"
                          " agents and its prior anti-CD38 status; a value typed here must agree with that"
                          " derivation, or validation fails.")
    description: LongText | None = Field(None, description="What the cohort is, in the curators' words, when the label"
                                                           " does not say it all (how the source defines the group,"
                                                           " whom it leaves out); shown under the cohort's heading.")
    population: Population | None = Field(None, description="The cohort's own patients, when the source describes them"
                                                            " apart from the study's.")
    outcomes: list[Outcome] = Field(default_factory=list, max_length=500,
                                    description="Every figure reported for the cohort, one entry each.")
    adverse_events: list[AdverseEvent] = Field(default_factory=list, max_length=500,
                                               description="Adverse events as the source tabulates them, one entry per"
                                                           " event and grade.")
    best_response: list["ResponseShare"] = Field(default_factory=list, max_length=20,
                                                 description="Patients by best response, one entry per category the"
                                                             " source reports.")
    patients: list[Patient] = Field(default_factory=list, max_length=500,
                                    description="Individual patients, for case reports and case series that describe"
                                                " each one.")
    follows: Slug | None = Field(
        None, description="Id of the cohort of this study whose patients this cohort follows at a later line of"
                          " therapy: the same patients (or some of them) treated again later, e.g. a first retreatment"
                          " after first use. Unlike 'parent' (a subset at the same time), it makes a line: the page"
                          " shows the lines in order, and the synthesis never uses two cohorts of one line of patients"
                          " together.",
        examples=["part-a", "first-retreatment"])


class ResponseShare(Sourced):
    """Patients whose best response fell in one IMWG category."""

    category: ResponseName = Field(description="The best-response category (IMWG).")
    patients: Count | None = Field(None, description="Patients whose best response fell in the category.",
                                   examples=[4])
    percent: Percent | None = Field(
        None, description="The share in per cent as printed; it must agree with patients/n unless the entry names a"
                          " 'discrepancy'.", examples=[20])
    n: Annotated[int, Field(ge=1)] | None = Field(None, description="Patients the share is based on.", examples=[20])

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        yield from super().domain_problems()
        if self.patients is None and self.percent is None:
            yield "patients", "give 'patients' or 'percent'"
        if self.patients is not None and self.n is not None and self.patients > self.n:
            yield "patients", f"patients {self.patients} exceeds n {self.n}"


class DiscrepancyClaim(Strict):
    """What one source says about the disputed figure."""

    source: Source = Field(description="Where this claim is printed.")
    says: OneLine = Field(description="What the source says there, quoted or closely paraphrased: enough to see the"
                                      " disagreement.", examples=["ORR 25% (5/20)"])


class Discrepancy(Strict):
    """Sources that disagree, or a source that contradicts itself, described in the curators' words."""

    id: Slug = Field(description="Id of the discrepancy, unique within the study; each figure concerned names it in"
                                 " its 'discrepancy', and the page anchors it as #discrepancy-<id>.",
                     examples=["orr-differs"])
    title: OneLine = Field(description="A short heading for the disagreement in the curators' words, shown on the page"
                                       " (the id is never shown).", examples=["Response rate differs between abstract"
                                                                               " and article"])
    summary: LongText = Field(description="What disagrees with what, in the curators' words.")
    claims: list[DiscrepancyClaim] = Field(min_length=1, max_length=20,
                                           description="What each source, or each place in one source, says.")
    resolution: LongText | None = Field(None, description="The curators' reading, if they have one, and why; leave it"
                                                          " out rather than pick a winner without saying so.")


class RelatedStudy(Strict):
    """Another study record that reports some of the same patients."""

    study: Slug = Field(description="Id of the other study record.", examples=["nooka-2019-dpd"])
    relation: Literal["same_patients", "overlapping_patients", "extension", "subgroup_of", "parent_of"] = Field(
        description="How this study's patients relate to the other's: the same patients, some of the same, an"
                    " extension of it, a subgroup of it ('subgroup_of'), or the study it is a subgroup of"
                    " ('parent_of').")
    note: LongText | None = Field(None, description="How the two overlap, in the curators' words.")


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


class ResponseCriteria(Sourced):
    """The criteria a study's responses were judged by, as its source names them."""

    criteria: OneLine = Field(description="The criteria as the source names them.", examples=["IMWG 2016"])


class Appraisal(Sourced):
    """A review's quality appraisal of its studies, as it reports it."""

    tool: OneLine = Field(description="The appraisal tool.", examples=["Mixed Methods Appraisal Tool (MMAT)"])
    appraised: Count = Field(description="How many studies the review appraised.", examples=[16])
    judgement: LongText = Field(description="What the review judged of them, in the curators' words; say whether it"
                                            " names the studies it appraised.")


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

    id: Slug = Field(description="The record's id: lower-case letters, digits and single hyphens, such as"
                                 " 'frerichs-2021-blood-adv' for a publication (first author, year, journal),"
                                 " 'frerichs-2021-dara-atra' for a study, 'daratumumab' for an agent. The file is named"
                                 " after it (<id>.yaml) and it is the record's URL, so it does not change (see"
                                 " 'moved_from').")
    curators: list[OneLine] = Field(default_factory=list, max_length=50,
                                    description="People who curated the record, written 'Surname AB'; a citation of"
                                                " the record's page names them as its authors (the atlas's"
                                                " contributors when none are listed).", examples=[["Smith AB"]])
    curation_note: LongText | None = Field(None, description="The curators' explanation of the judgement calls made"
                                                             " for this record (how an ambiguity in the sources was"
                                                             " read, what was left out and why), in their own words.")
    moved_from: list[Slug] = Field(default_factory=list, max_length=20,
                                   description="Earlier ids of this record; their published URLs redirect to the"
                                               " record's page.", examples=[["smith-2024"]])


class Publication(Record):
    """A source document: article, abstract, letter or registry entry."""

    type: PublicationTypeName = Field(description="What kind of document it is.")
    title: OneLine = Field(description="The title exactly as printed. When the curators do not have it (the document"
                                       " has none, or its title was not available to them) a short description in"
                                       " their words, with 'title_status' saying which, and the 'note' saying so.")
    title_status: TitleStatusName = Field(
        "given", description="Whose words 'title' is: 'given' for the document's own title; 'supplied' when the"
                             " document has no title and the curators described it; 'not_known' when the document"
                             " has a title the curators do not know (e.g. an extracted text without its first page)."
                             " Pages and citations show a title in the curators' words in square brackets, as"
                             " library catalogues do, and a citation adds that the published title is not known.",
        examples=["not_known"])
    authors: list[OneLine] = Field(default_factory=list, max_length=200,
                                   description="Authors in the document's order, written 'Surname AB' (surname, then"
                                               " initials without dots).", examples=[["Frerichs KA", "Verkleij CPM"]])
    authors_complete: bool = Field(False, description="True when 'authors' lists every author; otherwise citations end"
                                                      " the list with 'et al.'.")
    journal: OneLine | None = Field(None, description="Journal (for a conference abstract, the journal or supplement it"
                                                      " was printed in).", examples=["Blood Advances"])
    year: Annotated[int, Field(ge=1900, le=2100)] | None = Field(None, description="Year of publication.",
                                                                 examples=[2021])
    volume: OneLine | None = Field(None, description="Volume as printed.", examples=["5"])
    issue: OneLine | None = Field(None, description="Issue as printed.", examples=["22", "Suppl 1"])
    pages: OneLine | None = Field(None, description="Pages or article number as printed.",
                                  examples=["4612-4625", "e13989"])
    doi: Doi | None = Field(None, description="The bare DOI, without 'https://doi.org/' or 'doi:'; a DOI belongs to one"
                                              " publication record.", examples=["10.1182/bloodadvances.2021005220"])
    pmid: Pmid | None = Field(None, description="PubMed id, digits only.", examples=["34625791"])
    pmcid: Pmcid | None = Field(None, description="PubMed Central id.", examples=["PMC9153006"])
    registry_id: RegistryId | None = Field(None, description="For a trial registry entry: the trial's registry id"
                                                             " (ClinicalTrials.gov, EudraCT or ISRCTN).",
                                           examples=["NCT03000452"])
    cited_as: OneLine | None = Field(None, description="How the document is cited where the atlas found it, when the"
                                                       " atlas knows it through another source (e.g. a review's"
                                                       " reference list): that source and the reference number. Shown on"
                                                       " the publication's page.", examples=["Gay 2025, ref. 23"])
    note: LongText | None = Field(None, description="What a reader should know about the document itself, in the"
                                                    " curators' words: how the atlas knows it (e.g. only from a"
                                                    " review's reference list), a title the curators wrote, a year"
                                                    " inferred from the text. Shown on the publication's page.")

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        if self.title_status != "given" and (self.title.startswith("[") or self.title.endswith("]")):
            yield "title", "write a title in the curators' words without square brackets; pages and citations add them"

    @field_validator("doi")
    @classmethod
    def _doi_lowercase_prefix(cls, doi: str | None) -> str | None:
        if doi is not None and re.match(r"^(https?://|doi:)", doi, re.IGNORECASE):
            raise ValueError("write the bare DOI (10.xxxx/...), without 'https://doi.org/' or 'doi:'")
        return doi


class Study(Record):
    """One trial or real-world cohort, possibly reported in several publications."""

    title: OneLine = Field(description="A descriptive title in the curators' words (not an article's title): what was"
                                       " given to whom, and the design.",
                           examples=["Daratumumab retreatment after daratumumab-refractory disease (retrospective)"])
    short_name: OneLine | None = Field(None, description="The trial's acronym or name, if it has one. Charts label the"
                                                         " study's cohorts with it instead of the title, the list of"
                                                         " studies shows it under the title, and search finds the"
                                                         " study by it.", examples=["ICARIA-MM"])
    aliases: list[OneLine] = Field(default_factory=list, max_length=50,
                                   description="Other names readers may search for: other spellings of the acronym, a"
                                               " sponsor's code, a cohort's name.", examples=[["ICARIA"]])
    design: DesignName = Field(description="The study design; it decides the evidence type (clinical trial, real-world"
                                           " study, case report) and so the panel of the charts the study is shown in.")
    phase: OneLine | None = Field(None, description="Trial phase as printed.", examples=["3", "1/2"])
    registry_ids: list[RegistryId] = Field(default_factory=list, max_length=20,
                                           description="Trial registry ids (ClinicalTrials.gov, EudraCT or ISRCTN). A"
                                                       " registry id belongs to one study unless the two are linked in"
                                                       " 'related_studies'.", examples=[["NCT02990338"]])
    publications: list[Slug] = Field(min_length=1, max_length=100,
                                     description="Ids of the publication records reporting this study's patients (an"
                                                 " abstract and its later article belong to the same study).",
                                     examples=[["frerichs-2021-blood-adv", "frerichs-2021-cancers"]])
    countries: list[OneLine] = Field(default_factory=list, max_length=100,
                                     description="Countries where the patients were treated, as the source names them.",
                                     examples=[["Netherlands"]])
    summary: LongText = Field(description="Two to five sentences in the curators' own words, never copied: who was"
                                          " treated, with what, and what was found.")
    population: Population | None = Field(None, description="The study's whole population, each figure with its"
                                                            " source.")
    prior_anti_cd38: LongText | None = Field(None, description="More on the patients' earlier anti-CD38 therapy than"
                                                               " the population's 'prior_anti_cd38' status says (which"
                                                               " antibody, how it ended, how long before), in the"
                                                               " curators' words; shown under Population.")
    cohorts: list[Cohort] = Field(min_length=1, max_length=200,
                                  description="The study's arms, parts, dose levels and subgroups, each with its regimen"
                                              " and figures; a study of one group has one cohort with role 'overall'.")
    discrepancies: list[Discrepancy] = Field(default_factory=list, max_length=100,
                                             description="Points on which sources disagree, or a source contradicts"
                                                         " itself, about this study.")
    related_studies: list[RelatedStudy] = Field(default_factory=list, max_length=100,
                                                description="Other study records that report some of the same patients;"
                                                            " each link is shown on both studies' pages.")
    cited_sources: list[Slug] = Field(
        default_factory=list, max_length=100,
        description="Publications that state some of this study's figures second-hand (a review, another study's"
                    " article) without being its own publications; figures may name them as their source.",
        examples=[["gay-2025-front-oncol"]])
    response_criteria: ResponseCriteria | None = Field(
        None, description="The response criteria, where a source states them; left out when none does.")
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

    name: OneLine = Field(description="The regimen's name with its drugs written out, anti-CD38 antibody first and"
                                      " dexamethasone last.", examples=["Daratumumab + pomalidomide + dexamethasone"])
    agents: list[Slug] = Field(min_length=1, max_length=20,
                               description="Ids of the agent records of its drugs (evidence/agents/), in the order of"
                                           " the name.", examples=[["daratumumab", "pomalidomide", "dexamethasone"]])
    partners_specified: bool = Field(
        True, description="False when the source does not name the drugs given with the anti-CD38 antibody (e.g."
                          " 'Dara-based therapy'): 'agents' then lists only what is known, and the regimen's partner"
                          " class is 'Partners not specified', never anti-CD38 monotherapy.",
        examples=[False])
    aliases: list[OneLine] = Field(default_factory=list, max_length=50,
                                   description="Abbreviations and other names the literature uses; search finds the"
                                               " regimen by them.", examples=[["DPd", "Dara-Pd"]])
    description: LongText | None = Field(None, description="What the name does not convey (what an abbreviation stands"
                                                           " for, how the drugs are combined), in the curators' words;"
                                                           " shown on the regimen's page.")


class Agent(Record):
    """A drug, its class and its other names."""

    name: OneLine = Field(description="The drug's generic name.", examples=["Daratumumab"])
    agent_class: AgentClassName = Field(alias="class", description="The drug's class; 'anti_cd38_antibody' marks the"
                                                                   " antibodies whose retreatment the atlas is about.")
    placeholder: bool = Field(
        False, description="True for a record that stands for an unnamed drug of its class (e.g. 'anti-CD38 antibody,"
                           " not specified'): it counts for its class but never as a named drug, so it cannot make"
                           " or rule out a switch of antibody.",
        examples=[True])
    aliases: list[OneLine] = Field(default_factory=list, max_length=50,
                                   description="Brand names and development codes.", examples=[["Darzalex"]])
    description: LongText | None = Field(None, description="A sentence on what the drug is, in the curators' words;"
                                                           " shown on the agent's page.")


class PrismaFlow(Sourced):
    """PRISMA flow counts of a systematic review, as the review reports them."""

    records_identified_databases: Count | None = Field(
        None, description="Records identified by searching the databases.")
    records_identified_other: Count | None = Field(
        None, description="Records identified from other sources (registers, reference lists).")
    duplicates_removed: Count | None = Field(None, description="Duplicate records removed before screening.")
    excluded_title_abstract: Count | None = Field(None, description="Records excluded at title and abstract screening.")
    excluded_full_text: Count | None = Field(None, description="Full texts excluded.")
    publications_included: Count | None = Field(None, description="Publications included.")
    studies_included: Count | None = Field(
        None, description="Studies included (several publications may report one study).")


class SearchWindow(Sourced):
    """The databases and dates a review searched."""

    databases: list[OneLine] = Field(min_length=1, max_length=50, description="Databases searched, as the review names"
                                                                              " them.", examples=[["Medline", "Embase"]])
    start: dt.date | Literal["inception"] = Field(description="First date searched, or 'inception' when the review"
                                                              " searched from each database's start.",
                                                  examples=["inception", dt.date(2015, 1, 1)])
    end: dt.date = Field(description="Last date searched (the search's cut-off).", examples=[dt.date(2024, 6, 30)])
    languages: list[OneLine] = Field(default_factory=list, max_length=20, description="Languages the search was"
                                                                                     " restricted to, if any.",
                                     examples=[["English"]])

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
    measure: MeasureName | None = Field(
        None, description="The outcome measure the figure is about, when it is one; the Evidence summary shows the"
                          " atlas's own figures of that measure, for the same evidence type, beside it.",
        examples=["pfs"])
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




class ReviewConclusion(Sourced):
    """A conclusion a review draws in words, restated by the curators, with at most a short quotation."""

    id: Slug = Field(description="Id of the conclusion, unique within the review.", examples=["limited-benefit"])
    statement: OneLine = Field(description="The conclusion in the curators' own words.",
                               examples=["Retreatment brought limited benefit, also in anti-CD38-refractory patients."])
    as_stated: OneLine | None = Field(
        None, description="A short quotation of the review's own words: a phrase, not a passage; the statement says"
                          " the rest in the curators' words.", examples=["limited clinical benefit"])
    measure: MeasureName | None = Field(
        None, description="The outcome measure the conclusion is about, when it is one; the Evidence summary shows the"
                          " atlas's figures of that measure by prior anti-CD38 status beside it.", examples=["pfs"])
    evidence_type: FindingScopeName = Field(
        "all", description="Which studies the conclusion is about; the figures shown beside it are from those.",
        examples=["real_world"])
    studies: list[Slug] = Field(default_factory=list, max_length=1000,
                                description="Study records the conclusion is about, when it names some.")



class Review(Record):
    """A systematic review: its question, search, eligibility, flow, and the studies it includes and discusses."""

    title: OneLine = Field(description="A descriptive title in the curators' words.",
                           examples=["Anti-CD38 retreatment: a systematic review of trials and real-world studies"])
    publication: Slug = Field(description="Id of the publication record of the review itself.",
                              examples=["gay-2025-front-oncol"])
    question: LongText = Field(description="The review's question, in the curators' words.")
    summary: LongText = Field(description="What the review did and found, in the curators' own words.")
    search: SearchWindow = Field(description="Databases and dates searched, with where the review states them.")
    eligibility: list[LongText] = Field(min_length=1, max_length=100,
                                        description="The review's eligibility criteria, one entry each, in the curators'"
                                                    " words.")
    prisma: PrismaFlow = Field(description="PRISMA flow counts, with where the review gives them.")
    included_studies: list[Slug] = Field(min_length=1, max_length=10_000,
                                         description="Ids of the study records of the studies the review included; their"
                                                     " pages link to the review, and they may cite the review's"
                                                     " publication for their figures. A study the review only discusses"
                                                     " goes under 'discussed_studies'.", examples=[["icaria-mm"]])
    discussed_studies: list[DiscussedStudy] = Field(
        default_factory=list, max_length=10_000,
        description="Studies the review discusses but did not include, each with the reason; never also included.")
    findings: list[ReviewFinding] = Field(
        default_factory=list, max_length=1000,
        description="Figures the review states across studies (ranges, counts, pooled estimates), as it states them.")
    appraisal: Appraisal | None = Field(
        None, description="The review's quality appraisal of its studies, where it reports one.")
    conclusions: list[ReviewConclusion] = Field(
        default_factory=list, max_length=100,
        description="Conclusions the review draws in words, restated by the curators, each with where the review"
                    " states it.")
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
