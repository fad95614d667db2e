"""Vega-Lite charts (built with Altair) from the validated evidence, with the table each chart stands for."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

import altair as alt

from .evidence import Evidence, evidence_type
from .facts import is_anti_cd38_retreatment, prior_anti_cd38_status
from .model import Cohort, Outcome, Study
from .links import number, relative, short_citation
from .vocabulary import EVIDENCE_TYPES, MEASURES, PRIOR_ANTI_CD38_STATUSES, RECORD_KINDS, RESPONSE_CATEGORIES, UNITS

# Measures with a cross-study chart, in the order the charts page shows them.
CROSS_STUDY_MEASURES = ("pfs", "os", "orr", "cr_or_better", "follow_up")
CHARTS_URL_PREFIX = "charts"
REGIMEN_MEASURES = ("pfs", "os", "orr")

# A colour per prior anti-CD38 status that a colour-blind reader can tell apart (Okabe-Ito), grey for unknown.
PRIOR_STATUS_COLOURS = {
    "refractory": "#D55E00", "mixed": "#E69F00", "exposed_not_refractory": "#0072B2",
    "partly_naive": "#CC79A7", "naive": "#009E73", "unknown": "#999999",
}
PRIOR_STATUS_LEGEND = tuple((PRIOR_ANTI_CD38_STATUSES[name].label, colour) for name, colour in PRIOR_STATUS_COLOURS.items())
# Deepest to shallowest best response: a sequential scheme keeps the order visible without colour names.
RESPONSE_COLOURS = {
    "scr": "#08306b", "cr": "#08519c", "vgpr": "#2171b5", "pr": "#4292c6", "mr": "#6baed6", "mr_or_sd": "#9ecae1",
    "sd": "#c6dbef", "pd": "#D55E00", "ne": "#bdbdbd", "unknown": "#e0e0e0",
}
CHART_WIDTH = 300
LABEL_LIMIT = 250
ROW_STEP = 22


@dataclass
class ForestRow:
    """One cohort's figure in a forest-style chart."""

    label: str
    panel: str
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
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Chart:
    """One chart: its Vega-Lite spec, its text description and caption, and the table it stands for."""

    name: str
    title: str
    description: str
    caption: str
    spec: dict[str, Any]
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    marks: int
    studies: int = 1
    # Forest charts of one study or regimen get a static SVG drawn by the atlas itself (svg.forest_svg),
    # which takes a millisecond where a Vega rendering takes a quarter of a second.
    forest: tuple[ForestRow, ...] | None = None
    axis_max: float = 0.0
    x_title: str = ""
    panels: bool = False


# ---------------------------------------------------------------- statistics

def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1, a - 1
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1 - x) / b


def _bisect(function, target: float) -> float:
    """The p in (0, 1) where an increasing function reaches target (Illinois false position: few evaluations)."""
    low, high = 0.0, 1.0
    f_low, f_high = function(low) - target, function(high) - target
    side = 0
    for _ in range(100):
        middle = (low * f_high - high * f_low) / (f_high - f_low)
        f_middle = function(middle) - target
        if abs(f_middle) < 1e-13 or high - low < 1e-13:
            return middle
        if f_middle < 0:
            low, f_low = middle, f_middle
            if side == -1:
                f_high /= 2
            side = -1
        else:
            high, f_high = middle, f_middle
            if side == 1:
                f_low /= 2
            side = 1
    return middle


