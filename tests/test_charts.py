"""Charts from the records: rows, groups, subgroups, control arms, pooled diamonds, colours and the static fallbacks."""

import json
import re
import shutil
import xml.etree.ElementTree as ET

import pytest
from jinja2 import Environment, FileSystemLoader, select_autoescape

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.exact import clopper_pearson
from build_scripts.derive.facts import is_in_question
from build_scripts.derive.partners import partners
from build_scripts.derive.partners import partner_group_label, partner_group_order
from build_scripts.derive.synthesis import synthesise
from build_scripts.load.vocabulary import MEASURES, POOLING_METHODS, EXPOSURE_STATUSES
from build_scripts.render.chart_base import (
    CROSS_STUDY_MEASURES, INDENT, NOT_CHARTED_ACROSS_STUDIES, POOLED, POOLED_LABEL, PRIOR_STATUS_COLOURS,
    PRIOR_STATUS_LEGEND, SUBGROUP_MARK, Link, chart_page_url,
    control_arm,
)
from build_scripts.render.charts import site_charts, study_charts
from build_scripts.render.forest import cross_study_chart
from build_scripts.render.forest_rows import cross_study_rows
from build_scripts.render.svg import forest_svg, render_svgs

from conftest import ROOT, VALID

SVG = "{http://www.w3.org/2000/svg}"
REFRACTORY = EXPOSURE_STATUSES["refractory"].label
PARTLY_REFRACTORY = EXPOSURE_STATUSES["exposed_partly_refractory"].label


@pytest.fixture(scope="module")
def evidence():
    return validate_tree(VALID)


@pytest.fixture(scope="module")
def real():
    return validate_tree(ROOT / "evidence")


@pytest.fixture(scope="module")
def environment():
    return Environment(loader=FileSystemLoader(ROOT / "templates"), autoescape=select_autoescape(default=True))


