"""Vega-Lite charts (built with Altair) from the validated evidence, with the table each chart stands for."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

import altair as alt

from build_scripts.load.cache import Memo
from build_scripts.load.evidence import Evidence, evidence_type, parent_chain
from build_scripts.derive.exact import clopper_pearson
from build_scripts.derive.facts import (
    antibody, is_arm, partner_group_label, partner_groups_in_order, partners, prior_anti_cd38_status, retreatment,
    stopping,
)
from build_scripts.load.model import Cohort, Outcome, Study
from build_scripts.render.links import QUESTIONS_URL, relative, short_citation
from build_scripts.load.numbers import number
from build_scripts.derive.responses import COMPUTED_FROM_PATIENTS, PatientDerivedOutcome, cohort_outcomes, rate_counts
from build_scripts.derive.synthesis import Analysis, Answer, Synthesis, synthesise
from build_scripts.load.vocabulary import (
    EVIDENCE_TYPES, MEASURES, POOLING_METHODS, PRIMARY_POOLING_METHOD, PRIOR_ANTI_CD38_STATUSES, RECORD_KINDS,
    RESPONSE_CATEGORIES, UNITS,
)

# Measures with a cross-study chart, in the order the charts page shows them: every measure the review compares
# across studies (response rates, survival and follow-up medians, the time to retreatment).
CROSS_STUDY_MEASURES = ("orr", "vgpr_or_better", "cr_or_better", "pfs", "os", "time_to_retreatment", "follow_up")
# Measures some retreatment cohort reports that get no cross-study chart, and why; they stay on the study pages.
NOT_CHARTED_ACROSS_STUDIES = {
    "cbr": "the review does not compare clinical benefit rates across studies",
    "dcr": "the review does not compare disease control rates across studies",
}
CHARTS_URL_PREFIX = "charts"
REGIMEN_MEASURES = ("pfs", "os", "orr")
METHODS_URL = "methods/"
METHODS_SECTION = "charts"  # the Methods page's sections (their anchors) on charts and on pooling
METHODS_POOLING_SECTION = "exploratory-pooled-estimates"

# A colour per prior anti-CD38 status that a colour-blind reader can tell apart (Okabe-Ito), grey for not stated.
PRIOR_STATUS_COLOURS = {
    "refractory": "#D55E00", "exposed_partly_refractory": "#E69F00", "exposed_refractoriness_not_stated": "#56B4E9",
    "exposed_not_refractory": "#0072B2", "partly_naive": "#CC79A7", "naive": "#009E73", "not_stated": "#999999",
}
PRIOR_STATUS_LEGEND = tuple((PRIOR_ANTI_CD38_STATUSES[name].label, colour) for name, colour in PRIOR_STATUS_COLOURS.items())
# Control arms are drawn grey. Grey also stands for 'prior anti-CD38 not stated', but a cohort of unknown status
# is never a retreatment, so never on a cross-study chart, the only charts that draw control arms.
CONTROL_ARM = "Control arm, not retreatment"
CONTROL_ARM_COLOUR = "#999999"
# The shape of a point says what kind of study it comes from; a diamond is a pooled estimate.
EVIDENCE_SHAPES = {"clinical_trial": "circle", "real_world": "square", "case_report": "triangle-up"}
POOLED = "Pooled estimate (exploratory, random effects)"
POOLED_LABEL = "Pooled (exploratory, random effects)"
POOLED_SHAPE = "diamond"
# The pooling method whose estimate a diamond shows (the sensitivity analyses are in its tooltip and table row).
POOLED_METHOD = PRIMARY_POOLING_METHOD
# Interval styles, as the legends name them.
PUBLISHED_INTERVAL, COMPUTED_INTERVAL = "published interval", "computed exact interval"
# Deepest to shallowest best response: a sequential scheme keeps the order visible without colour names.
RESPONSE_COLOURS = {
    "scr": "#08306b", "cr": "#08519c", "vgpr": "#2171b5", "pr": "#4292c6", "mr": "#6baed6", "mr_or_sd": "#9ecae1",
    "sd": "#c6dbef", "pd": "#D55E00", "ne": "#bdbdbd", "unknown": "#e0e0e0",
}
CHART_WIDTH = 300
LABEL_LIMIT = 300  # pixels of the label column
ROW_STEP = 22
# No chart text is smaller than this, in CSS pixels at the chart's own size: the static SVGs are shown at their own
# size or larger (a narrow one on narrow screens), and the live chart only where it fits (atlas-charts.js).
FONT_SIZE = 11
LINE_HEIGHT = 13
# Labels are never cut: they wrap at a space onto lines of at most this many characters, which fit the label column
# at FONT_SIZE in a wide sans-serif font (about 6.2 px a character, DejaVu Sans) with three levels of indentation.
LABEL_LINE_CHARACTERS = 44
# Vega draws an axis label given as an array on several lines; this is label_lines() as a Vega expression (same
# pattern, same trimming), so the live chart and the static SVGs break a label at the same places.
LABEL_LINES_EXPR = ("split(trim(replace(trim(datum.value), regexp('(.{{1,{width}}})(?: +|$)', 'g'), '$1\\n')),"
                    " '\\n')")
# Settings of every Vega-Lite spec: text sizes, and legends stacked below the plot so the chart stays narrow.
VEGA_CONFIG = {
    "axis": {"labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE},
    "legend": {"labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE, "labelLimit": 260,
               "layout": {"bottom": {"anchor": "start", "direction": "vertical"}}},
    "title": {"fontSize": 14, "subtitleFontSize": FONT_SIZE},
    "header": {"labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE},
}
# A subgroup's label starts with this mark, indented by one INDENT per level below the first (no-break spaces,
# which SVG text keeps where it would collapse ordinary ones).
SUBGROUP_MARK = "└ "
INDENT = "\u00a0" * 4
INDENT_PIXELS = 3  # per no-break space of a label's indentation
INDENT_OFFSET = f"{INDENT_PIXELS} * (length(datum.value) - length(trim(datum.value)))"

# Kinds of rows: a cohort of a per-study or regimen chart; on cross-study charts a retreatment cohort, a control arm
# beside its experimental arm, a parent cohort shown only as the heading of its subgroups, and a pooled estimate.
ROW_KINDS = ("cohort", "retreatment", "control", "heading", "pooled")


@dataclass(frozen=True)
class Link:
    """A table cell that links somewhere: its text and its (relative) address."""

    text: str
    href: str

    def __str__(self) -> str:
        return self.text


@dataclass
class ForestRow:
    """One row of a forest-style chart: a cohort's figure, a heading of subgroups, or a pooled estimate."""

    label: str
    panel: str  # the evidence type's label
    study_id: str
    cohort_id: str
    href: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    open_ended: bool
    ci_computed: bool
    ci_text: str
    n_text: str
    regimen: str
    prior_status: str  # label of the prior anti-CD38 status: the colour of the point
    prior_text: str  # the label with the refractory share, for tooltips and tables
    source: str
    status: str
    partner: str = ""  # label of the partner class: the row group on cross-study charts
    kind: str = "cohort"  # one of ROW_KINDS
    depth: int = 0  # 0 for a top-level row, 1 for a subgroup of it, and so on
    colour_key: str = ""  # the colour legend entry: the prior status, or CONTROL_ARM
    marker: str = ""  # the shape legend entry: the evidence type, or POOLED
    own_partner: str = ""  # the cohort's own partner class, where it differs from its group's (a control arm)
    antibody: str = ""  # the antibody axis, in words ('Switch: isatuximab after daratumumab')
    partner_drugs: str = ""  # the partner drugs by name, with the patients' history of each where stated
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.colour_key = self.colour_key or self.prior_status
        self.marker = self.marker or self.panel
        self.own_partner = self.own_partner or self.partner


