"""Charts from the records: rows, intervals, panels, colours and the static fallbacks written beside pages."""

import json
import re

import pytest

from build_scripts.charts import (
    PRIOR_STATUS_COLOURS, PRIOR_STATUS_LEGEND, clopper_pearson, cross_study_chart, cross_study_rows, site_charts,
    study_charts,
)
from build_scripts.checks import validate_tree
from build_scripts.svg import render_svgs
from build_scripts.vocabulary import PRIOR_ANTI_CD38_STATUSES

from conftest import VALID


@pytest.fixture(scope="module")
def evidence():
    return validate_tree(VALID)


@pytest.mark.parametrize("k, n, low, high", [(2, 44, 0.555, 15.473), (0, 10, 0.0, 30.850), (10, 10, 69.150, 100.0),
                                              (9, 30, 14.735, 49.396)])
def test_clopper_pearson_matches_published_exact_intervals(k, n, low, high):
    got_low, got_high = clopper_pearson(k, n)
    assert got_low == pytest.approx(low, abs=0.002) and got_high == pytest.approx(high, abs=0.002)


def test_cross_study_rows_take_retreatment_cohorts_with_the_figure(evidence):
    rows = cross_study_rows(evidence, "pfs", "charts/pfs/")
    # the naive cohort is not retreatment, so only the refractory cohort is charted
    assert [(r.cohort_id, r.value, r.ci_low, r.ci_high) for r in rows] == [("refractory", 3.1, 2.0, 4.5)]
    assert rows[0].panel == "Real-world study"
    assert rows[0].href == "../../studies/fixture-dpd-retreatment/#cohort-refractory"
    # defined as refractory by its source, with no share recorded: coloured as refractory, not as "not reported"
    assert rows[0].prior_status == rows[0].prior_text == "Refractory to anti-CD38"


def test_cross_study_rows_follow_the_derived_flag_not_a_typed_one(evidence):
    study = evidence.studies["fixture-dpd-retreatment"]
    naive = next(c for c in study.cohorts if c.id == "naive")
    typed = study.model_copy(update={"cohorts": [naive.model_copy(update={"anti_cd38_retreatment": True})]})
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
    from build_scripts.charts import forest_chart, ForestRow

    row = ForestRow("a", "Real-world study", "s", "c", "../", 8.4, 2.8, None, True, False, "2.8–not estimable", "22",
                    "R", "Prior anti-CD38 not stated", "Prior anti-CD38 not stated", "X, Table 1", "reported")
    chart = forest_chart("chart-x", [row], "pfs", "PFS", "caption", panels=False)
    data = chart.spec["data"]["values"]
    assert data[0]["ci_end"] == 10 and data[0]["open_ended"] is True


def test_every_prior_status_has_its_own_colour_and_the_chart_colours_by_it(evidence):
    assert set(PRIOR_STATUS_COLOURS) == set(PRIOR_ANTI_CD38_STATUSES)
    assert len(set(PRIOR_STATUS_COLOURS.values())) == len(PRIOR_STATUS_COLOURS)
    spec = json.dumps(cross_study_chart(evidence, "pfs", "charts/pfs/").spec)
    assert '"field": "prior_status"' in spec
    assert all(label in spec for label, _ in PRIOR_STATUS_LEGEND)


def test_chart_spec_describes_itself_for_screen_readers(evidence):
    chart = cross_study_chart(evidence, "pfs", "charts/pfs/")
    assert chart.spec["description"] == chart.description
    assert "1 cohorts from 1 studies" in chart.description
    assert chart.marks == 1 and chart.columns[0] == "Study and cohort"


def test_per_study_charts_exist_where_data_allow(evidence):
    names = [c.name for c in study_charts(evidence, evidence.studies["fixture-dpd-retreatment"])]
    assert names == ["chart-pfs", "chart-lines"]
    lines = study_charts(evidence, evidence.studies["fixture-dpd-retreatment"])[-1]
    assert lines.marks == 2


def test_every_chart_page_has_its_fallback_table_and_spec(fixture_site, evidence):
    charts = site_charts(evidence)
    assert charts
    for url, page_charts in charts.items():
        html = (fixture_site / url / "index.html").read_text()
        for chart in page_charts:
            assert f'<img class="atlas-chart-static" src="{chart.name}.svg"' in html
            assert (fixture_site / url / f"{chart.name}.svg").read_text().lstrip().startswith("<svg")
            spec = json.loads((fixture_site / url / f"{chart.name}.vl.json").read_text())
            assert spec["description"] == chart.description
            table = re.search(rf'id="{chart.name}".*?<table class="atlas-chart-table">(.*?)</table>', html, re.S)
            assert table and table.group(1).count("<tr>") == len(chart.rows) + 1
        assert 'src="../../assets/vega-bundle.js"' in html or 'src="../assets/vega-bundle.js"' in html
    assert (fixture_site / "assets" / "vega-bundle.js").stat().st_size > 100_000


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


def test_svg_renderer_never_sees_characters_an_svg_cannot_hold():
    from build_scripts.svg import renderable

    spec = {"title": "a\x00b", "data": {"values": [{"label": "x\x1by\x85", "n": 3}]}, "k\x07": ["\x7f"]}
    cleaned = renderable(spec)
    assert cleaned == {"title": "a\ufffdb", "data": {"values": [{"label": "x\ufffdy\ufffd", "n": 3}]},
                       "k\ufffd": ["\ufffd"]}
    assert renderable({"t": "Pom-PAD-Dara ≥VGPR\n"}) == {"t": "Pom-PAD-Dara ≥VGPR\n"}
