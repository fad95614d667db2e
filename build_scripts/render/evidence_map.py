"""The evidence map: cohorts and patients per partner group and prior status, and the review's figures beside the atlas's."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from build_scripts.derive.partners import partner_group_label, partner_groups_in_order
from build_scripts.load.evidence import Evidence, evidence_type
from build_scripts.load.model import Review
from build_scripts.load.vocabulary import EVIDENCE_TYPES, FINDING_SCOPES, MEASURES, EXPOSURE_STATUSES
from build_scripts.render.links import SUMMARY_URL, relative, url_of
from build_scripts.render.long_lists import anchor_name, cohort_href
from build_scripts.render.members import (
    Figure, MeasureSummary, Member, PatientTotal, measure_summary, members, patient_total,
)
from build_scripts.render.pages import finding_figure, source_view
from build_scripts.render.paging import fits_on_page


# Diameters of the evidence map's marks, in em: the largest cell gets MARK_MAX, a cell with no patient count MARK_MIN.
MARK_MIN, MARK_MAX = 0.7, 3.2


@dataclass(frozen=True)
class MapCell:
    """One partner class and evidence type of the evidence map: its cohorts and patients, and the size of its mark."""

    partner: str
    evidence_type: str
    members: tuple[Member, ...]
    studies: int
    patients: PatientTotal
    size: float  # diameter of the mark, in em

    @property
    def anchor(self) -> str:
        return anchor_name("map", self.partner, self.evidence_type)

    @property
    def label(self) -> str:
        return f"{partner_group_label(self.partner)}, {EVIDENCE_TYPES[self.evidence_type].lower()}"


def mark_size(patients: int, largest: int) -> float:
    """A mark's diameter: its area grows with the patients it stands for (MARK_MIN with none counted)."""
    if patients <= 0 or largest <= 0:
        return MARK_MIN
    return round(MARK_MIN + (MARK_MAX - MARK_MIN) * math.sqrt(patients / largest), 2)


def evidence_map(evidence: Evidence, everyone: Sequence[Member] | None = None) -> list[tuple[str, list[MapCell | None]]]:
    """Rows of (partner class, one cell per evidence type or None where there is no cohort) over the cohorts in the question."""
    cells: dict[tuple[str, str], list[Member]] = {}
    for member in members(evidence) if everyone is None else everyone:
        if member.in_question:
            cells.setdefault((member.partner.name, member.evidence_type), []).append(member)
    totals = {key: patient_total(evidence, group) for key, group in cells.items()}
    largest = max((total.value for total in totals.values()), default=0)
    rows = []
    for partner in partner_groups_in_order(key[0] for key in cells):
        row: list[MapCell | None] = []
        for kind in EVIDENCE_TYPES:
            group = cells.get((partner, kind))
            row.append(None if group is None else MapCell(
                partner, kind, tuple(group), len({m.study.id for m in group}), totals[(partner, kind)],
                mark_size(totals[(partner, kind)].value, largest)))
        rows.append((partner, row))
    return rows


def _scope(member: Member, scope: str) -> bool:
    return scope == "all" or member.evidence_type == scope


def outside_review(review: Review, summary: MeasureSummary) -> list[Figure]:
    """The figures of an atlas range that come from studies the review does not include."""
    included = set(review.included_studies)
    return [f for f in summary.figures + summary.not_reached if f.member.study.id not in included]


def review_views(evidence: Evidence, page_url: str = SUMMARY_URL,
                 everyone: Sequence[Member] | None = None) -> list[dict[str, Any]]:
    """Each review's outcome findings, grouped by measure and evidence type, beside the atlas's figures of the same;
    and its conclusions beside the atlas's figures of their measure by prior status, or how the atlas treats the
    studies they name. Atlas figures are over the cohorts in the question, one per patient population."""
    everyone = members(evidence) if everyone is None else everyone
    in_question = [m for m in everyone if m.in_question]
    views = []
    for review in sorted(evidence.reviews.values(), key=lambda r: r.id):
        review_url = url_of("review", review.id)
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for finding in review.findings:
            if finding.measure is not None:
                groups.setdefault((finding.measure, finding.evidence_type), []).append(
                    {"finding": finding, "figure": finding_figure(finding),
                     "source": source_view(evidence, finding, page_url, review_url)})
        findings = []
        for (measure_name, scope), items in groups.items():
            atlas = measure_summary(evidence, [m for m in in_question if _scope(m, scope)], measure_name, page_url)
            outside = outside_review(review, atlas)
            findings.append({"measure": MEASURES[measure_name], "scope": FINDING_SCOPES[scope], "items": items,
                             "atlas": atlas, "outside": outside, "outside_listed": fits_on_page(len(outside))})
        conclusions = []
        for conclusion in review.conclusions:
            by_status = []
            if conclusion.measure is not None:
                for status, definition in EXPOSURE_STATUSES.items():
                    group = [m for m in in_question if m.prior.status == status and _scope(m, conclusion.evidence_type)]
                    if group:
                        atlas = measure_summary(evidence, group, conclusion.measure, page_url)
                        outside = outside_review(review, atlas)
                        by_status.append({"label": definition.label, "atlas": atlas, "outside": outside,
                                          "outside_listed": fits_on_page(len(outside))})
            studies = []
            for study_id in conclusion.studies:
                studies.append({"study": evidence.studies[study_id],
                                "href": relative(page_url, url_of("study", study_id)),
                                "cohorts": [{"member": m, "href": cohort_href(page_url, study_id, m.cohort.id)}
                                            for m in everyone if m.study.id == study_id]})
            conclusions.append({"conclusion": conclusion, "scope": FINDING_SCOPES[conclusion.evidence_type],
                                "source": source_view(evidence, conclusion, page_url, review_url),
                                "by_status": by_status, "studies": studies})
        if findings or conclusions:
            views.append({"review": review, "href": relative(page_url, review_url),
                          "findings": findings, "conclusions": conclusions})
    return views
