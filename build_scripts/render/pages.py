"""Views of a record's parts as pages show them (figures, sources, populations, cohorts, comparisons, review findings),
and the Page and PageJob every page family makes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from build_scripts.derive.facts import question_fit
from build_scripts.derive.lines import line_number, lines_of_patients
from build_scripts.derive.partners import index_switch, partners
from build_scripts.derive.responses import cohort_outcomes
from build_scripts.derive.question_count import question_count
from build_scripts.load.evidence import Evidence, evidence_type, patient_count
from build_scripts.load.model import Record, Study
from build_scripts.load.numbers import number
from build_scripts.load.parts import Cohort, Outcome, PatientCount, Population, Sourced
from build_scripts.load.study_parts import Comparison, Discrepancy, DiscussedStudy, ReviewConclusion, ReviewFinding
from build_scripts.load.vocabulary import (
    ADVERSE_EVENT_GRADES, COHORT_ROLES, DESIGNS, EFFECT_MEASURES, EVIDENCE_TYPES, FINDING_SCOPES, FINDING_STATISTICS,
    FINDING_UNITS, MEASURES, EXPOSURE_DEFINITIONS, PUBLICATION_TYPES, REFRACTORY_CLASSES, RESPONSE_CATEGORIES,
    SPREADS, STATUSES, UNITS, WORDS,
)
from build_scripts.render.links import relative, short_citation, title_after_citation, url_of
from build_scripts.render.templating import render_markdown

@dataclass(frozen=True)
class Page:
    """One generated file: where it goes in the docs folder, its text and, for a page, its HTML blocks and head."""

    path: str
    text: str
    blocks: tuple[str, ...] = ()
    head: dict[str, Any] | None = None


def figure_text(outcome: Outcome) -> str:
    """The point estimate with its unit, or the status when there is no number."""
    if outcome.value is None:
        return STATUSES[outcome.status].label
    unit = UNITS[outcome.unit or MEASURES[outcome.measure].unit]
    return f"{number(outcome.value)}%" if unit.name == "percent" else f"{number(outcome.value)} {unit.name}"


def interval_text(outcome: Outcome) -> str:
    parts = []
    if outcome.ci_low is not None:
        high = number(outcome.ci_high) if outcome.ci_high is not None else \
            STATUSES[outcome.ci_high_status].label.lower() if outcome.ci_high_status in STATUSES else "NE"
        parts.append(f"{number(outcome.ci_level)}% CI {number(outcome.ci_low)}–{high}")
    if outcome.range_low is not None:
        parts.append(f"{SPREADS[outcome.range_kind]} {number(outcome.range_low)}–{number(outcome.range_high)}")
    return "; ".join(parts)


def counts_text(responders: int | None, n: int | None) -> str:
    if responders is not None and n is not None:
        return f"{responders}/{n}"
    if n is not None:
        return f"n = {n}"
    if responders is not None:
        return f"{responders} patients"
    return ""


# ---------------------------------------------------------------- contexts (pure)

@dataclass(frozen=True)
class SourceView:
    label: str
    href: str
    location: str
    derived: str | None
    discrepancy_href: str | None


def source_view(evidence: Evidence, part: Sourced | DiscussedStudy, page_url: str,
                study_url: str | None = None) -> SourceView:
    """A figure's source as a page shows it; a discrepancy flag links to the record page that explains it."""
    publication = evidence.publications[part.source.publication]
    derived = isinstance(part, Sourced) and part.derived
    discrepancy = part.discrepancy if isinstance(part, Sourced) else None
    return SourceView(
        label=short_citation(publication),
        href=relative(page_url, url_of("publication", publication.id)),
        location=part.source.location,
        derived=part.derivation if derived else None,
        discrepancy_href=None if discrepancy is None else
        (relative(page_url, study_url) if study_url and study_url != page_url else "") + f"#discrepancy-{discrepancy}",
    )


def outcome_view(evidence: Evidence, outcome: Outcome, page_url: str, study_url: str | None = None) -> dict[str, Any]:
    measure = MEASURES[outcome.measure]
    return {
        "measure": measure,
        "variant": outcome.variant,
        "figure": figure_text(outcome),
        "interval": interval_text(outcome),
        "counts": counts_text(outcome.responders, outcome.n),
        "status": STATUSES[outcome.status],
        "p_value": outcome.p_value,
        "note": outcome.note,
        "source": source_view(evidence, outcome, page_url, study_url),
    }


def count_text(count: PatientCount) -> str:
    """A number of patients, or 'Not reported' (never a zero)."""
    return str(count.value) if count.value is not None else STATUSES["not_reported"].label


