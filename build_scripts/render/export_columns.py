"""The columns of the downloads: the public contract the CSV writer, the data package and the data dictionary share."""

from __future__ import annotations

from typing import Sequence

from build_scripts.derive.meta_analysis import CONTINUITY_CORRECTION
from build_scripts.derive.synthesis_types import MIN_COHORTS, POOLED_MEASURES, RANGE_MEASURES
from build_scripts.load.vocabulary import (
    INDEX_AXIS, DESIGNS, EVIDENCE_TYPES, EXPOSURE_STATUSES, MEASURES, PARTNER_CLASSES, PARTNER_GROUPS_FIRST,
    PARTNER_GROUPS_LAST, PARTNER_JOIN, POOLING_METHODS, PRIMARY_POOLING_METHOD, STATUSES,
    SYNTHESIS_EXCLUSIONS, TRIAL_STATUSES, UNITS, WORDS, TopicList, upper_first,
)
from build_scripts.render.csv_cells import Column, LIST_SEPARATOR


QUESTION_COUNT_BASES = ("recorded", "derived", "derived_at_least", "not_reported")


# Columns named for the index class (the topic's index_key): whether a cohort is in the question, its prior status
# and the share refractory to the index class. export.py fills them by these names.
def question_column() -> str:
    return f"{WORDS['index_key']}_{WORDS['question_key']}"


def question_count_columns() -> tuple[str, str, str]:
    """The columns of a study's patients in the question: their number, how it was found, the cohorts added up."""
    count = f"n_{WORDS['question_participle_key']}"
    return count, f"{count}_basis", f"{count}_cohort_ids"


def index_switch_column() -> str:
    """Whether a cohort's index agent is the one had before (the same, or a switch), as a column name."""
    return WORDS["index_noun_key"]


def prior_status_column() -> str:
    return f"prior_{WORDS['index_key']}_status"


def prior_refractory_column() -> str:
    return f"prior_{WORDS['index_key']}_refractory_percent"


def _an_index_agent() -> str:
    return WORDS["a_index_agent"]


def _study_columns() -> tuple[Column, ...]:
    count, basis_column, cohorts_column = question_count_columns()
    return (
        Column("study_id", "string", "Stable id of the study; its page is /studies/<study_id>/.", required=True),
        Column("title", "string", "Title of the study record, written by the curators.", required=True),
        Column("design", "string", "Study design.", required=True, enum=tuple(DESIGNS)),
        Column("evidence_type", "string", "Evidence type the design belongs to.", required=True, enum=tuple(EVIDENCE_TYPES)),
        Column("registry_ids", "string", f"Trial registry ids, separated by '{LIST_SEPARATOR}'."),
        Column("dois", "string", f"DOIs of every publication of the study, separated by '{LIST_SEPARATOR}'."),
        Column("n_patients", "integer", "Number of patients in the study as its source states it (the study's own count, else"
                                        " that of the cohort standing for the whole study), as its page shows it; empty when"
                                        " not recorded or not reported."),
        Column("url", "string", "Stable URL of the study page.", required=True),
        Column("short_name", "string", "Trial name or acronym, if any."),
        Column("publication_ids", "string", f"Ids of the study's publication records, separated by '{LIST_SEPARATOR}'."),
        Column("regimen_ids", "string", f"Ids of the regimens of the study's cohorts, separated by '{LIST_SEPARATOR}'."),
        Column("related_study_ids", "string", f"Studies that report some of the same patients, separated by '{LIST_SEPARATOR}'."),
        Column("review_ids", "string", f"Systematic reviews that include the study, separated by '{LIST_SEPARATOR}'."),
        Column("discrepancies", "integer", "Number of discrepancies between sources recorded for the study.", required=True),
        Column("discussing_review_ids", "string", "Systematic reviews that discuss the study without including it,"
                                                  f" separated by '{LIST_SEPARATOR}'."),
        Column("trial_status", "string", "Latest trial status a source gives; empty when none is recorded.",
               enum=tuple(TRIAL_STATUSES)),
        Column("cited_source_ids", "string", "Publications that state some of the study's figures without being its own,"
                                             f" separated by '{LIST_SEPARATOR}'."),
        Column("partner_classes", "string", "Partner groups of the study's cohorts (see partner_class in outcomes.csv),"
                                            f" in the atlas's order, separated by '{LIST_SEPARATOR}'."),
        Column(f"{index_switch_column()}_axes", "string", f"{upper_first(WORDS['index_noun'])} axis values of the study's cohorts"
                                          f" (see {index_switch_column()} in outcomes.csv),"
                                          f" separated by '{LIST_SEPARATOR}'."),
        Column(count, "integer", f"How many of the study's patients were {WORDS['question_participle']} with"
                                 f" {_an_index_agent()}, as its page shows it: as the source states it"
                                 f" (recorded), else the sum of its {WORDS['question_noun']} cohorts' counts,"
                                 " patients in nested cohorts or successive lines counted once (derived; a lower"
                                 f" bound when {basis_column} says so); empty when not reported or when no"
                                 f" cohort is a {WORDS['question_noun']}."),
        Column(basis_column, "string", f"How {count} was found: 'recorded' (stated by the source), 'derived'"
                                       f" (the sum of the cohorts in {cohorts_column}), 'derived_at_least' (a"
                                       f" lower bound: a {WORDS['question_noun']} cohort without a count, or"
                                       " cohorts that may share patients), 'not_reported'; empty when no cohort is"
                                       f" a {WORDS['question_noun']}.",
               enum=QUESTION_COUNT_BASES),
        Column(cohorts_column, "string", f"For a derived {count}, the cohorts whose counts are added,"
                                         f" separated by '{LIST_SEPARATOR}'."),
    )


