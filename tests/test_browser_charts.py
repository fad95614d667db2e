"""Charts as a reader sees them in Chromium: rendered SVG, one mark per cohort, ARIA label, links, nothing from outside."""

import json

import pytest

from build_scripts.charts import CROSS_STUDY_MEASURES, chart_page_url
from build_scripts.checks import validate_tree
from build_scripts.facts import is_anti_cd38_retreatment

from conftest import ROOT


@pytest.fixture(scope="module")
def evidence():
    return validate_tree(ROOT / "evidence")


def expected_cohorts(evidence, measure):
    """Retreatment cohorts that have a comparable figure with a value for the measure, counted from the records."""
    return sum(
        1
        for study in evidence.studies.values()
        for cohort in study.cohorts
        if is_anti_cd38_retreatment(evidence, study, cohort) and any(
            o.measure == measure and o.value is not None and o.cross_study and o.status == "reported"
            for o in cohort.outcomes)
    )


def live_marks(page, name_prefix):
    return page.evaluate(
        "(prefix) => Array.from(document.querySelectorAll('.atlas-chart-live svg g.role-mark'))"
        ".filter(g => Array.from(g.classList).some(c => c.startsWith(prefix)))"
        ".reduce((n, g) => n + g.querySelectorAll(':scope > path').length, 0)", name_prefix)


@pytest.mark.parametrize("measure", CROSS_STUDY_MEASURES)
def test_cross_study_chart_renders_one_mark_per_cohort(served_real_site, watched, evidence, real_site, measure):
    page = watched.page
    url = chart_page_url(measure)
    page.goto(f"{served_real_site}/{url}", wait_until="networkidle")
    page.wait_for_selector(".atlas-chart-view.atlas-chart-ready", timeout=20_000)
    assert live_marks(page, "estimates_") == expected_cohorts(evidence, measure)
    spec = json.loads((real_site / url / f"chart-{measure.replace('_', '-')}.vl.json").read_text())
    label = page.locator(".atlas-chart-live [role='graphics-document']").first.get_attribute("aria-label")
    assert label == spec["description"]
    assert page.locator("img.atlas-chart-static").first.is_hidden()
    watched.assert_clean()


def test_selecting_a_point_opens_its_study(served_real_site, watched):
    page = watched.page
    page.goto(f"{served_real_site}/charts/pfs/", wait_until="networkidle")
    page.wait_for_selector(".atlas-chart-view.atlas-chart-ready", timeout=20_000)
    point = page.locator(".atlas-chart-live g[class*='estimates_0'] > path").first
    point.click(force=True)
    page.wait_for_url("**/studies/**", timeout=10_000)
    assert "/studies/" in page.url and "#cohort-" in page.url
    assert page.locator("h1").is_visible()
    watched.assert_clean()


def test_per_patient_swimmer_chart_has_one_bar_per_line(served_real_site, watched, evidence):
    study_id = "pom-pad-dara-after-mor202-case"
    lines = sum(len(p.lines) for c in evidence.studies[study_id].cohorts for p in c.patients)
    page = watched.page
    page.goto(f"{served_real_site}/studies/{study_id}/", wait_until="networkidle")
    page.wait_for_selector("#chart-lines .atlas-chart-view.atlas-chart-ready", timeout=20_000)
    bars = page.evaluate("Array.from(document.querySelectorAll('#chart-lines .atlas-chart-live g.role-mark'))"
                         ".filter(g => g.classList.contains('lines_marks'))"
                         ".reduce((n, g) => n + g.querySelectorAll(':scope > path').length, 0)")
    assert bars == lines > 0
    watched.assert_clean()


def test_without_javascript_the_static_chart_and_table_remain(browser, served_real_site):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{served_real_site}/charts/orr/", wait_until="networkidle")
        image = page.locator("img.atlas-chart-static").first
        assert image.is_visible()
        assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 100
        assert page.locator(".atlas-chart-table").count() == 1
    finally:
        context.close()
