"""Page contexts from the validated evidence, and their rendering through the Jinja templates."""

from __future__ import annotations

import json
import math
import posixpath
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Sequence


from build_scripts.load.evidence import Evidence, evidence_type, patient_count
from build_scripts.derive.lines import line_number, lines_of_patients
from build_scripts.derive.retreated import retreated, retreated_note
from build_scripts.render.charts import CHARTS_URL_PREFIX, CROSS_STUDY_MEASURES, NARROW_BELOW, Chart, Link, chart_page_url
from build_scripts.render.citations import (
    CitationItem, cohort_sources, formatted_citation, json_ld, json_ld_text, meta_tags, page_item, source_items,
    to_bibtex, to_csl_json, to_ris,
)
from build_scripts.render.export import DATA_FOLDER
from build_scripts.derive.facts import antibody, partner_group_label, partner_groups_in_order, partners, regimen_partner_class, retreatment
from build_scripts.render.indexes import KeyResult, StudyFacts, regimen_uses, study_facts
from build_scripts.derive.responses import COMPUTED_FROM_PATIENTS, PatientDerivedOutcome, cohort_outcomes
from build_scripts.load.history import Revision
from build_scripts.load.settings import SiteSettings
from build_scripts.render.templating import render_markdown
from build_scripts.load.numbers import number
from build_scripts.render.links import (
    SUMMARY_DETAILS_URL, SUMMARY_URL, citation_with_title, relative, short_citation, title_after_citation, url_of,
)
from build_scripts.load.model import (
    Cohort, Comparison, Discrepancy, DiscussedStudy, Outcome, PatientCount, Population, Record, ReviewConclusion,
    ReviewFinding, Sourced, Study,
)
from build_scripts.load.vocabulary import (
    ADVERSE_EVENT_GRADES,
    AGENT_CLASSES,
    COHORT_ROLES,
    DESIGNS,
    EFFECT_MEASURES,
    ELIGIBILITY_KINDS,
    EVIDENCE_TYPES,
    FINDING_SCOPES,
    FINDING_STATISTICS,
    FINDING_UNITS,
    MEASURES,
    ANTIBODY_AXIS,
    PRIOR_ANTI_CD38_DEFINITIONS,
    PRIOR_ANTI_CD38_STATUSES,
    PUBLICATION_TYPES,
    RECORD_KINDS,
    REFRACTORY_CLASSES,
    RESPONSE_CATEGORIES,
    SPREADS,
    STATUSES,
    TITLE_STATUSES,
    TRIAL_STATUSES,
    UNITS,
)

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


def retreated_view(evidence: Evidence, study: Study, page_url: str) -> dict[str, Any] | None:
    """How many of the study's patients were retreated (retreated.retreated): as recorded with its source, or derived
    from its retreatment cohorts, each linked."""
    found = retreated(evidence, study)
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
            "label": arm.label, "anchor": f"cohort-{arm.id}", "retreatment": retreatment(evidence, study, arm).value,
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
    defined = population.prior_anti_cd38
    if defined is not None:
        value = PRIOR_ANTI_CD38_DEFINITIONS[defined.status].label
        rows.append({"label": "Prior anti-CD38, as the source defines the patients",
                     "value": f"{value} (“{defined.as_stated}”)" if defined.as_stated else value,
                     "source": source_view(evidence, defined, page_url)})
    return rows


def cohort_view(evidence: Evidence, study: Study, cohort: Cohort, page_url: str) -> dict[str, Any]:
    regimen = evidence.regimens.get(cohort.regimen) if cohort.regimen else None
    parent = next((c for c in study.cohorts if c.id == cohort.parent), None)
    derived = retreatment(evidence, study, cohort)
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
        "retreatment": derived.value,
        "prior": derived.prior.text,
        "partner": partners(evidence, study, cohort),
        "antibody": antibody(evidence, study, cohort),
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
             "best_response": RESPONSE_CATEGORIES[line.best_response], "anti_cd38": line.anti_cd38,
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


