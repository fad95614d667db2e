"""The controlled vocabulary: record kinds and their URLs, measures and units, response categories, designs.

Every other module (schema, checks, pages, charts, exports) reads these definitions;
none of them restates a label, a unit or a URL pattern.
"""

from __future__ import annotations

from dataclasses import dataclass


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
class Measure:
    """An outcome measure: what it is called, what unit it takes and how it is summarised."""

    name: str
    label: str
    short: str
    unit: str
    family: str  # "rate" (a proportion of patients) or "time" (a median time)
    definition: str
    phrase: str | None = None  # the label inside a sentence, where it reads otherwise ("overall response rate")
    # For a rate of best responses: the shallowest response category it counts (RESPONSE_CATEGORIES' ranks
    # define "or better"), so the rate can be computed from per-patient best responses (responses.py).
    at_least: str | None = None

    @property
    def in_sentence(self) -> str:
        """The label as it reads inside a sentence; never the label lowercased, which would lowercase 'VGPR'."""
        return self.phrase or self.label


_MEASURE_LIST = (
    Measure("orr", "Overall response rate", "ORR", "percent", "rate",
            "Partial response or better (IMWG).", "overall response rate", at_least="pr"),
    Measure("cbr", "Clinical benefit rate", "CBR", "percent", "rate",
            "Minimal response or better (IMWG).", "clinical benefit rate"),
    Measure("dcr", "Disease control rate", "DCR", "percent", "rate",
            "Stable disease or better (IMWG).", "disease control rate"),
    Measure("vgpr_or_better", "VGPR or better", "≥VGPR", "percent", "rate",
            "Very good partial response or better (IMWG).", at_least="vgpr"),
    Measure("cr_or_better", "CR or better", "≥CR", "percent", "rate",
            "Complete response or better (IMWG).", at_least="cr"),
    Measure("pfs", "Median progression-free survival", "PFS", "months", "time",
            "Median time from the start of the regimen to progression or death.",
            "median progression-free survival"),
    Measure("os", "Median overall survival", "OS", "months", "time",
            "Median time from the start of the regimen to death from any cause.", "median overall survival"),
    Measure("ttp", "Median time to progression", "TTP", "months", "time",
            "Median time from the start of the regimen to progression.", "median time to progression"),
    Measure("dor", "Median duration of response", "DoR", "months", "time",
            "Median time from first response to progression or death, among responders.",
            "median duration of response"),
    Measure("follow_up", "Median follow-up", "Follow-up", "months", "time",
            "Median duration of follow-up of the cohort.", "median follow-up"),
    Measure("ttnt", "Median time to next treatment", "TTNT", "months", "time",
            "Median time from the start of the regimen to the start of the next line of therapy.",
            "median time to next treatment"),
    Measure("time_to_retreatment", "Median time to anti-CD38 retreatment", "Time to retreatment", "months", "time",
            "Median time from the previous anti-CD38 therapy to the start of anti-CD38 retreatment.",
            "median time to anti-CD38 retreatment"),
    Measure("treatment_duration", "Median duration of treatment", "Treatment duration", "months", "time",
            "Median time on the regimen.", "median duration of treatment"),
)

MEASURES: dict[str, Measure] = {measure.name: measure for measure in _MEASURE_LIST}


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
class ResponseCategory:
    """An IMWG best-response category, ordered from deepest to none."""

    name: str
    label: str
    short: str
    rank: int


