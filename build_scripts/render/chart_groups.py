"""Cross-study charts too long for one page: one mark per partner group on the chart's page, and the group's cohorts on
pages of their own (issue 25).

A cross-study chart with more than AGGREGATE_ABOVE rows draws, on its page, one range per partner group (its group
on the per-cohort chart): the lowest to the highest cohort figure, with the group's cohorts, studies and patients;
never a pooled figure (pooling is the synthesis's, on the Evidence summary). Each group links to its own per-cohort
chart, drawn by the same code as the whole chart, over pages of at most GROUP_PAGE_ROWS rows:
charts/<measure>/<group>/, then charts/<measure>/<group>/<n>/. A page ends between families (a cohort with its
subgroups and control arms) unless one family alone is longer than a page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import altair as alt

from build_scripts.derive.partners import partner_group_label
from build_scripts.load.cache import digest, fragment
from build_scripts.load.evidence import Evidence
from build_scripts.load.numbers import number
from build_scripts.load.vocabulary import MEASURES, UNITS, WORDS
from build_scripts.render.chart_base import (
    NARROW, ROW_STEP, WIDE, Chart, ForestRow, Frame, Link, METHODS_SECTION, METHODS_URL, category_axis,
    chart_page_url, configured, row_step,
)
from build_scripts.render.forest import forest_chart
from build_scripts.render.forest_rows import cross_study_groups
from build_scripts.render.links import SUMMARY_URL, relative
from build_scripts.render.long_lists import anchor_name
from build_scripts.render.paging import pager_context, rebase

# Rows of a cross-study chart (cohorts, control arms and headings) beyond which its page shows one mark per group.
AGGREGATE_ABOVE = 300
# Rows of a group's per-cohort chart on one page; no more than a data table shows on one page (paging.TABLE_PAGE_SIZE).
GROUP_PAGE_ROWS = 100

RANGE_COLOUR = "#303f9f"


@dataclass(frozen=True)
class GroupPage:
    """One page of a partner group's per-cohort chart: its URL, its group, its number and its rows."""

    url: str
    key: str  # the partner group's key
    number: int  # from 1
    count: int  # pages of the group
    first: int  # the page's first row in the group's rows, from 1
    total: int  # rows of the group
    rows: tuple[ForestRow, ...]  # written for the chart's page (their links are relative to it)


@dataclass(frozen=True)
class GroupSummary:
    """What a group's mark on the aggregated chart says: counts and the range of its cohorts' figures."""

    key: str
    label: str
    href: str  # its per-cohort chart, relative to the chart's page
    cohorts: int  # cohorts in the question
    figures: int  # of which with a figure
    studies: int
    patients: int  # in the group's top-level cohorts (subgroups are in them), where n is reported
    unreported: int  # top-level cohorts without n
    low: float | None
    high: float | None
    pages: int


@dataclass(frozen=True)
class Aggregate:
    """A measure's cross-study chart in groups: the groups' summaries and the pages of their per-cohort charts."""

    measure: str
    groups: tuple[GroupSummary, ...]
    pages: tuple[GroupPage, ...]


def group_url(measure_name: str, key: str, number: int = 1) -> str:
    base = f"{chart_page_url(measure_name)}{anchor_name(key)}/"
    return base if number == 1 else f"{base}{number}/"


def _families(rows: list[ForestRow]) -> list[list[ForestRow]]:
    """A group's rows in families: a top-level cohort or heading with the subgroups and control arms after it."""
    families: list[list[ForestRow]] = []
    for row in rows:
        if not families or (row.depth == 0 and row.kind != "control"):
            families.append([])
        families[-1].append(row)
    return families


def split_pages(rows: list[ForestRow], size: int) -> list[list[ForestRow]]:
    """Rows in pages of at most `size`, each page ending between families unless a family alone is longer."""
    pages: list[list[ForestRow]] = []
    current: list[ForestRow] = []
    for family in _families(rows):
        if current and len(current) + len(family) > size:
            pages.append(current)
            current = []
        while len(family) > size:
            pages.append(family[:size])
            family = family[size:]
        current = current + family
    if current:
        pages.append(current)
    return pages


