"""Forest-chart rows from the evidence: each cohort's figure with its interval, headings of subgroups, pooled diamonds."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from build_scripts.derive.exact import clopper_pearson
from build_scripts.derive.facts import is_arm, exposure_status, question_fit, stopping
from build_scripts.derive.partners import index_switch, partner_group_label, partner_groups_in_order, partners
from build_scripts.derive.responses import COMPUTED_FROM_PATIENTS, PatientDerivedOutcome, cohort_outcomes, rate_counts
from build_scripts.derive.synthesis_types import Analysis, Synthesis
from build_scripts.load.cache import fragment
from build_scripts.load.evidence import Evidence, evidence_type, parent_chain
from build_scripts.load.model import Study
from build_scripts.load.numbers import number
from build_scripts.load.parts import Cohort, Outcome
from build_scripts.load.vocabulary import EVIDENCE_TYPES, MEASURES, EXPOSURE_STATUSES, RECORD_KINDS
from build_scripts.render.chart_base import (
    ForestRow, INDENT, METHODS_POOLING_SECTION, METHODS_URL, POOLED, POOLED_LABEL, SUBGROUP_MARK,
    control_arm,
)
from build_scripts.render.links import QUESTIONS_URL, relative, short_citation


def preferred_outcome(evidence: Evidence, study: Study, outcomes: list[Outcome]) -> Outcome | None:
    """The figure a chart shows when several sources give one: the study's own publications before a review's."""
    usable = [o for o in outcomes if o.status in ("reported", "not_reached") and o.cross_study]
    own = [o for o in usable if o.source.publication in study.publications]
    return (own or usable or [None])[0]


def study_name(study: Study, evidence: Evidence | None = None) -> str:
    """A study's name on a chart: its short name, else its first publication's 'Author year', else its title."""
    first = evidence.publications.get(study.publications[0]) if evidence is not None and study.publications else None
    return study.short_name or (short_citation(first) if first is not None else study.title)


def cohort_label(study: Study, cohort: Cohort, evidence: Evidence | None = None) -> str:
    """A cohort's label on a chart across studies: the study's chart name, and the cohort's label when it has others."""
    name = study_name(study, evidence)
    return name if len(study.cohorts) == 1 else f"{name}: {cohort.label}"


def _n_text(n: int | None) -> str:
    return f" (n={n})" if n else " (n=NR)"


def forest_row(evidence: Evidence, study: Study, cohort: Cohort, outcome: Outcome, page_url: str,
               label: str | None = None) -> ForestRow:
    measure = MEASURES[outcome.measure]
    ci_low, ci_high, computed = outcome.ci_low, outcome.ci_high, False
    # Every rate whose source gives no interval gets an exact one from its counts, including a count of none or
    # of all patients, responders derived from the printed rate and n, and n taken from the cohort.
    counts = rate_counts(outcome, cohort) if measure.family == "rate" and ci_low is None else None
    if counts is not None:
        ci_low, ci_high = clopper_pearson(counts.responders, counts.n)
        computed = True
    open_ended = ci_low is not None and ci_high is None
    if ci_low is None:
        ci_text = "not reported"
    elif open_ended:
        ci_text = f"{number(ci_low)}–{(outcome.ci_high_status or 'not estimable').replace('_', ' ')}"
    else:
        ci_text = f"{ci_low:.1f}–{ci_high:.1f} (exact, computed)" if computed else f"{number(ci_low)}–{number(ci_high)}"
    publication = evidence.publications[outcome.source.publication]
    n = outcome.n or (cohort.population.n.value if cohort.population and cohort.population.n else None)
    prior = exposure_status(study, cohort)
    stopped = stopping(study) if is_arm(study, cohort) else None
    return ForestRow(
        # an arm of a trial that stopped early says so wherever it is drawn
        label=(label or cohort_label(study, cohort, evidence) + _n_text(n))
        + (f"; trial {stopped.lower()}" if stopped else ""),
        panel=EVIDENCE_TYPES[evidence_type(study)],
        study_id=study.id,
        cohort_id=cohort.id,
        href=relative(page_url, RECORD_KINDS["study"].url(study.id)) + f"#cohort-{cohort.id}",
        value=outcome.value,
        ci_low=ci_low,
        ci_high=ci_high,
        open_ended=open_ended,
        ci_computed=computed,
        ci_text=ci_text,
        n_text=str(n) if n else "NR",
        regimen=_regimen_name(evidence, cohort),
        prior_status=prior.label,
        prior_text=prior.text,
        source=f"{short_citation(publication)}, {outcome.source.location}"
        + (COMPUTED_FROM_PATIENTS if isinstance(outcome, PatientDerivedOutcome) else ""),
        status=outcome.status,
        partner=partners(evidence, study, cohort).label,
        index_switch=index_switch(evidence, study, cohort).text,
        partner_drugs=partners(evidence, study, cohort).drugs_text,
    )


