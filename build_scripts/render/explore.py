"""The Explore page: every cohort of every study as one row of data/explore.json, and the page that fetches it.

Pure functions from the evidence, the build's synthesis (synthesis.synthesise) and the data release to the page's
context and the data file's text. Nothing is derived here: each field comes from the function that derives it for
every other page (facts.question_fit, partners.partners and index_switch, entries.rate_entry and
cohorts_may_share_patients, exact.clopper_pearson), so the page's script pools exactly what the build would.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from build_scripts.derive.entries import cohorts_may_share_patients, rate_entry
from build_scripts.derive.exact import clopper_pearson
from build_scripts.derive.facts import exposure_status, question_fit
from build_scripts.derive.partners import index_switch, partner_group_label, partner_groups_in_order, partners
from build_scripts.derive.questions import AXES, Question
from build_scripts.derive.synthesis_types import MIN_COHORTS, Analysis, Entry, Stratum, Synthesis
from build_scripts.load.cache import fragment
from build_scripts.load.evidence import evidence_type, first_publication_year
from build_scripts.load.vocabulary import (
    CROSS_STUDY_MEASURES, DESIGNS, RECORD_KINDS, EVIDENCE_TYPES, EXPOSURE_STATUSES, INDEX_AXIS, MEASURES, POOLED_MEASURES,
    POOLING_METHODS, PRIMARY_POOLING_METHOD, SYNTHESIS_EXCLUSIONS, WORDS, outside_key, summary_pooled_measure,
    upper_first,
)
from build_scripts.render.answers import answers_context
from build_scripts.render.chart_base import chart_page_url
from build_scripts.render.export import DATA_FOLDER
from build_scripts.render.forest_rows import question_url
from build_scripts.render.links import QUESTIONS_URL, SUMMARY_DETAILS_URL, relative
from build_scripts.render.long_lists import cohort_href, stratum_anchor

if TYPE_CHECKING:
    from build_scripts.load.evidence import Evidence
    from build_scripts.load.model import Study
    from build_scripts.load.parts import Cohort
    from build_scripts.load.release import Release


EXPLORE_URL = "explore/"
EXPLORE_PAGE = f"{EXPLORE_URL}index.md"
EXPLORE_DATA = f"{DATA_FOLDER}/explore.json"

# The fields of a study and of a cohort's row in data/explore.json, in order: rows are arrays, so no name is repeated
# 25,000 times, and what a study gives its cohorts is given once, in its own row.
STUDY_FIELDS = ("id", "title", "year", "design", "evidence_type")
EXPLORE_FIELDS = ("study", "cohort", "label", "index_switch", "partner_group", "prior_status", "patients",
                  "in_question", "why_not", "control", "order", "figures", "overlaps")
# A figure in the data file: one array per measure of POOLED_MEASURES, or, where the cohort has none that can be
# pooled, the number of the text that says why.
FIGURE_FIELDS = ("r", "n", "value", "low", "high", "r_derived", "n_from_cohort", "publication", "location")

# Decimals of the exact interval in the data file: one more than pages print.
INTERVAL_DECIMALS = 2


def _axis_label(derivation: str, default: str) -> str:
    """The label the topic gives the axis of a derivation (questions.AXES), as the derived axes page shows it."""
    return next((axis.label for axis in AXES.values() if axis.derivation == derivation), default)


def figure_data(study: Study, cohort: Cohort, measure: str) -> dict[str, Any]:
    """A cohort's figure of a rate as entries.rate_entry takes it, with its exact interval; or why it has none."""
    found = rate_entry(study, cohort, measure)
    if not isinstance(found, Entry):
        return {"why": found.detail}
    low, high = clopper_pearson(found.responders, found.n)  # type: ignore[arg-type]
    return {"r": found.responders, "n": found.n, "value": found.value,
            "low": round(low, INTERVAL_DECIMALS), "high": round(high, INTERVAL_DECIMALS),
            "r_derived": found.responders_derived, "n_from_cohort": found.n_from_cohort,
            "publication": found.source.publication, "location": found.source.location}


def overlap_keys(evidence: Evidence, study: Study, cohort: Cohort) -> list[str]:
    """The keys of every other cohort that may share patients with this one (entries.cohorts_may_share_patients):
    in its own study, or in a study linked to it by related_studies."""
    candidates = [(study, other) for other in study.cohorts if other.id != cohort.id]
    for other_id, _, _ in evidence.related_by_study.get(study.id, ()):
        other_study = evidence.studies.get(other_id)
        if other_study is not None and other_id != study.id:
            candidates.extend((other_study, other) for other in other_study.cohorts)
    return sorted(f"{other_study.id}/{other.id}" for other_study, other in candidates
                  if cohorts_may_share_patients(evidence, study, cohort.id, other_study, other.id))