@dataclass(frozen=True)
class Chart:
    """One chart: its Vega-Lite spec, its text description and caption, and the table it stands for."""

    name: str
    title: str
    description: str
    caption: str
    spec: dict[str, Any]
    columns: tuple[str, ...]
    rows: tuple[tuple[str | Link, ...], ...]
    marks: int
    studies: int = 1
    # Forest charts get a static SVG drawn by the atlas itself (svg.forest_svg) from these rows, in this order,
    # which takes a millisecond where a Vega rendering takes a quarter of a second.
    forest: tuple[ForestRow, ...] | None = None
    axis_max: float = 0.0
    x_title: str = ""
    panels: bool = False  # rows grouped under a heading per partner class (ForestRow.partner)
    legend: tuple[tuple[str, str], ...] = ()  # colour legend entries shown: (label, colour)
    shapes: tuple[tuple[str, str], ...] = ()  # shape legend entries shown: (label, Vega shape name)
    intervals: tuple[str, ...] = ()  # interval styles shown
    links: tuple[Link, ...] = ()  # links the caption ends with (the Methods page)
    # The spec Vega draws the narrow static SVG from (Frame NARROW); forest charts draw theirs themselves.
    narrow_spec: dict[str, Any] | None = None

    # The files written beside the chart's page.
    @property
    def spec_file(self) -> str:
        return f"{self.name}.vl.json"

    @property
    def svg_file(self) -> str:
        return f"{self.name}.svg"

    @property
    def narrow_svg_file(self) -> str:
        return f"{self.name}-narrow.svg"


# ---------------------------------------------------------------- data from the evidence


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


def label_lines(label: str, width: int = LABEL_LINE_CHARACTERS) -> list[str]:
    """A chart label's lines: broken at spaces into lines of at most `width` characters (a longer word keeps its own
    line), as LABEL_LINES_EXPR breaks it in Vega."""
    return re.sub(rf"(.{{1,{width}}})(?: +|$)", "\\1\n", label.strip()).strip().split("\n")


def label_expr(width: int = LABEL_LINE_CHARACTERS) -> str:
    return LABEL_LINES_EXPR.format(width=width)


def row_step(labels: Iterable[str], width: int = LABEL_LINE_CHARACTERS) -> int:
    """Height of a chart's rows: one line of label, or as many as the longest label of the panel needs."""
    lines = max((len(label_lines(label, width)) for label in labels), default=1)
    return max(ROW_STEP, LINE_HEIGHT * lines + 9)


def configured(spec: dict[str, Any]) -> dict[str, Any]:
    """A Vega-Lite spec with the atlas's text sizes and legend layout (VEGA_CONFIG) in its config."""
    config = spec.setdefault("config", {})
    for key, value in VEGA_CONFIG.items():
        config[key] = {**config.get(key, {}), **value}
    return spec


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
    prior = prior_anti_cd38_status(study, cohort)
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
        antibody=antibody(evidence, study, cohort).text,
        partner_drugs=partners(evidence, study, cohort).drugs_text,
    )


def _regimen_name(evidence: Evidence, cohort: Cohort) -> str:
    return evidence.regimens[cohort.regimen].name if cohort.regimen else (cohort.regimen_as_stated or "not specified")