def _regimen_name(evidence: Evidence, cohort: Cohort) -> str:
    return evidence.regimens[cohort.regimen].name if cohort.regimen else (cohort.regimen_as_stated or "not specified")


def heading_row(evidence: Evidence, study: Study, cohort: Cohort, page_url: str, partner: str) -> ForestRow:
    """A cohort shown only as the heading of its charted subgroups: a label, no mark, its own facts in the table."""
    prior = exposure_status(study, cohort)
    n = cohort.population.n.value if cohort.population and cohort.population.n else None
    return ForestRow(
        label=cohort_label(study, cohort, evidence) + _n_text(n), panel=EVIDENCE_TYPES[evidence_type(study)],
        study_id=study.id, cohort_id=cohort.id,
        href=relative(page_url, RECORD_KINDS["study"].url(study.id)) + f"#cohort-{cohort.id}",
        value=None, ci_low=None, ci_high=None, open_ended=False, ci_computed=False, ci_text="",
        n_text=str(n) if n else "NR", regimen=_regimen_name(evidence, cohort), prior_status=prior.label,
        prior_text=prior.text, source="", status="heading", partner=partner, kind="heading",
        own_partner=partners(evidence, study, cohort).label, index_switch=index_switch(evidence, study, cohort).text,
        partner_drugs=partners(evidence, study, cohort).drugs_text)


def _control_arms(study: Study, experimental: str) -> list[str]:
    """The control arms a study compares an arm against, in the order its comparisons name them."""
    return list(dict.fromkeys(c.control for c in study.comparisons if c.experimental == experimental))


@dataclass
class _Node:
    """A row of a cross-study chart with the rows shown under it (subgroups) and beside it (control arms)."""

    row: ForestRow
    cohort: Cohort
    children: list["_Node"] = field(default_factory=list)
    controls: list[ForestRow] = field(default_factory=list)

    def best(self) -> float:
        """The highest value in the node's family, to order families like a forest plot (highest first)."""
        values = [self.row.value if self.row.kind == "in_question" else None] + [c.best() for c in self.children]
        return max((v for v in values if v is not None), default=-1.0)


def cross_study_rows(evidence: Evidence, measure: str, page_url: str) -> list[ForestRow]:
    """The rows of a measure's cross-study chart, in the order drawn (cross_study_groups, one after another)."""
    return [row for _, rows in cross_study_groups(evidence, measure, page_url) for row in rows]


def cross_study_groups(evidence: Evidence, measure: str, page_url: str) -> list[tuple[str, list[ForestRow]]]:
    """The rows of a measure's cross-study chart by partner group (its key), in the order drawn.

    Rows are grouped by partner group (partners.partner_groups_in_order). In a group, a subgroup (or part, dose level or arm) is
    indented under the nearest cohort containing it that is charted in the group; failing that, its parent is shown
    as a heading without a mark, so that one trial's subgroups read as one trial. Families are ordered by their
    highest value, subgroups as their study lists them. A randomised trial's control arm that is not in the question
    follows its experimental arm, drawn as a control (kind 'control'); it is never a row of kind 'in_question'.
    """
    groups: dict[str, list[tuple[Study, Cohort, ForestRow]]] = {}
    for study_id in sorted(evidence.studies):
        # A study's rows are kept between builds (a fragment); the rows below are changed as they are placed, so
        # each is a copy.
        found = fragment("chart rows", (measure, page_url, study_id),
                         lambda study_id=study_id: _study_rows(evidence, evidence.studies[study_id], measure, page_url))
        if not found:
            continue
        study = evidence.studies[study_id]
        cohorts = {cohort.id: cohort for cohort in study.cohorts}
        for partner_name, cohort_id, row in found:
            groups.setdefault(partner_name, []).append((study, cohorts[cohort_id], replace(row, extra=dict(row.extra))))
    return [(name, _group_rows(evidence, measure, page_url, groups[name])) for name in partner_groups_in_order(groups)]