def _cohort_n(cohort: Cohort) -> int | None:
    count = cohort.population.n if cohort.population is not None else None
    return count.value if count is not None else None


def cohort_row(evidence: Evidence, study: Study, order: int, cohort: Cohort) -> dict[str, Any]:
    """One cohort as the Explore page lists and pools it: its key, href, study and the fields of EXPLORE_FIELDS."""
    fit = question_fit(evidence, study, cohort)
    return {
        "key": f"{study.id}/{cohort.id}", "study": study.id, "cohort": cohort.id, "title": study.title,
        "label": cohort.label, "href": cohort_href(EXPLORE_URL, study.id, cohort.id),
        "year": first_publication_year(evidence, study), "design": study.design,
        "evidence_type": evidence_type(study), "index_switch": index_switch(evidence, study, cohort).name,
        "partner_group": partners(evidence, study, cohort).name,
        "prior_status": exposure_status(study, cohort).status, "patients": _cohort_n(cohort),
        "in_question": fit.value, "why_not": None if fit.value else fit.reason,
        "control": any(c.control == cohort.id for c in study.comparisons), "order": order,
        "figures": {measure: figure_data(study, cohort, measure) for measure in POOLED_MEASURES},
        "overlaps": overlap_keys(evidence, study, cohort),
    }


def explore_rows(evidence: Evidence) -> list[dict[str, Any]]:
    """Every cohort of every study, in study id order and then the study's own cohort order."""
    return [row for study_id in sorted(evidence.studies)
            for row in fragment("explore rows", study_id, lambda study_id=study_id: study_explore_rows(evidence, study_id))]


def study_explore_rows(evidence: Evidence, study_id: str) -> list[dict[str, Any]]:
    """A study's cohorts as explore_rows lists them (a fragment kept between builds)."""
    study = evidence.studies[study_id]
    return [cohort_row(evidence, study, order, cohort) for order, cohort in enumerate(study.cohorts)]


class _Numbered:
    """Values given once in a list, each referred to by its number, in the order first met."""

    def __init__(self) -> None:
        self.numbers: dict[Any, int] = {}

    def __call__(self, value: Any) -> int:
        return self.numbers.setdefault(value, len(self.numbers))

    def values(self) -> list[Any]:
        return list(self.numbers)


