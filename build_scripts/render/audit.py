"""Every cohort's derived axes beside the source's words they come from: the audit page that lets a reader check them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from build_scripts.derive.facts import defining_population, question_fit
from build_scripts.derive.partners import index_switch, partners
from build_scripts.render.links import relative, short_citation, url_of

if TYPE_CHECKING:
    from build_scripts.load.evidence import Evidence

AXES_AUDIT_URL = "derived-axes/"


def axes_audit(evidence: Evidence, page_url: str = AXES_AUDIT_URL) -> dict[str, Any]:
    """One row per cohort of every study: what the atlas derived on each axis, why, and what the source says."""
    rows = []
    for study in sorted(evidence.studies.values(), key=lambda s: s.id):
        for cohort in study.cohorts:
            found = question_fit(evidence, study, cohort)
            population, whose = defining_population(study, cohort)
            defined = population.prior_exposure if population is not None else None
            publication = evidence.publications.get(defined.source.publication) if defined is not None else None
            rows.append({
                "study": study, "cohort": cohort,
                "href": relative(page_url, url_of("study", study.id)) + f"#cohort-{cohort.id}",
                "in_question": found,
                "index_switch": index_switch(evidence, study, cohort),
                "partner": partners(evidence, study, cohort),
                "as_stated": defined.as_stated if defined is not None else None,
                "whose": whose,
                "source": short_citation(publication) if publication is not None else None,
                "location": defined.source.location if defined is not None else None,
            })
    return {"rows": rows, "in_question": sum(row["in_question"].value for row in rows)}