def study_context(evidence: Evidence, study: Study) -> dict[str, Any]:
    page_url = url_of("study", study.id)
    flagged_ids = {d.id for d in study.discrepancies}
    return {
        "study": study,
        "page_url": page_url,
        "design": DESIGNS[study.design],
        "evidence_type": EVIDENCE_TYPES[evidence_type(study)],
        "summary": render_markdown(study.summary),
        "prior_anti_cd38": render_markdown(study.prior_anti_cd38),
        "patients": patients_view(evidence, study, page_url),
        "retreated": retreated_view(evidence, study, page_url),
        "lines": lines_view(study),
        # the study's count is among the page's facts (patients_view), so its population table leaves it out
        "population": population_view(evidence, study.population, page_url, with_count=False),
        "population_description": render_markdown(study.population.description if study.population else None),
        "trial_status": [
            {"status": TRIAL_STATUSES[entry.status], "reason": entry.reason, "as_stated": entry.as_stated,
             "note": render_markdown(entry.note), "source": source_view(evidence, entry, page_url)}
            for entry in study.trial_status
        ],
        "eligibility": [
            {"kind": ELIGIBILITY_KINDS[kind], "criteria": [
                {"text": criterion.text, "source": source_view(evidence, criterion, page_url)}
                for criterion in study.eligibility if criterion.kind == kind]}
            for kind in ELIGIBILITY_KINDS if any(criterion.kind == kind for criterion in study.eligibility)
        ],
        "arms": arms_view(evidence, study, page_url),
        "comparisons": [comparison_view(evidence, study, c, page_url) for c in study.comparisons],
        "cohorts": [cohort_view(evidence, study, cohort, page_url) for cohort in study.cohorts],
        "publications": [publication_link(evidence, pid, page_url) for pid in study.publications],
        "cited_sources": [publication_link(evidence, pid, page_url) for pid in study.cited_sources],
        "discrepancies": discrepancy_views(evidence, study.discrepancies, page_url),
        "curation": curation_view(study),
        "flagged": sorted(flagged_ids),
        "related": [
            {**study_link(evidence, other_id, page_url), "relation": relation.replace("_", " "), "note": note}
            for other_id, relation, note in evidence.related_by_study.get(study.id, [])
        ],
        "reviews": [{"record": review, "href": relative(page_url, url_of("review", review.id))}
                    for review in evidence.reviews_by_study.get(study.id, [])],
        "discussing_reviews": [
            {"record": review, "href": relative(page_url, url_of("review", review.id)), "reason": discussed.reason,
             "as_stated": discussed.as_stated, "source": source_view(evidence, discussed, page_url)}
            for review, discussed in evidence.discussing_reviews_by_study.get(study.id, [])
        ],
    }


def regimen_page_urls(evidence: Evidence, regimen_id: str) -> list[str]:
    """The URLs of a regimen's pages: its page, then one more for every TABLE_PAGE_SIZE cohorts given it."""
    url = url_of("regimen", regimen_id)
    count = max(1, math.ceil(len(evidence.cohorts_by_regimen.get(regimen_id, [])) / TABLE_PAGE_SIZE))
    return [url] + [f"{url}page/{n}/" for n in range(2, count + 1)]


