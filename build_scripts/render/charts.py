"""The charts of each page: a study's, a regimen's and the cross-study ones (Vega-Lite, built with Altair, each with
the table it stands for), computed when a page asks for them."""

from __future__ import annotations

import json
from typing import Any

import altair as alt

from build_scripts.derive.responses import cohort_outcomes
from build_scripts.derive.synthesis import synthesise
from build_scripts.derive.synthesis_types import Synthesis
from build_scripts.load.cache import Memo, digest, fragment
from build_scripts.load.evidence import Evidence
from build_scripts.load.model import Study
from build_scripts.load.vocabulary import (
    MEASURES, RECORD_KINDS, RESPONSE_CATEGORIES, STUDY_CHART_MEASURES, WORDS, upper_first,
)
from build_scripts.render.chart_base import (
    CROSS_STUDY_MEASURES, NARROW, NARROW_WIDTH, WIDE, Chart, Frame, Link, REGIMEN_MEASURES, RESPONSE_COLOURS, ROW_STEP,
    category_axis, chart_page_url, configured, row_step,
)
from build_scripts.render.chart_groups import Aggregate, aggregate, aggregated_chart, group_page_chart
from build_scripts.render.forest import cross_study_chart, forest_chart, question_chart
from build_scripts.render.forest_rows import forest_row, preferred_outcome
from build_scripts.render.links import QUESTIONS_URL, short_citation


# ---------------------------------------------------------------- data from the evidence


# ---------------------------------------------------------------- pooled estimates


# ---------------------------------------------------------------- chart builders


def study_charts(evidence: Evidence, study: Study) -> list[Chart]:
    """Per-study charts where the data allow: best responses, survival medians, per-patient lines."""
    page_url = RECORD_KINDS["study"].url(study.id)
    charts = []
    response = best_response_chart(study)
    if response is not None:
        charts.append(response)
    for measure_name in STUDY_CHART_MEASURES:
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


# Below this viewport width a page shows each chart's narrow static SVG, and no live chart: every wide static SVG is
# at most WIDE_MAX_WIDTH px wide, which the content column holds at any viewport from here up (tests/test_layout.py).
NARROW_BELOW = 700
WIDE_MAX_WIDTH = 660


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
    description = (f"{title}: stacked bars of the share of patients in each {WORDS['response_criteria']}"
                   " best-response category, "
                   f"{len(rows)} category shares in {len({r['cohort'] for r in rows})} cohorts.")

    def spec(frame: Frame) -> dict[str, Any]:
        step = max(ROW_STEP * 1.5, row_step((r["cohort"] for r in rows), frame.characters))
        chart = alt.Chart(alt.Data(values=rows)).mark_bar(stroke="#ffffff", strokeWidth=0.5).encode(
            y=alt.Y("cohort:N", title=None, axis=category_axis(frame)),
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
                 caption=f"Share of patients by best response ({WORDS['response_criteria']}), where the source reports"
                         " it. Shares need not add up to 100% when the source reports only some categories.",
                 spec=spec(WIDE), narrow_spec=spec(NARROW),
                 columns=("Cohort", "Best response", "%", "Patients", "Figure"),
                 rows=tuple((Link(r["cohort"], f"#cohort-{r['cohort_id']}"), r["category_label"], f"{r['percent']:g}",
                             r["patients"], r["computed"]) for r in rows),
                 marks=len(rows))