@lru_cache(maxsize=None)
def clopper_pearson(successes: int, n: int, level: float = 95.0) -> tuple[float, float]:
    """Exact (Clopper-Pearson) confidence interval of a proportion, in per cent."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes}/{n}")
    tail = (1 - level / 100) / 2
    # P(X >= k | p) = I_p(k, n-k+1) rises with p; P(X <= k | p) = 1 - I_p(k+1, n-k) falls with p.
    lower = 0.0 if successes == 0 else _bisect(lambda p: regularized_beta(p, successes, n - successes + 1), tail)
    upper = 1.0 if successes == n else _bisect(lambda p: regularized_beta(p, successes + 1, n - successes), 1 - tail)
    return 100 * lower, 100 * upper


# ---------------------------------------------------------------- data from the evidence


def preferred_outcome(evidence: Evidence, study: Study, outcomes: list[Outcome]) -> Outcome | None:
    """The figure a chart shows when several sources give one: the study's own publications before a review's."""
    usable = [o for o in outcomes if o.status in ("reported", "not_reached") and o.cross_study]
    own = [o for o in usable if o.source.publication in study.publications]
    return (own or usable or [None])[0]


def cohort_label(study: Study, cohort: Cohort) -> str:
    name = study.short_name or study.title
    if len(name) > 48:
        name = name[:47] + "…"
    return name if len(study.cohorts) == 1 else f"{name}: {cohort.label}"


def forest_row(evidence: Evidence, study: Study, cohort: Cohort, outcome: Outcome, page_url: str,
               label: str | None = None) -> ForestRow:
    measure = MEASURES[outcome.measure]
    ci_low, ci_high, computed = outcome.ci_low, outcome.ci_high, False
    if measure.family == "rate" and ci_low is None and outcome.responders is not None and outcome.n:
        ci_low, ci_high = clopper_pearson(outcome.responders, outcome.n)
        computed = True
    open_ended = ci_low is not None and ci_high is None
    if ci_low is None:
        ci_text = "not reported"
    elif open_ended:
        ci_text = f"{number(ci_low)}–{(outcome.ci_high_status or 'not estimable').replace('_', ' ')}"
    else:
        ci_text = f"{ci_low:.1f}–{ci_high:.1f} (exact, computed)" if computed else f"{number(ci_low)}–{number(ci_high)}"
    publication = evidence.publications[outcome.source.publication]
    regimen = evidence.regimens[cohort.regimen].name if cohort.regimen else (cohort.regimen_as_stated or "not specified")
    n = outcome.n or (cohort.population.n.value if cohort.population and cohort.population.n else None)
    prior = prior_anti_cd38_status(study, cohort)
    return ForestRow(
        label=label or cohort_label(study, cohort) + (f" (n={n})" if n else " (n=NR)"),
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
        regimen=regimen,
        prior_status=prior.label,
        prior_text=prior.text,
        source=f"{short_citation(publication)}, {outcome.source.location}",
        status=outcome.status,
    )


def cross_study_rows(evidence: Evidence, measure: str, page_url: str) -> list[ForestRow]:
    rows = []
    for study in sorted(evidence.studies.values(), key=lambda s: s.id):
        for cohort in study.cohorts:
            if not is_anti_cd38_retreatment(evidence, study, cohort):
                continue
            outcome = preferred_outcome(evidence, study, [o for o in cohort.outcomes if o.measure == measure])
            if outcome is not None:
                rows.append(forest_row(evidence, study, cohort, outcome, page_url))
    return rows


# ---------------------------------------------------------------- chart builders

def _records(rows: Iterable[Any]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        record = dict(vars(row))
        record.update(record.pop("extra", {}))
        out.append(record)
    return out


def forest_chart(name: str, rows: list[ForestRow], measure_name: str, title: str, caption: str,
                 panels: bool = True) -> Chart:
    """Point estimates with their intervals, one row per cohort, optionally in evidence-type panels."""
    measure = MEASURES[measure_name]
    unit = UNITS[measure.unit]
    plotted = [r for r in rows if r.value is not None or r.ci_low is not None]
    top = max([v for r in plotted for v in (r.value, r.ci_low, r.ci_high) if v is not None] + [1.0])
    axis_max = 100.0 if unit.name == "percent" else math.ceil(top * 1.1)
    for row in plotted:
        row.extra = {"ci_end": row.ci_high if row.ci_high is not None else (axis_max if row.open_ended else None),
                     "ci_style": "computed exact interval" if row.ci_computed else "published interval"}
    x_title = f"{measure.label} ({unit.name})"
    description = (f"{title}. {len([r for r in plotted if r.value is not None])} cohorts from "
                   f"{len({r.study_id for r in plotted})} studies; each point is a cohort's {measure.in_sentence} in "
                   f"{unit.name}, each line its 95% confidence interval (dashed where the atlas computed an exact "
                   "interval, with an arrow where the upper bound was not reached or not estimable); colour shows the "
                   "patients' prior anti-CD38 therapy (refractory, exposed, naive or not stated).")
    if panels:
        groups = [(label, [r for r in plotted if r.panel == label]) for label in EVIDENCE_TYPES.values()]
        groups = [(label, _records(members)) for label, members in groups if members]
        spec = _forest_spec(measure_name, groups, axis_max, title, description)
    else:
        spec = _fill(json.loads(_forest_template(measure_name)),
                     {_TITLE: title, _DESCRIPTION: description, _AXIS_MAX: axis_max}, _records(plotted))
    table_rows = tuple(
        (r.label, r.panel, r.regimen, r.n_text, number(r.value) if r.value is not None else r.status.replace("_", " "),
         r.ci_text, r.prior_text, r.source)
        for r in rows)
    return Chart(name=name, title=title, description=description, caption=caption, spec=spec,
                 columns=("Study and cohort", "Evidence type", "Regimen", "n", f"{measure.short} ({unit.name})",
                          "95% CI", "Prior anti-CD38", "Source"),
                 rows=table_rows, marks=len([r for r in plotted if r.value is not None]),
                 studies=len({r.study_id for r in plotted if r.value is not None}),
                 forest=tuple(plotted), axis_max=axis_max, x_title=x_title, panels=panels)


# Sentinels of the cached single-panel forest spec, replaced per chart (Altair takes ~60 ms a chart; a copy, ~1 ms).
_TITLE, _DESCRIPTION, _AXIS_MAX = "\x00title", "\x00description", -7.25


def _forest_spec(measure_name: str, groups: list[tuple[str | None, list[dict[str, Any]]]], axis_max: float,
                 title: str, description: str) -> dict[str, Any]:
    """The Vega-Lite spec of a forest chart, built with Altair: one layered panel per group of rows."""
    measure = MEASURES[measure_name]
    unit = UNITS[measure.unit]
    x_title = f"{measure.label} ({unit.name})"
    tooltip = [
        alt.Tooltip("label:N", title="Study and cohort"),
        alt.Tooltip("regimen:N", title="Regimen"),
        alt.Tooltip("n_text:N", title="n"),
        alt.Tooltip("value:Q", title=measure.short),
        alt.Tooltip("ci_text:N", title="95% CI"),
        alt.Tooltip("prior_text:N", title="Prior anti-CD38"),
        alt.Tooltip("source:N", title="Source"),
    ]
    x_scale = alt.Scale(domain=[0, axis_max], nice=False)
    legend_bottom = {"orient": "bottom", "direction": "horizontal", "columns": 3}

    def panel(records: list[dict[str, Any]], index: int, panel_title: str | None) -> alt.LayerChart:
        sort_order = alt.EncodingSortField(field="value", order="descending")
        base = alt.Chart().encode(y=alt.Y("label:N", sort=sort_order, title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT)))
        intervals = base.transform_filter("isValid(datum.ci_low) && isValid(datum.ci_end)").mark_rule(
            strokeWidth=2, color="#555555").encode(
            x=alt.X("ci_low:Q", scale=x_scale, title=x_title),
            x2="ci_end:Q",
            strokeDash=alt.StrokeDash("ci_style:N", scale=alt.Scale(
                domain=["published interval", "computed exact interval"], range=[[1, 0], [4, 2]]),
                legend=alt.Legend(title="Interval", **legend_bottom)),
            tooltip=tooltip, href="href:N")
        open_ends = base.transform_filter("datum.open_ended").mark_point(
            shape="triangle-right", filled=True, size=50, color="#555555").encode(
            x=alt.X("ci_end:Q", scale=x_scale, title=x_title), tooltip=tooltip, href="href:N")
        points = base.transform_filter("isValid(datum.value)").mark_point(
            filled=True, size=90, opacity=1, stroke="#000000", strokeWidth=0.6, shape="circle").encode(
            x=alt.X("value:Q", scale=x_scale, title=x_title),
            color=alt.Color("prior_status:N", scale=alt.Scale(domain=[label for label, _ in PRIOR_STATUS_LEGEND],
                                                              range=[colour for _, colour in PRIOR_STATUS_LEGEND]),
                            legend=alt.Legend(title="Prior anti-CD38", **legend_bottom)),
            tooltip=tooltip, href="href:N",
        ).properties(name=f"estimates_{index}")
        # Rows are put into the finished spec below: passing them through Altair would copy each one.
        layered = alt.layer(intervals, open_ends, points, data=alt.Data(values=[]))
        properties = {"width": CHART_WIDTH, "height": alt.Step(ROW_STEP)}
        if panel_title:
            properties["title"] = alt.TitleParams(panel_title, anchor="start", fontSize=12)
        return layered.properties(**properties)

    if len(groups) == 1 and groups[0][0] is None:
        chart = panel(groups[0][1], 0, None)
    else:
        chart = alt.vconcat(*[panel(records, i, label) for i, (label, records) in enumerate(groups)]).resolve_scale(
            x="shared", color="shared", strokeDash="shared")
    spec = chart.properties(title=title, description=description).configure_view(stroke=None).to_dict(validate=False)
    for unit, (_, records) in zip(spec["vconcat"] if "vconcat" in spec else [spec], groups):
        unit["data"] = {"values": records}
    return spec


@lru_cache(maxsize=None)
def _forest_template(measure_name: str) -> str:
    return json.dumps(_forest_spec(measure_name, [(None, [])], _AXIS_MAX, _TITLE, _DESCRIPTION))


def _fill(node: Any, values: dict[Any, Any], records: list[dict[str, Any]]) -> Any:
    """Put a chart's title, description, axis end and rows into a copy of the cached spec."""
    if isinstance(node, dict):
        if set(node) == {"values"} and node["values"] == []:
            return {"values": records}
        return {key: _fill(value, values, records) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(item, values, records) for item in node]
    if isinstance(node, (str, float)) and not isinstance(node, bool) and node in values:
        return values[node]
    return node