def regimen_context(evidence: Evidence, regimen_id: str, number: int = 1) -> dict[str, Any]:
    """The context of page `number` of a regimen (page 1 is the regimen's page; the others continue its table)."""
    regimen = evidence.regimens[regimen_id]
    urls = regimen_page_urls(evidence, regimen_id)
    page_url = urls[number - 1]
    every = evidence.cohorts_by_regimen.get(regimen.id, [])
    uses = every[(number - 1) * TABLE_PAGE_SIZE: number * TABLE_PAGE_SIZE]
    measures_present = [name for name in MEASURES
                        if any(o.measure == name for _, cohort in every for o in cohort_outcomes(cohort))]
    rows = []
    for study, cohort in uses:
        cells = {}
        for name in measures_present:
            cells[name] = [outcome_view(evidence, o, page_url, url_of("study", study.id))
                           for o in cohort_outcomes(cohort) if o.measure == name]
        rows.append({"study": study_link(evidence, study.id, page_url), "cohort": cohort,
                     "cohort_href": relative(page_url, url_of("study", study.id)) + f"#cohort-{cohort.id}",
                     "n": count_text(cohort.population.n) if cohort.population and cohort.population.n else None,
                     "partner": partners(evidence, study, cohort), "cells": cells})
    return {
        "regimen": regimen,
        "page_url": page_url,
        "description": render_markdown(regimen.description),
        "partner": regimen_partner_class(evidence, regimen.id),
        "agents": [{"record": evidence.agents[a], "class": AGENT_CLASSES[evidence.agents[a].agent_class],
                    "href": relative(page_url, url_of("agent", a))} for a in regimen.agents],
        "measures": [MEASURES[name] for name in measures_present],
        "rows": rows,
        "pager": pager_context(number, len(every), [relative(page_url, url) for url in urls], TABLE_PAGE_SIZE,
                               "Cohorts"),
        "regimen_href": relative(page_url, urls[0]),
        "uses": regimen_uses_view(evidence, regimen.id, page_url),
        "curation": curation_view(regimen),
    }


def agent_context(evidence: Evidence, agent_id: str) -> dict[str, Any]:
    agent = evidence.agents[agent_id]
    page_url = url_of("agent", agent.id)
    regimens = evidence.regimens_by_agent.get(agent.id, [])
    # Studies are counted, not listed: a common agent is in most studies, and no page lists every study.
    return {
        "agent": agent,
        "page_url": page_url,
        "class": AGENT_CLASSES[agent.agent_class],
        "description": render_markdown(agent.description),
        "regimens": [{"record": r, "href": relative(page_url, url_of("regimen", r.id)),
                      "uses": regimen_uses_view(evidence, r.id, page_url)} for r in regimens],
        "curation": curation_view(agent),
    }


def publication_context(evidence: Evidence, publication_id: str) -> dict[str, Any]:
    publication = evidence.publications[publication_id]
    page_url = url_of("publication", publication.id)
    return {
        "publication": publication,
        "page_url": page_url,
        "heading": citation_with_title(publication),
        "type": PUBLICATION_TYPES[publication.type],
        "title_status": TITLE_STATUSES[publication.title_status] if publication.title_status != "given" else None,
        "note": render_markdown(publication.note),
        "studies": [study_link(evidence, s.id, page_url) for s in evidence.studies_by_publication.get(publication.id, [])],
        "citing_studies": [study_link(evidence, s.id, page_url)
                           for s in evidence.citing_studies_by_publication.get(publication.id, [])],
        "reviews": [{"record": r, "href": relative(page_url, url_of("review", r.id))}
                    for r in evidence.reviews.values() if r.publication == publication.id],
        "curation": curation_view(publication),
    }


def review_context(evidence: Evidence, review_id: str) -> dict[str, Any]:
    review = evidence.reviews[review_id]
    page_url = url_of("review", review.id)
    prisma = review.prisma
    flow_labels = {
        "records_identified_databases": "Records identified from databases",
        "records_identified_other": "Records identified from other sources",
        "duplicates_removed": "Duplicates removed",
        "excluded_title_abstract": "Excluded at title/abstract screening",
        "excluded_full_text": "Excluded at full-text screening",
        "publications_included": "Publications included",
        "studies_included": "Studies included",
    }
    return {
        "review": review,
        "page_url": page_url,
        "publication": publication_link(evidence, review.publication, page_url),
        "question": render_markdown(review.question),
        "summary": render_markdown(review.summary),
        "eligibility": [render_markdown(item) for item in review.eligibility],
        "search": review.search,
        "search_source": source_view(evidence, review.search, page_url),
        "flow": [(label, getattr(prisma, name)) for name, label in flow_labels.items() if getattr(prisma, name) is not None],
        "flow_source": source_view(evidence, prisma, page_url),
        "studies": [study_link(evidence, sid, page_url) for sid in review.included_studies],
        "discussed": [
            {**study_link(evidence, d.study, page_url), "reason": d.reason, "as_stated": d.as_stated,
             "source": source_view(evidence, d, page_url)}
            for d in review.discussed_studies
        ],
        "findings": [finding_view(evidence, finding, page_url) for finding in review.findings],
        "conclusions": [conclusion_view(evidence, conclusion, page_url) for conclusion in review.conclusions],
        "discrepancies": discrepancy_views(evidence, review.discrepancies, page_url),
        "curation": curation_view(review),
        "summary_href": relative(page_url, SUMMARY_URL),
        "summary_details_href": relative(page_url, SUMMARY_DETAILS_URL),
    }