def heading_row(evidence: Evidence, study: Study, cohort: Cohort, page_url: str, partner: str) -> ForestRow:
    """A cohort shown only as the heading of its charted subgroups: a label, no mark, its own facts in the table."""
    prior = prior_anti_cd38_status(study, cohort)
    n = cohort.population.n.value if cohort.population and cohort.population.n else None
    return ForestRow(
        label=cohort_label(study, cohort, evidence) + _n_text(n), panel=EVIDENCE_TYPES[evidence_type(study)],
        study_id=study.id, cohort_id=cohort.id,
        href=relative(page_url, RECORD_KINDS["study"].url(study.id)) + f"#cohort-{cohort.id}",
        value=None, ci_low=None, ci_high=None, open_ended=False, ci_computed=False, ci_text="",
        n_text=str(n) if n else "NR", regimen=_regimen_name(evidence, cohort), prior_status=prior.label,
        prior_text=prior.text, source="", status="heading", partner=partner, kind="heading",
        own_partner=partners(evidence, study, cohort).label, antibody=antibody(evidence, study, cohort).text,
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
        values = [self.row.value if self.row.kind == "retreatment" else None] + [c.best() for c in self.children]
        return max((v for v in values if v is not None), default=-1.0)


def cross_study_rows(evidence: Evidence, measure: str, page_url: str) -> list[ForestRow]:
    """The rows of a measure's cross-study chart, in the order drawn.

    Rows are grouped by partner group (facts.partner_groups_in_order). In a group, a subgroup (or part, dose level or arm) is
    indented under the nearest cohort containing it that is charted in the group; failing that, its parent is shown
    as a heading without a mark, so that one trial's subgroups read as one trial. Families are ordered by their
    highest value, subgroups as their study lists them. A randomised trial's control arm that is not a retreatment
    follows its experimental arm, drawn as a control (kind 'control'); it is never a retreatment row.
    """
    groups: dict[str, list[tuple[Study, Cohort, ForestRow]]] = {}
    for study in sorted(evidence.studies.values(), key=lambda s: s.id):
        for cohort in study.cohorts:
            found = retreatment(evidence, study, cohort)
            if not found.value:
                continue
            outcome = preferred_outcome(evidence, study, [o for o in cohort_outcomes(cohort) if o.measure == measure])
            if outcome is None:
                continue
            row = forest_row(evidence, study, cohort, outcome, page_url)
            row.kind = "retreatment"
            groups.setdefault(partners(evidence, study, cohort).name, []).append((study, cohort, row))
    rows: list[ForestRow] = []
    for name in partner_groups_in_order(groups):
        rows.extend(_group_rows(evidence, measure, page_url, groups[name]))
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
                    or retreatment(evidence, study, control).value:
                continue  # a control arm that is itself a retreatment is charted as one
            outcome = preferred_outcome(evidence, study, [o for o in cohort_outcomes(control) if o.measure == measure])
            if outcome is not None:
                shown = forest_row(evidence, study, control, outcome, page_url)
                n = shown.n_text if shown.n_text != "NR" else None
                shown.label = (f"{study_name(study, evidence)}, {CONTROL_ARM.lower()}: {control.label}{_n_text(n)}"
                               + (f"; trial {stopping(study).lower()}" if stopping(study) else ""))
                shown.kind, shown.colour_key, shown.partner = "control", CONTROL_ARM, partner
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


# ---------------------------------------------------------------- pooled estimates


def pooled_rows(synthesis: Synthesis, measure: str, partner_name: str, page_url: str) -> list[ForestRow]:
    """Diamond rows of a partner group: one per prior status whose stratum the synthesis pools, under a heading."""
    rows = []
    for stratum in [s for s in synthesis.strata if s.partner_class == partner_name]:
        analysis = synthesis.analysis(stratum, measure)
        shown = analysis.primary if analysis is not None else None
        if shown is None:
            continue
        label = PRIOR_ANTI_CD38_STATUSES[stratum.prior_status].label
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


def question_chart(evidence: Evidence, answer: Answer, page_url: str, measure_name: str = "orr") -> Chart | None:
    """A question's forest plot: each cohort its answer uses with its exact interval, a randomised arm's control arm
    beside it, and the pooled diamond where the synthesis pools; None when no cohort gives the measure."""
    analysis = answer.analysis(measure_name)
    if analysis is None or not analysis.used:
        return None
    rows: list[ForestRow] = []
    cohorts = {e.key: next(c for c in evidence.studies[e.study_id].cohorts if c.id == e.cohort_id)
               for e in analysis.used}
    groups = {e.key: partners(evidence, evidence.studies[e.study_id], cohorts[e.key]).name for e in analysis.used}
    order = {name: i for i, name in enumerate(partner_groups_in_order(set(groups.values())))}
    for entry in sorted(analysis.used, key=lambda e: (order[groups[e.key]], -(e.value or 0), e.key)):
        study, cohort = evidence.studies[entry.study_id], cohorts[entry.key]
        if entry.outcome is None:
            continue
        row = forest_row(evidence, study, cohort, entry.outcome, page_url)
        row.kind = "retreatment"
        rows.append(row)
        for control_id in _control_arms(study, cohort.id):
            control = next((c for c in study.cohorts if c.id == control_id), None)
            outcome = preferred_outcome(evidence, study, [o for o in cohort_outcomes(control) if o.measure ==
                                                          measure_name]) if control is not None else None
            if outcome is not None:
                shown = forest_row(evidence, study, control, outcome, page_url)
                n = shown.n_text if shown.n_text != "NR" else None
                shown.label = (f"{study_name(study, evidence)}, {CONTROL_ARM.lower()}: {control.label}{_n_text(n)}"
                               + (f"; trial {stopping(study).lower()}" if stopping(study) else ""))
                shown.kind, shown.colour_key, shown.partner = "control", CONTROL_ARM, row.partner
                rows.append(shown)
    pooled = analysis_pooled_row(analysis, POOLED_LABEL, page_url)
    if pooled is not None:
        pooled.partner = POOLED
        rows.append(pooled)
    measure = MEASURES[measure_name]
    return forest_chart(
        "chart-answer", rows, measure_name, f"{measure.label}: {answer.question.short}",
        f"{measure.label} of each independent cohort that answers the question, with its 95% interval (exact where"
        " the source gives none)" + (", and the exploratory pooled estimate" if pooled is not None else "") + ".",
        panels=False, links=(Link("How the pooled estimates are made (Methods)",
                                 relative(page_url, METHODS_URL) + f"#{METHODS_POOLING_SECTION}"),))


# ---------------------------------------------------------------- chart builders

def _records(rows: Iterable[Any]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        record = dict(vars(row))
        record.update(record.pop("extra", {}))
        out.append(record)
    return out


def _unique_labels(rows: list[ForestRow]) -> None:
    """Make labels unique within each group: the chart's rows are its labels."""
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row.partner, row.label)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            row.label = f"{row.label} [{seen[key]}]"


def _drawn(row: ForestRow) -> bool:
    return row.kind != "heading" and row.value is not None


def forest_chart(name: str, rows: list[ForestRow], measure_name: str, title: str, caption: str,
                 panels: bool = True, description: str | None = None, links: tuple[Link, ...] = ()) -> Chart:
    """Point estimates with their intervals, one row per cohort in the order given, or by value when not in panels.

    With panels, rows are grouped under a heading per partner class (ForestRow.partner) as they come.
    """
    measure = MEASURES[measure_name]
    unit = UNITS[measure.unit]
    if not panels:
        rows = sorted(rows, key=lambda r: -(r.value if r.value is not None else -1))
    _unique_labels(rows)
    top = max([v for r in rows for v in (r.value, r.ci_low, r.ci_high) if v is not None] + [1.0])
    axis_max = 100.0 if unit.name == "percent" else math.ceil(top * 1.1)
    for row in rows:
        row.extra.update({
            "ci_end": row.ci_high if row.ci_high is not None else (axis_max if row.open_ended else None),
            "ci_style": COMPUTED_INTERVAL if row.ci_computed else PUBLISHED_INTERVAL})
    drawn = [r for r in rows if _drawn(r)]
    colours = dict(PRIOR_STATUS_LEGEND) | {CONTROL_ARM: CONTROL_ARM_COLOUR}
    legend = tuple((key, colour) for key, colour in colours.items() if any(r.colour_key == key for r in drawn))
    shape_of = {EVIDENCE_TYPES[k]: shape for k, shape in EVIDENCE_SHAPES.items()} | {POOLED: POOLED_SHAPE}
    shapes = tuple((key, shape) for key, shape in shape_of.items() if any(r.marker == key for r in drawn))
    intervals = tuple(style for style in (PUBLISHED_INTERVAL, COMPUTED_INTERVAL)
                      if any(r.kind != "pooled" and r.ci_low is not None and r.extra["ci_style"] == style for r in rows))
    x_title = f"{measure.label} ({unit.name})"
    cohorts = [r for r in drawn if r.kind in ("cohort", "retreatment")]
    if description is None:
        description = (f"{title}. {len(cohorts)} cohorts from {len({r.study_id for r in cohorts})} studies; each point"
                       f" is a cohort's {measure.in_sentence} in {unit.name}, each line its 95% confidence interval"
                       + (" (dashed where the atlas computed an exact interval)" if COMPUTED_INTERVAL in intervals else "")
                       + "; the point's colour shows the patients' prior anti-CD38 therapy and its shape the kind of"
                       " study.")
    groups: list[tuple[str | None, list[ForestRow]]] = []
    for row in rows:
        if not groups or groups[-1][0] != (row.partner if panels else None):
            groups.append((row.partner if panels else None, []))
        groups[-1][1].append(row)
    scales = {_COLOURS: [k for k, _ in legend], _COLOUR_RANGE: [c for _, c in legend],
              _SHAPES: [k for k, _ in shapes], _SHAPE_RANGE: [s for _, s in shapes],
              _INTERVALS: list(intervals), _DASHES: [_DASH[s] for s in intervals]}
    spec = _forest_spec(measure_name, groups or [(None, [])], axis_max, title, description, scales)
    table_rows = tuple(_table_row(r) for r in rows if r.extra.get("table", True))
    return Chart(name=name, title=title, description=description, caption=caption, spec=spec,
                 columns=("Study and cohort", "Partners", "Antibody", "Prior anti-CD38", "Evidence type", "Regimen", "n",
                          f"{measure.short} ({unit.name})", "95% CI", "Source"),
                 rows=table_rows, marks=len(cohorts), studies=len({r.study_id for r in cohorts}),
                 forest=tuple(rows), axis_max=axis_max, x_title=x_title, panels=panels, legend=legend, shapes=shapes,
                 intervals=intervals, links=links)


def _table_row(row: ForestRow) -> tuple[str | Link, ...]:
    if row.kind == "heading":
        value = "heading of the subgroups below"
    elif row.value is not None:
        value = number(row.value)
    else:
        value = row.status.replace("_", " ")
    partner = f"{row.own_partner}: {row.partner_drugs}" if row.partner_drugs else row.own_partner
    return (Link(row.extra.get("table_label", row.label), row.href), partner, row.antibody,
            row.prior_text, row.panel, row.regimen, row.n_text, value, row.ci_text, row.source)


# Sentinels of the cached forest specs, replaced per chart (Altair takes ~60 ms a panel; a copy, ~1 ms).
_TITLE, _DESCRIPTION, _PANEL_TITLE, _X_TITLE, _VALUE_TITLE, _AXIS_MAX = (
    "\x00title", "\x00description", "\x00panel title", "\x00x title", "\x00value title", -7.25)
_Y, _COLOURS, _COLOUR_RANGE, _SHAPES, _SHAPE_RANGE, _INTERVALS, _DASHES = (
    "\x00y", "\x00colours", "\x00colour range", "\x00shapes", "\x00shape range", "\x00intervals", "\x00dashes")
_DASH = {PUBLISHED_INTERVAL: [1, 0], COMPUTED_INTERVAL: [4, 2]}
# Kinds of rows that get layers of their own, when a panel has them.
_OPTIONAL_KINDS = ("control", "pooled")


def _forest_spec(measure_name: str, groups: list[tuple[str | None, list[ForestRow]]], axis_max: float, title: str,
                 description: str, scales: dict[str, list[Any]]) -> dict[str, Any]:
    """The Vega-Lite spec of a forest chart: one layered panel per group of rows, titled with the group's label.

    Rows keep the order given (an explicit y domain), so the static SVG drawn from the same rows matches. Each
    panel is a copy of a cached one (see _forest_template) with the chart's titles, domains and rows put in.
    """
    measure = MEASURES[measure_name]
    x_title = f"{measure.label} ({UNITS[measure.unit].name})"
    titled = groups[0][0] is not None
    units = []
    for index, (label, rows) in enumerate(groups):
        kinds = tuple(kind for kind in _OPTIONAL_KINDS if any(row.kind == kind for row in rows))
        template = json.loads(_forest_template(kinds, titled))
        unit = template["vconcat"][0] if titled else template
        values = {_PANEL_TITLE: label, _X_TITLE: x_title if index == len(groups) - 1 else None, _AXIS_MAX: axis_max,
                  _VALUE_TITLE: measure.short, _TITLE: title, _DESCRIPTION: description}
        for layer in unit["layer"]:
            if "name" in layer:
                layer["name"] = f"{layer['name']}_{index}"
        unit = _fill(unit, values, scales | {_Y: [row.label for row in rows]}, [] if titled else _records(rows))
        unit["height"] = {"step": row_step(row.label for row in rows)}
        _bold_headings(unit, rows)
        units.append(unit)
    if not titled:
        return configured(units[0])
    spec = _fill(json.loads(_forest_template((), True)), {_TITLE: title, _DESCRIPTION: description}, {}, [])
    # Altair puts the panels' (empty) data at the top; each panel has its own rows.
    spec.pop("data", None)
    for unit, (_, rows) in zip(units, groups):
        unit["data"] = {"values": _records(rows)}
    spec["vconcat"] = units
    return configured(spec)


def _bold_headings(unit: dict[str, Any], rows: list[ForestRow]) -> None:
    """Write the labels of a panel's heading rows in bold (as svg.forest_svg does), so that a cohort shown only as
    the heading of its subgroups or lines reads as a heading, not as a cohort without a figure."""
    headings = [row.label for row in rows if row.kind == "heading"]
    if not headings:
        return
    test = f"indexof({json.dumps(headings, ensure_ascii=False)}, datum.value) >= 0"
    for layer in unit.get("layer", []):
        axis = layer.get("encoding", {}).get("y", {}).get("axis")
        if isinstance(axis, dict):
            axis["labelFontWeight"] = {"condition": {"test": test, "value": "bold"}, "value": "normal"}


@lru_cache(maxsize=None)
def _forest_template(kinds: tuple[str, ...], titled: bool) -> str:
    """A forest chart of one panel with sentinels for everything a chart sets, built with Altair (so, once).

    Layers: intervals, open ends, then marks named by kind (estimates, controls, pooled; a panel's index is added),
    so that a reader's browser and the tests can tell a retreatment cohort from a control arm or a pooled estimate.
    """
    tooltip = [
        alt.Tooltip("label:N", title="Row"),
        alt.Tooltip("partner:N", title="Partners"),
        alt.Tooltip("partner_drugs:N", title="Partner drugs"),
        alt.Tooltip("antibody:N", title="Antibody"),
        alt.Tooltip("prior_text:N", title="Prior anti-CD38"),
        alt.Tooltip("panel:N", title="Evidence"),
        alt.Tooltip("regimen:N", title="Regimen"),
        alt.Tooltip("n_text:N", title="n"),
        alt.Tooltip("value:Q", title=_VALUE_TITLE),
        alt.Tooltip("ci_text:N", title="95% CI"),
        alt.Tooltip("source:N", title="Source"),
    ]
    x_scale = alt.Scale(domain=[0, _AXIS_MAX], nice=False)
    legend_bottom = {"orient": "bottom", "direction": "horizontal", "columns": 2}
    colour = alt.Color("colour_key:N", scale=alt.Scale(domain=[_COLOURS], range=[_COLOUR_RANGE]),
                       legend=alt.Legend(title="Prior anti-CD38", **legend_bottom))
    shape = alt.Shape("marker:N", scale=alt.Scale(domain=[_SHAPES], range=[_SHAPE_RANGE]),
                      legend=alt.Legend(title="Mark", **legend_bottom))
    dash = alt.StrokeDash("ci_style:N", scale=alt.Scale(domain=[_INTERVALS], range=[_DASHES]),
                          legend=alt.Legend(title="Interval", **legend_bottom))
    x = alt.X("value:Q", scale=x_scale, title=_X_TITLE)
    # Labels are left-aligned at the column's start; Vega trims the no-break spaces that indent a label, so the
    # padding shifts each label right by their number instead.
    # A long label is drawn on several lines (LABEL_LINES_EXPR), never cut.
    axis = alt.Axis(labelAlign="left", labelLimit=alt.ExprRef(f"{LABEL_LIMIT} - {INDENT_OFFSET}"),
                    labelPadding=alt.ExprRef(f"{LABEL_LIMIT + 4} - {INDENT_OFFSET}"), labelExpr=label_expr(),
                    labelLineHeight=LINE_HEIGHT)
    base = alt.Chart().encode(y=alt.Y("label:N", sort=None, title=None, scale=alt.Scale(domain=[_Y]), axis=axis))
    interval_filter = "isValid(datum.ci_low) && isValid(datum.ci_end)"
    # Intervals and open ends are kept out of the accessibility tree (aria=False): each row's point already carries
    # the same description, and Vega gives a layer with no items an image role without a name.
    layers = [
        base.transform_filter(f"{interval_filter} && datum.kind != 'pooled'").mark_rule(
            strokeWidth=2, color="#555555", aria=False).encode(
            x=alt.X("ci_low:Q", scale=x_scale, title=_X_TITLE), x2="ci_end:Q", strokeDash=dash, tooltip=tooltip,
            href="href:N"),
        base.transform_filter("datum.open_ended").mark_point(
            shape="triangle-right", filled=True, size=50, color="#555555", aria=False).encode(
            x=alt.X("ci_end:Q", scale=x_scale, title=_X_TITLE), tooltip=tooltip, href="href:N"),
    ]
    points = {"size": 90, "opacity": 1, "stroke": "#000000", "strokeWidth": 0.6, "filled": True}
    marks = {"x": x, "color": colour, "shape": shape, "tooltip": tooltip, "href": "href:N"}
    layers.append(base.transform_filter(
        "isValid(datum.value) && (datum.kind == 'retreatment' || datum.kind == 'cohort')").mark_point(
        **points).encode(**marks).properties(name="estimates"))
    if "control" in kinds:
        layers.append(base.transform_filter("isValid(datum.value) && datum.kind == 'control'").mark_point(
            **points).encode(**marks).properties(name="controls"))
    if "pooled" in kinds:
        pooled = base.transform_filter("isValid(datum.value) && datum.kind == 'pooled'")
        layers.append(pooled.transform_filter(interval_filter).mark_rule(
            strokeWidth=3.5, color="#000000", aria=False).encode(
            x=alt.X("ci_low:Q", scale=x_scale, title=_X_TITLE), x2="ci_end:Q", tooltip=tooltip, href="href:N"))
        layers.append(pooled.mark_point(**(points | {"size": 260, "strokeWidth": 1})).encode(**marks).properties(
            name="pooled"))
    # Rows are put into the finished spec: passing them through Altair would copy each one.
    panel = alt.layer(*layers, data=alt.Data(values=[])).properties(width=CHART_WIDTH, height=alt.Step(ROW_STEP))
    if titled:
        panel = panel.properties(title=alt.TitleParams(_PANEL_TITLE, anchor="start", frame="bounds", fontSize=12))
        chart = alt.vconcat(panel).resolve_scale(x="shared", color="shared", shape="shared", strokeDash="shared")
    else:
        chart = panel
    return json.dumps(chart.properties(title=_TITLE, description=_DESCRIPTION).configure_view(stroke=None).to_dict(
        validate=False))


def _fill(node: Any, values: dict[Any, Any], lists: dict[str, list[Any]], records: list[dict[str, Any]]) -> Any:
    """Put a chart's title, description, axis end, scale domains and rows into a copy of the cached spec."""
    if isinstance(node, dict):
        if set(node) == {"values"} and node["values"] == []:
            return {"values": records}
        return {key: _fill(value, values, lists, records) for key, value in node.items()}
    if isinstance(node, list):
        if len(node) == 1 and isinstance(node[0], str) and node[0] in lists:
            return lists[node[0]]
        return [_fill(item, values, lists, records) for item in node]
    if isinstance(node, (str, float)) and not isinstance(node, bool) and node in values:
        return values[node]
    return node


def cross_study_chart(evidence: Evidence, measure_name: str, page_url: str,
                      synthesis: Synthesis | None = None) -> Chart:
    """A measure's chart across studies: partner-class groups, subgroups indented, control arms, pooled diamonds."""
    measure = MEASURES[measure_name]
    unit = UNITS[measure.unit]
    rows = with_pooled(cross_study_rows(evidence, measure_name, page_url), synthesis, measure_name, page_url)
    title = f"{measure.label} across studies"
    cohorts = [r for r in rows if r.kind == "retreatment" and r.value is not None]
    groups = list(dict.fromkeys(r.partner for r in rows))
    controls = any(r.kind == "control" for r in rows)
    pooled = [r for r in rows if r.kind == "pooled"]
    rate = measure.family == "rate"
    description = (
        f"{title}. {len(cohorts)} cohorts from {len({r.study_id for r in cohorts})} studies, in groups by what the"
        f" anti-CD38 antibody was given with ({'; '.join(groups) or 'none'}). Each point is a cohort's"
        f" {measure.in_sentence} in {unit.name} and each line its 95% confidence interval"
        + (" (dashed where the source gives none and the atlas computed an exact interval from responders and"
           " patients)" if rate else "")
        + "; the point's colour shows the patients' prior anti-CD38 status and its shape the kind of study."
        " Subgroups are indented under the cohort or trial they belong to."
        + (" Control arms of randomised trials, which are not retreatment, are drawn in grey below their"
           " experimental arm." if controls else "")
        + (f" Diamonds are pooled estimates ({len(pooled)}), exploratory: a random-effects meta-analysis of logit"
           f" proportions ({POOLING_METHODS[POOLED_METHOD]}) per partner class and prior status where at least three"
           " independent cohorts report responders and patients, as the Methods page describes." if pooled else "")
        + (" No partner class and prior status has the three independent cohorts reporting responders and patients"
           " that an exploratory pooled estimate needs (see the Methods page)." if rate and synthesis and not pooled
           else "")
        + ("" if rate else " Medians are never pooled."))
    caption = (f"{measure.label} in every study cohort given anti-CD38 retreatment that reports it, grouped by partner"
               " class and coloured by prior anti-CD38 status; subgroups are indented under their trial or cohort.")
    if rate:
        caption += (" Where a source gives no interval, the atlas shows an exact (Clopper-Pearson) 95% interval"
                    " from responders and patients and marks it as computed; where the source gives only the rate,"
                    " responders are derived from it and n (rounded), and n is the cohort's where the figure"
                    " states none. A diamond is a pooled estimate"
                    " (exploratory, random effects), drawn only for a partner class and prior status with at least"
                    " three independent cohorts.")
    else:
        caption += " Medians are shown as each source reports them; they are not pooled."
    caption += " Select a point to open its study."
    methods = relative(page_url, METHODS_URL)
    links = (Link("How the charts are made (Methods)", f"{methods}#{METHODS_SECTION}"),)
    if rate:
        links += (Link("How the pooled estimates are made (Methods)", f"{methods}#{METHODS_POOLING_SECTION}"),)
    return forest_chart(f"chart-{measure_name.replace('_', '-')}", rows, measure_name, title, caption,
                        description=description, links=links)


def study_charts(evidence: Evidence, study: Study) -> list[Chart]:
    """Per-study charts where the data allow: best responses, survival medians, per-patient lines."""
    page_url = RECORD_KINDS["study"].url(study.id)
    charts = []
    response = best_response_chart(study)
    if response is not None:
        charts.append(response)
    for measure_name in ("pfs", "os"):
        rows = []
        for cohort in study.cohorts:
            for outcome in cohort.outcomes:
                if outcome.measure == measure_name and outcome.value is not None:
                    label = cohort.label + (f" [{outcome.variant}]" if outcome.variant else "")
                    source = evidence.publications[outcome.source.publication]
                    label += f" ({short_citation(source)})" if source.id not in study.publications[:1] else ""
                    rows.append(forest_row(evidence, study, cohort, outcome, page_url, label=label))
        # One figure is already in the outcome table; a chart helps only when there are figures to compare.
        if len(rows) >= 2:
            measure = MEASURES[measure_name]
            charts.append(forest_chart(
                f"chart-{measure_name}", rows, measure_name, f"{measure.label} by cohort",
                f"{measure.label} of each cohort of this study, as each source reports it.", panels=False))
    swimmer = swimmer_chart(evidence, study)
    if swimmer is not None:
        charts.append(swimmer)
    return charts


def _response_scale(present: set[str]) -> tuple[list[str], list[str]]:
    """Legend entries for the response categories a chart shows, deepest first, with their fixed colours."""
    categories = [c for c in sorted(RESPONSE_CATEGORIES.values(), key=lambda c: c.rank) if c.short in present]
    return [c.short for c in categories], [RESPONSE_COLOURS[c.name] for c in categories]


@dataclass(frozen=True)
class Frame:
    """The sizes a Vega-rendered chart is drawn at: the plot's width, the label column's, and a label line's characters."""

    plot: int
    labels: int
    characters: int


WIDE = Frame(CHART_WIDTH, LABEL_LIMIT, LABEL_LINE_CHARACTERS)
# Drawn for screens narrower than charts.NARROW_BELOW: 288 px wide (a 320 px screen's content column) at FONT_SIZE.
NARROW = Frame(140, 118, 18)
NARROW_WIDTH = 288
# Below this viewport width a page shows each chart's narrow static SVG, and no live chart: every wide static SVG is
# at most WIDE_MAX_WIDTH px wide, which the content column holds at any viewport from here up (tests/test_layout.py).
NARROW_BELOW = 700
WIDE_MAX_WIDTH = 660


def _category_axis(frame: Frame) -> alt.Axis:
    return alt.Axis(labelLimit=frame.labels, labelExpr=label_expr(frame.characters), labelLineHeight=LINE_HEIGHT)


def best_response_chart(study: Study) -> Chart | None:
    rows = []
    for cohort in study.cohorts:
        for share in cohort.best_response:
            percent = share.percent
            computed = False
            if percent is None and share.patients is not None and share.n:
                percent, computed = 100 * share.patients / share.n, True
            if percent is None:
                continue
            category = RESPONSE_CATEGORIES[share.category]
            rows.append({"cohort": cohort.label, "cohort_id": cohort.id, "category": category.short,
                         "category_label": category.label, "rank": category.rank, "percent": round(percent, 1),
                         "patients": "" if share.patients is None else str(share.patients),
                         "computed": "computed from patients/n" if computed else "as published"})
    if not rows:
        return None
    order, colours = _response_scale({r["category" if "category" in r else "response"] for r in rows})
    title = "Best response by cohort"
    description = (f"{title}: stacked bars of the share of patients in each IMWG best-response category, "
                   f"{len(rows)} category shares in {len({r['cohort'] for r in rows})} cohorts.")

    def spec(frame: Frame) -> dict[str, Any]:
        step = max(ROW_STEP * 1.5, row_step((r["cohort"] for r in rows), frame.characters))
        chart = alt.Chart(alt.Data(values=rows)).mark_bar(stroke="#ffffff", strokeWidth=0.5).encode(
            y=alt.Y("cohort:N", title=None, axis=_category_axis(frame)),
            x=alt.X("percent:Q", title="Patients (%)", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("category:N", scale=alt.Scale(domain=order, range=colours),
                            legend=alt.Legend(title="Best response", orient="bottom", columns=3 if frame is WIDE else 2)),
            order=alt.Order("rank:Q"),
            tooltip=[alt.Tooltip("cohort:N", title="Cohort"), alt.Tooltip("category_label:N", title="Best response"),
                     alt.Tooltip("percent:Q", title="%"), alt.Tooltip("patients:N", title="Patients"),
                     alt.Tooltip("computed:N", title="Figure")],
        ).properties(width=frame.plot, height=alt.Step(step), title=title, description=description, name="shares")
        return configured(chart.configure_view(stroke=None).to_dict(validate=False))

    return Chart(name="chart-best-response", title=title, description=description,
                 caption="Share of patients by best response (IMWG), where the source reports it. Shares need not add "
                         "up to 100% when the source reports only some categories.",
                 spec=spec(WIDE), narrow_spec=spec(NARROW),
                 columns=("Cohort", "Best response", "%", "Patients", "Figure"),
                 rows=tuple((Link(r["cohort"], f"#cohort-{r['cohort_id']}"), r["category_label"], f"{r['percent']:g}",
                             r["patients"], r["computed"]) for r in rows),
                 marks=len(rows))


def swimmer_chart(evidence: Evidence, study: Study) -> Chart | None:
    """Each patient's lines of therapy in order, coloured by best response, anti-CD38 lines marked."""
    rows = []
    for cohort in study.cohorts:
        for patient in cohort.patients:
            for line in patient.lines:
                category = RESPONSE_CATEGORIES[line.best_response]
                rows.append({"patient": patient.label, "anchor": f"cohort-{cohort.id}",
                             "line": line.line, "start": line.line - 0.45,
                             "end": line.line + 0.45, "regimen": line.regimen_as_stated,
                             "response": category.short, "response_label": category.label,
                             "anti_cd38": "Contains an anti-CD38 antibody" if line.anti_cd38 else "No anti-CD38 antibody",
                             "cycles": "" if line.cycles is None else str(line.cycles),
                             "duration": "" if line.duration_months is None else f"{line.duration_months:g}"})
    if not rows:
        return None
    order, colours = _response_scale({r["category" if "category" in r else "response"] for r in rows})
    patients = list(dict.fromkeys(r["patient"] for r in rows))
    title = "Lines of therapy per patient"
    description = (f"{title}: a swimmer plot of {len(patients)} patients and {len(rows)} lines of therapy, one bar per "
                   "line in order, coloured by best response; a diamond marks lines containing an anti-CD38 antibody.")
    tooltip = [alt.Tooltip("patient:N", title="Patient"), alt.Tooltip("line:Q", title="Line"),
               alt.Tooltip("regimen:N", title="Regimen"), alt.Tooltip("cycles:N", title="Cycles"),
               alt.Tooltip("response_label:N", title="Best response"), alt.Tooltip("anti_cd38:N", title="Anti-CD38")]

    def spec(frame: Frame) -> dict[str, Any]:
        step = max(34, row_step(patients, frame.characters) + 12)
        base = alt.Chart(alt.Data(values=rows)).encode(
            y=alt.Y("patient:N", sort=patients, title=None, axis=_category_axis(frame)))
        bars = base.mark_bar(height=14, stroke="#ffffff").encode(
            x=alt.X("start:Q", title="Line of therapy", axis=alt.Axis(tickMinStep=1, format="d")),
            x2="end:Q",
            color=alt.Color("response:N", scale=alt.Scale(domain=order, range=colours),
                            legend=alt.Legend(title="Best response", orient="bottom", columns=3 if frame is WIDE else 2)),
            tooltip=tooltip,
        ).properties(name="lines")
        marks = base.transform_filter("datum.anti_cd38 == 'Contains an anti-CD38 antibody'").mark_point(
            shape="diamond", filled=True, size=60, color="#000000", yOffset=-10).encode(x="line:Q", tooltip=tooltip)
        chart = alt.layer(bars, marks).properties(width=frame.plot, height=alt.Step(step), title=title,
                                                  description=description)
        return configured(chart.configure_view(stroke=None).to_dict(validate=False))

    return Chart(name="chart-lines", title=title, description=description,
                 caption="Each bar is one line of therapy, in the order the source lists them; its colour is the best "
                         "response on that line. Diamonds mark lines that contain an anti-CD38 antibody. Bar length does "
                         "not show time.",
                 spec=spec(WIDE), narrow_spec=spec(NARROW),
                 columns=("Patient", "Line", "Regimen", "Cycles", "Best response", "Anti-CD38"),
                 rows=tuple((Link(r["patient"], f"#{r['anchor']}"), str(r["line"]), r["regimen"], r["cycles"],
                             r["response_label"], "yes" if r["anti_cd38"].startswith("Contains") else "no")
                            for r in rows),
                 marks=len(rows))


def regimen_charts(evidence: Evidence, regimen_id: str) -> list[Chart]:
    """For each measure with figures, the outcomes of every study cohort given the regimen."""
    page_url = RECORD_KINDS["regimen"].url(regimen_id)
    uses = evidence.cohorts_by_regimen.get(regimen_id, [])
    charts = []
    for measure_name in REGIMEN_MEASURES:
        rows = []
        for study, cohort in uses:
            outcome = preferred_outcome(evidence, study, [o for o in cohort_outcomes(cohort) if o.measure == measure_name])
            if outcome is not None and outcome.value is not None:
                rows.append(forest_row(evidence, study, cohort, outcome, page_url))
        if rows:
            measure = MEASURES[measure_name]
            charts.append(forest_chart(f"chart-{measure_name.replace('_', '-')}", rows, measure_name,
                                       f"{measure.label} with this regimen",
                                       f"{measure.label} of every study cohort given this regimen.", panels=False))
    return charts


def site_charts(evidence: Evidence) -> dict[str, list[Chart]]:
    """Every chart of the site, keyed by the URL of the page that shows it."""
    charts: dict[str, list[Chart]] = {}
    synthesis = synthesise(evidence)
    for measure_name in CROSS_STUDY_MEASURES:
        url = chart_page_url(measure_name)
        charts[url] = [cross_study_chart(evidence, measure_name, url, synthesis)]
    for study in evidence.studies.values():
        found = study_charts(evidence, study)
        if found:
            charts[RECORD_KINDS["study"].url(study.id)] = found
    for regimen_id in evidence.regimens:
        found = regimen_charts(evidence, regimen_id)
        if found:
            charts[RECORD_KINDS["regimen"].url(regimen_id)] = found
    return charts


class PageCharts:
    """The charts of each page by its URL, as site_charts gives them, but computed only when a page asks.

    An incremental build regenerates only some pages; each computes its own charts while its reads are traced.
    Cross-study charts, asked for by two pages, are computed once per build (their reads are charged to both).
    The charts asked for since the last `take_requested` are kept, so the build can write their files.
    """

    def __init__(self, evidence: Evidence, guide=None):  # noqa: ANN001 - guide.Guide, or None for no questions
        self.evidence = evidence
        self.guide = guide
        self._cross_study = {chart_page_url(name): name for name in CROSS_STUDY_MEASURES}
        self._memo = Memo()
        self._requested: dict[str, list[Chart]] = {}

    def __bool__(self) -> bool:
        return True  # the cross-study charts always exist, as in site_charts

    def get(self, url: str, default: list[Chart] | None = None) -> list[Chart]:
        charts = self._compute(url)
        if charts:
            self._requested[url] = charts
        return charts if charts else (default if default is not None else [])

    def __getitem__(self, url: str) -> list[Chart]:
        charts = self.get(url)
        if not charts:
            raise KeyError(url)
        return charts

    def synthesis(self) -> Synthesis:
        """The synthesis of the evidence, computed once per build (and charged to every job that uses it)."""
        return self._memo.get("synthesis", lambda: synthesise(
            self.evidence, self.guide.questions.items if self.guide is not None else ()))

    def take_requested(self) -> dict[str, list[Chart]]:
        requested, self._requested = self._requested, {}
        return requested

    def _compute(self, url: str) -> list[Chart]:
        if url in self._cross_study:
            measure_name = self._cross_study[url]
            # The synthesis is fetched inside: a chart served from the memo charges its reads too.
            return self._memo.get(url, lambda: [cross_study_chart(self.evidence, measure_name, url, self.synthesis())])
        if url.startswith(QUESTIONS_URL) and url.count("/") == 2:
            found = self.synthesis().answer(url[len(QUESTIONS_URL):-1])
            chart = question_chart(self.evidence, found, url) if found is not None else None
            return [chart] if chart is not None else []
        for kind in ("study", "regimen"):
            prefix = RECORD_KINDS[kind].url_prefix + "/"
            record_id = url[len(prefix):-1] if url.startswith(prefix) and url.endswith("/") else None
            if record_id and "/" not in record_id:
                if kind == "study":
                    study = self.evidence.studies.get(record_id)
                    return study_charts(self.evidence, study) if study is not None else []
                return regimen_charts(self.evidence, record_id) if record_id in self.evidence.regimens else []
        return []


def chart_page_url(measure_name: str) -> str:
    return f"{CHARTS_URL_PREFIX}/{measure_name.replace('_', '-')}/"