def _study_rows(evidence: Evidence, study: Study, measure: str, page_url: str) -> list[tuple[str, str, ForestRow]]:
    """A study's cohorts in the question that give the measure: (partner group, cohort id, row)."""
    rows = []
    for cohort in study.cohorts:
        if not question_fit(evidence, study, cohort).value:
            continue
        outcome = preferred_outcome(evidence, study, [o for o in cohort_outcomes(cohort) if o.measure == measure])
        if outcome is None:
            continue
        row = forest_row(evidence, study, cohort, outcome, page_url)
        row.kind = "in_question"
        rows.append((partners(evidence, study, cohort).name, cohort.id, row))
    return rows


def _group_rows(evidence: Evidence, measure: str, page_url: str,
                members: list[tuple[Study, Cohort, ForestRow]]) -> list[ForestRow]:
    """One partner class's rows: families of a cohort and its subgroups, control arms beside their arms."""
    partner = members[0][2].partner
    nodes = {(study.id, cohort.id): _Node(row, cohort) for study, cohort, row in members}
    tops: list[_Node] = []
    headings: dict[tuple[str, str], _Node] = {}
    shown_controls: set[tuple[str, str]] = set()  # a control shared by several arms is shown once
    for study, cohort, row in members:
        node = nodes[(study.id, cohort.id)]
        by_id = {c.id: c for c in study.cohorts}
        # the nearest cohort containing it that is charted in the group
        parent = next((c.id for c in parent_chain(study, cohort.id) if (study.id, c.id) in nodes), None)
        if parent is not None:
            nodes[(study.id, parent)].children.append(node)
        elif cohort.parent is not None and cohort.parent in by_id:
            key = (study.id, cohort.parent)
            if key not in headings:
                headings[key] = _Node(heading_row(evidence, study, by_id[cohort.parent], page_url, partner),
                                      by_id[cohort.parent])
                tops.append(headings[key])
            headings[key].children.append(node)
        else:
            tops.append(node)
        for control_id in _control_arms(study, cohort.id):
            control = by_id.get(control_id)
            if control is None or (study.id, control_id) in shown_controls \
                    or question_fit(evidence, study, control).value:
                continue  # a control arm that is itself in the question is charted as such
            outcome = preferred_outcome(evidence, study, [o for o in cohort_outcomes(control) if o.measure == measure])
            if outcome is not None:
                shown = forest_row(evidence, study, control, outcome, page_url)
                n = shown.n_text if shown.n_text != "NR" else None
                shown.label = (f"{study_name(study, evidence)}, {control_arm(False)}: {control.label}{_n_text(n)}"
                               + (f"; trial {stopping(study).lower()}" if stopping(study) else ""))
                shown.kind, shown.colour_key, shown.partner = "control", control_arm(), partner
                node.controls.append(shown)
                shown_controls.add((study.id, control_id))
    studies = {study.id: study for study, _, _ in members}
    order = {(study.id, c.id): i for study in studies.values() for i, c in enumerate(study.cohorts)}
    rows: list[ForestRow] = []

    def emit(node: _Node, depth: int) -> None:
        node.row.depth = depth
        if depth:
            n = node.row.n_text if node.row.n_text != "NR" else None
            node.row.label = INDENT * (depth - 1) + SUBGROUP_MARK + node.cohort.label + _n_text(n)
        rows.append(node.row)
        for child in sorted(node.children, key=lambda c: order.get((c.row.study_id, c.row.cohort_id), 0)):
            emit(child, depth + 1)
        for control in node.controls:
            control.depth = depth
            rows.append(control)

    for top in sorted(tops, key=lambda n: (-n.best(), n.row.label)):
        emit(top, 0)
    return rows


