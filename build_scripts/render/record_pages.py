"""The context of each record's own page (study, regimen, agent, publication, review) and of its citation files."""

from __future__ import annotations

import math
from typing import Any

from build_scripts.derive.partners import partners, regimen_partner_class
from build_scripts.derive.responses import cohort_outcomes
from build_scripts.load.evidence import Evidence, evidence_type
from build_scripts.load.history import Revision
from build_scripts.load.model import Study
from build_scripts.load.numbers import number
from build_scripts.load.settings import SiteSettings
from build_scripts.load.vocabulary import (
    AGENT_CLASSES, DESIGNS, ELIGIBILITY_KINDS, EVIDENCE_TYPES, MEASURES, PUBLICATION_TYPES, TITLE_STATUSES,
    TRIAL_STATUSES,
)
from build_scripts.render import paging
from build_scripts.render.citations import (
    CitationItem, cohort_sources, formatted_citation, json_ld, json_ld_text, meta_tags, page_item, source_items,
    to_bibtex, to_csl_json, to_ris,
)
from build_scripts.render.index_pages import regimen_uses_view
from build_scripts.render.links import SUMMARY_DETAILS_URL, SUMMARY_URL, citation_with_title, relative, url_of
from build_scripts.render.pages import (
    Page, arms_view, cohort_view, comparison_view, conclusion_view, count_text, curation_view, discrepancy_views,
    finding_view, lines_view, outcome_view, patients_view, population_view, publication_link, question_count_view,
    source_view, study_link,
)
from build_scripts.render.paging import pager_context
from build_scripts.render.templating import render_markdown


def study_context(evidence: Evidence, study: Study) -> dict[str, Any]:
    page_url = url_of("study", study.id)
    flagged_ids = {d.id for d in study.discrepancies}
    return {
        "study": study,
        "page_url": page_url,
        "design": DESIGNS[study.design],
        "evidence_type": EVIDENCE_TYPES[evidence_type(study)],
        "summary": render_markdown(study.summary),
        "prior_exposure": render_markdown(study.prior_exposure),
        "patients": patients_view(evidence, study, page_url),
        "patients_in_question": question_count_view(evidence, study, page_url),
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
    """The URLs of a regimen's pages: its page, then one more for every paging.TABLE_PAGE_SIZE cohorts given it."""
    url = url_of("regimen", regimen_id)
    count = max(1, math.ceil(len(evidence.cohorts_by_regimen.get(regimen_id, [])) / paging.TABLE_PAGE_SIZE))
    return [url] + [f"{url}page/{n}/" for n in range(2, count + 1)]


def regimen_context(evidence: Evidence, regimen_id: str, number: int = 1) -> dict[str, Any]:
    """The context of page `number` of a regimen (page 1 is the regimen's page; the others continue its table)."""
    regimen = evidence.regimens[regimen_id]
    urls = regimen_page_urls(evidence, regimen_id)
    page_url = urls[number - 1]
    every = evidence.cohorts_by_regimen.get(regimen.id, [])
    uses = every[(number - 1) * paging.TABLE_PAGE_SIZE: number * paging.TABLE_PAGE_SIZE]
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
        "pager": pager_context(number, len(every), [relative(page_url, url) for url in urls], paging.TABLE_PAGE_SIZE,
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


CITE_FILES = {"bibtex": "cite.bib", "ris": "cite.ris", "csl": "cite.json"}


def first_page_sources(evidence: Evidence, regimen_id: str) -> list[CitationItem]:
    """The source publications of the cohorts on a regimen's own page (its first paging.TABLE_PAGE_SIZE): what its head
    metadata cites, since those are the figures it shows. All of the regimen's sources are in its citation downloads;
    in the head they would make a much-used regimen's page grow with the atlas (760 KB at 10,000 studies)."""
    return cohort_sources(evidence, evidence.cohorts_by_regimen.get(regimen_id, [])[:paging.TABLE_PAGE_SIZE])


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
