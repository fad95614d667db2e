"""The validated evidence base: every record by kind and id, and the links between records both ways."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from build_scripts.load.model import Agent, Publication, Regimen, Review, Study
from build_scripts.load.parts import Cohort, Patient, PatientCount
from build_scripts.load.study_parts import DiscussedStudy
from build_scripts.load.vocabulary import DESIGNS


@dataclass
class Evidence:
    """All records of a run, after per-record and cross-record validation passed."""

    publications: dict[str, Publication] = field(default_factory=dict)
    studies: dict[str, Study] = field(default_factory=dict)
    regimens: dict[str, Regimen] = field(default_factory=dict)
    agents: dict[str, Agent] = field(default_factory=dict)
    reviews: dict[str, Review] = field(default_factory=dict)
    files: dict[tuple[str, str], Path] = field(default_factory=dict)
    # Problems that do not make the records invalid (problems.WARNING), reported by validate and build.
    warnings: list = field(default_factory=list)

    def by_kind(self, kind: str) -> dict:
        return {
            "publication": self.publications,
            "study": self.studies,
            "regimen": self.regimens,
            "agent": self.agents,
            "review": self.reviews,
        }[kind]

    def record_count(self) -> int:
        return sum(len(self.by_kind(kind)) for kind in ("publication", "study", "regimen", "agent", "review"))

    @cached_property
    def cohorts_by_regimen(self) -> dict[str, list[tuple[Study, Cohort]]]:
        """Every (study, cohort) that used each regimen, in study id order."""
        index: dict[str, list[tuple[Study, Cohort]]] = defaultdict(list)
        for study in self.studies.values():
            for cohort in study.cohorts:
                if cohort.regimen:
                    index[cohort.regimen].append((study, cohort))
        return dict(index)

    @cached_property
    def line_uses_by_regimen(self) -> dict[str, list[tuple[Study, Cohort, Patient]]]:
        """Every (study, cohort, patient) whose per-patient lines of therapy name each regimen, in study id order."""
        index: dict[str, list[tuple[Study, Cohort, Patient]]] = defaultdict(list)
        for study in sorted(self.studies.values(), key=lambda s: s.id):
            for cohort in study.cohorts:
                for patient in cohort.patients:
                    for regimen_id in dict.fromkeys(line.regimen for line in patient.lines if line.regimen):
                        index[regimen_id].append((study, cohort, patient))
        return dict(index)

    @cached_property
    def regimens_by_agent(self) -> dict[str, list[Regimen]]:
        index: dict[str, list[Regimen]] = defaultdict(list)
        for regimen in self.regimens.values():
            for agent_id in regimen.agents:
                index[agent_id].append(regimen)
        return dict(index)

    @cached_property
    def studies_by_publication(self) -> dict[str, list[Study]]:
        index: dict[str, list[Study]] = defaultdict(list)
        for study in self.studies.values():
            for publication_id in study.publications:
                index[publication_id].append(study)
        return dict(index)

    @cached_property
    def citing_studies_by_publication(self) -> dict[str, list[Study]]:
        """Studies that name a publication among their cited sources: it states some of their figures second-hand."""
        index: dict[str, list[Study]] = defaultdict(list)
        for study in self.studies.values():
            for publication_id in study.cited_sources:
                index[publication_id].append(study)
        return dict(index)

    @cached_property
    def reviews_by_study(self) -> dict[str, list[Review]]:
        """Reviews that include each study (not those that only discuss it)."""
        index: dict[str, list[Review]] = defaultdict(list)
        for review in self.reviews.values():
            for study_id in review.included_studies:
                index[study_id].append(review)
        return dict(index)

    @cached_property
    def discussing_reviews_by_study(self) -> dict[str, list[tuple[Review, DiscussedStudy]]]:
        """Reviews that discuss each study without including it, with their reason."""
        index: dict[str, list[tuple[Review, DiscussedStudy]]] = defaultdict(list)
        for review in self.reviews.values():
            for discussed in review.discussed_studies:
                index[discussed.study].append((review, discussed))
        return dict(index)

    @cached_property
    def related_by_study(self) -> dict[str, list[tuple[str, str, str | None]]]:
        """Links between studies that share patients, declared on either side, seen from both."""
        index: dict[str, dict[str, tuple[str, str, str | None]]] = defaultdict(dict)
        for study in self.studies.values():
            for link in study.related_studies:
                index[study.id][link.study] = (link.study, link.relation, link.note)
                index[link.study].setdefault(study.id, (study.id, _INVERSE_RELATION[link.relation], link.note))
        return {study_id: sorted(links.values()) for study_id, links in index.items()}


_INVERSE_RELATION = {
    "same_patients": "same_patients",
    "overlapping_patients": "overlapping_patients",
    "extension": "extended_by",
    "subgroup_of": "parent_of",
    "parent_of": "subgroup_of",
}


def parent_chain(study: Study, cohort_id: str) -> list[Cohort]:
    """The cohorts a cohort is nested in, nearest first: its parent, that one's parent, and so on. The one walk up
    the parent chain; a parent that names no cohort ends it, and a cycle (a validation error) is stopped."""
    by_id = {c.id: c for c in study.cohorts}
    chain: list[Cohort] = []
    seen = {cohort_id}
    current = by_id[cohort_id].parent if cohort_id in by_id else None
    while current is not None and current in by_id and current not in seen:
        seen.add(current)
        chain.append(by_id[current])
        current = by_id[current].parent
    return chain


def evidence_type(study: Study) -> str:
    """The evidence type a study's design belongs to."""
    return DESIGNS[study.design].evidence_type


def study_regimens(study: Study) -> list[str]:
    """The regimen records a study's cohorts were given, each once, in cohort order (per-patient lines aside)."""
    return list(dict.fromkeys(cohort.regimen for cohort in study.cohorts if cohort.regimen))


def first_publication_year(evidence: Evidence, study: Study) -> int | None:
    """The year of a study's earliest publication that states one; None when none does."""
    years = [evidence.publications[p].year for p in study.publications
             if p in evidence.publications and evidence.publications[p].year is not None]
    return min(years) if years else None


def count_cohort(study: Study) -> Cohort | None:
    """The cohort that stands for the whole study: its only top-level cohort, else its only overall cohort."""
    top = [cohort for cohort in study.cohorts if cohort.parent is None]
    if len(top) == 1:
        return top[0]
    overall = [cohort for cohort in study.cohorts if cohort.role == "overall"]
    return overall[0] if len(overall) == 1 else None


def patient_count(study: Study) -> tuple[PatientCount, Cohort | None] | None:
    """The study's number of patients as every page, download and chart shows it, and the cohort it comes from.

    A population has one home: the study's own count when it gives one, else that of the cohort standing for
    the whole study (see count_cohort); None when neither is recorded.
    """
    return home_figure(study, "n")


def home_figure(study: Study, name: str) -> tuple[Any, Cohort | None] | None:
    """A field of the study's population ('n', 'in_question') from its home: the study's own population when it gives
    it, else that of the cohort standing for the whole study (count_cohort), with that cohort; None when neither."""
    if study.population is not None and getattr(study.population, name) is not None:
        return getattr(study.population, name), None
    cohort = count_cohort(study)
    if cohort is not None and cohort.population is not None and getattr(cohort.population, name) is not None:
        return getattr(cohort.population, name), cohort
    return None


def patient_count_value(study: Study) -> int | None:
    """The number of patients of patient_count, or None when it is not recorded or not reported."""
    found = patient_count(study)
    return found[0].value if found is not None else None