STUDY_COLUMNS: Sequence[Column] = TopicList(_study_columns)

def partner_group_pattern() -> str:
    """A partner group: one of the special groups, or partner classes joined by PARTNER_JOIN in the topic's order."""
    alternatives = "|".join(PARTNER_CLASSES)
    return (f"({'|'.join([*PARTNER_GROUPS_FIRST, *PARTNER_GROUPS_LAST])}"
            f"|({alternatives})(\\{PARTNER_JOIN}({alternatives}))*)")


def _partner_class_description() -> str:
    return (
        f"What the cohort's {WORDS['index_agent']} is given with, derived by the atlas from its regimen's agent classes"
        f" ({WORDS['never_partners_note']}): every partner class present, joined by '" + PARTNER_JOIN + "' in this"
        " order, none hidden behind another: " + "; ".join(f"'{name}' ({label})" for name, label in PARTNER_CLASSES.items())
        + "; or " + "; ".join(f"'{name}' ({label})" for name, label in {**PARTNER_GROUPS_FIRST, **PARTNER_GROUPS_LAST}.items())
        + f". Whether the {WORDS['index_noun']} is the one the patients had before is the column "
        + index_switch_column() + ", not a partner class.")


def _outcome_columns() -> tuple[Column, ...]:
    return (
        Column("study_id", "string", "Study the figure belongs to (studies.csv).", required=True),
        Column("cohort_id", "string", "Cohort within the study (arm, part, dose level or subgroup).", required=True),
        Column("regimen_id", "string", "Controlled regimen of the cohort; empty when the source names no specific regimen."),
        Column("measure", "string", "Outcome measure; see the measures table.", required=True, enum=tuple(MEASURES)),
        Column("value", "number", "Point estimate; empty unless status is 'reported'."),
        Column("unit", "string", "Unit of value and of the interval.", enum=tuple(UNITS)),
        Column("ci_low", "number", "Lower bound of the confidence interval."),
        Column("ci_high", "number", "Upper bound of the confidence interval; empty when not reached or not estimable (see ci_high_status)."),
        Column("ci_level", "number", "Confidence level of the interval, in per cent."),
        Column("n", "integer", "Patients the figure is based on."),
        Column("responders", "integer", "Patients with the response, for response rates, where stated."),
        Column("status", "string", "Whether the figure was reported, not reached, not estimable or not reported.",
               required=True, enum=tuple(STATUSES)),
        Column("derived", "boolean", "True when the atlas curators computed the figure from what the source states.", required=True),
        Column("source_id", "string", "Publication record the figure comes from.", required=True),
        Column("source_doi", "string", "DOI of that publication, if it has one."),
        Column("source_location", "string", "Where in the publication: table, figure legend or section.", required=True),
        Column("discrepancy", "string", "Id of the discrepancy this figure is part of, on the study page; empty if none."),
        Column("cohort_label", "string", "Label of the cohort.", required=True),
        Column(question_column(), "boolean",
               f"True when the cohort is {WORDS['a_question_cohort']}, derived by the atlas: its"
               f" regimen holds {_an_index_agent()} and every patient had {_an_index_agent()} before (refractory,"
               " exposed with or without a stated share refractory, or exposed not refractory). False for"
               " cohorts shown for context (control arms, naive or partly naive cohorts, prior therapy not stated).",
               required=True),
        Column(prior_status_column(), "string",
               f"The cohort's prior {WORDS['index_adjective']} status, derived from how the source defines the cohort"
               " or a group containing it and from the share refractory: " + "; ".join(
                   f"{name} ({status.label})" for name, status in EXPOSURE_STATUSES.items()) + ".",
               required=True, enum=tuple(EXPOSURE_STATUSES)),
        Column(prior_refractory_column(), "number",
               f"Per cent of the cohort's population refractory to {WORDS['index_adjective']} therapy, as recorded for"
               " the population the status comes from; empty when not reported."),
        Column("partner_class", "string", _partner_class_description(), required=True,
               pattern=partner_group_pattern()),
        Column("partner_drugs", "string", "The partner drugs of the cohort's regimen by name, each followed by what the"
                                          " sources state of the patients' earlier exposure to it (refractory before)"
                                          f" where they state it, separated by '{LIST_SEPARATOR}'."),
        Column(index_switch_column(), "string", f"Whether the cohort's {WORDS['index_agent']} is the one its patients had before: "
               + "; ".join(f"'{name}' ({label})" for name, label in INDEX_AXIS.items()) + ". Derived by the atlas"
               f" from the {WORDS['index_nouns']} the records name for the cohort's regimen and for its patients' earlier therapy.",
               required=True, enum=tuple(INDEX_AXIS)),
        Column("evidence_type", "string", "Evidence type of the study.", required=True, enum=tuple(EVIDENCE_TYPES)),
        Column("variant", "string", "Qualifier of the measure, such as a different time origin."),
        Column("ci_high_status", "string", "'not_reached' or 'not_estimable' when the interval is open-ended.",
               enum=("not_reached", "not_estimable")),
        Column("range_low", "number", "Lower end of the range or interquartile range."),
        Column("range_high", "number", "Upper end of the range or interquartile range."),
        Column("range_kind", "string", "What range_low and range_high are.", enum=("range", "iqr", "ci95")),
        Column("derivation", "string", "How a derived figure was computed."),
        Column("p_value", "string", "P value as printed, with its comparison."),
    )