def patients_view(evidence: Evidence, study: Study, page_url: str) -> dict[str, Any] | None:
    """The study's number of patients (evidence.patient_count), with its source and the cohort it is taken from."""
    found = patient_count(study)
    if found is None:
        return None
    count, cohort = found
    return {"value": count_text(count), "source": source_view(evidence, count, page_url),
            "cohort": {"label": cohort.label, "anchor": f"cohort-{cohort.id}"} if cohort is not None else None}


def question_count_view(evidence: Evidence, study: Study, page_url: str) -> dict[str, Any] | None:
    """How many of the study's patients were in the question (question_count.question_count): as recorded with its source, or derived
    from its cohorts in the question, each linked."""
    found = question_count(evidence, study)
    if found is None:
        return None
    return {"value": found.text,
            "source": source_view(evidence, found.recorded, page_url) if found.recorded is not None else None,
            "derivation": found.derivation,
            "cohorts": [{"label": c.label, "anchor": f"cohort-{c.id}"} for c in found.cohorts]}


def lines_view(study: Study) -> list[list[dict[str, Any]]]:
    """Each line of patients of the study (lines.lines_of_patients): its cohorts in order, first line first."""
    return [[{"label": c.label, "anchor": f"cohort-{c.id}", "number": i + 1} for i, c in enumerate(line)]
            for line in lines_of_patients(study)]


def curation_view(record: Record) -> dict[str, Any] | None:
    """The curators and their note on a record, in their words (Markdown through the sanitiser)."""
    if not record.curation_note and not record.curators:
        return None
    return {"curators": record.curators, "note": render_markdown(record.curation_note)}


def discrepancy_views(evidence: Evidence, discrepancies: list[Discrepancy], page_url: str) -> list[dict[str, Any]]:
    return [
        {"id": d.id, "title": d.title, "summary": render_markdown(d.summary), "resolution": render_markdown(d.resolution),
         "claims": [{"says": claim.says,
                     "source": SourceView(short_citation(evidence.publications[claim.source.publication]),
                                          relative(page_url, url_of("publication", claim.source.publication)),
                                          claim.source.location, None, None)}
                    for claim in d.claims]}
        for d in discrepancies
    ]


def estimate_text(value: float | None, ci_low: float | None, ci_high: float | None, ci_level: float | None) -> str:
    """'0.71 (95% CI 0.45–1.12)', or the value alone."""
    text = number(value)
    if ci_low is not None and ci_high is not None:
        interval = f"{number(ci_level)}% CI {number(ci_low)}–{number(ci_high)}" if ci_level is not None else \
            f"{number(ci_low)}–{number(ci_high)}"
        text = f"{text} ({interval})" if text else interval
    return text


def comparison_view(evidence: Evidence, study: Study, comparison: Comparison, page_url: str) -> dict[str, Any]:
    labels = {cohort.id: cohort.label for cohort in study.cohorts}
    return {
        "measure": MEASURES[comparison.measure],
        "experimental": {"label": labels[comparison.experimental], "anchor": f"cohort-{comparison.experimental}"},
        "control": {"label": labels[comparison.control], "anchor": f"cohort-{comparison.control}"},
        "effect_measure": EFFECT_MEASURES[comparison.effect_measure],
        "estimate": estimate_text(comparison.value, comparison.ci_low, comparison.ci_high, comparison.ci_level),
        "p_value": comparison.p_value,
        "as_stated": comparison.as_stated,
        "note": render_markdown(comparison.note),
        "source": source_view(evidence, comparison, page_url),
    }


def arms_view(evidence: Evidence, study: Study, page_url: str) -> dict[str, Any] | None:
    """The arms of a trial side by side: one column per arm, one row per measure any arm reports."""
    arms = [cohort for cohort in study.cohorts if cohort.role == "arm"]
    if len(arms) < 2:
        return None
    keys: list[tuple[str, str | None]] = []
    for arm in arms:
        for outcome in cohort_outcomes(arm):
            if (outcome.measure, outcome.variant) not in keys:
                keys.append((outcome.measure, outcome.variant))
    keys.sort(key=lambda key: list(MEASURES).index(key[0]))
    columns = []
    for arm in arms:
        regimen = evidence.regimens.get(arm.regimen) if arm.regimen else None
        count = arm.population.n if arm.population is not None else None
        columns.append({
            "label": arm.label, "anchor": f"cohort-{arm.id}", "in_question": question_fit(evidence, study, arm).value,
            "regimen": regimen.name if regimen else (arm.regimen_as_stated or "not specified"),
            "regimen_href": relative(page_url, url_of("regimen", regimen.id)) if regimen else None,
            "patients": {"value": count_text(count), "source": source_view(evidence, count, page_url)} if count else None,
        })
    rows = [{"measure": MEASURES[measure], "variant": variant,
             "cells": [[outcome_view(evidence, o, page_url) for o in cohort_outcomes(arm)
                        if (o.measure, o.variant) == (measure, variant)] for arm in arms]}
            for measure, variant in keys]
    return {"columns": columns, "rows": rows}