# Beside the hand-written Contribute page, which links to it.
FIELD_REFERENCE_PAGE = "contribute/fields.md"

INDEX_PAGE_SIZE = 100
INDEX_TEMPLATES = {"study": "studies_index.md.j2", "regimen": "regimens_index.md.j2", "agent": "agents_index.md.j2",
                   "publication": "publications_index.md.j2", "review": "reviews_index.md.j2"}


def index_item(evidence: Evidence, kind: str, record: Any, page_url: str) -> dict[str, Any]:
    """One row of an index page, with links relative to that page."""
    if kind == "study":
        return study_index_view(evidence, study_facts(evidence, record), page_url)
    if kind == "regimen":
        return {"record": record, "href": relative(page_url, url_of("regimen", record.id)),
                "partner": regimen_partner_class(evidence, record.id),
                "uses": regimen_uses_view(evidence, record.id, page_url)}
    if kind == "agent":
        return {"record": record, "class": AGENT_CLASSES[record.agent_class],
                "href": relative(page_url, url_of("agent", record.id))}
    if kind == "publication":
        return publication_link(evidence, record.id, page_url)
    return {"record": record, "href": relative(page_url, url_of(kind, record.id))}


def regimen_uses_view(evidence: Evidence, regimen_id: str, page_url: str) -> dict[str, Any]:
    """How many studies gave a regimen to a cohort and, when none did, why the regimen is listed."""
    uses = regimen_uses(evidence, regimen_id)
    return {
        "studies": uses.studies,
        "context": len(uses.context_studies),
        "lines": [study_link(evidence, study_id, page_url) for study_id in uses.line_studies],
        "within": [{"record": evidence.regimens[r], "href": relative(page_url, url_of("regimen", r))}
                   for r in uses.within],
    }


def headline_text(outcome: Outcome) -> str:
    """A figure as a summary cell shows it: the value or status, with its variant when it has one, and said to be
    computed when the atlas computed it from per-patient responses (no source states it)."""
    return (figure_text(outcome) + (f" ({outcome.variant})" if outcome.variant else "")
            + (COMPUTED_FROM_PATIENTS if isinstance(outcome, PatientDerivedOutcome) else ""))


# The fields of a key result in the studies index data, in order.
KEY_RESULT_FIELDS = ("cohort", "label", "orr", "orr_value", "pfs", "pfs_value", "n")


def key_result_view(key: KeyResult | None) -> dict[str, Any] | None:
    """A key result as text and numbers: None fields when the cohort records no such figure."""
    if key is None:
        return None
    return {"cohort": key.cohort.id, "label": key.cohort.label,
            "orr": headline_text(key.orr) if key.orr else None, "orr_value": key.orr.value if key.orr else None,
            "pfs": headline_text(key.pfs) if key.pfs else None, "pfs_value": key.pfs.value if key.pfs else None,
            "n": key.n}


def patients_text(n: int | None) -> str:
    """A study's number of patients in an index: the number, or 'Not reported' (never empty, never zero)."""
    return str(n) if n is not None else STATUSES["not_reported"].label