OUTCOME_COLUMNS: Sequence[Column] = TopicList(_outcome_columns)

PRIMARY_LABEL = POOLING_METHODS[PRIMARY_POOLING_METHOD]
SENSITIVITY_METHODS: tuple[str, ...] = tuple(m for m in POOLING_METHODS if m != PRIMARY_POOLING_METHOD)
SYNTHESIS_METHODS: dict[str, str] = {
    PRIMARY_POOLING_METHOD: f"pooled: the main columns hold the {PRIMARY_LABEL} estimate, the columns starting "
                            + " and ".join(f"'{m}_'" for m in SENSITIVITY_METHODS) + " the sensitivity analyses",
    "not_pooled": "no pooled estimate (see note)",
    "range": "range of the medians (never pooled)",
}


def _sensitivity_columns(method: str) -> tuple[Column, ...]:
    label = POOLING_METHODS[method]
    return (
        Column(f"{method}_value", "number", f"Sensitivity analysis: the pooled proportion by {label} (inverse-variance"
                                            " random effects on continuity-corrected logits), per cent."),
        Column(f"{method}_ci_low", "number", f"Lower bound of the {label} confidence interval (normal), per cent."),
        Column(f"{method}_ci_high", "number", f"Upper bound of the {label} confidence interval, per cent."),
        Column(f"{method}_pi_low", "number", f"Lower bound of the {label} prediction interval, per cent."),
        Column(f"{method}_pi_high", "number", f"Upper bound of the {label} prediction interval, per cent."),
        Column(f"{method}_tau2", "number", f"Tau-squared by {label}, logit scale."),
    )