def _summary(measure_name: str, key: str, rows: list[ForestRow], pages: int) -> GroupSummary:
    cohorts = [r for r in rows if r.kind == "in_question"]
    values = [r.value for r in cohorts if r.value is not None]
    patients = unreported = 0
    top_kind = ""
    for row in rows:
        if row.depth == 0 and row.kind != "control":
            top_kind = row.kind
        # Subgroups are patients of the cohort above them: only top-level cohorts count, or, under a heading (a
        # parent not charted), its subgroups of the first level.
        counted = row.kind == "in_question" and (row.depth == 0 or (row.depth == 1 and top_kind == "heading"))
        if counted and row.n_text.isdigit():
            patients += int(row.n_text)
        elif counted:
            unreported += 1
    return GroupSummary(key, partner_group_label(key), relative(chart_page_url(measure_name),
                                                                group_url(measure_name, key)),
                        len(cohorts), len(values), len({r.study_id for r in cohorts}), patients, unreported,
                        min(values) if values else None, max(values) if values else None, pages)


def aggregate(evidence: Evidence, measure_name: str, above: int | None = None,
              page_rows: int | None = None) -> Aggregate | None:
    """The measure's cross-study chart in groups when it has more than `above` rows (AGGREGATE_ABOVE); else None."""
    above = AGGREGATE_ABOVE if above is None else above
    page_rows = GROUP_PAGE_ROWS if page_rows is None else page_rows
    groups = cross_study_groups(evidence, measure_name, chart_page_url(measure_name))
    if sum(len(rows) for _, rows in groups) <= above:
        return None
    summaries, pages = [], []
    for key, rows in groups:
        split = split_pages(rows, page_rows)
        summaries.append(_summary(measure_name, key, rows, len(split)))
        first = 1
        for n, chunk in enumerate(split, 1):
            pages.append(GroupPage(group_url(measure_name, key, n), key, n, len(split), first, len(rows), tuple(chunk)))
            first += len(chunk)
    return Aggregate(measure_name, tuple(summaries), tuple(pages))


def _range_text(group: GroupSummary) -> str:
    if group.low is None:
        return "no figure"
    return number(group.low) if group.low == group.high else f"{number(group.low)}–{number(group.high)}"


def _patients_text(group: GroupSummary) -> str:
    return str(group.patients) + (f" (n not reported for {group.unreported} cohorts)" if group.unreported else "")


def aggregated_chart(found: Aggregate) -> Chart:
    """The chart on a long cross-study chart's page: one range per partner group, linked to its per-cohort chart."""
    drawn = [r for p in found.pages for r in p.rows if r.kind == "in_question"]
    studies = len({r.study_id for r in drawn})
    with_figure = len({r.study_id for r in drawn if r.value is not None})
    # Drawn from the groups' summaries and two counts alone, not from their cohorts: kept between builds while those
    # are the same (an edit of a study's title, say, leaves them as they were).
    return fragment("aggregated chart", (found.measure, digest(repr(found.groups)), studies, with_figure),
                    lambda: _groups_chart(found.measure, found.groups, studies, with_figure))


