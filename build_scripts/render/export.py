"""The dataset as downloads: studies.csv, outcomes.csv, evidence.json and a Frictionless datapackage.json.

The column lists (export_columns.py) are the public contract of the downloads; the CSV writer, the data package
and the downloads page's data dictionary are all generated from them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from build_scripts.derive.facts import question_fit
from build_scripts.derive.meta_analysis import CONFIDENCE
from build_scripts.derive.partners import index_switch, partner_groups_in_order, partners
from build_scripts.derive.questions import Question
from build_scripts.derive.responses import cohort_outcomes
from build_scripts.derive.question_count import question_count
from build_scripts.derive.synthesis import synthesise
from build_scripts.derive.synthesis_types import Analysis, Estimate, Exclusion, MedianRange, Stratum, Synthesis
from build_scripts.load.cache import fragment
from build_scripts.load.evidence import Evidence, evidence_type, patient_count_value, study_regimens
from build_scripts.load.model import Study
from build_scripts.load.parts import Outcome
from build_scripts.load.vocabulary import INDEX_AXIS, MEASURES, RECORD_KINDS, WORDS
from build_scripts.render.csv_cells import Column, FORMULA_CHARACTER_NAMES, FORMULA_GUARD, csv_line, csv_text, to_csv
from build_scripts.render.export_columns import (
    OUTCOME_COLUMNS, STUDY_COLUMNS, SYNTHESIS_COLUMNS, index_switch_column, prior_refractory_column, prior_status_column,
    question_column,
    question_count_columns,
)

DATA_FOLDER = "data"


def study_rows(evidence: Evidence, site_url: str) -> Iterable[dict[str, Any]]:
    for study in sorted(evidence.studies.values(), key=lambda s: s.id):
        yield study_row(evidence, study, site_url)


def study_row(evidence: Evidence, study: Study, site_url: str) -> dict[str, Any]:
    base = site_url.rstrip("/")
    return {
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
        f"{index_switch_column()}_axes": study_index_axes(evidence, study),
        **question_count_cells(evidence, study),
    }


def question_count_cells(evidence: Evidence, study: Study) -> dict[str, Any]:
    """The columns of a study's patients in the question (question_count.question_count)."""
    found = question_count(evidence, study)
    count, basis_column, cohorts_column = question_count_columns()
    if found is None:
        return {count: None, basis_column: None, cohorts_column: []}
    if found.value is None:
        basis = "not_reported"
    elif not found.derived:
        basis = "recorded"
    else:
        basis = "derived" if found.exact else "derived_at_least"
    return {count: found.value, basis_column: basis, cohorts_column: [c.id for c in found.cohorts]}


def study_partner_classes(evidence: Evidence, study: Study) -> list[str]:
    """The partner groups of a study's cohorts, in the atlas's order."""
    return partner_groups_in_order(partners(evidence, study, cohort).name for cohort in study.cohorts)


def study_index_axes(evidence: Evidence, study: Study) -> list[str]:
    """The index-switch axis values of a study's cohorts, in the vocabulary's order."""
    found = {index_switch(evidence, study, cohort).name for cohort in study.cohorts}
    return [name for name in INDEX_AXIS if name in found]


def outcome_row(evidence: Evidence, study: Study, cohort, outcome: Outcome) -> dict[str, Any]:
    publication = evidence.publications[outcome.source.publication]
    derived = question_fit(evidence, study, cohort)
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
        question_column(): derived.value,
        prior_status_column(): derived.prior.status,
        prior_refractory_column(): derived.prior.refractory_share,
        "partner_class": partners(evidence, study, cohort).name,
        "partner_drugs": [drug.text for drug in partners(evidence, study, cohort).drugs],
        index_switch_column(): index_switch(evidence, study, cohort).name,
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
        yield from study_outcome_rows(evidence, study)


def study_outcome_rows(evidence: Evidence, study: Study) -> Iterable[dict[str, Any]]:
    for cohort in study.cohorts:
        for outcome in cohort_outcomes(cohort):
            yield outcome_row(evidence, study, cohort, outcome)


def studies_csv(evidence: Evidence, site_url: str) -> str:
    """studies.csv, one line per study; each study's line a fragment kept between builds."""
    return csv_text(STUDY_COLUMNS, (fragment("studies.csv", (study_id, site_url), lambda study_id=study_id: csv_line(
        STUDY_COLUMNS, study_row(evidence, evidence.studies[study_id], site_url))) for study_id in sorted(evidence.studies)))


def outcomes_csv(evidence: Evidence) -> str:
    """outcomes.csv, one line per outcome; each study's lines a fragment kept between builds."""
    return csv_text(OUTCOME_COLUMNS, (line for study_id in sorted(evidence.studies) for line in fragment(
        "outcomes.csv", study_id, lambda study_id=study_id: [
            csv_line(OUTCOME_COLUMNS, row) for row in study_outcome_rows(evidence, evidence.studies[study_id])])))


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
        prior_status_column(): group.prior_status if isinstance(group, Stratum) else None,
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
    """Every record as validated, grouped by kind, in id order: the text json.dumps(..., indent=1) gives the whole,
    made of each record's own (a fragment kept between builds, so an edit makes one record's text again)."""
    groups = []
    for kind in RECORD_KINDS:
        records = [fragment("evidence.json", (kind, record_id), lambda kind=kind, record_id=record_id:
                            _record_json(evidence, kind, record_id))
                   for record_id in sorted(evidence.by_kind(kind))]
        listed = "[\n" + ",\n".join(records) + "\n ]" if records else "[]"
        groups.append(f" {json.dumps(RECORD_KINDS[kind].folder, ensure_ascii=False)}: {listed}")
    return "{\n" + ",\n".join(groups) + "\n}\n" if groups else "{}\n"


def _record_json(evidence: Evidence, kind: str, record_id: str) -> str:
    """One record as evidence_json lists it: indented two levels (its list's, in the kinds' object)."""
    record = evidence.by_kind(kind)[record_id].model_dump(mode="json", by_alias=True, exclude_none=True)
    return "\n".join("  " + line for line in json.dumps(record, ensure_ascii=False, indent=1).split("\n"))


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
                            f" class and prior {WORDS['index_adjective']} status, with the cohorts used and those"
                            " excluded and why."
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
    "studies.csv": lambda given: studies_csv(given.evidence, given.site_url),
    "outcomes.csv": lambda given: outcomes_csv(given.evidence),
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

