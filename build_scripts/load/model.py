"""The record kinds (publication, study, regimen, agent, review) and their per-record validation (pydantic; unknown
fields are errors), built from the parts in parts.py and study_parts.py and the field types in fields.py."""

from __future__ import annotations

import re
from typing import Annotated, Any, Iterator

from pydantic import Field, ValidationError, field_validator

from build_scripts.load.choices import AgentClassName, DesignName, PublicationTypeName, TitleStatusName
from build_scripts.load.fields import (
    DOI_PATTERN, Doi, LongText, OneLine, PMCID_PATTERN, PMID_PATTERN, Pmcid, Pmid, REGISTRY_PATTERN, RegistryId,
    SLUG_PATTERN, Slug,
)
from build_scripts.load.parts import Cohort, Population, Strict
from build_scripts.load.study_parts import (
    Appraisal, Comparison, Discrepancy, DiscussedStudy, EligibilityCriterion, PrismaFlow, RelatedStudy,
    ResponseCriteria, ReviewConclusion, ReviewFinding, SearchWindow, TrialStatus,
)


class Record(Strict):
    """Fields every record has."""

    id: Slug = Field(description="The record's id: lower-case letters, digits and single hyphens, such as"
                                 " 'frerichs-2021-blood-adv' for a publication (first author, year, journal),"
                                 " '{example_study_id}' for a study, '{example_agent}' for an agent. The file is named"
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
                                       " given to whom, and the design.")
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
    prior_exposure: LongText | None = Field(None, description="More on the patients' earlier {index_adjective}"
                                                               " therapy than the population's 'prior_exposure' status"
                                                               " says (which {index_noun}, how it ended, how long before),"
                                                               " in the curators' words; shown under Population.")
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

    name: OneLine = Field(description="The regimen's name with its drugs written out, {regimen_name_order}.")
    agents: list[Slug] = Field(min_length=1, max_length=20,
                               description="Ids of the agent records of its drugs (evidence/agents/), in the order of"
                                           " the name.")
    partners_specified: bool = Field(
        True, description="False when the source does not name the drugs given with the {index_agent} (e.g."
                          " '{example_unnamed_partners}'): 'agents' then lists only what is known, and the regimen's"
                          " partner class is 'Partners not specified', never {index_adjective} monotherapy.",
        examples=[False])
    aliases: list[OneLine] = Field(default_factory=list, max_length=50,
                                   description="Abbreviations and other names the literature uses; search finds the"
                                               " regimen by them.")
    description: LongText | None = Field(None, description="What the name does not convey (what an abbreviation stands"
                                                           " for, how the drugs are combined), in the curators' words;"
                                                           " shown on the regimen's page.")


class Agent(Record):
    """A drug, its class and its other names."""

    name: OneLine = Field(description="The drug's generic name.")
    agent_class: AgentClassName = Field(alias="class", description="The drug's class; '{index_class}' marks the"
                                                                   " {index_nouns} whose {question_noun} the atlas is"
                                                                   " about.")
    placeholder: bool = Field(
        False, description="True for a record that stands for an unnamed drug of its class (e.g. '{index_agent},"
                           " not specified'): it counts for its class but never as a named drug, so it cannot make"
                           " or rule out a switch of {index_noun}.",
        examples=[True])
    aliases: list[OneLine] = Field(default_factory=list, max_length=50,
                                   description="Brand names and development codes.")
    description: LongText | None = Field(None, description="A sentence on what the drug is, in the curators' words;"
                                                           " shown on the agent's page.")


class Review(Record):
    """A systematic review: its question, search, eligibility, flow, and the studies it includes and discusses."""

    title: OneLine = Field(description="A descriptive title in the curators' words.")
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
