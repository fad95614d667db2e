"""Forest charts: the Vega-Lite spec and data table of a set of forest rows, across studies and for a question."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any, Iterable

import altair as alt

from build_scripts.derive.facts import stopping
from build_scripts.derive.partners import partner_groups_in_order, partners
from build_scripts.derive.responses import cohort_outcomes
from build_scripts.derive.synthesis_types import Answer, Synthesis
from build_scripts.load.evidence import Evidence
from build_scripts.load.numbers import number
from build_scripts.load.vocabulary import EVIDENCE_TYPES, MEASURES, POOLING_METHODS, UNITS, WORDS, summary_pooled_measure
from build_scripts.render.chart_base import (
    CHART_WIDTH, COMPUTED_INTERVAL, CONTROL_ARM_COLOUR, Chart, EVIDENCE_SHAPES, ForestRow, INDENT_OFFSET,
    LABEL_LIMIT, LINE_HEIGHT, Link, METHODS_POOLING_SECTION, METHODS_SECTION, METHODS_URL, POOLED, POOLED_LABEL,
    POOLED_METHOD, POOLED_SHAPE, PRIOR_STATUS_LEGEND, PUBLISHED_INTERVAL, ROW_STEP, configured, control_arm, label_expr,
    index_title, prior_title, row_step,
)
from build_scripts.render.forest_rows import (
    _control_arms, _n_text, analysis_pooled_row, cross_study_rows, forest_row, preferred_outcome, study_name,
    with_pooled,
)
from build_scripts.render.links import relative


def question_chart(evidence: Evidence, answer: Answer, page_url: str, measure_name: str | None = None) -> Chart | None:
    """A question's forest plot: each cohort its answer uses with its exact interval, a randomised arm's control arm
    beside it, and the pooled diamond where the synthesis pools; None when no cohort gives the measure."""
    measure_name = measure_name or summary_pooled_measure()
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
        row.kind = "in_question"
        rows.append(row)
        for control_id in _control_arms(study, cohort.id):
            control = next((c for c in study.cohorts if c.id == control_id), None)
            outcome = preferred_outcome(evidence, study, [o for o in cohort_outcomes(control) if o.measure ==
                                                          measure_name]) if control is not None else None
            if outcome is not None:
                shown = forest_row(evidence, study, control, outcome, page_url)
                n = shown.n_text if shown.n_text != "NR" else None
                shown.label = (f"{study_name(study, evidence)}, {control_arm(False)}: {control.label}{_n_text(n)}"
                               + (f"; trial {stopping(study).lower()}" if stopping(study) else ""))
                shown.kind, shown.colour_key, shown.partner = "control", control_arm(), row.partner
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
    colours = dict(PRIOR_STATUS_LEGEND) | {control_arm(): CONTROL_ARM_COLOUR}
    legend = tuple((key, colour) for key, colour in colours.items() if any(r.colour_key == key for r in drawn))
    shape_of = {EVIDENCE_TYPES[k]: shape for k, shape in EVIDENCE_SHAPES.items()} | {POOLED: POOLED_SHAPE}
    shapes = tuple((key, shape) for key, shape in shape_of.items() if any(r.marker == key for r in drawn))
    intervals = tuple(style for style in (PUBLISHED_INTERVAL, COMPUTED_INTERVAL)
                      if any(r.kind != "pooled" and r.ci_low is not None and r.extra["ci_style"] == style for r in rows))
    x_title = f"{measure.label} ({unit.name})"
    cohorts = [r for r in drawn if r.kind in ("cohort", "in_question")]
    if description is None:
        description = (f"{title}. {len(cohorts)} cohorts from {len({r.study_id for r in cohorts})} studies; each point"
                       f" is a cohort's {measure.in_sentence} in {unit.name}, each line its 95% confidence interval"
                       + (" (dashed where the atlas computed an exact interval)" if COMPUTED_INTERVAL in intervals else "")
                       + f"; the point's colour shows the patients' prior {WORDS['index_adjective']} therapy and its"
                       " shape the kind of study.")
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
                 columns=("Study and cohort", "Partners", index_title(), prior_title(), "Evidence type", "Regimen", "n",
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
    return (Link(row.extra.get("table_label", row.label), row.href), partner, row.index_switch,
            row.prior_text, row.panel, row.regimen, row.n_text, value, row.ci_text, row.source)


# Sentinels of the cached forest specs, replaced per chart (Altair takes ~60 ms a panel; a copy, ~1 ms).
_TITLE, _DESCRIPTION, _PANEL_TITLE, _X_TITLE, _VALUE_TITLE, _AXIS_MAX = (
    "\x00title", "\x00description", "\x00panel title", "\x00x title", "\x00value title", -7.25)
# The prior status's title is the topic's: a sentinel too, so the cache holds no topic's words.
_PRIOR_TITLE = "\x00prior title"
# So is the title of the index class's agent (the index-switch axis).
_INDEX_TITLE = "\x00index title"


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
                  _VALUE_TITLE: measure.short, _TITLE: title, _DESCRIPTION: description, _PRIOR_TITLE: prior_title(),
                  _INDEX_TITLE: index_title()}
        for layer in unit["layer"]:
            if "name" in layer:
                layer["name"] = f"{layer['name']}_{index}"
        unit = _fill(unit, values, scales | {_Y: [row.label for row in rows]}, [] if titled else _records(rows))
        unit["height"] = {"step": row_step(row.label for row in rows)}
        _bold_headings(unit, rows)
        units.append(unit)
    if not titled:
        return configured(units[0])
    spec = _fill(json.loads(_forest_template((), True)),
                 {_TITLE: title, _DESCRIPTION: description, _PRIOR_TITLE: prior_title(),
                  _INDEX_TITLE: index_title()}, {}, [])
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
    so that a reader's browser and the tests can tell a cohort in the question from a control arm or a pooled
    estimate.
    """
    tooltip = [
        alt.Tooltip("label:N", title="Row"),
        alt.Tooltip("partner:N", title="Partners"),
        alt.Tooltip("partner_drugs:N", title="Partner drugs"),
        alt.Tooltip("index_switch:N", title=_INDEX_TITLE),
        alt.Tooltip("prior_text:N", title=_PRIOR_TITLE),
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
                       legend=alt.Legend(title=_PRIOR_TITLE, **legend_bottom))
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
        "isValid(datum.value) && (datum.kind == 'in_question' || datum.kind == 'cohort')").mark_point(
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
    cohorts = [r for r in rows if r.kind == "in_question" and r.value is not None]
    groups = list(dict.fromkeys(r.partner for r in rows))
    controls = any(r.kind == "control" for r in rows)
    pooled = [r for r in rows if r.kind == "pooled"]
    rate = measure.family == "rate"
    description = (
        f"{title}. {len(cohorts)} cohorts from {len({r.study_id for r in cohorts})} studies, in groups by what the"
        f" {WORDS['index_agent']} was given with ({'; '.join(groups) or 'none'}). Each point is a cohort's"
        f" {measure.in_sentence} in {unit.name} and each line its 95% confidence interval"
        + (" (dashed where the source gives none and the atlas computed an exact interval from responders and"
           " patients)" if rate else "")
        + f"; the point's colour shows the patients' prior {WORDS['index_adjective']} status and its shape the kind"
          " of study."
        " Subgroups are indented under the cohort or trial they belong to."
        + (f" Control arms of randomised trials, which are not {WORDS['question_noun']}, are drawn in grey below"
           " their experimental arm." if controls else "")
        + (f" Diamonds are pooled estimates ({len(pooled)}), exploratory: a random-effects meta-analysis of logit"
           f" proportions ({POOLING_METHODS[POOLED_METHOD]}) per partner class and prior status where at least three"
           " independent cohorts report responders and patients, as the Methods page describes." if pooled else "")
        + (" No partner class and prior status has the three independent cohorts reporting responders and patients"
           " that an exploratory pooled estimate needs (see the Methods page)." if rate and synthesis and not pooled
           else "")
        + ("" if rate else " Medians are never pooled."))
    caption = (f"{measure.label} in every study cohort given {WORDS['question_cohort']} that reports it, grouped by"
               f" partner class and coloured by prior {WORDS['index_adjective']} status; subgroups are indented under"
               " their trial or cohort.")
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
