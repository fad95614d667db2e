"""Every cohort's derived axes beside the source's words they come from: the audit page that lets a reader check them."""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

from build_scripts.derive.facts import defining_population, question_fit
from build_scripts.derive.partners import index_switch, partners
from build_scripts.render.links import relative, short_citation, url_of
from build_scripts.render.paging import TABLE_PAGE_SIZE, pager_context

if TYPE_CHECKING:
    from build_scripts.load.evidence import Evidence
    from build_scripts.load.model import Study
    from build_scripts.load.parts import Cohort

AXES_AUDIT_URL = "derived-axes/"


def audit_row(evidence: Evidence, study: Study, cohort: Cohort, page_url: str) -> dict[str, Any]:
    """One cohort's derived axes, why, and what the source says."""
    found = question_fit(evidence, study, cohort)
    population, whose = defining_population(study, cohort)
    defined = population.prior_exposure if population is not None else None
    publication = evidence.publications.get(defined.source.publication) if defined is not None else None
    return {
        "study": study, "cohort": cohort,
        "href": relative(page_url, url_of("study", study.id)) + f"#cohort-{cohort.id}",
        "in_question": found,
        "index_switch": index_switch(evidence, study, cohort),
        "partner": partners(evidence, study, cohort),
        "as_stated": defined.as_stated if defined is not None else None,
        "whose": whose,
        "source": short_citation(publication) if publication is not None else None,
        "location": defined.source.location if defined is not None else None,
    }


def audit_chunks(studies: list[Study]) -> list[list[Study]]:
    """Studies in pages of about TABLE_PAGE_SIZE cohorts; a study's cohorts stay on one page."""
    chunks: list[list[Study]] = [[]]
    rows = 0
    for study in studies:
        if chunks[-1] and rows + len(study.cohorts) > TABLE_PAGE_SIZE:
            chunks.append([])
            rows = 0
        chunks[-1].append(study)
        rows += len(study.cohorts)
    return chunks


def axes_audit_pages(evidence: Evidence) -> list[tuple[str, dict[str, Any]]]:
    """(page path, context) of each page of the audit: one row per cohort of every study, in study id order, on pages
    of about TABLE_PAGE_SIZE rows so that no page grows with the evidence."""
    studies = sorted(evidence.studies.values(), key=lambda s: s.id)
    chunks = audit_chunks(studies)
    urls = [AXES_AUDIT_URL] + [f"{AXES_AUDIT_URL}{number}/" for number in range(2, len(chunks) + 1)]
    total = sum(len(study.cohorts) for study in studies)
    in_question = sum(question_fit(evidence, study, cohort).value for study in studies for cohort in study.cohorts)
    pages, first = [], 0
    for number, (url, chunk) in enumerate(zip(urls, chunks), start=1):
        rows = [audit_row(evidence, study, cohort, url) for study in chunk for cohort in study.cohorts]
        pager = pager_context(number, total, [relative(url, u) for u in urls], TABLE_PAGE_SIZE, "Cohorts")
        pager.update(first=first + 1, last=first + len(rows))  # pages end between studies, so not every 100 rows
        first += len(rows)
        pages.append((f"{url}index.md", {"rows": rows, "total": total, "in_question": in_question, "pager": pager,
                                         "page_url": url, "methods_href": posixpath.relpath("methods.md", url.rstrip("/"))}))
    return pages