def study_index_view(evidence: Evidence, facts: StudyFacts, page_url: str) -> dict[str, Any]:
    """A row of the studies index as the page shows it without JavaScript."""
    study = facts.study
    href = relative(page_url, url_of("study", study.id))
    key = key_result_view(facts.key)
    return {
        "record": study, "href": href, "year": facts.year,
        "design": DESIGNS[facts.design].label, "evidence_type": EVIDENCE_TYPES[facts.evidence_type],
        "regimens": [{"record": evidence.regimens[r], "href": relative(page_url, url_of("regimen", r))}
                     for r in facts.regimens],
        "partner_classes": [partner_group_label(name) for name in facts.partner_classes],
        "antibodies": [ANTIBODY_AXIS[name] for name in facts.antibodies],
        "prior_statuses": [PRIOR_ANTI_CD38_STATUSES[name].label for name in facts.prior_statuses],
        "n": patients_text(facts.n),
        "key": {**key, "href": f"{href}#cohort-{key['cohort']}"} if key else None,
        "retreated": retreated_note(facts.retreated, facts.n),
    }


STUDIES_INDEX_DATA = f"{DATA_FOLDER}/studies-index.json"
# The fields of a row in the studies index data, in order: rows are arrays, so no name is repeated 10,000 times.
STUDY_INDEX_FIELDS = ("id", "title", "short_name", "registry_ids", "year", "design", "evidence_type", "regimens",
                      "partner_classes", "antibodies", "prior_statuses", "n", "key", "retreated")


