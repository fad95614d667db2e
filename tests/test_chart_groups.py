"""Cross-study charts beyond a size (issue 25): one range per partner group on the chart's page, counted and ranged
from the very rows of its per-cohort chart, which goes on over pages of its own, each cohort on exactly one page.
The threshold is lowered here, so a small synthetic evidence tree is above it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from browser_waits import charts_drawn, still
from build_scripts.derive.bottom_line import BOTTOM_LINE_FILE
from build_scripts.derive.checks import validate_tree
from build_scripts.publish.build import build_site
from build_scripts.publish.layout import Layout
from build_scripts.render import chart_groups
from build_scripts.render.chart_base import CROSS_STUDY_MEASURES, chart_page_url
from build_scripts.render.chart_groups import aggregate, aggregated_chart, group_page_chart, group_url
from build_scripts.render.forest_rows import cross_study_rows
from conftest import ROOT
from test_incremental import assert_same_site, clean_build, project, rebuild  # noqa: F401 - project is a fixture
from test_csp import CSP_CONSOLE, RECORD_VIOLATIONS
from test_kept import made_fragments
from tools.localsite import served
from tools.synthetic import generate

ABOVE, PAGE_ROWS = 20, 8


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("chart-groups")
    generate(folder / "evidence", 60, ROOT / "evidence")
    return folder


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(chart_groups, "AGGREGATE_ABOVE", ABOVE)
    monkeypatch.setattr(chart_groups, "GROUP_PAGE_ROWS", PAGE_ROWS)


def test_the_real_atlas_is_below_the_threshold():
    evidence = validate_tree(ROOT / "evidence")
    assert all(aggregate(evidence, measure) is None for measure in CROSS_STUDY_MEASURES)


def test_group_marks_count_and_range_the_rows_of_their_pages_each_cohort_on_one_page(synthetic, small):
    evidence = validate_tree(synthetic / "evidence")
    aggregated = 0
    for measure in CROSS_STUDY_MEASURES:
        rows = cross_study_rows(evidence, measure, chart_page_url(measure))
        found = aggregate(evidence, measure)
        if len(rows) <= ABOVE:
            assert found is None
            continue
        aggregated += 1
        # every row of the whole chart on exactly one page, in the whole chart's order
        paged = [row for page in found.pages for row in page.rows]
        assert [(r.study_id, r.cohort_id, r.kind) for r in paged] == [(r.study_id, r.cohort_id, r.kind) for r in rows]
        cohorts = [(r.study_id, r.cohort_id) for r in paged if r.kind == "in_question"]
        assert len(cohorts) == len(set(cohorts))
        assert all(0 < len(page.rows) <= PAGE_ROWS for page in found.pages)
        urls = [page.url for page in found.pages]
        assert len(urls) == len(set(urls))
        for group in found.groups:
            pages = [p for p in found.pages if p.key == group.key]
            assert [p.number for p in pages] == list(range(1, group.pages + 1)) == list(range(1, len(pages) + 1))
            assert [p.url for p in pages] == [group_url(measure, group.key, n) for n in range(1, len(pages) + 1)]
            members = [r for p in pages for r in p.rows if r.kind == "in_question"]
            values = [r.value for r in members if r.value is not None]
            assert group.cohorts == len(members) and group.figures == len(values)
            assert group.studies == len({r.study_id for r in members})
            assert (group.low, group.high) == ((min(values), max(values)) if values else (None, None))
        chart = aggregated_chart(found)
        assert len(chart.rows) == len(found.groups) and chart.marks == sum(g.figures for g in found.groups)
        drawn = [v for v in chart.spec["datasets"].values()][0] if "datasets" in chart.spec else \
            chart.spec["data"]["values"]
        assert [(v["low"], v["high"], v["cohorts"]) for v in drawn] == \
            [(g.low, g.high, g.cohorts) for g in found.groups]
        # a page draws its rows, and its links are written for it
        page = found.pages[-1]
        shown = group_page_chart(found, page)
        assert [r.cohort_id for r in shown.forest] == [r.cohort_id for r in page.rows]
        assert all(r.href.startswith("../" * page.url.count("/")) for r in shown.forest if r.study_id)
    assert aggregated


def test_a_page_ends_between_families_unless_one_is_longer():
    from build_scripts.render.chart_base import ForestRow
    from build_scripts.render.chart_groups import split_pages

    def row(depth, kind="in_question"):
        return ForestRow("x", "", "s", "c", "", 1.0, None, None, False, False, "", "1", "", "", "", "", "", kind=kind,
                         depth=depth)

    rows = [row(0), row(1), row(0, "control"), row(0), row(0), row(1), row(1), row(1), row(1), row(1)]
    assert [len(p) for p in split_pages(rows, 4)] == [4, 4, 2]
    assert [len(p) for p in split_pages(rows, 10)] == [10]


# ---------------------------------------------------------------- the built site, in Chromium


@pytest.fixture(scope="module")
def grouped_site(synthetic) -> Path:
    """The synthetic site built with the lowered threshold (its build checks every link)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chart_groups, "AGGREGATE_ABOVE", ABOVE)
        patch.setattr(chart_groups, "GROUP_PAGE_ROWS", PAGE_ROWS)
        content = synthetic / "content"
        if not content.exists():
            import shutil
            shutil.copytree(ROOT / "content", content)
            (content / BOTTOM_LINE_FILE).unlink()  # it cites the real atlas's cohorts
        layout = Layout(ROOT, synthetic / "evidence", content, ROOT / "templates", synthetic / "build",
                        synthetic / "site")
        build_site(layout)
    return layout.site