def _groups_chart(measure_name: str, groups: tuple[GroupSummary, ...], studies: int, with_figure: int) -> Chart:
    measure = MEASURES[measure_name]
    unit = UNITS[measure.unit]
    page_url = chart_page_url(measure_name)
    title = f"{measure.label} across studies, by partner group"
    top = max([g.high for g in groups if g.high is not None] + [1.0])
    axis_max = 100.0 if unit.name == "percent" else math.ceil(top * 1.1)
    x_title = f"{measure.label} ({unit.name})"
    cohorts = sum(g.cohorts for g in groups)
    values = [{"label": f"{g.label} ({g.cohorts} cohort{'' if g.cohorts == 1 else 's'}, n={g.patients})", "group": g.label,
               "cohorts": g.cohorts, "studies": g.studies, "patients": _patients_text(g), "low": g.low,
               "high": g.high, "range": _range_text(g), "href": g.href}
              for g in groups]
    description = (
        f"{title}. {cohorts} cohorts from {studies} studies, too many to draw one by one on one page, in"
        f" {len(groups)} groups by what the {WORDS['index_agent']} was given with. Each bar runs from the"
        f" lowest to the highest {measure.in_sentence} ({unit.name}) of the group's cohorts; it is a range, not an"
        " estimate. " + "; ".join(f"{g.label}: {g.cohorts} cohorts, {_patients_text(g)} patients, range {_range_text(g)}"
                                  for g in groups) + ".")
    tooltip = [alt.Tooltip("group:N", title="Partners"), alt.Tooltip("cohorts:Q", title="Cohorts"),
               alt.Tooltip("studies:Q", title="Studies"), alt.Tooltip("patients:N", title="Patients"),
               alt.Tooltip("range:N", title=f"{measure.short} range")]

    def spec(frame: Frame) -> dict[str, Any]:
        step = max(ROW_STEP, row_step((v["label"] for v in values), frame.characters))
        scale = alt.Scale(domain=[0, axis_max], nice=False)
        base = alt.Chart(alt.Data(values=values)).encode(
            y=alt.Y("label:N", sort=None, title=None, axis=category_axis(frame)))
        ranged = base.transform_filter("isValid(datum.low)")
        bars = ranged.mark_rule(strokeWidth=8, color=RANGE_COLOUR, strokeCap="round").encode(
            x=alt.X("low:Q", scale=scale, title=x_title), x2="high:Q", tooltip=tooltip, href="href:N",
        ).properties(name="ranges")
        ends = ranged.mark_tick(color="#000000", thickness=2, size=16, aria=False).encode(
            x=alt.X("low:Q", scale=scale, title=x_title), tooltip=tooltip, href="href:N")
        highs = ranged.mark_tick(color="#000000", thickness=2, size=16, aria=False).encode(
            x=alt.X("high:Q", scale=scale, title=x_title), tooltip=tooltip, href="href:N")
        chart = alt.layer(bars, ends, highs).properties(width=frame.plot, height=alt.Step(step), title=title,
                                                         description=description)
        return configured(chart.configure_view(stroke=None).to_dict(validate=False))

    methods = relative(page_url, METHODS_URL)
    return Chart(
        name=f"chart-{measure_name.replace('_', '-')}", title=title, description=description,
        caption=(f"Each bar runs from the lowest to the highest {measure.in_sentence} among the group's cohorts"
                 f" given {WORDS['question_cohort']}; the ticks mark its ends. A range is not a summary estimate:"
                 " pooled estimates are on the Evidence summary. Select a bar, or a group in the table, to see its"
                 " cohorts one by one."),
        spec=spec(WIDE), narrow_spec=spec(NARROW),
        columns=("Partner group", "Cohorts", "Studies", "Patients", f"{measure.short} range ({unit.name})",
                 "Pages of cohorts"),
        rows=tuple((Link(g.label, g.href), str(g.cohorts), str(g.studies), _patients_text(g), _range_text(g),
                    str(g.pages)) for g in groups),
        marks=sum(g.figures for g in groups), studies=with_figure,
        axis_max=axis_max, x_title=x_title,
        links=(Link("Pooled estimates (Evidence summary)", relative(page_url, SUMMARY_URL)),
               Link("How the charts are made (Methods)", f"{methods}#{METHODS_SECTION}")))


def group_page_chart(found: Aggregate, page: GroupPage) -> Chart:
    """A page of a group's per-cohort chart: its rows drawn as the whole chart draws them, links written for it."""
    measure = MEASURES[found.measure]
    chart_url = chart_page_url(found.measure)
    rows = [replace(row, href=rebase(row.href, chart_url, page.url), extra=dict(row.extra)) for row in page.rows]
    label = partner_group_label(page.key)
    last = page.first + len(page.rows) - 1
    title = f"{measure.label} across studies: {label}" + (
        f", rows {page.first}–{last} of {page.total}" if page.count > 1 else "")
    caption = (f"{measure.label} in each study cohort given {WORDS['question_cohort']} with partners {label},"
               f" coloured by prior {WORDS['index_adjective']} status; subgroups are indented under their trial or"
               " cohort, and families are ordered by their highest figure, as on the whole chart. Select a point to"
               " open its study.")
    methods = relative(page.url, METHODS_URL)
    return forest_chart(f"chart-{found.measure.replace('_', '-')}", rows, found.measure, title, caption,
                        links=(Link("How the charts are made (Methods)", f"{methods}#{METHODS_SECTION}"),))


def group_page_context(found: Aggregate, page: GroupPage) -> dict[str, Any]:
    """What a group page's template shows besides its chart: where it stands, its pager, the way back."""
    pages = [p for p in found.pages if p.key == page.key]
    hrefs = [relative(page.url, p.url) for p in pages]
    pager = pager_context(page.number, page.total, hrefs, len(page.rows), "Rows")
    pager.update(first=page.first, last=page.first + len(page.rows) - 1)
    return {"page_url": page.url, "measure": MEASURES[found.measure], "group": partner_group_label(page.key),
            "pager": pager, "chart_href": relative(page.url, chart_page_url(found.measure))}