def _synthesis_columns() -> tuple[Column, ...]:
    return (
        Column("question", "string", "For a clinical question's answer: the question's id (its page is"
                                     " questions/<id>/); empty for a stratum's row. A question's cohorts are those of"
                                     " every stratum that match it, so its rows repeat patients of the stratum rows.",
               pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$"),
        Column("partner_class", "string", "Stratum: the partner group of its cohorts (see outcomes.csv); empty for a"
                                          " question's row.", pattern=partner_group_pattern()),
        Column(prior_status_column(), "string", f"Stratum: the prior {WORDS['index_adjective']} status of its cohorts"
                                                " (see outcomes.csv); empty for a question's row.",
               enum=tuple(EXPOSURE_STATUSES)),
        Column("measure", "string", "Outcome measure; response rates are pooled, median times only given as ranges.",
               required=True, enum=POOLED_MEASURES + RANGE_MEASURES),
        Column("analysis", "string", "'primary' uses every eligible cohort; 'sensitivity' leaves out case reports and case"
                                     " series (given only where the primary analysis uses one).",
               required=True, enum=("primary", "sensitivity")),
        Column("method", "string", "What the row holds: " + "; ".join(
            f"{name}: {text}" for name, text in SYNTHESIS_METHODS.items()) + ".", required=True,
               enum=tuple(SYNTHESIS_METHODS)),
        Column("k", "integer", "Number of independent cohorts used.", required=True),
        Column("patients", "integer", "Patients in the cohorts used (the n each figure is based on); empty for a range of"
                                      " medians when a cohort used does not report its number of patients."),
        Column("value", "number", f"Pooled proportion in per cent by the {PRIMARY_LABEL}: random effects on the logit"
                                  " scale fitted by maximum likelihood from each cohort's exact binomial likelihood (no"
                                  " continuity correction), back-transformed; empty when not pooled. Exploratory: not a"
                                  " substitute for a systematic review."),
        Column("ci_low", "number", "Lower bound of its confidence interval (Wald, on the logit scale, with the standard error"
                                   " from the observed information), per cent."),
        Column("ci_high", "number", "Upper bound of that interval, per cent."),
        Column("ci_level", "number", "Level of the confidence and prediction intervals, per cent."),
        Column("pi_low", "number", "Lower bound of its prediction interval (t distribution, k-2 degrees of freedom, with"
                                   " tau-squared and the standard error), per cent: where a new cohort's proportion is"
                                   " expected to fall."),
        Column("pi_high", "number", "Upper bound of the prediction interval, per cent."),
        Column("i2", "number", "I-squared (Higgins and Thompson, from Cochran's Q of the continuity-corrected logits), per"
                               " cent: the share of the variation between cohorts not explained by chance."),
        Column("tau2", "number", f"Between-cohort variance tau-squared on the logit scale, by the {PRIMARY_LABEL}."),
        Column("q", "number", "Cochran's Q heterogeneity statistic (k-1 degrees of freedom) of the continuity-corrected"
                              " logits."),
        *(column for method in SENSITIVITY_METHODS for column in _sensitivity_columns(method)),
        Column("range_low", "number", "Lowest figure among the cohorts used, as recorded (per cent, or months for medians)."),
        Column("range_high", "number", "Highest figure among the cohorts used."),
        Column("unit", "string", "Unit of value, intervals and range.", enum=tuple(UNITS)),
        Column("cohorts_used", "string", "Cohorts used, as study_id/cohort_id (outcomes.csv), separated by"
                                         f" '{LIST_SEPARATOR}'."),
        Column("cohorts_not_reached", "string", "For medians: cohorts whose median was not reached, separated by"
                                                f" '{LIST_SEPARATOR}'."),
        Column("cohorts_excluded", "string", "Every other cohort of the stratum, as 'study_id/cohort_id: reason', and for"
                                             " 'overlap' the cohort used instead, separated by"
                                             f" '{LIST_SEPARATOR}'. Reasons: " + "; ".join(
                                                 f"{name} ({text})" for name, text in SYNTHESIS_EXCLUSIONS.items()) + "."),
        Column("continuity_corrected", "string", f"Cohorts with no or every patient responding, to whose counts"
                                                 f" {CONTINUITY_CORRECTION:g} was added for the sensitivity analyses (the"
                                                 f" {PRIMARY_LABEL} needs no correction), separated by"
                                                 f" '{LIST_SEPARATOR}'."),
        Column("responders_derived", "string", "Cohorts whose responder count was computed from the rate and n (rounded"
                                               f" half up), separated by '{LIST_SEPARATOR}'."),
        Column("note", "string", f"Why there is no pooled estimate (at least {MIN_COHORTS} independent cohorts reporting"
                                 f" responders and n are needed, and the {PRIMARY_LABEL} must have an estimate), where"
                                 " there is none."),
    )


SYNTHESIS_COLUMNS: Sequence[Column] = TopicList(_synthesis_columns)


# ---------------------------------------------------------------- formula neutralisation (OWASP "CSV injection")