def test_group_pages_are_built_with_at_most_a_page_of_rows(grouped_site):
    pages = sorted((grouped_site / "charts" / "orr").glob("*/**/index.html"))
    assert pages
    for page in pages:
        html = page.read_text(encoding="utf-8")
        table = html[html.index('<table class="atlas-chart-table">'):]
        assert 0 < len(re.findall(r"<tr>", table[:table.index("</table>")])) - 1 <= PAGE_ROWS
        assert (page.parent / "chart-orr.svg").is_file() and (page.parent / "chart-orr.vl.json").is_file()


def test_an_aggregated_chart_draws_and_leads_to_a_drawn_chart_of_its_cohorts(browser, grouped_site):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    axe = Axe()
    with served(grouped_site) as base:
        for step in range(2):
            if step == 0:
                page.goto(f"{base}/charts/orr/", wait_until="load")
            charts_drawn(page)
            assert page.locator(".atlas-chart-ready .atlas-chart-live svg").count() == 1
            page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
            still(page)
            violations = axe.run(page, options={"resultTypes": ["violations"]}).response["violations"]
            assert not violations, [(v["id"], v["nodes"][0]["target"]) for v in violations]
            if step == 0:
                # the live chart's first bar links its group, as the table's first cell does
                drawn = page.evaluate("Array.from(document.querySelectorAll('.atlas-chart-live svg g.role-mark'))"
                                      ".filter(g => Array.from(g.classList).some(c => c.startsWith('ranges')))"
                                      ".reduce((n, g) => n + g.querySelectorAll(':scope > line').length, 0)")
                assert drawn == page.locator(".atlas-chart-table tbody tr").count() > 1
                link = page.locator(".atlas-chart-table a").first
                href = link.get_attribute("href")
                link.click()
                page.wait_for_load_state("load")
                assert page.url.endswith(f"/charts/orr/{href}")
                assert page.locator("h1").inner_text().startswith("Overall response rate across studies: ")
    context.close()


# ---------------------------------------------------------------- incremental builds


def test_incremental_builds_of_grouped_charts_equal_clean_builds(project, tmp_path, monkeypatch):
    monkeypatch.setattr(chart_groups, "AGGREGATE_ABOVE", 1)
    monkeypatch.setattr(chart_groups, "GROUP_PAGE_ROWS", 2)
    layout = project
    made = made_fragments(monkeypatch)
    rebuild(layout)
    grouped = sorted(p.relative_to(layout.site).as_posix() for p in (layout.site / "charts").glob("*/*/index.html"))
    assert grouped, "the fixture's charts are grouped at this threshold"
    assert [key for key in made if key[0] == "aggregated chart"]
    # a cohort's label edited: its rows change, not its group's summary, so no aggregated chart is drawn again
    made.clear()
    study = layout.evidence / "studies" / "fixture-randomised.yaml"
    study.write_text(study.read_text().replace("    label: Daratumumab + pomalidomide + dexamethasone\n",
                                               "    label: Dara-Pd (edited)\n", 1))
    rebuild(layout)
    assert "Dara-Pd (edited)" in "".join(p.read_text() for p in (layout.site / "charts").rglob("*.vl.json"))
    assert any(name == "chart rows" for name, _ in made)
    assert not [key for key in made if key[0] == "aggregated chart"]
    # a study added (more rows, pages shift), then removed with its URL (pages go)
    added = (layout.evidence / "studies" / "fixture-unspecified-design.yaml").read_text()
    (layout.evidence / "studies" / "fixture-added.yaml").write_text(
        added.replace("id: fixture-unspecified-design", "id: fixture-added"))
    rebuild(layout)
    assert_same_site(layout.site, clean_build(layout, tmp_path / "clean-1"))
    (layout.evidence / "studies" / "fixture-added.yaml").unlink()
    (layout.evidence / "studies" / "fixture-unspecified-design.yaml").unlink()
    ledger = layout.evidence / "published-urls.txt"
    ledger.write_text(ledger.read_text().replace("studies/fixture-unspecified-design/\n", ""))
    rebuild(layout)
    assert_same_site(layout.site, clean_build(layout, tmp_path / "clean-2"))


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_the_paged_derived_axes_read_and_lead_on_at_both_widths(browser, grouped_site, viewport):
    # The same synthetic site has more cohorts than a page of derived axes holds (about 100 each).
    assert (grouped_site / "derived-axes" / "2" / "index.html").is_file()
    context = browser.new_context(viewport=viewport)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    axe = Axe()
    with served(grouped_site) as base:
        page.goto(f"{base}/derived-axes/", wait_until="load")
        for number in (1, 2):
            still(page)
            assert page.evaluate("window.__violations") == [], number
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            violations = axe.run(page, options={"resultTypes": ["violations"]}).response["violations"]
            assert not violations, (number, [(v["id"], v["nodes"][0]["target"]) for v in violations])
            rows = page.locator("table tbody tr").count()
            assert rows > 0
            if number == 1:
                page.locator("nav a", has_text=re.compile(r"^\s*2\s*$")).first.click()
                page.wait_for_load_state("load")
                assert page.url.endswith("/derived-axes/2/")
                # the second page's links resolve from one folder deeper: its Methods link reaches the Methods page
                methods = page.locator("a[href*='methods']").first
                assert methods.evaluate("a => new URL(a.href).pathname").endswith("/methods/")
    assert not [text for text in console if CSP_CONSOLE.search(text)]
    context.close()