def packed(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The rows as data/explore.json holds them: studies apart, each text and publication once (numbered), each
    cohort's figures as arrays of FIGURE_FIELDS (flags 0 or 1) or the number of the text saying why it has none,
    and its overlaps as the numbers of those rows."""
    texts, publications, studies = _Numbered(), _Numbered(), _Numbered()
    study_rows: list[list[Any]] = []
    row_number = {row["key"]: number for number, row in enumerate(rows)}

    def figure(found: dict[str, Any]) -> list[Any] | int:
        if "why" in found:
            return texts(found["why"])
        return [found["r"], found["n"], found["value"], found["low"], found["high"], int(found["r_derived"]),
                int(found["n_from_cohort"]), publications(found["publication"]), texts(found["location"])]

    out = []
    for row in rows:
        if row["study"] not in studies.numbers:
            study_rows.append([row["study"], row["title"], row["year"], row["design"], row["evidence_type"]])
        out.append([studies(row["study"]), row["cohort"], row["label"], row["index_switch"], row["partner_group"],
                    row["prior_status"], row["patients"], row["in_question"],
                    texts(row["why_not"]) if row["why_not"] is not None else None, row["control"], row["order"],
                    [figure(row["figures"][measure]) for measure in POOLED_MEASURES],
                    sorted(row_number[key] for key in row["overlaps"])])
    return {"study_fields": list(STUDY_FIELDS), "studies": study_rows, "fields": list(EXPLORE_FIELDS),
            "figure_fields": list(FIGURE_FIELDS), "rows": out, "publications": publications.values(),
            "texts": texts.values()}


def facet_labels() -> dict[str, str]:
    """Each facet's label: the topic's label of its axis (questions.AXES), as the derived axes page shows it."""
    return {"index_switch": _axis_label("index_switch", upper_first(WORDS["index_noun"])),
            "partner_group": _axis_label("partner_group", "Partners"),
            "prior_status": _axis_label("prior_status", f"Prior {WORDS['index_adjective']}"),
            "design": _axis_label("design", "Design"),
            "evidence_type": _axis_label("evidence_type", "Evidence type")}


def facets(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each facet's label and values (key: label) in the vocabulary's order; partner groups only those present."""
    values = {
        "index_switch": dict(INDEX_AXIS),
        "partner_group": {name: partner_group_label(name)
                          for name in partner_groups_in_order(row["partner_group"] for row in rows)},
        "prior_status": {name: status.label for name, status in EXPOSURE_STATUSES.items()},
        "design": {name: design.label for name, design in DESIGNS.items()},
        "evidence_type": dict(EVIDENCE_TYPES),
    }
    return {name: {"label": label, "values": values[name]} for name, label in facet_labels().items()}


def _where_shown(group: Stratum | Question, measure: str) -> str:
    """Where the build shows an analysis, from the Explore page: the question's page, or the stratum's pooled
    estimate on the summary's details (the summary's measure) or on the measure's chart (the others)."""
    if isinstance(group, Question):
        return relative(EXPLORE_URL, question_url(group.id))
    if measure == summary_pooled_measure():
        return relative(EXPLORE_URL, SUMMARY_DETAILS_URL) + f"#{stratum_anchor('pooled', group)}"
    if measure in CROSS_STUDY_MEASURES:
        return relative(EXPLORE_URL, chart_page_url(measure))
    return relative(EXPLORE_URL, f"{DATA_FOLDER}/synthesis.csv")


def known_analyses(synthesis: Synthesis) -> list[Analysis]:
    """The primary analyses (not the sensitivity ones) the build pools: every stratum's, then every question's."""
    analyses = [*synthesis.analyses, *(a for answer in synthesis.answers for a in answer.analyses)]
    return [a for a in analyses if not a.sensitivity and a.primary is not None]


def known_estimates(synthesis: Synthesis) -> list[dict[str, Any]]:
    """The primary method's estimate of each analysis the build pools, keyed by the exact set of cohorts it used."""
    out = []
    for analysis in known_analyses(synthesis):
        e = analysis.primary
        assert e is not None
        group = analysis.stratum
        out.append({"measure": analysis.measure, "keys": sorted(entry.key for entry in analysis.used),
                    "source": group.short if isinstance(group, Question) else group.label,
                    "href": _where_shown(group, analysis.measure), "value": e.value, "ci_low": e.ci_low,
                    "ci_high": e.ci_high, "pi_low": e.pi_low, "pi_high": e.pi_high, "tau2": e.tau2})
    return out


def explore_json(evidence: Evidence, synthesis: Synthesis, release: Release | None) -> str:
    """data/explore.json: every cohort (packed), the facets' labels, and the build's own primary estimates.

    `built` is the data release's date, so that a build gives the same file whichever day it runs. A cohort's
    key is '<study id>/<cohort id>' and its link from the Explore page the data-root, `urls.study`, the study id and
    '/#cohort-<cohort id>'."""
    rows = explore_rows(evidence)
    payload = {
        "release": release.version if release is not None else None,
        "built": release.date if release is not None else None,
        "min_cohorts": MIN_COHORTS,
        "measures": {name: {"short": MEASURES[name].short, "label": MEASURES[name].label} for name in POOLED_MEASURES},
        "facets": facets(rows),
        "urls": {"study": f"{RECORD_KINDS['study'].url_prefix}/"},
        **packed(rows),
        "known": known_estimates(synthesis),
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n"


def explore_description() -> str:
    """The meta description of the Explore page."""
    return (f"Choose {WORDS['question_cohort']} cohorts by partner, prior status, design, year and size, and pool"
            " their response rates in the browser, with the build's own rules against counting patients twice.")


def explore_context(evidence: Evidence, synthesis: Synthesis) -> dict[str, Any]:
    """What explore.md.j2 shows: the facets and measures for its form, and the build's questions and answers for
    readers without JavaScript (the views the questions pages use)."""
    return {
        "page_url": EXPLORE_URL, "site_root": relative(EXPLORE_URL, ""),
        "measures": [(name, MEASURES[name]) for name in POOLED_MEASURES],
        "facets": facet_labels(),
        "min_cohorts": MIN_COHORTS, "not_in_question": SYNTHESIS_EXCLUSIONS[outside_key()],
        "pooling_methods": POOLING_METHODS, "primary_pooling_method": PRIMARY_POOLING_METHOD,
        "answers": answers_context(evidence, synthesis, EXPLORE_URL),
        "questions_href": relative(EXPLORE_URL, QUESTIONS_URL),
    }