def studies_index_json(evidence: Evidence) -> str:
    """The rows of the studies index for the page's script, in study id order.

    Compact by construction: regimens and agents are numbers into lists given once, vocabulary values are names
    whose labels are given once, and only what the table shows or filters on is there.
    """
    rows = [study_facts(evidence, study) for study in sorted(evidence.studies.values(), key=lambda s: s.id)]
    regimen_ids = sorted({r for row in rows for r in row.regimens},
                         key=lambda r: (evidence.regimens[r].name.lower(), r))
    agent_ids = sorted({a for r in regimen_ids for a in evidence.regimens[r].agents},
                       key=lambda a: (evidence.agents[a].name.lower(), a))
    regimen_number = {r: i for i, r in enumerate(regimen_ids)}
    agent_number = {a: i for i, a in enumerate(agent_ids)}

    def row_data(row: StudyFacts) -> list[Any]:
        key = key_result_view(row.key)
        return [row.study.id, row.study.title, row.study.short_name, row.study.registry_ids, row.year, row.design,
                row.evidence_type, [regimen_number[r] for r in row.regimens], list(row.partner_classes),
                list(row.antibodies), list(row.prior_statuses), row.n,
                [key[name] for name in KEY_RESULT_FIELDS] if key else None, retreated_note(row.retreated, row.n)]

    payload = {
        "fields": list(STUDY_INDEX_FIELDS),
        "key_fields": list(KEY_RESULT_FIELDS),
        "urls": {kind: f"{RECORD_KINDS[kind].url_prefix}/" for kind in ("study", "regimen")},
        "labels": {
            "design": {name: design.label for name, design in DESIGNS.items()},
            "evidence_type": dict(EVIDENCE_TYPES),
            "partner_class": {name: partner_group_label(name)
                              for name in partner_groups_in_order(p for row in rows for p in row.partner_classes)},
            "antibody": dict(ANTIBODY_AXIS),
            "prior_status": {name: status.label for name, status in PRIOR_ANTI_CD38_STATUSES.items()},
            "not_reported": STATUSES["not_reported"].label,
        },
        "agents": [[a, evidence.agents[a].name] for a in agent_ids],
        "regimens": [[r, evidence.regimens[r].name, [agent_number[a] for a in evidence.regimens[r].agents]]
                     for r in regimen_ids],
        "rows": [row_data(row) for row in rows],
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n"


def _index_order(kind: str, record: Any) -> tuple:
    if kind == "publication":
        return (short_citation(record).lower(), record.id)
    if kind in ("regimen", "agent"):
        return (record.name.lower(), record.id)
    return (record.id,)


def pager_context(number: int, total: int, hrefs: list[str], size: int, noun: str = "Records") -> dict[str, Any]:
    """The pager of page `number` of a list of `total` items, `size` a page, given links to every page from it."""
    count = len(hrefs)
    return {
        "number": number, "count": count, "total": total, "noun": noun,
        "first": (number - 1) * size + 1, "last": min(number * size, total),
        "previous": hrefs[number - 2] if number > 1 else None,
        "next": hrefs[number] if number < count else None,
        "pages": [{"number": i, "href": href, "current": i == number} for i, href in enumerate(hrefs, 1)]
        if count <= 20 else None,
    }


def index_pages(evidence: Evidence, kind: str) -> Iterable[tuple[str, dict[str, Any]]]:
    """(page path, context) of each page of a kind's index; pages hold INDEX_PAGE_SIZE records, so none grows."""
    prefix = RECORD_KINDS[kind].url_prefix
    records = sorted(evidence.by_kind(kind).values(), key=lambda r: _index_order(kind, r))
    count = max(1, math.ceil(len(records) / INDEX_PAGE_SIZE))
    urls = [f"{prefix}/" if page == 1 else f"{prefix}/page/{page}/" for page in range(1, count + 1)]
    for page_number, url in enumerate(urls, start=1):
        chunk = records[(page_number - 1) * INDEX_PAGE_SIZE: page_number * INDEX_PAGE_SIZE]
        pager = pager_context(page_number, len(records), [relative(url, u) for u in urls], INDEX_PAGE_SIZE)
        context = {"items": [index_item(evidence, kind, record, url) for record in chunk], "pager": pager,
                   "page_url": url, "site_root": relative(url, ""), "pager_size": INDEX_PAGE_SIZE}
        yield f"{url}index.md", context


# ---------------------------------------------------------------- page descriptions

def _listed(names: list[str], most: int = 3) -> str:
    shown = names[:most] + ([f"{len(names) - most} more"] if len(names) > most else [])
    return ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else "".join(shown)


def _counted(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def page_description(evidence: Evidence, kind: str, record_id: str) -> str:
    """A record page's meta description, in plain text from its record: what a search result shows of the page."""
    record = evidence.by_kind(kind)[record_id]
    if kind == "study":
        regimens: list[str] = []
        for cohort in record.cohorts:
            if cohort.regimen and evidence.regimens[cohort.regimen].name not in regimens:
                regimens.append(evidence.regimens[cohort.regimen].name)
        found = patient_count(record)
        size = (f"{found[0].value} patients" if found is not None and found[0].value is not None
                else "number of patients not reported")
        phase = f" (phase {record.phase})" if record.phase else ""
        treated = f" of {_listed(regimens)}" if regimens else ""
        return (f"{record.short_name or record.title}: {DESIGNS[record.design].label}{phase}{treated}; {size}."
                " Every figure with its source.")
    if kind == "regimen":
        studies = len({s.id for s, _ in evidence.cohorts_by_regimen.get(record.id, [])})
        return (f"{record.name}: outcomes in {_counted(studies, 'study', 'studies')} of the atlas, every figure with"
                " its source.")
    if kind == "agent":
        regimens = len(evidence.regimens_by_agent.get(record.id, []))
        return (f"{record.name} ({AGENT_CLASSES[record.agent_class]}): part of"
                f" {_counted(regimens, 'regimen', 'regimens')} of the atlas.")
    if kind == "publication":
        studies = len(evidence.studies_by_publication.get(record.id, []))
        return (f"{PUBLICATION_TYPES[record.type]}: {citation_with_title(record)}. Source of"
                f" {_counted(studies, 'study', 'studies')} in the atlas.")
    return (f"Systematic review: {record.title}. {_counted(len(record.included_studies), 'study', 'studies')}"
            f" included, {len(record.discussed_studies)} discussed but not included.")


INDEX_DESCRIPTIONS = {
    "study": "The {total} studies of the atlas, with their design, regimens and number of patients",
    "regimen": "The {total} regimens of the atlas and how many studies report each",
    "agent": "The {total} agents of the atlas and their drug classes",
    "publication": "The {total} publications the atlas takes its figures from",
    "review": "The {total} systematic reviews of the atlas",
}


def index_description(kind: str, pager: dict[str, Any]) -> str:
    """The meta description of one page of a kind's index."""
    text = INDEX_DESCRIPTIONS[kind].format(total=pager["total"])
    return text + (f" (page {pager['number']} of {pager['count']})." if pager["count"] > 1 else ".")


def chart_description(measure_name: str) -> str:
    """The meta description of a cross-study chart page."""
    return (f"The {MEASURES[measure_name].in_sentence} of the cohorts of the atlas that report it, by the patients'"
            " prior anti-CD38 therapy: a chart, and a table of the figures with their sources.")


@dataclass(frozen=True)
class ChartView:
    """What a page needs to show a chart: files beside the page, caption, description and data table."""

    name: str
    title: str
    caption: str
    description: str
    spec_file: str
    svg_file: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]  # cells: text, or charts.Link
    links: tuple[Any, ...] = ()  # charts.Link the caption ends with
    narrow_svg_file: str = ""  # the static SVG drawn for screens narrower than charts.NARROW_BELOW
    narrow_media: str = f"(max-width: {NARROW_BELOW - 1}px)"
    pager: dict[str, Any] | None = None  # when the table goes on over pages of its own (chart_table_pages)


def chart_views(charts: list[Chart]) -> list[ChartView]:
    return [ChartView(c.name, c.title, c.caption, c.description, c.spec_file, c.svg_file, c.columns, c.rows, c.links,
                      c.narrow_svg_file)
            for c in charts]


# Rows of a chart's data table, of a regimen's table of cohorts, or of a list of cohorts on the Evidence summary or the
# regimen tables, on one page; the rest go to pages of their own.
TABLE_PAGE_SIZE = 100


def fits_on_page(total: int) -> bool:
    """Whether a list of `total` items is shown whole on its page, rather than on pages of its own."""
    return total <= TABLE_PAGE_SIZE


def table_page_urls(first_url: str, total: int, whole: bool) -> list[str]:
    """The pages of its own a list of `total` items goes on over when the page that shows it does not list it
    whole (see summary.listed_whole): first_url, then first_url<n>/, TABLE_PAGE_SIZE items a page; none when it
    is listed whole, or empty."""
    if whole or total == 0:
        return []
    return [first_url] + [f"{first_url}{n}/" for n in range(2, math.ceil(total / TABLE_PAGE_SIZE) + 1)]


def table_page_items(items: Sequence[Any], number: int) -> Sequence[Any]:
    """The items on page `number` (from 1) of a list that goes on over pages of TABLE_PAGE_SIZE items."""
    return items[(number - 1) * TABLE_PAGE_SIZE: number * TABLE_PAGE_SIZE]


def table_pager(number: int, total: int, hrefs: list[str], noun: str) -> dict[str, Any]:
    """The pager of page `number` of a list that goes on over pages of TABLE_PAGE_SIZE items."""
    return pager_context(number, total, hrefs, TABLE_PAGE_SIZE, noun)


def rebase(href: str, from_url: str, to_url: str) -> str:
    """A relative link written on the page at from_url, as written on the page at to_url."""
    if not href or "://" in href or href.startswith(("/", "mailto:")):
        return href
    path, hashmark, fragment = href.partition("#")
    target = posixpath.normpath(posixpath.join(from_url or ".", path)) if path else (from_url or ".").rstrip("/")
    moved = posixpath.relpath(target, to_url or ".")
    if (path.endswith("/") or not path) and not moved.endswith("/"):
        moved += "/"
    return moved + hashmark + fragment


def chart_table_pages(view: ChartView, page_url: str) -> tuple[ChartView, list[tuple[str, dict[str, Any]]]]:
    """A chart as its page shows it, with the first TABLE_PAGE_SIZE rows of its data table, and the (path, context)
    of the pages that hold the rest of the table, at <page>/<chart name>/<n>/."""
    rows = view.rows
    if len(rows) <= TABLE_PAGE_SIZE:
        return view, []
    count = math.ceil(len(rows) / TABLE_PAGE_SIZE)
    urls = [page_url] + [f"{page_url}{view.name}/{n}/" for n in range(2, count + 1)]

    def hrefs(url: str) -> list[str]:
        return [relative(url, page_url) + f"#{view.name}" if n == 1 else relative(url, u)
                for n, u in enumerate(urls, 1)]

    def page_rows(number: int, url: str) -> tuple[tuple[Any, ...], ...]:
        chunk = rows[(number - 1) * TABLE_PAGE_SIZE: number * TABLE_PAGE_SIZE]
        if url == page_url:
            return chunk
        return tuple(tuple(replace(cell, href=rebase(cell.href, page_url, url)) if isinstance(cell, Link) else cell
                           for cell in row) for row in chunk)

    first = replace(view, rows=page_rows(1, page_url),
                    pager=pager_context(1, len(rows), hrefs(page_url), TABLE_PAGE_SIZE, "Rows"))
    pages = [(f"{url}index.md", {"page_url": url, "chart": replace(view, rows=page_rows(n, url)),
                                 "chart_href": relative(url, page_url) + f"#{view.name}",
                                 "pager": pager_context(n, len(rows), hrefs(url), TABLE_PAGE_SIZE, "Rows")})
             for n, url in enumerate(urls[1:], 2)]
    return first, pages


def chart_pages_context(charts: dict[str, list[Chart]]) -> list[dict[str, Any]]:
    items = []
    for measure_name in CROSS_STUDY_MEASURES:
        url = chart_page_url(measure_name)
        chart = charts[url][0]
        items.append({"measure": MEASURES[measure_name], "href": relative(f"{CHARTS_URL_PREFIX}/", url),
                      "cohorts": chart.marks, "studies": chart.studies})
    return items


CITE_FILES = {"bibtex": "cite.bib", "ris": "cite.ris", "csl": "cite.json"}


def first_page_sources(evidence: Evidence, regimen_id: str) -> list[CitationItem]:
    """The source publications of the cohorts on a regimen's own page (its first TABLE_PAGE_SIZE): what its head
    metadata cites, since those are the figures it shows. All of the regimen's sources are in its citation downloads;
    in the head they would make a much-used regimen's page grow with the atlas (760 KB at 10,000 studies)."""
    return cohort_sources(evidence, evidence.cohorts_by_regimen.get(regimen_id, [])[:TABLE_PAGE_SIZE])


def citation_context(evidence: Evidence, kind: str, record_id: str, settings: SiteSettings,
                     revision: Revision | None) -> tuple[dict[str, Any], list[Page], dict[str, Any]]:
    """'Cite this page' and revision history of a record page, its citation downloads and its head metadata."""
    record = evidence.by_kind(kind)[record_id]
    page = page_item(kind, record, settings.name, settings.url, revision)
    sources = source_items(evidence, kind, record)
    items = [page, *sources]
    url = url_of(kind, record_id)
    files = [Page(f"{url}{CITE_FILES['bibtex']}", to_bibtex(items)), Page(f"{url}{CITE_FILES['ris']}", to_ris(items)),
             Page(f"{url}{CITE_FILES['csl']}", to_csl_json(items))]
    cited = first_page_sources(evidence, record_id) if kind == "regimen" else sources
    head = {"meta": meta_tags(page, cited), "jsonld": json_ld_text(json_ld(kind, record, page, cited, settings.url))}
    context = {
        "cite": {"text": formatted_citation(page), "files": CITE_FILES, "sources": len(sources)},
        "revision": {
            "added": revision.added if revision else None,
            "changed": revision.changed if revision else None,
            "history": f"{settings.repository}/commits/main/{revision.repo_path}" if revision and settings.repository else None,
        },
    }
    return context, files, head


@dataclass(frozen=True)
class PageJob:
    """One unit of page generation: a name unique in the site, and a function giving its files.

    The build runs a job only when something it read last time has changed (build_scripts/load/cache.py), so a
    job computes its context inside `make`, never before: what it reads there is what it depends on.
    """

    name: str
    make: Callable[[], list[Page]]
    # Jobs of one group share what they compute (the synthesis), so a build runs them in one process.
    group: str | None = None
