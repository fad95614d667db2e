"""The dataset as downloads: studies.csv, outcomes.csv, evidence.json and a Frictionless datapackage.json.

The column lists below are the public contract of the downloads; the CSV writer, the data package
and the downloads page's data dictionary are all generated from them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from build_scripts.derive.facts import retreatment
from build_scripts.derive.meta_analysis import CONFIDENCE, CONTINUITY_CORRECTION
from build_scripts.derive.partners import antibody, partner_groups_in_order, partners
from build_scripts.derive.questions import Question
from build_scripts.derive.responses import cohort_outcomes
from build_scripts.derive.retreated import retreated
from build_scripts.derive.synthesis import synthesise
from build_scripts.derive.synthesis_types import (
    MIN_COHORTS, POOLED_MEASURES, RANGE_MEASURES, Analysis, Estimate, Exclusion, MedianRange, Stratum, Synthesis,
)
from build_scripts.load.evidence import Evidence, evidence_type, patient_count_value, study_regimens
from build_scripts.load.model import Study
from build_scripts.load.parts import Outcome
from build_scripts.load.vocabulary import (
    ANTIBODY_AXIS, DESIGNS, EVIDENCE_TYPES, MEASURES, PARTNER_CLASSES, PARTNER_GROUPS_FIRST, PARTNER_GROUPS_LAST,
    PARTNER_JOIN, POOLING_METHODS, PRIMARY_POOLING_METHOD, PRIOR_ANTI_CD38_STATUSES, RECORD_KINDS,
    STATUSES, SYNTHESIS_EXCLUSIONS, TRIAL_STATUSES, UNITS,
)
from build_scripts.render.csv_cells import Column, FORMULA_CHARACTER_NAMES, FORMULA_GUARD, LIST_SEPARATOR, to_csv

DATA_FOLDER = "data"


RETREATED_BASES = ("recorded", "derived", "derived_at_least", "not_reported")

STUDY_COLUMNS: tuple[Column, ...] = (
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
    Column("antibody_axes", "string", "Antibody axis values of the study's cohorts (see antibody in outcomes.csv),"
                                      f" separated by '{LIST_SEPARATOR}'."),
    Column("n_retreated", "integer", "How many of the study's patients were retreated with an anti-CD38 antibody, as its"
                                     " page shows it: as the source states it (recorded), else the sum of its"
                                     " retreatment cohorts' counts, patients in nested cohorts or successive lines"
                                     " counted once (derived; a lower bound when n_retreated_basis says so); empty when"
                                     " not reported or when no cohort is a retreatment."),
    Column("n_retreated_basis", "string", "How n_retreated was found: 'recorded' (stated by the source), 'derived'"
                                          " (the sum of the cohorts in n_retreated_cohort_ids), 'derived_at_least' (a"
                                          " lower bound: a retreatment cohort without a count, or cohorts that may"
                                          " share patients), 'not_reported'; empty when no cohort is a retreatment.",
           enum=RETREATED_BASES),
    Column("n_retreated_cohort_ids", "string", "For a derived n_retreated, the cohorts whose counts are added,"
                                               f" separated by '{LIST_SEPARATOR}'."),
)

_PARTNER_ALTERNATIVES = "|".join(PARTNER_CLASSES)
# A partner group is one of the special groups, or partner classes joined by PARTNER_JOIN in the vocabulary's order.
PARTNER_GROUP_PATTERN = (f"({'|'.join([*PARTNER_GROUPS_FIRST, *PARTNER_GROUPS_LAST])}"
                         f"|({_PARTNER_ALTERNATIVES})(\\{PARTNER_JOIN}({_PARTNER_ALTERNATIVES}))*)")

PARTNER_CLASS_DESCRIPTION = (
    "What the cohort's anti-CD38 antibody is given with, derived by the atlas from its regimen's agent classes"
    " (corticosteroids are not partners): every partner class present, joined by '" + PARTNER_JOIN + "' in this"
    " order, none hidden behind another: " + "; ".join(f"'{name}' ({label})" for name, label in PARTNER_CLASSES.items())
    + "; or " + "; ".join(f"'{name}' ({label})" for name, label in {**PARTNER_GROUPS_FIRST, **PARTNER_GROUPS_LAST}.items())
    + ". Whether the antibody is the one the patients had before is the column antibody, not a partner class.")

OUTCOME_COLUMNS: tuple[Column, ...] = (
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
    Column("anti_cd38_retreatment", "boolean",
           "True when the cohort is an anti-CD38 retreatment, derived by the atlas: its regimen holds an anti-CD38"
           " antibody and every patient had an anti-CD38 antibody before (refractory, exposed with or without a stated"
           " share refractory, or exposed not refractory). False for"
           " cohorts shown for context (control arms, naive or partly naive cohorts, prior therapy not stated).",
           required=True),
    Column("prior_anti_cd38_status", "string",
           "The cohort's prior anti-CD38 status, derived from how the source defines the cohort or a group containing"
           " it and from the share refractory: " + "; ".join(
               f"{name} ({status.label})" for name, status in PRIOR_ANTI_CD38_STATUSES.items()) + ".",
           required=True, enum=tuple(PRIOR_ANTI_CD38_STATUSES)),
    Column("prior_anti_cd38_refractory_percent", "number",
           "Per cent of the cohort's population refractory to anti-CD38 therapy, as recorded for the population the"
           " status comes from; empty when not reported."),
    Column("partner_class", "string", PARTNER_CLASS_DESCRIPTION, required=True, pattern=PARTNER_GROUP_PATTERN),
    Column("partner_drugs", "string", "The partner drugs of the cohort's regimen by name, each followed by what the"
                                      " sources state of the patients' earlier exposure to it (refractory before)"
                                      f" where they state it, separated by '{LIST_SEPARATOR}'."),
    Column("antibody", "string", "Whether the cohort's anti-CD38 antibody is the one its patients had before: " + "; ".join(
        f"'{name}' ({label})" for name, label in ANTIBODY_AXIS.items()) + ". Derived by the atlas from the antibodies"
        " the records name for the cohort's regimen and for its patients' earlier therapy.", required=True,
        enum=tuple(ANTIBODY_AXIS)),
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


SYNTHESIS_COLUMNS: tuple[Column, ...] = (
    Column("question", "string", "For a clinical question's answer: the question's id (its page is"
                                 " questions/<id>/); empty for a stratum's row. A question's cohorts are those of"
                                 " every stratum that match it, so its rows repeat patients of the stratum rows.",
           pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$"),
    Column("partner_class", "string", "Stratum: the partner group of its cohorts (see outcomes.csv); empty for a"
                                      " question's row.", pattern=PARTNER_GROUP_PATTERN),
    Column("prior_anti_cd38_status", "string", "Stratum: the prior anti-CD38 status of its cohorts (see outcomes.csv);"
                                               " empty for a question's row.", enum=tuple(PRIOR_ANTI_CD38_STATUSES)),
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


# ---------------------------------------------------------------- formula neutralisation (OWASP "CSV injection")


def study_rows(evidence: Evidence, site_url: str) -> Iterable[dict[str, Any]]:
    base = site_url.rstrip("/")
    for study in sorted(evidence.studies.values(), key=lambda s: s.id):
        yield {
            "study_id": study.id,
            "title": study.title,
            "design": study.design,
            "evidence_type": evidence_type(study),
            "registry_ids": study.registry_ids,
            "dois": [evidence.publications[p].doi for p in study.publications if evidence.publications[p].doi],
            "n_patients": patient_count_value(study),
            "url": f"{base}/{RECORD_KINDS['study'].url(study.id)}",
            "short_name": study.short_name,
            "publication_ids": study.publications,
            "regimen_ids": study_regimens(study),
            "related_study_ids": [other for other, _, _ in evidence.related_by_study.get(study.id, [])],
            "review_ids": [review.id for review in evidence.reviews_by_study.get(study.id, [])],
            "discrepancies": len(study.discrepancies),
            "discussing_review_ids": [review.id for review, _ in evidence.discussing_reviews_by_study.get(study.id, [])],
            "trial_status": study.trial_status[-1].status if study.trial_status else None,
            "cited_source_ids": study.cited_sources,
            "partner_classes": study_partner_classes(evidence, study),
            "antibody_axes": study_antibody_axes(evidence, study),
            **retreated_cells(evidence, study),
        }


def retreated_cells(evidence: Evidence, study: Study) -> dict[str, Any]:
    """The n_retreated columns of a study (retreated.retreated)."""
    found = retreated(evidence, study)
    if found is None:
        return {"n_retreated": None, "n_retreated_basis": None, "n_retreated_cohort_ids": []}
    if found.value is None:
        basis = "not_reported"
    elif not found.derived:
        basis = "recorded"
    else:
        basis = "derived" if found.exact else "derived_at_least"
    return {"n_retreated": found.value, "n_retreated_basis": basis,
            "n_retreated_cohort_ids": [c.id for c in found.cohorts]}


def study_partner_classes(evidence: Evidence, study: Study) -> list[str]:
    """The partner groups of a study's cohorts, in the atlas's order."""
    return partner_groups_in_order(partners(evidence, study, cohort).name for cohort in study.cohorts)


def study_antibody_axes(evidence: Evidence, study: Study) -> list[str]:
    """The antibody axis values of a study's cohorts, in the vocabulary's order."""
    found = {antibody(evidence, study, cohort).name for cohort in study.cohorts}
    return [name for name in ANTIBODY_AXIS if name in found]


def outcome_row(evidence: Evidence, study: Study, cohort, outcome: Outcome) -> dict[str, Any]:
    publication = evidence.publications[outcome.source.publication]
    derived = retreatment(evidence, study, cohort)
    return {
        "study_id": study.id,
        "cohort_id": cohort.id,
        "regimen_id": cohort.regimen,
        "measure": outcome.measure,
        "value": outcome.value,
        "unit": outcome.unit,
        "ci_low": outcome.ci_low,
        "ci_high": outcome.ci_high,
        "ci_level": outcome.ci_level,
        "n": outcome.n,
        "responders": outcome.responders,
        "status": outcome.status,
        "derived": outcome.derived,
        "source_id": publication.id,
        "source_doi": publication.doi,
        "source_location": outcome.source.location,
        "discrepancy": outcome.discrepancy,
        "cohort_label": cohort.label,
        "anti_cd38_retreatment": derived.value,
        "prior_anti_cd38_status": derived.prior.status,
        "prior_anti_cd38_refractory_percent": derived.prior.refractory_share,
        "partner_class": partners(evidence, study, cohort).name,
        "partner_drugs": [drug.text for drug in partners(evidence, study, cohort).drugs],
        "antibody": antibody(evidence, study, cohort).name,
        "evidence_type": evidence_type(study),
        "variant": outcome.variant,
        "ci_high_status": outcome.ci_high_status,
        "range_low": outcome.range_low,
        "range_high": outcome.range_high,
        "range_kind": outcome.range_kind if outcome.range_low is not None else None,
        "derivation": outcome.derivation,
        "p_value": outcome.p_value,
    }


def outcome_rows(evidence: Evidence) -> Iterable[dict[str, Any]]:
    for study in sorted(evidence.studies.values(), key=lambda s: s.id):
        for cohort in study.cohorts:
            for outcome in cohort_outcomes(cohort):
                yield outcome_row(evidence, study, cohort, outcome)


def _excluded_cell(exclusion: Exclusion) -> str:
    """'study/cohort: reason', with the cohort used instead for an overlap; ids and codes only, never record text."""
    shown = f"{exclusion.key}: {exclusion.reason}"
    return f"{shown} ({exclusion.overlaps})" if exclusion.overlaps else shown


def _stratum_cells(part: Analysis | MedianRange) -> dict[str, Any]:
    used = part.used
    group = part.stratum
    return {
        "question": group.id if isinstance(group, Question) else None,
        "partner_class": group.partner_class if isinstance(group, Stratum) else None,
        "prior_anti_cd38_status": group.prior_status if isinstance(group, Stratum) else None,
        "measure": part.measure,
        "k": len(used),
        "patients": part.patients,
        "range_low": part.low,
        "range_high": part.high,
        "unit": MEASURES[part.measure].unit,
        "cohorts_used": [entry.key for entry in used],
        "cohorts_excluded": [_excluded_cell(exclusion) for exclusion in part.excluded],
    }


def _estimate_cells(estimate: Estimate, prefix: str = "") -> dict[str, Any]:
    return {f"{prefix}value": round(estimate.value, 2), f"{prefix}ci_low": round(estimate.ci_low, 2),
            f"{prefix}ci_high": round(estimate.ci_high, 2), f"{prefix}pi_low": round(estimate.pi_low, 2),
            f"{prefix}pi_high": round(estimate.pi_high, 2), f"{prefix}tau2": round(estimate.tau2, 6)}


def synthesis_rows(synthesis: Synthesis) -> Iterable[dict[str, Any]]:
    """One row per stratum (then per question), measure and analysis of the exploratory synthesis (synthesis.py),
    every method in it."""
    analyses = list(synthesis.analyses) + [a for answer in synthesis.answers for a in answer.analyses]
    ranges = list(synthesis.ranges) + [r for answer in synthesis.answers for r in answer.ranges]
    for analysis in analyses:
        base = {**_stratum_cells(analysis), "analysis": "sensitivity" if analysis.sensitivity else "primary",
                "continuity_corrected": [e.key for e in analysis.used if e.corrected],
                "responders_derived": [e.key for e in analysis.used if e.responders_derived]}
        primary = analysis.primary
        if primary is None:
            yield {**base, "method": "not_pooled", "note": analysis.not_pooled}
            continue
        yield {**base, "method": primary.method, **_estimate_cells(primary), "ci_level": 100 * CONFIDENCE,
               "i2": round(primary.i2, 2), "q": round(primary.q, 6),
               **{key: value for e in analysis.sensitivity_estimates for key, value in
                  _estimate_cells(e, f"{e.method}_").items()}}
    for median in ranges:
        yield {**_stratum_cells(median), "analysis": "primary", "method": "range", "k": len(median.used) + len(
            median.not_reached), "cohorts_not_reached": [entry.key for entry in median.not_reached]}


def evidence_json(evidence: Evidence) -> str:
    """Every record as validated, grouped by kind, in id order."""
    payload = {
        RECORD_KINDS[kind].folder: [
            record.model_dump(mode="json", by_alias=True, exclude_none=True)
            for _, record in sorted(evidence.by_kind(kind).items())
        ]
        for kind in RECORD_KINDS
    }
    return json.dumps(payload, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


def table_schema(columns: tuple[Column, ...]) -> dict[str, Any]:
    """The Frictionless table schema of a CSV download, from its columns."""
    fields = []
    for column in columns:
        field: dict[str, Any] = {"name": column.name, "type": column.type, "description": column.description}
        constraints: dict[str, Any] = {}
        if column.required:
            constraints["required"] = True
        if column.enum:
            constraints["enum"] = list(column.enum)
        if column.pattern:
            constraints["pattern"] = column.pattern
        if constraints:
            field["constraints"] = constraints
        if column.type == "boolean":
            field["trueValues"] = ["true"]
            field["falseValues"] = ["false"]
        fields.append(field)
    return {"fields": fields, "missingValues": [""]}


def datapackage_json(title: str, site_url: str, version: str | None = None) -> str:
    """The Frictionless descriptor of the CSV files; version is the data release they belong to (CITATION.cff)."""
    studies_schema = table_schema(STUDY_COLUMNS)
    studies_schema["primaryKey"] = ["study_id"]
    outcomes_schema = table_schema(OUTCOME_COLUMNS)
    outcomes_schema["foreignKeys"] = [
        {"fields": ["study_id"], "reference": {"resource": "studies", "fields": ["study_id"]}}]
    package = {
        "name": _slug(title),
        "title": title,
        **({"version": version} if version else {}),
        "homepage": site_url,
        "licenses": [{"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/",
                      "title": "Creative Commons Attribution 4.0"}],
        "resources": [
            {"name": "studies", "path": "studies.csv", "profile": "tabular-data-resource", "format": "csv",
             "mediatype": "text/csv", "encoding": "utf-8", "schema": studies_schema},
            {"name": "outcomes", "path": "outcomes.csv", "profile": "tabular-data-resource", "format": "csv",
             "mediatype": "text/csv", "encoding": "utf-8", "schema": outcomes_schema},
            {"name": "synthesis", "path": "synthesis.csv", "profile": "tabular-data-resource", "format": "csv",
             "mediatype": "text/csv", "encoding": "utf-8", "schema": table_schema(SYNTHESIS_COLUMNS),
             "description": "Exploratory pooled estimates of response rates and ranges of median times per partner"
                            " class and prior anti-CD38 status, with the cohorts used and those excluded and why."
                            " Not a substitute for a systematic review, nor a treatment recommendation."},
        ],
    }
    return json.dumps(package, ensure_ascii=False, indent=1) + "\n"


def _slug(text: str) -> str:
    return "-".join("".join(ch.lower() if ch.isalnum() else " " for ch in text).split())


@dataclass(frozen=True)
class DownloadInputs:
    """What the downloads are made from; `synthesis` gives the synthesis when the build has already computed it."""

    evidence: Evidence
    title: str
    site_url: str
    version: str | None = None
    synthesis: Callable[[], Synthesis] | None = None

    def synthesised(self) -> Synthesis:
        return self.synthesis() if self.synthesis is not None else synthesise(self.evidence)


# Each download, by file name inside the data folder, and how it is made. Kept apart so that a build can make them
# as jobs of their own (only synthesis.csv needs the synthesis, which is costly).
DATA_FILES: dict[str, Callable[[DownloadInputs], str]] = {
    "studies.csv": lambda given: to_csv(STUDY_COLUMNS, study_rows(given.evidence, given.site_url)),
    "outcomes.csv": lambda given: to_csv(OUTCOME_COLUMNS, outcome_rows(given.evidence)),
    "synthesis.csv": lambda given: to_csv(SYNTHESIS_COLUMNS, synthesis_rows(given.synthesised())),
    "evidence.json": lambda given: evidence_json(given.evidence),
    "datapackage.json": lambda given: datapackage_json(given.title, given.site_url, given.version),
}
NEEDS_SYNTHESIS = frozenset({"synthesis.csv"})


def data_files(evidence: Evidence, title: str, site_url: str, version: str | None = None) -> dict[str, str]:
    """Every download, by file name inside the data folder."""
    given = DownloadInputs(evidence, title, site_url, version)
    return {name: make(given) for name, make in DATA_FILES.items()}


def dictionary_context() -> dict[str, Any]:
    """What the downloads page needs to describe the files: the same columns and measures as above."""
    return {"study_columns": STUDY_COLUMNS, "outcome_columns": OUTCOME_COLUMNS, "synthesis_columns": SYNTHESIS_COLUMNS,
            "data_folder": DATA_FOLDER,
            "formula_characters": tuple(FORMULA_CHARACTER_NAMES.values()), "formula_guard": FORMULA_GUARD}