def _study(study_id, design, cohorts, short_name=None):
    """A fictional study's YAML: cohorts are (id, label, role, parent, n, prior status or share, orr (k, n) or None)."""
    source = "{publication: fixture-2020-journal, location: Table 1}"
    lines = [f"id: {study_id}", f"title: Fictional study {study_id}", f"design: {design}",
             "publications: [fixture-2020-journal]", "summary: A fictional study for the chart tests."]
    if short_name:
        lines.append(f"short_name: {short_name}")
    lines.append("cohorts:")
    for cohort_id, label, role, parent, n, prior, orr in cohorts:
        lines += [f"  - id: {cohort_id}", f"    label: {label}", f"    role: {role}",
                  "    regimen: daratumumab-pomalidomide-dexamethasone"]
        if parent:
            lines.append(f"    parent: {parent}")
        lines += ["    population:", f"      n: {{value: {n}, source: {source}}}"]
        if isinstance(prior, str):
            lines.append(f"      prior_exposure: {{status: {prior}, source: {source}}}")
        else:
            lines += [f"      refractory: [{{to: daratumumab, percent: {prior}, source: {source}}}]",
                      f"      prior_exposure: {{status: exposed, source: {source}}}"]
        if orr:
            responders, total = orr
            lines += ["    outcomes:", f"      - {{measure: orr, value: {100 * responders / total:g}, unit: percent,"
                                        f" responders: {responders}, n: {total}, source: {source}}}"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def pooled_tree(tmp_path_factory):
    """The valid tree plus three studies: with the fixture's refractory cohort, four independent refractory DPd
    cohorts report ORR (a pooled stratum), one mixed cohort does (no pooled estimate); a charted parent with a
    subgroup, and an uncharted parent with two subgroups."""
    base = tmp_path_factory.mktemp("pooled") / "evidence"
    shutil.copytree(VALID, base)
    studies = {
        "fixture-pool-a": _study("fixture-pool-a", "single_arm", [
            ("overall", "All patients", "overall", None, 20, "refractory", (8, 20)),
            ("older", "Older patients", "subgroup", "overall", 8, "refractory", (4, 8)),
            ("older-frail", "Older and frail patients", "subgroup", "older", 4, "refractory", (1, 4)),
        ], short_name="POOL-A"),
        "fixture-pool-b": _study("fixture-pool-b", "retrospective_real_world", [
            ("overall", "All patients of B", "overall", None, 24, "refractory", None),
            ("early", "Retreated early", "subgroup", "overall", 12, "refractory", (6, 12)),
            ("late", "Retreated late", "subgroup", "overall", 12, "refractory", (3, 12)),
        ], short_name="POOL-B"),
        "fixture-pool-c": _study("fixture-pool-c", "retrospective_real_world", [
            ("overall", "All patients", "overall", None, 40, "refractory", (10, 40)),
            ("exposed", "Exposed patients of C", "overall", None, 10, 50, (3, 10)),
        ], short_name="POOL-C"),
    }
    for study_id, text in studies.items():
        (base / "studies" / f"{study_id}.yaml").write_text(text)
    return validate_tree(base)


# ---------------------------------------------------------------- statistics and rows


@pytest.mark.parametrize("k, n, low, high", [(2, 44, 0.555, 15.473), (0, 10, 0.0, 30.850), (10, 10, 69.150, 100.0),
                                              (9, 30, 14.735, 49.396)])
def test_clopper_pearson_matches_published_exact_intervals(k, n, low, high):
    got_low, got_high = clopper_pearson(k, n)
    assert got_low == pytest.approx(low, abs=0.002) and got_high == pytest.approx(high, abs=0.002)


def test_cross_study_rows_take_retreatment_cohorts_with_the_figure(evidence):
    rows = cross_study_rows(evidence, "pfs", "charts/pfs/")
    # the naive cohort is not retreatment, so only the refractory cohort is charted
    assert [(r.cohort_id, r.kind, r.value, r.ci_low, r.ci_high) for r in rows] == [
        ("refractory", "in_question", 3.1, 2.0, 4.5)]
    assert rows[0].panel == "Real-world study" and rows[0].partner == partner_group_label("imid")
    assert rows[0].href == "../../studies/fixture-dpd-retreatment/#cohort-refractory"
    # defined as refractory by its source, with no share recorded: coloured as refractory, not as "not reported"
    assert rows[0].prior_status == rows[0].prior_text == rows[0].colour_key == REFRACTORY


def test_cross_study_rows_follow_the_derived_flag_not_a_typed_one(evidence):
    study = evidence.studies["fixture-dpd-retreatment"]
    naive = next(c for c in study.cohorts if c.id == "naive")
    typed = study.model_copy(update={"cohorts": [naive.model_copy(update={"answers_question": True})]})
    evidence.studies["fixture-dpd-retreatment"] = typed
    try:
        assert cross_study_rows(evidence, "pfs", "charts/pfs/") == []
    finally:
        evidence.studies["fixture-dpd-retreatment"] = study


def test_a_rate_without_published_interval_gets_an_exact_one_marked_computed(evidence):
    rows = cross_study_rows(evidence, "cr_or_better", "charts/cr-or-better/")
    assert len(rows) == 1 and rows[0].ci_computed
    assert rows[0].ci_low == pytest.approx(0.818, abs=0.01) and rows[0].ci_high == pytest.approx(22.07, abs=0.02)
    assert "computed" in rows[0].ci_text


def test_the_studys_own_publication_is_preferred_over_a_second_source(evidence):
    rows = cross_study_rows(evidence, "orr", "charts/orr/")
    assert len(rows) == 1 and rows[0].value == 30 and "Fixture 2020" in rows[0].source


def test_open_ended_interval_reaches_the_axis_end():
    from build_scripts.render.forest import forest_chart
    from build_scripts.render.chart_base import ForestRow

    row = ForestRow("a", "Real-world study", "s", "c", "../", 8.4, 2.8, None, True, False, "2.8–not estimable", "22",
                    "R", "Prior anti-CD38 not stated", "Prior anti-CD38 not stated", "X, Table 1", "reported")
    chart = forest_chart("chart-x", [row], "pfs", "PFS", "caption", panels=False)
    data = chart.spec["data"]["values"]
    assert data[0]["ci_end"] == 10 and data[0]["open_ended"] is True
    assert chart.spec["layer"][0]["encoding"]["y"]["scale"]["domain"] == ["a"]


# ---------------------------------------------------------------- groups, subgroups, control arms, diamonds


def test_every_row_of_every_cross_study_chart_has_a_partner_class_and_a_prior_status(real):
    synthesis = synthesise(real)
    status_labels = {s.label for s in EXPOSURE_STATUSES.values()}
    for measure in CROSS_STUDY_MEASURES:
        chart = cross_study_chart(real, measure, chart_page_url(measure), synthesis)
        assert chart.forest, measure
        for row in chart.forest:
            if row.label == POOLED_LABEL:
                continue  # the heading of a group's diamonds
            assert row.partner.startswith(("+ ", "Anti-CD38 antibody alone", "Partners not specified")), row.label
            assert row.prior_status in status_labels and row.index_switch, (measure, row.label)
        # the table says all three axes for every row, and links each to its cohort
        assert chart.columns[1:4] == ("Partners", "Antibody", "Prior anti-CD38")
        for cells in chart.rows:
            assert isinstance(cells[0], Link) and cells[1] and cells[3]
            assert "#cohort-" in cells[0].href or "methods/" in cells[0].href


def test_rows_are_grouped_by_partner_group_in_order(real):
    chart = cross_study_chart(real, "orr", "charts/orr/")
    groups = list(dict.fromkeys(row.partner for row in chart.forest))
    keys = {partner_group_label(partners(real, s, c).name): partners(real, s, c).name
            for s in real.studies.values() for c in s.cohorts}
    assert len(groups) >= 3 and groups == sorted(groups, key=lambda label: partner_group_order(keys[label]))
    # each group is one run of rows, and one panel of the spec titled with the partner class
    assert [unit["title"]["text"] for unit in chart.spec["vconcat"]] == groups
    for unit, group in zip(chart.spec["vconcat"], groups):
        assert {record["partner"] for record in unit["data"]["values"]} == {group}


def test_no_cohort_that_is_not_retreatment_is_drawn_as_one(real):
    synthesis = synthesise(real)
    for measure in CROSS_STUDY_MEASURES:
        chart = cross_study_chart(real, measure, chart_page_url(measure), synthesis)
        for row in chart.forest:
            if row.kind not in ("in_question", "control"):
                continue
            study = real.studies[row.study_id]
            cohort = next(c for c in study.cohorts if c.id == row.cohort_id)
            if row.kind == "in_question":
                assert is_in_question(real, study, cohort)
                assert row.partner == partners(real, study, cohort).label != partner_group_label("not_retreatment")
            else:
                assert not is_in_question(real, study, cohort)
                assert any(c.control == cohort.id for c in study.comparisons)
                assert row.colour_key == control_arm() and control_arm(False) in row.label
        # in the spec, a control arm is only ever in the controls layer, never among the estimates
        for unit in chart.spec.get("vconcat", [chart.spec]):
            for record in unit["data"]["values"]:
                if record["kind"] == "control":
                    assert record["colour_key"] == control_arm()
            for layer in unit["layer"]:
                if layer.get("name", "").startswith("estimates_"):
                    assert "datum.kind == 'in_question'" in layer["transform"][0]["filter"]
                    assert "control" not in layer["transform"][0]["filter"]


def test_a_control_arm_follows_its_experimental_arm_and_is_not_counted(evidence):
    chart = cross_study_chart(evidence, "vgpr_or_better", "charts/vgpr-or-better/")
    assert [(r.cohort_id, r.kind) for r in chart.forest] == [("dpd", "in_question"), ("pd", "control")]
    control = chart.forest[1]
    assert control.label.startswith("FIXTURE-RCT, control arm, not retreatment: ")
    assert control.partner == chart.forest[0].partner and control.depth == chart.forest[0].depth
    assert chart.marks == 1 and "1 cohorts from 1 studies" in chart.description
    assert "Control arms of randomised trials, which are not retreatment" in chart.description
    assert dict(chart.legend)[control_arm()] == "#999999"
    table = {cells[0].text: cells for cells in chart.rows}
    assert table[control.label][1] == partner_group_label("not_retreatment")
    # without the comparison, the arm is not shown at all
    study = evidence.studies["fixture-randomised"]
    evidence.studies["fixture-randomised"] = study.model_copy(update={"comparisons": []})
    try:
        assert [r.kind for r in cross_study_chart(evidence, "vgpr_or_better", "charts/x/").forest] == ["in_question"]
    finally:
        evidence.studies["fixture-randomised"] = study


def test_image_daratumumab_refractory_cohort_shows_as_refractory(real, environment):
    chart = cross_study_chart(real, "pfs", "charts/pfs/", synthesise(real))
    row = next(r for r in chart.forest if (r.study_id, r.cohort_id) == ("image-study", "dara-refractory"))
    assert row.prior_status == row.colour_key == REFRACTORY and row.kind == "in_question"
    assert row.partner == partner_group_label("imid") and row.index_switch == "Switch: Isatuximab after Daratumumab"
    assert dict(chart.legend)[REFRACTORY] == PRIOR_STATUS_COLOURS["refractory"]
    record = next(r for unit in chart.spec["vconcat"] for r in unit["data"]["values"]
                  if r["cohort_id"] == "dara-refractory" and r["study_id"] == "image-study")
    assert record["colour_key"] == REFRACTORY
    # the static fallback fills its mark with the refractory colour
    svg = ET.fromstring(forest_svg(chart, environment))
    texts = [t for t in svg.iter(f"{SVG}text") if "row" in (t.get("class") or "").split()]
    index = ["".join(t.itertext()) for t in texts].index(row.label)
    marks = [p for p in svg.iter(f"{SVG}path") if (p.get("class") or "").startswith("mark")]
    drawn = [r for r in chart.forest if r.kind != "heading" and r.value is not None]
    assert marks[drawn.index(row)].get("fill") == PRIOR_STATUS_COLOURS["refractory"]
    assert index == chart.forest.index(row)


def test_subgroups_are_indented_under_their_parent_or_a_heading(pooled_tree):
    rows = cross_study_rows(pooled_tree, "orr", "charts/orr/")
    by_key = {(r.study_id, r.cohort_id): r for r in rows}
    order = [(r.study_id, r.cohort_id) for r in rows]
    # a charted parent: its subgroup right under it, one level in, and the subgroup's own subgroup two levels in
    parent = order.index(("fixture-pool-a", "overall"))
    assert order[parent + 1:parent + 3] == [("fixture-pool-a", "older"), ("fixture-pool-a", "older-frail")]
    assert [by_key[k].depth for k in order[parent:parent + 3]] == [0, 1, 2]
    assert by_key[("fixture-pool-a", "older")].label == f"{SUBGROUP_MARK}Older patients (n=8)"
    assert by_key[("fixture-pool-a", "older-frail")].label == f"{INDENT}{SUBGROUP_MARK}Older and frail patients (n=4)"
    # a parent without the figure: shown as a heading (no mark), its subgroups under it
    heading = order.index(("fixture-pool-b", "overall"))
    assert by_key[("fixture-pool-b", "overall")].kind == "heading"
    assert by_key[("fixture-pool-b", "overall")].value is None
    assert order[heading + 1:heading + 3] == [("fixture-pool-b", "early"), ("fixture-pool-b", "late")]
    assert all(by_key[k].label.startswith(SUBGROUP_MARK) for k in order[heading + 1:heading + 3])
    # top-level cohorts are not marked as subgroups
    assert by_key[("fixture-pool-c", "overall")].depth == 0
    assert not by_key[("fixture-pool-c", "overall")].label.startswith(SUBGROUP_MARK)


def test_subgroup_indentation_is_in_the_spec_and_the_static_chart(pooled_tree, environment):
    chart = cross_study_chart(pooled_tree, "orr", "charts/orr/", synthesise(pooled_tree))
    labels = [label for unit in chart.spec["vconcat"] for label in unit["layer"][0]["encoding"]["y"]["scale"]["domain"]]
    assert labels == [r.label for r in chart.forest]
    assert f"{INDENT}{SUBGROUP_MARK}Older and frail patients (n=4)" in labels
    svg = ET.fromstring(forest_svg(chart, environment))
    drawn = [t for t in svg.iter(f"{SVG}text") if "row" in (t.get("class") or "").split()]
    # a long label is on several lines (tspans), which read as the label
    assert ["".join(t.itertext()) for t in drawn] == [r.label.lstrip(INDENT[0]) for r in chart.forest]
    # the indentation is an offset, as on the Vega axis (which trims leading spaces)
    x = {r.label: float(t.get("x")) for r, t in zip(chart.forest, drawn)}
    assert x[f"{INDENT}{SUBGROUP_MARK}Older and frail patients (n=4)"] > x[f"{SUBGROUP_MARK}Older patients (n=8)"] \
        == x["POOL-A: All patients (n=20)"]
    axis = chart.spec["vconcat"][0]["layer"][0]["encoding"]["y"]["axis"]
    assert "trim(datum.value)" in axis["labelPadding"]["expr"]
    groups = ["".join(t.itertext()) for t in svg.iter(f"{SVG}text") if t.get("class") == "group"]
    assert groups == list(dict.fromkeys(r.partner for r in chart.forest))


def test_a_diamond_for_a_pooled_stratum_and_none_for_one_without(pooled_tree, environment):
    synthesis = synthesise(pooled_tree)
    from build_scripts.derive.synthesis_types import Stratum

    refractory = synthesis.analysis(Stratum("imid", "refractory"), "orr")
    mixed = synthesis.analysis(Stratum("imid", "exposed_partly_refractory"), "orr")
    assert refractory.estimates and not mixed.estimates and mixed.k == 1  # the premise of this test
    chart = cross_study_chart(pooled_tree, "orr", "charts/orr/", synthesis)
    pooled = [r for r in chart.forest if r.kind == "pooled"]
    assert [(r.prior_status, r.partner) for r in pooled] == [(REFRACTORY, partner_group_label("imid"))]
    estimate = refractory.estimates[0]
    assert (pooled[0].value, pooled[0].ci_low, pooled[0].ci_high) == (
        round(estimate.value, 1), round(estimate.ci_low, 1), round(estimate.ci_high, 1))
    assert f"k={refractory.k}" in pooled[0].label and pooled[0].marker == POOLED
    # the diamonds close their group, under a heading that says what they are
    group = [r for r in chart.forest if r.partner == partner_group_label("imid")]
    assert group[-2].label == POOLED_LABEL and group[-1] is pooled[0]
    # the partly refractory cohort is charted, but gets no diamond
    assert any(r.colour_key == PARTLY_REFRACTORY and r.kind == "in_question" for r in group)
    # in the spec: a pooled layer drawing diamonds; in the static chart: one diamond, in the stratum's colour
    unit = chart.spec["vconcat"][0]
    layer = next(layer for layer in unit["layer"] if layer.get("name", "").startswith("pooled_"))
    assert "datum.kind == 'pooled'" in layer["transform"][0]["filter"]
    assert dict(chart.shapes)[POOLED] == "diamond"
    svg = ET.fromstring(forest_svg(chart, environment))
    diamonds = [p for p in svg.iter(f"{SVG}path") if p.get("class") == "mark pooled"]
    assert len(diamonds) == 1 and diamonds[0].get("fill") == PRIOR_STATUS_COLOURS["refractory"]
    assert "Diamonds are pooled estimates (1), exploratory" in chart.description
    assert "Methods page" in chart.description and chart.links[0].href == "../../methods/#charts"
    assert chart.links[1].href == pooled[0].href == "../../methods/#exploratory-pooled-estimates"
    # the table row says how it was made
    table = {cells[0].text: cells for cells in chart.rows}
    row = table[f"{POOLED_LABEL}: {REFRACTORY} (k={refractory.k}, n={refractory.patients})"]
    assert "DerSimonian-Laird (sensitivity)" in row[-1] and "Paule-Mandel (sensitivity)" in row[-1]
    assert f"{POOLING_METHODS['bn']}: {estimate.value:.1f}" in row[-1] and "prediction interval" in row[-1]
    assert "No partner class and prior status has the three" not in chart.description
    assert "No partner class and prior status has the three" in cross_study_chart(
        pooled_tree, "cr_or_better", "charts/cr-or-better/", synthesis).description
    # and without the synthesis there is none
    assert not [r for r in cross_study_chart(pooled_tree, "orr", "charts/orr/").forest if r.kind == "pooled"]


def test_no_diamond_for_medians(pooled_tree):
    synthesis = synthesise(pooled_tree)
    for measure in ("pfs", "os", "follow_up"):
        assert not [r for r in cross_study_chart(pooled_tree, measure, "charts/x/", synthesis).forest
                    if r.kind == "pooled"]


# ---------------------------------------------------------------- measures, captions, colours, legends


def test_every_measure_the_retreatment_cohorts_report_has_a_chart_or_a_reason(real):
    reported = {o.measure for study in real.studies.values() for cohort in study.cohorts
                if is_in_question(real, study, cohort)
                for o in cohort.outcomes if o.cross_study and o.status == "reported"}
    assert "vgpr_or_better" in CROSS_STUDY_MEASURES and "time_to_retreatment" in CROSS_STUDY_MEASURES
    assert reported <= set(CROSS_STUDY_MEASURES) | set(NOT_CHARTED_ACROSS_STUDIES)
    assert not set(CROSS_STUDY_MEASURES) & set(NOT_CHARTED_ACROSS_STUDIES)


def test_exact_intervals_are_mentioned_only_for_rates(evidence):
    for measure in CROSS_STUDY_MEASURES:
        chart = cross_study_chart(evidence, measure, chart_page_url(measure))
        rate = MEASURES[measure].family == "rate"
        assert ("Clopper-Pearson" in chart.caption) is rate, measure
        assert ("exact interval" in chart.description) is rate, measure
        assert ("A diamond is a pooled estimate" in chart.caption) is rate
        assert ("they are not pooled" in chart.caption) is not rate


def test_every_prior_status_has_its_own_colour_and_the_legend_lists_only_those_shown(evidence):
    assert set(PRIOR_STATUS_COLOURS) == set(EXPOSURE_STATUSES)
    assert len(set(PRIOR_STATUS_COLOURS.values())) == len(PRIOR_STATUS_COLOURS)
    chart = cross_study_chart(evidence, "pfs", "charts/pfs/")
    assert chart.legend == ((REFRACTORY, PRIOR_STATUS_COLOURS["refractory"]),)
    colour = chart.spec["vconcat"][0]["layer"][2]["encoding"]["color"]
    assert colour["field"] == "colour_key"
    assert colour["scale"] == {"domain": [REFRACTORY], "range": [PRIOR_STATUS_COLOURS["refractory"]]}
    assert chart.shapes == (("Real-world study", "square"),)
    # a per-study chart fills the cached spec with its own legend
    per_study = study_charts(evidence, evidence.studies["fixture-dpd-retreatment"])[0]
    shown = {r.prior_status for r in per_study.forest}
    assert per_study.spec["layer"][2]["encoding"]["color"]["scale"]["domain"] == [
        label for label, _ in PRIOR_STATUS_LEGEND if label in shown]
    assert "\x00" not in json.dumps(per_study.spec)


def test_chart_spec_describes_itself_for_screen_readers(evidence):
    chart = cross_study_chart(evidence, "pfs", "charts/pfs/")
    assert chart.spec["description"] == chart.description
    assert "1 cohorts from 1 studies" in chart.description and "+ IMiD" in chart.description
    assert chart.marks == 1 and chart.columns[0] == "Study and cohort"


def test_per_study_charts_exist_where_data_allow(evidence):
    names = [c.name for c in study_charts(evidence, evidence.studies["fixture-dpd-retreatment"])]
    assert names == ["chart-pfs", "chart-lines"]
    lines = study_charts(evidence, evidence.studies["fixture-dpd-retreatment"])[-1]
    assert lines.marks == 2


# ---------------------------------------------------------------- the built site


def test_every_chart_page_has_its_fallback_table_and_spec(fixture_site, evidence):
    charts = site_charts(evidence)
    assert charts
    for url, page_charts in charts.items():
        html = (fixture_site / url / "index.html").read_text()
        for chart in page_charts:
            assert f'<img class="atlas-chart-static" src="{chart.name}.svg"' in html
            assert f'srcset="{chart.name}-narrow.svg"' in html
            for svg in (f"{chart.name}.svg", f"{chart.name}-narrow.svg"):
                assert (fixture_site / url / svg).read_text().lstrip().startswith("<svg")
            spec = json.loads((fixture_site / url / f"{chart.name}.vl.json").read_text())
            assert spec["description"] == chart.description
            table = re.search(rf'id="{chart.name}".*?<table class="atlas-chart-table">(.*?)</table>', html, re.S)
            assert table and table.group(1).count("<tr>") == len(chart.rows) + 1
        # the bundle is named for the charts' script to load when a chart comes near the viewport, never loaded by the page
        assert 'data-vega="../../assets/vega-bundle.js"' in html or 'data-vega="../assets/vega-bundle.js"' in html
        assert 'src="../../assets/vega-bundle.js"' not in html and 'src="../assets/vega-bundle.js"' not in html
    assert (fixture_site / "assets" / "vega-bundle.js").stat().st_size > 100_000


def test_chart_tables_link_their_rows_to_cohorts_and_captions_to_methods(fixture_site):
    html = (fixture_site / "charts" / "pfs" / "index.html").read_text()
    table = re.search(r'<table class="atlas-chart-table">(.*?)</table>', html, re.S).group(1)
    assert '<th scope="col">Partners</th>' in table and '<th scope="col">Antibody</th>' in table
    assert '<th scope="col">Prior anti-CD38</th>' in table
    assert ('<td><a href="../../studies/fixture-dpd-retreatment/#cohort-refractory">FIXTURE-1: Daratumumab-refractory'
            ' (n=30)</a></td><td>+ IMiD: Pomalidomide</td><td>Earlier antibody not stated</td>'
            '<td>Refractory to anti-CD38</td>') in table
    caption = re.search(r"<figcaption>(.*?)</figcaption>", html, re.S).group(1)
    assert '<a href="../../methods/#charts">How the charts are made (Methods)</a>' in caption
    assert "Clopper-Pearson" not in caption and "pooled estimates are made" not in caption
    caption = re.search(r"<figcaption>(.*?)</figcaption>", (fixture_site / "charts" / "orr" / "index.html").read_text(),
                        re.S).group(1)
    assert '<a href="../../methods/#exploratory-pooled-estimates">How the pooled estimates are made' in caption
    methods = (fixture_site / "methods" / "index.html").read_text()
    assert 'id="charts"' in methods and 'id="exploratory-pooled-estimates"' in methods


def test_chart_specs_load_nothing_from_outside(fixture_site):
    for spec_file in fixture_site.rglob("*.vl.json"):
        spec = json.loads(spec_file.read_text())
        assert "url" not in json.dumps(spec.get("data", {})), spec_file
        assert not re.search(r'"url":\s*"https?://', spec_file.read_text()), spec_file


def test_unchanged_charts_are_not_rendered_again(evidence, tmp_path):
    specs = [c.spec for page in site_charts(evidence).values() for c in page]
    _, rendered = render_svgs(specs, tmp_path)
    assert rendered == len({json.dumps(s, sort_keys=True) for s in specs})
    svgs, rendered_again = render_svgs(specs, tmp_path)
    assert rendered_again == 0 and all(svg.lstrip().startswith("<svg") for svg in svgs)


def test_cross_study_specs_render_in_vega(pooled_tree, tmp_path):
    """Vega itself accepts the specs with every kind of row (heading, subgroup, control, diamond)."""
    synthesis = synthesise(pooled_tree)
    specs = [cross_study_chart(pooled_tree, m, chart_page_url(m), synthesis).spec for m in ("orr", "vgpr_or_better")]
    svgs, _ = render_svgs(specs, tmp_path)
    assert all("Pooled (exploratory" in svg for svg in svgs[:1]) and "control arm, not retreatment" in svgs[1]


def test_svg_renderer_never_sees_characters_an_svg_cannot_hold():
    from build_scripts.render.svg import renderable

    spec = {"title": "a\x00b", "data": {"values": [{"label": "x\x1by\x85", "n": 3}]}, "k\x07": ["\x7f"]}
    cleaned = renderable(spec)
    assert cleaned == {"title": "a\ufffdb", "data": {"values": [{"label": "x\ufffdy\ufffd", "n": 3}]},
                       "k\ufffd": ["\ufffd"]}
    assert renderable({"t": "Pom-PAD-Dara ≥VGPR\n"}) == {"t": "Pom-PAD-Dara ≥VGPR\n"}