def cross_study_chart(evidence: Evidence, measure_name: str, page_url: str) -> Chart:
    measure = MEASURES[measure_name]
    rows = cross_study_rows(evidence, measure_name, page_url)
    caption = (f"{measure.label} in every study cohort given anti-CD38 retreatment that reports it. Where a source "
               "gives responders and patients but no interval, the atlas shows an exact (Clopper-Pearson) 95% interval "
               "and marks it as computed. Select a point to open its study.")
    return forest_chart(f"chart-{measure_name.replace('_', '-')}", rows, measure_name,
                        f"{measure.label} across studies", caption)


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
            rows.append({"cohort": cohort.label, "category": category.short, "category_label": category.label,
                         "rank": category.rank, "percent": round(percent, 1),
                         "patients": "" if share.patients is None else str(share.patients),
                         "computed": "computed from patients/n" if computed else "as published"})
    if not rows:
        return None
    order, colours = _response_scale({r["category" if "category" in r else "response"] for r in rows})
    title = "Best response by cohort"
    description = (f"{title}: stacked bars of the share of patients in each IMWG best-response category, "
                   f"{len(rows)} category shares in {len({r['cohort'] for r in rows})} cohorts.")
    chart = alt.Chart(alt.Data(values=rows)).mark_bar(stroke="#ffffff", strokeWidth=0.5).encode(
        y=alt.Y("cohort:N", title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT)),
        x=alt.X("percent:Q", title="Patients (%)", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("category:N", scale=alt.Scale(domain=order, range=colours), legend=alt.Legend(title="Best response")),
        order=alt.Order("rank:Q"),
        tooltip=[alt.Tooltip("cohort:N", title="Cohort"), alt.Tooltip("category_label:N", title="Best response"),
                 alt.Tooltip("percent:Q", title="%"), alt.Tooltip("patients:N", title="Patients"),
                 alt.Tooltip("computed:N", title="Figure")],
    ).properties(width=CHART_WIDTH, height=alt.Step(ROW_STEP * 1.5), title=title, description=description, name="shares")
    return Chart(name="chart-best-response", title=title, description=description,
                 caption="Share of patients by best response (IMWG), where the source reports it. Shares need not add "
                         "up to 100% when the source reports only some categories.",
                 spec=chart.configure_view(stroke=None).to_dict(validate=False),
                 columns=("Cohort", "Best response", "%", "Patients", "Figure"),
                 rows=tuple((r["cohort"], r["category_label"], f"{r['percent']:g}", r["patients"], r["computed"]) for r in rows),
                 marks=len(rows))


