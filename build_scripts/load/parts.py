"""The parts every record kind builds on, and a cohort's: sources, outcomes, populations, patients and cohorts."""

from __future__ import annotations

from typing import Annotated, Any, Iterator, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from build_scripts.load.choices import (
    ExposureName, GradeName, MeasureName, RefractoryClassName, ResponseName, RoleName, SpreadName, StatusName, UnitName,
)
from build_scripts.load.fields import (
    Count, Level, LongText, NonNegative, Number, OneLine, Percent, Slug,
)
from build_scripts.load.vocabulary import MEASURES, STATUSES, UNITS, WORDS


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


class PriorExposure(Sourced):
    """Earlier {index_adjective} therapy of a population, as its source defines the population."""

    status: ExposureName = Field(
        description="How the source defines the population, as one of the topic's exposure definitions.",
        examples=["refractory", "exposed", "naive"])
    as_stated: OneLine | None = Field(
        None, description="The source's own words for the population, e.g. '{example_agent}-refractory patients'.")
    agents: list[Slug] = Field(
        default_factory=list, max_length=10,
        description="Agent ids of the {index_agents} every patient of the population had before, where the"
                    " source names them (a switch of {index_noun}, e.g. {example_agent} then {example_other_agent}, is"
                    " derived from them). List {a_index_noun} only if every patient had it: for '{example_agent} or"
                    " {example_other_agent}', leave"
                    " the field out. Leave it out"
                    " when the population's refractory share to a named {index_noun} already says it, or when the source"
                    " does not name the {index_noun}.")


class Population(Strict):
    """Who was treated: numbers, prior therapy and refractoriness, each with its source."""

    n: PatientCount | None = Field(None, description="Number of patients, with where it is stated.")
    prior_lines: PriorLines | None = Field(None, description="Prior lines of therapy, with where they are stated.")
    refractory: list[Refractoriness] = Field(default_factory=list, max_length=50,
                                             description="Shares of the population refractory to a drug or class of"
                                                         " drugs, one entry per drug or class the source reports.")
    prior_exposure: PriorExposure | None = Field(
        None, description="Earlier {index_adjective} therapy as the source defines the population. With the"
                          " regimen's agents it decides whether a cohort is {a_question_cohort}; cohorts and groups"
                          " within the population inherit it where it holds for every subset.")
    description: LongText | None = Field(None, description="Who the patients were, in the curators' words, where the"
                                                           " figures do not say it all (how they were selected, what"
                                                           " they had in common).")
    in_question: PatientCount | None = Field(
        None, description="How many of these patients were given {a_index_agent} again ({question_participle}),"
                          " when the source states it and it differs from 'n' (e.g. 22 of 293); 'not_reported' when"
                          " the source leaves it out. Recorded once per study, beside the study's own number of"
                          " patients (the study's population, or that of the cohort standing for the whole study)."
                          " Without it, the atlas derives the number from the counts of the study's {question_noun}"
                          " cohorts, marked derived, counting patients in nested or overlapping cohorts once.",
        examples=[{"value": 22, "source": {"publication": "smith-2024-blood", "location": "Table 1"}}])

    def domain_problems(self) -> Iterator[tuple[str, str]]:
        counted = self.in_question.value if self.in_question is not None else None
        total = self.n.value if self.n is not None else None
        if counted is not None and total is not None and counted > total:
            participle = WORDS["question_participle"]
            yield "in_question", f"{counted} {participle} is more than the population's {total} patients"


class TherapyLine(Strict):
    """One line of therapy of one patient."""

    line: Annotated[int, Field(ge=1, le=50)] = Field(description="Number of the line in the patient's treatment history"
                                                                 " as the source counts it; 1 is the first line.",
                                                     examples=[3])
    regimen: Slug | None = Field(None, description="Id of the regimen record (evidence/regimens/<id>.yaml) when the line"
                                                   " was one; leave out otherwise.")
    regimen_as_stated: OneLine = Field(description="The treatment as the source names it; shown in the patient's lines"
                                                   " even when 'regimen' is given.")
    cycles: Count | None = Field(None, description="Number of cycles given, as stated.", examples=[6])
    start_month: NonNegative | None = Field(None, description="Months from the patient's diagnosis to the start of the"
                                                              " line, when the source states it as a number (calendar"
                                                              " dates go in 'note').", examples=[26])
    duration_months: NonNegative | None = Field(None, description="How long the line lasted, in months, as stated.",
                                                examples=[4.5])
    best_response: ResponseName = Field("unknown", description="Best response to the line ({response_criteria});"
                                                               " 'unknown' when the source does not say.")
    index_drug: bool = Field(False, description="True when the line contains a drug of the index class; such lines are"
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
                                       " name.", examples=["All patients"])
    role: RoleName = Field(description="What the cohort is within the study.")
    parent: Slug | None = Field(None, description="Id of the cohort of this study that this one was drawn from, e.g."
                                                  " the arm or the whole population a subgroup belongs to. The page"
                                                  " shows it as 'within <parent>', and the cohort inherits from it what"
                                                  " holds for every subset of its patients (a prior {index_adjective}"
                                                  " status such as 'refractory', a refractory share of 0% or 100%).",
                                examples=["all-patients"])
    regimen: Slug | None = Field(None, description="Id of the regimen record (evidence/regimens/<id>.yaml) the cohort"
                                                   " was treated with; its agents decide, with the prior"
                                                   " {index_adjective} status, whether the cohort is"
                                                   " {a_question_cohort}. When the source names the {index_noun} but not"
                                                   " its partners, use the not-specified record (e.g."
                                                   " '{example_agent}-based-not-specified'); a cohort without a"
                                                   " regimen record is never counted as a {question_noun}.")
    regimen_as_stated: OneLine | None = Field(None, description="The treatment in the source's words, shown beside the"
                                                                " regimen; needed when 'regimen' is left out.")
    answers_question: bool | None = Field(
        None, description="Optional. Whether the cohort is {a_question_cohort} is derived from its regimen's"
                          " agents and its prior {index_adjective} status; a value typed here must agree with that"
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
                          " therapy: the same patients (or some of them) treated again later, e.g. a first"
                          " {question_noun} after first use. Unlike 'parent' (a subset at the same time), it makes a"
                          " line: the page shows the lines in order, and the synthesis never uses two cohorts of one"
                          " line of patients together.",
        examples=["part-a", "second-course"])


class ResponseShare(Sourced):
    """Patients whose best response fell in one {response_criteria} category."""

    category: ResponseName = Field(description="The best-response category ({response_criteria}).")
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


Cohort.model_rebuild()  # resolves the forward reference to ResponseShare, defined after Cohort
