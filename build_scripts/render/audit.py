"""Every cohort's derived axes beside the source's words they come from: the audit page that lets a reader check them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from build_scripts.derive.facts import defining_population, question_fit
from build_scripts.derive.partners import index_switch, partners
from build_scripts.load.cache import fragment
from build_scripts.render.links import relative, short_citation, url_of
from build_scripts.render import paging
from build_scripts.render.paging import pager_context

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
        if chunks[-1] and rows + len(study.cohorts) > paging.TABLE_PAGE_SIZE:
            chunks.append([])
            rows = 0
        chunks[-1].append(study)
        rows += len(study.cohorts)
    return chunks


def axes_audit_pages(evidence: Evidence) -> list[tuple[str, dict[str, Any]]]:
    """(page path, context) of each page of the audit: one row per cohort of every study, in study id order, on pages
    of about TABLE_PAGE_SIZE rows so that no page grows with the evidence."""
    return [(path, make()) for path, _, make in axes_audit_plan(evidence)]


def axes_audit_plan(evidence: Evidence) -> list[tuple[str, tuple, Callable[[], dict[str, Any]]]]:
    """Each page of the audit as (path, key, context maker): the key is all the page shows besides what the maker
    reads (its studies, its place among the pages, the totals), so that a page can be kept while its studies are
    unchanged."""
    studies = sorted(evidence.studies.values(), key=lambda s: s.id)
    chunks = audit_chunks(studies)
    urls = [AXES_AUDIT_URL] + [f"{AXES_AUDIT_URL}{number}/" for number in range(2, len(chunks) + 1)]
    total = sum(len(study.cohorts) for study in studies)
    in_question = sum(fragment("cohorts in the question", study.id, lambda study=study: sum(
        question_fit(evidence, evidence.studies[study.id], cohort).value for cohort in study.cohorts))
        for study in studies)
    plan, first = [], 0
    for number, (url, chunk) in enumerate(zip(urls, chunks), start=1):
        count = sum(len(study.cohorts) for study in chunk)
        pager = pager_context(number, total, [relative(url, u) for u in urls], paging.TABLE_PAGE_SIZE, "Cohorts")
        pager.update(first=first + 1, last=first + count)  # pages end between studies, so not every 100 rows
        first += count
        ids = tuple(study.id for study in chunk)

        def make(url: str = url, ids: tuple[str, ...] = ids, pager: dict[str, Any] = pager) -> dict[str, Any]:
            rows = [audit_row(evidence, evidence.studies[study_id], cohort, url)
                    for study_id in ids for cohort in evidence.studies[study_id].cohorts]
            return {"rows": rows, "total": total, "in_question": in_question, "pager": pager, "page_url": url}

        plan.append((f"{url}index.md", (ids, total, in_question, repr(pager)), make))
    return plan