RESPONSE_CATEGORIES: dict[str, ResponseCategory] = {
    category.name: category
    for category in (
        ResponseCategory("scr", "Stringent complete response", "sCR", 1),
        ResponseCategory("cr", "Complete response", "CR", 2),
        ResponseCategory("vgpr", "Very good partial response", "VGPR", 3),
        ResponseCategory("pr", "Partial response", "PR", 4),
        ResponseCategory("mr", "Minimal response", "MR", 5),
        ResponseCategory("sd", "Stable disease", "SD", 6),
        # Some sources report minimal response and stable disease together; the atlas keeps them together.
        ResponseCategory("mr_or_sd", "Minimal response or stable disease (not separated by the source)", "MR/SD", 6),
        ResponseCategory("pd", "Progressive disease", "PD", 7),
        ResponseCategory("ne", "Not evaluable", "NE", 8),
        ResponseCategory("unknown", "Not reported", "NR", 9),
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

AGENT_CLASSES: dict[str, str] = {
    "anti_cd38_antibody": "Anti-CD38 monoclonal antibody",
    "imid": "Immunomodulatory drug (IMiD)",
    "celmod": "Cereblon E3 ligase modulator (CELMoD)",
    "proteasome_inhibitor": "Proteasome inhibitor",
    "corticosteroid": "Corticosteroid",
    "alkylating_agent": "Alkylating agent",
    "anthracycline": "Anthracycline",
    "topoisomerase_inhibitor": "Topoisomerase inhibitor",
    "platinum": "Platinum compound",
    "bcl2_inhibitor": "BCL-2 inhibitor",
    "checkpoint_inhibitor": "Immune checkpoint inhibitor",
    "bispecific_antibody": "Bispecific antibody",
    "monoclonal_antibody": "Monoclonal antibody (other target)",
    "retinoid": "Retinoid",
    "xpo1_inhibitor": "XPO1 inhibitor",
    "hdac_inhibitor": "HDAC inhibitor",
    "other": "Other",
}

# Drug classes a cohort or population can be refractory to, as they read after "Refractory to" (pages never
# change the case of a label: that would turn IMiD into "imid").
REFRACTORY_CLASSES: dict[str, str] = {
    "anti_cd38": "anti-CD38 antibody",
    "daratumumab": "daratumumab",
    "isatuximab": "isatuximab",
    "imid": "IMiD",
    "lenalidomide": "lenalidomide",
    "pomalidomide": "pomalidomide",
    "daratumumab_and_pomalidomide": "both daratumumab and pomalidomide",
    "proteasome_inhibitor": "proteasome inhibitor",
    "double_class": "two classes (IMiD and PI)",
    "triple_class": "three classes (IMiD, PI and anti-CD38)",
    "penta": "five drugs (penta-refractory)",
}

@dataclass(frozen=True)
class PriorAntiCD38Status:
    """What a cohort's patients had of anti-CD38 therapy before, and whether that makes the cohort a retreatment."""

    name: str
    label: str
    retreatment: bool
    definition: str


# In the order pages, legends and filters list them. A status never claims more than the sources state: an exposed
# population whose refractory share is not stated is "refractoriness not stated", never "partly refractory".
PRIOR_ANTI_CD38_STATUSES: dict[str, PriorAntiCD38Status] = {
    status.name: status
    for status in (
        PriorAntiCD38Status("refractory", "Refractory to anti-CD38", True,
                            "Every patient was refractory to an earlier anti-CD38 antibody."),
        PriorAntiCD38Status("exposed_partly_refractory", "Exposed, partly refractory", True,
                            "Every patient had an anti-CD38 antibody before, and the source states the share"
                            " refractory to it (more than 0% and less than 100%); the share is shown."),
        PriorAntiCD38Status("exposed_refractoriness_not_stated", "Exposed, refractoriness not stated", True,
                            "Every patient had an anti-CD38 antibody before; the source does not state how many"
                            " were refractory to it."),
        PriorAntiCD38Status("exposed_not_refractory", "Exposed, not refractory", True,
                            "Every patient had an anti-CD38 antibody before, and none was refractory to it."),
        PriorAntiCD38Status("partly_naive", "Includes anti-CD38-naive patients", False,
                            "Some patients had never had an anti-CD38 antibody, so the cohort as a whole is not"
                            " a retreatment."),
        PriorAntiCD38Status("naive", "Anti-CD38-naive", False,
                            "No patient had had an anti-CD38 antibody before."),
        PriorAntiCD38Status("not_stated", "Prior anti-CD38 not stated", False,
                            "The sources do not say what anti-CD38 therapy the patients had before; the atlas does"
                            " not count the cohort as a retreatment."),
    )
}

@dataclass(frozen=True)
class PriorAntiCD38Definition:
    """How a curator records a population's earlier anti-CD38 therapy, as its source defines the population."""

    name: str
    label: str
    text: str


# 'exposed' leaves the refractory split to the population's recorded refractory share; the two other 'exposed_'
# statuses and 'not_stated' are only ever derived. The other four read as the status they give.
PRIOR_ANTI_CD38_DEFINITIONS: dict[str, PriorAntiCD38Definition] = {
    definition.name: definition
    for definition in (
        PriorAntiCD38Definition("refractory", PRIOR_ANTI_CD38_STATUSES["refractory"].label,
                                "Every patient refractory to an earlier anti-CD38 antibody."),
        PriorAntiCD38Definition("exposed_not_refractory", PRIOR_ANTI_CD38_STATUSES["exposed_not_refractory"].label,
                                "Every patient given an anti-CD38 antibody before, none refractory to it."),
        PriorAntiCD38Definition("exposed", "Exposed to anti-CD38",
                                "Every patient given an anti-CD38 antibody before; whether they were refractory is"
                                " taken from the population's refractory share (100%: refractory, 0%: not"
                                " refractory, another share: exposed with that share refractory; none stated:"
                                " refractoriness not stated)."),
        PriorAntiCD38Definition("partly_naive", PRIOR_ANTI_CD38_STATUSES["partly_naive"].label,
                                "Some patients had an anti-CD38 antibody before and some had not."),
        PriorAntiCD38Definition("naive", PRIOR_ANTI_CD38_STATUSES["naive"].label,
                                "No patient had an anti-CD38 antibody before."),
    )
}

# Refractory classes whose share is the share refractory to anti-CD38 therapy.
ANTI_CD38_REFRACTORY_CLASSES: tuple[str, ...] = ("anti_cd38", "daratumumab", "isatuximab")

# Refractory classes that name one antibody, with the agent record of that antibody: a population refractory to
# it had it before (partners.prior_antibodies reads this when a population does not list its antibodies).
REFRACTORY_CLASS_AGENTS: dict[str, str] = {"daratumumab": "daratumumab", "isatuximab": "isatuximab"}

# The partner axis: what an anti-CD38 retreatment is given with, from its regimen's agents (partners.partners holds the
# rules). A regimen's partner group is the set of these classes among its partners, none hidden behind another:
# Pom-PAD-Dara is '+ IMiD, proteasome inhibitor and chemotherapy'. Ordered as groups and their names list them.
PARTNER_CLASSES: dict[str, str] = {
    "imid": "IMiD",
    "proteasome_inhibitor": "proteasome inhibitor",
    "bispecific": "bispecific antibody",
    "checkpoint_inhibitor": "checkpoint inhibitor",
    "retinoid": "ATRA",
    "chemotherapy": "chemotherapy",
    "other": "other partner",
}
# Partner groups that are not a set of partner classes, with where they stand among the groups.
PARTNER_GROUPS_FIRST: dict[str, str] = {"anti_cd38_monotherapy": "Anti-CD38 antibody alone"}
PARTNER_GROUPS_LAST: dict[str, str] = {
    "unspecified": "Partners not specified",
    "not_retreatment": "Not an anti-CD38 retreatment",
}
# Joins the partner classes of one group in its key (imid+proteasome_inhibitor).
PARTNER_JOIN = "+"

# Whether a partner drug is new to a cohort's patients: derived only where the source says so.
PARTNER_HISTORY: dict[str, str] = {
    "refractory": "refractory to it before",
    "not_stated": "earlier exposure not stated",
}

# The antibody axis: the anti-CD38 antibody of a retreatment against the one the patients had before.
ANTIBODY_AXIS: dict[str, str] = {
    "same": "Same antibody again",
    "switch": "Switch to another antibody",
    "not_stated": "Earlier antibody not stated",
    "not_retreatment": "Not an anti-CD38 retreatment",
}

# Why a cohort is left out of an exploratory pooled analysis (synthesis.py), worded for the pages and downloads.
SYNTHESIS_EXCLUSIONS: dict[str, str] = {
    "not_retreatment": "not an anti-CD38 retreatment (no anti-CD38 antibody in the regimen, or anti-CD38-naive,"
                       " partly naive or prior therapy not stated)",
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

# The search page's filters: the key Pagefind indexes each under (search.search_view gives each record its
# values), with the label the page shows. Ordered as the page lists them.
SEARCH_FILTERS: dict[str, str] = {
    "type": "Record type",
    "agent": "Agent",
    "partner": "Partners",
    "antibody": "Antibody",
    "design": "Design",
    "prior": "Prior anti-CD38",
}