def finding_figure(finding: ReviewFinding) -> str:
    """A review-level figure with its unit: '18–307 patients', '< 3 months', '3.3 months (95% CI 0–6.9)'."""
    unit = finding.unit

    def with_unit(text: str, single: bool = False) -> str:
        if unit is None:
            return text
        singular, plural = FINDING_UNITS[unit]
        return f"{text}%" if unit == "percent" else f"{text} {singular if single else plural}"

    if finding.statistic == "range":
        return with_unit(f"{number(finding.low)}–{number(finding.high)}")
    if finding.statistic == "upper_bound":
        return "< " + with_unit(number(finding.high))
    text = with_unit(number(finding.value), finding.value == 1)
    if finding.ci_low is not None:
        text += f" ({number(finding.ci_level)}% CI {number(finding.ci_low)}–{number(finding.ci_high)})"
    return text


def finding_view(evidence: Evidence, finding: ReviewFinding, page_url: str) -> dict[str, Any]:
    return {
        "id": finding.id,
        "topic": finding.topic,
        "evidence_type": FINDING_SCOPES[finding.evidence_type],
        "statistic": FINDING_STATISTICS[finding.statistic],
        "figure": finding_figure(finding),
        "n": finding.n,
        "studies_count": finding.studies_count,
        "studies": [{"record": evidence.studies[s], "href": relative(page_url, url_of("study", s))}
                    for s in finding.studies],
        "as_stated": finding.as_stated,
        "note": render_markdown(finding.note),
        "source": source_view(evidence, finding, page_url),
    }


def conclusion_view(evidence: Evidence, conclusion: ReviewConclusion, page_url: str) -> dict[str, Any]:
    """A review's conclusion in the curators' words, with its short quotation, its source and the studies it names."""
    return {
        "id": conclusion.id,
        "statement": conclusion.statement,
        "as_stated": conclusion.as_stated,
        "measure": MEASURES[conclusion.measure] if conclusion.measure else None,
        "studies": [{"record": evidence.studies[s], "href": relative(page_url, url_of("study", s))}
                    for s in conclusion.studies],
        "source": source_view(evidence, conclusion, page_url),
    }


def population_view(evidence: Evidence, population: Population | None, page_url: str,
                    with_count: bool = True) -> list[dict[str, Any]]:
    """Rows describing a population, each with its source (the count left out where the page shows it already)."""
    if population is None:
        return []
    rows = []
    if population.n is not None and with_count:
        rows.append({"label": "Patients", "value": count_text(population.n),
                     "source": source_view(evidence, population.n, page_url)})
    lines = population.prior_lines
    if lines is not None:
        if lines.status == "not_reported":
            value = "Not reported"
        elif lines.median is not None:
            spread = f" ({SPREADS[lines.spread]} {number(lines.low)}–{number(lines.high)})" if lines.low is not None else ""
            value = f"median {number(lines.median)}{spread}"
        else:
            value = lines.as_stated or ""
        rows.append({"label": "Prior lines of therapy", "value": value, "source": source_view(evidence, lines, page_url)})
    for item in population.refractory:
        if item.status == "not_reported":
            value = "Not reported"
        else:
            bits = [f"{number(item.percent)}%" if item.percent is not None else "",
                    counts_text(item.patients, item.n) if item.patients is not None else ""]
            value = " ".join(bit for bit in bits if bit)
        rows.append({"label": f"Refractory to {REFRACTORY_CLASSES[item.to]}", "value": value,
                     "source": source_view(evidence, item, page_url)})
    defined = population.prior_exposure
    if defined is not None:
        value = EXPOSURE_DEFINITIONS[defined.status].label
        rows.append({"label": f"Prior {WORDS['index_adjective']}, as the source defines the patients",
                     "value": f"{value} (“{defined.as_stated}”)" if defined.as_stated else value,
                     "source": source_view(evidence, defined, page_url)})
    return rows