def swimmer_chart(evidence: Evidence, study: Study) -> Chart | None:
    """Each patient's lines of therapy in order, coloured by best response, lines with an index drug marked."""
    # The diamonds' filter and the table read the key index_drug; its values are the words of the tooltip.
    agent = WORDS["a_index_agent"]
    given = f"Contains {agent}"
    rows = []
    for cohort in study.cohorts:
        for patient in cohort.patients:
            for line in patient.lines:
                category = RESPONSE_CATEGORIES[line.best_response]
                rows.append({"patient": patient.label, "anchor": f"cohort-{cohort.id}",
                             "line": line.line, "start": line.line - 0.45,
                             "end": line.line + 0.45, "regimen": line.regimen_as_stated,
                             "response": category.short, "response_label": category.label,
                             "index_drug": given if line.index_drug else f"No {WORDS['index_agent']}",
                             "cycles": "" if line.cycles is None else str(line.cycles),
                             "duration": "" if line.duration_months is None else f"{line.duration_months:g}"})
    if not rows:
        return None
    order, colours = _response_scale({r["category" if "category" in r else "response"] for r in rows})
    patients = list(dict.fromkeys(r["patient"] for r in rows))
    title = "Lines of therapy per patient"
    description = (f"{title}: a swimmer plot of {len(patients)} patients and {len(rows)} lines of therapy, one bar per "
                   f"line in order, coloured by best response; a diamond marks lines containing {agent}.")
    tooltip = [alt.Tooltip("patient:N", title="Patient"), alt.Tooltip("line:Q", title="Line"),
               alt.Tooltip("regimen:N", title="Regimen"), alt.Tooltip("cycles:N", title="Cycles"),
               alt.Tooltip("response_label:N", title="Best response"),
               alt.Tooltip("index_drug:N", title=upper_first(WORDS["index_adjective"]))]

    def spec(frame: Frame) -> dict[str, Any]:
        step = max(34, row_step(patients, frame.characters) + 12)
        base = alt.Chart(alt.Data(values=rows)).encode(
            y=alt.Y("patient:N", sort=patients, title=None, axis=category_axis(frame)))
        bars = base.mark_bar(height=14, stroke="#ffffff").encode(
            x=alt.X("start:Q", title="Line of therapy", axis=alt.Axis(tickMinStep=1, format="d")),
            x2="end:Q",
            color=alt.Color("response:N", scale=alt.Scale(domain=order, range=colours),
                            legend=alt.Legend(title="Best response", orient="bottom", columns=3 if frame is WIDE else 2)),
            tooltip=tooltip,
        ).properties(name="lines")
        marks = base.transform_filter(f"datum.index_drug == {json.dumps(given)}").mark_point(
            shape="diamond", filled=True, size=60, color="#000000", yOffset=-10).encode(x="line:Q", tooltip=tooltip)
        chart = alt.layer(bars, marks).properties(width=frame.plot, height=alt.Step(step), title=title,
                                                  description=description)
        return configured(chart.configure_view(stroke=None).to_dict(validate=False))

    return Chart(name="chart-lines", title=title, description=description,
                 caption="Each bar is one line of therapy, in the order the source lists them; its colour is the best "
                         f"response on that line. Diamonds mark lines that contain {agent}. Bar length does "
                         "not show time.",
                 spec=spec(WIDE), narrow_spec=spec(NARROW),
                 columns=("Patient", "Line", "Regimen", "Cycles", "Best response", upper_first(WORDS["index_adjective"])),
                 rows=tuple((Link(r["patient"], f"#{r['anchor']}"), str(r["line"]), r["regimen"], r["cycles"],
                             r["response_label"], "yes" if r["index_drug"] == given else "no")
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
        found = aggregate(evidence, measure_name)
        if found is None:
            charts[url] = [cross_study_chart(evidence, measure_name, url, synthesis)]
            continue
        charts[url] = [aggregated_chart(found)]
        for page in found.pages:
            charts[page.url] = [group_page_chart(found, page)]
    for study in evidence.studies.values():
        found = study_charts(evidence, study)
        if found:
            charts[RECORD_KINDS["study"].url(study.id)] = found
    for regimen_id in evidence.regimens:
        found = regimen_charts(evidence, regimen_id)
        if found:
            charts[RECORD_KINDS["regimen"].url(regimen_id)] = found
    return charts


def chart_aggregate(charts: Any, evidence: Evidence, measure_name: str) -> Aggregate | None:
    """A measure's cross-study chart in groups (chart_groups.aggregate), from the build's PageCharts when given."""
    return charts.aggregate(measure_name) if isinstance(charts, PageCharts) else aggregate(evidence, measure_name)


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

    def aggregate(self, measure_name: str) -> Aggregate | None:
        """The measure's cross-study chart in groups, when too long for one page (chart_groups), once per build."""
        return self._memo.get(f"aggregate:{measure_name}", lambda: aggregate(self.evidence, measure_name))

    def prepare(self) -> None:
        """Compute now what several jobs share (the synthesis, each cross-study chart and its groups), so that job
        processes forked afterwards find it computed, whichever of them runs which job."""
        self.synthesis()
        for url in self._cross_study:
            self._compute(url)

    def take_requested(self) -> dict[str, list[Chart]]:
        requested, self._requested = self._requested, {}
        return requested

    def _compute(self, url: str) -> list[Chart]:
        if url in self._cross_study:
            measure_name = self._cross_study[url]
            found = self.aggregate(measure_name)
            if found is not None:
                return self._memo.get(url, lambda: [aggregated_chart(found)])
            # The synthesis is fetched inside: a chart served from the memo charges its reads too.
            return self._memo.get(url, lambda: [cross_study_chart(self.evidence, measure_name, url, self.synthesis())])
        for chart_url, measure_name in self._cross_study.items():
            if url.startswith(chart_url):
                found = self.aggregate(measure_name)
                page = next((p for p in found.pages if p.url == url), None) if found is not None else None
                if page is None:
                    return []
                # A page's chart is a function of its rows alone: kept between builds while they are the same.
                return [fragment("group chart", (url, digest(repr(page))), lambda: group_page_chart(found, page))]
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