def swimmer_chart(evidence: Evidence, study: Study) -> Chart | None:
    """Each patient's lines of therapy in order, coloured by best response, anti-CD38 lines marked."""
    rows = []
    for cohort in study.cohorts:
        for patient in cohort.patients:
            for line in patient.lines:
                category = RESPONSE_CATEGORIES[line.best_response]
                rows.append({"patient": patient.label, "line": line.line, "start": line.line - 0.45,
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
    base = alt.Chart(alt.Data(values=rows)).encode(y=alt.Y("patient:N", sort=patients, title=None))
    bars = base.mark_bar(height=14, stroke="#ffffff").encode(
        x=alt.X("start:Q", title="Line of therapy", axis=alt.Axis(tickMinStep=1, format="d")),
        x2="end:Q",
        color=alt.Color("response:N", scale=alt.Scale(domain=order, range=colours), legend=alt.Legend(title="Best response")),
        tooltip=tooltip,
    ).properties(name="lines")
    marks = base.transform_filter("datum.anti_cd38 == 'Contains an anti-CD38 antibody'").mark_point(
        shape="diamond", filled=True, size=60, color="#000000", yOffset=-10).encode(x="line:Q", tooltip=tooltip)
    chart = alt.layer(bars, marks).properties(width=CHART_WIDTH, height=alt.Step(34), title=title, description=description)
    return Chart(name="chart-lines", title=title, description=description,
                 caption="Each bar is one line of therapy, in the order the source lists them; its colour is the best "
                         "response on that line. Diamonds mark lines that contain an anti-CD38 antibody. Bar length does "
                         "not show time.",
                 spec=chart.configure_view(stroke=None).to_dict(validate=False),
                 columns=("Patient", "Line", "Regimen", "Cycles", "Best response", "Anti-CD38"),
                 rows=tuple((r["patient"], str(r["line"]), r["regimen"], r["cycles"], r["response_label"],
                             "yes" if r["anti_cd38"].startswith("Contains") else "no") for r in rows),
                 marks=len(rows))


def regimen_charts(evidence: Evidence, regimen_id: str) -> list[Chart]:
    """For each measure with figures, the outcomes of every study cohort given the regimen."""
    page_url = RECORD_KINDS["regimen"].url(regimen_id)
    uses = evidence.cohorts_by_regimen.get(regimen_id, [])
    charts = []
    for measure_name in REGIMEN_MEASURES:
        rows = []
        for study, cohort in uses:
            outcome = preferred_outcome(evidence, study, [o for o in cohort.outcomes if o.measure == measure_name])
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
    for measure_name in CROSS_STUDY_MEASURES:
        url = chart_page_url(measure_name)
        charts[url] = [cross_study_chart(evidence, measure_name, url)]
    for study in evidence.studies.values():
        found = study_charts(evidence, study)
        if found:
            charts[RECORD_KINDS["study"].url(study.id)] = found
    for regimen_id in evidence.regimens:
        found = regimen_charts(evidence, regimen_id)
        if found:
            charts[RECORD_KINDS["regimen"].url(regimen_id)] = found
    return charts


def chart_page_url(measure_name: str) -> str:
    return f"{CHARTS_URL_PREFIX}/{measure_name.replace('_', '-')}/"