def cohort_view(evidence: Evidence, study: Study, cohort: Cohort, page_url: str) -> dict[str, Any]:
    regimen = evidence.regimens.get(cohort.regimen) if cohort.regimen else None
    parent = next((c for c in study.cohorts if c.id == cohort.parent), None)
    derived = question_fit(evidence, study, cohort)
    return {
        "id": cohort.id,
        "anchor": f"cohort-{cohort.id}",
        "label": cohort.label,
        "role": COHORT_ROLES[cohort.role],
        "parent": parent,
        "follows": next((c for c in study.cohorts if c.id == cohort.follows), None),
        "line": line_number(study, cohort),
        "regimen": regimen,
        "regimen_href": relative(page_url, url_of("regimen", regimen.id)) if regimen else None,
        "regimen_as_stated": cohort.regimen_as_stated,
        "in_question": derived.value,
        "prior": derived.prior.text,
        "partner": partners(evidence, study, cohort),
        "index_switch": index_switch(evidence, study, cohort),
        "description": render_markdown(cohort.description),
        "population": population_view(evidence, cohort.population, page_url),
        "population_description": render_markdown(cohort.population.description if cohort.population else None),
        "outcomes": [outcome_view(evidence, outcome, page_url) for outcome in cohort_outcomes(cohort)],
        "best_response": [
            {"category": RESPONSE_CATEGORIES[share.category],
             "percent": f"{number(share.percent)}%" if share.percent is not None else "",
             "counts": counts_text(share.patients, share.n),
             "source": source_view(evidence, share, page_url)}
            for share in sorted(cohort.best_response, key=lambda s: RESPONSE_CATEGORIES[s.category].rank)
        ],
        "adverse_events": [
            {"term": event.term, "grade": ADVERSE_EVENT_GRADES[event.grade], "patients": event.patients,
             "percent": f"{number(event.percent)}%" if event.percent is not None else "",
             "n": event.n, "source": source_view(evidence, event, page_url)}
            for event in cohort.adverse_events
        ],
        "patients": [
            {"id": patient.id, "label": patient.label, "note": render_markdown(patient.note),
             "source": source_view(evidence, patient, page_url)}
            for patient in cohort.patients
        ],
        "patient_attributes": patient_attribute_rows(cohort),
        "patient_lines": [
            {"patient": patient.label, "patient_id": patient.id, "line": line.line,
             "regimen_as_stated": line.regimen_as_stated,
             "regimen_href": relative(page_url, url_of("regimen", line.regimen)) if line.regimen else None,
             "cycles": line.cycles, "duration_months": number(line.duration_months),
             "best_response": RESPONSE_CATEGORIES[line.best_response], "index_drug": line.index_drug,
             "note": line.note}
            for patient in cohort.patients for line in patient.lines
        ],
    }


def attribute_text(value: str | int | float | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float):
        return number(value)
    return str(value)


def patient_attribute_rows(cohort: Cohort) -> list[dict[str, Any]]:
    """Per-patient characteristics as the source tables show them: one row per characteristic, one column per patient."""
    names: list[str] = []
    for patient in cohort.patients:
        for attribute in patient.attributes:
            if attribute.name not in names:
                names.append(attribute.name)
    rows = []
    for name in names:
        values = []
        for patient in cohort.patients:
            found = [a.value for a in patient.attributes if a.name == name]
            values.append(attribute_text(found[0]) if found else "")
        rows.append({"name": name, "values": values})
    return rows


def publication_link(evidence: Evidence, publication_id: str, page_url: str) -> dict[str, Any]:
    publication = evidence.publications[publication_id]
    return {"record": publication, "citation": short_citation(publication), "title": title_after_citation(publication),
            "type": PUBLICATION_TYPES[publication.type],
            "href": relative(page_url, url_of("publication", publication.id))}


def study_link(evidence: Evidence, study_id: str, page_url: str) -> dict[str, Any]:
    study = evidence.studies[study_id]
    return {"record": study, "href": relative(page_url, url_of("study", study.id)),
            "design": DESIGNS[study.design].label, "evidence_type": EVIDENCE_TYPES[evidence_type(study)]}


# ---------------------------------------------------------------- page descriptions


@dataclass(frozen=True)
class PageJob:
    """One unit of page generation: a name unique in the site, and a function giving its files.

    The build runs a job only when something it read last time has changed (build_scripts/load/cache.py), so a
    job computes its context inside `make`, never before: what it reads there is what it depends on.
    """

    name: str
    make: Callable[[], list[Page]]
    # Jobs of one group share what they compute (the synthesis): a build computes it before it forks its job
    # processes (PageCharts.prepare), so that either process can run any of them.
    group: str | None = None