def pooled_rows(synthesis: Synthesis, measure: str, partner_name: str, page_url: str) -> list[ForestRow]:
    """Diamond rows of a partner group: one per prior status whose stratum the synthesis pools, under a heading."""
    rows = []
    for stratum in [s for s in synthesis.strata if s.partner_class == partner_name]:
        analysis = synthesis.analysis(stratum, measure)
        shown = analysis.primary if analysis is not None else None
        if shown is None:
            continue
        label = EXPOSURE_STATUSES[stratum.prior_status].label
        k, patients = shown.k, shown.patients
        fits = "; ".join(
            f"{e.method_label}{'' if e is shown else ' (sensitivity)'}: {e.value:.1f} ({e.ci_low:.1f}–{e.ci_high:.1f}),"
            f" 95% prediction interval {e.pi_low:.1f}–{e.pi_high:.1f}, τ² {e.tau2:.3g}" for e in analysis.estimates)
        fits += f"; I² {shown.i2:.0f}%"
        cohorts = ", ".join(entry.key for entry in analysis.used)
        rows.append(ForestRow(
            label=f"{SUBGROUP_MARK}{label} (k={k}, n={patients})", panel=POOLED, study_id="", cohort_id="",
            href=relative(page_url, METHODS_URL) + f"#{METHODS_POOLING_SECTION}",
            value=round(shown.value, 1), ci_low=round(shown.ci_low, 1), ci_high=round(shown.ci_high, 1),
            open_ended=False, ci_computed=False, ci_text=f"{shown.ci_low:.1f}–{shown.ci_high:.1f}", n_text=str(patients),
            regimen=f"{k} independent cohorts", prior_status=label, prior_text=label,
            source=f"Atlas synthesis of {cohorts}, logit proportions; {fits}", status="pooled",
            partner=partner_group_label(partner_name), kind="pooled", depth=1,
            extra={"table_label": f"{POOLED_LABEL}: {label} (k={k}, n={patients})"}))
    if rows:
        rows.insert(0, ForestRow(
            label=POOLED_LABEL, panel=POOLED, study_id="", cohort_id="", href=rows[0].href, value=None, ci_low=None,
            ci_high=None, open_ended=False, ci_computed=False, ci_text="", n_text="", regimen="", prior_status="",
            prior_text="", source="", status="heading", partner=partner_group_label(partner_name), kind="heading",
            extra={"table": False}))
    return rows


def with_pooled(rows: list[ForestRow], synthesis: Synthesis | None, measure: str, page_url: str) -> list[ForestRow]:
    """The rows with each partner group's pooled estimates after its cohorts."""
    if synthesis is None:
        return rows
    by_group: dict[str, list[ForestRow]] = {}
    for row in rows:
        by_group.setdefault(row.partner, []).append(row)
    keys = {partner_group_label(stratum.partner_class): stratum.partner_class for stratum in synthesis.strata}
    out = []
    for label, group in by_group.items():
        out.extend(group + (pooled_rows(synthesis, measure, keys[label], page_url) if label in keys else []))
    return out


def question_url(question_id: str) -> str:
    return f"{QUESTIONS_URL}{question_id}/"


def analysis_pooled_row(analysis: Analysis, label: str, page_url: str) -> ForestRow | None:
    """The diamond of an analysis's primary estimate, with every method's fit in its source text; None if not pooled."""
    shown = analysis.primary
    if shown is None:
        return None
    k, patients = shown.k, shown.patients
    fits = "; ".join(
        f"{e.method_label}{'' if e is shown else ' (sensitivity)'}: {e.value:.1f} ({e.ci_low:.1f}–{e.ci_high:.1f}),"
        f" 95% prediction interval {e.pi_low:.1f}–{e.pi_high:.1f}, τ² {e.tau2:.3g}" for e in analysis.estimates)
    return ForestRow(
        label=f"{label} (k={k}, n={patients})", panel=POOLED, study_id="", cohort_id="",
        href=relative(page_url, METHODS_URL) + f"#{METHODS_POOLING_SECTION}",
        value=round(shown.value, 1), ci_low=round(shown.ci_low, 1), ci_high=round(shown.ci_high, 1),
        open_ended=False, ci_computed=False, ci_text=f"{shown.ci_low:.1f}–{shown.ci_high:.1f}", n_text=str(patients),
        regimen=f"{k} independent cohorts", prior_status=label, prior_text=label,
        source=f"Atlas synthesis of {', '.join(e.key for e in analysis.used)}, logit proportions; {fits};"
               f" I² {shown.i2:.0f}%", status="pooled", kind="pooled",
        extra={"table_label": f"{POOLED_LABEL} (k={k}, n={patients})"})
