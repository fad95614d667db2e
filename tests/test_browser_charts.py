"""Charts as a reader sees them in Chromium: rendered SVG, one mark per cohort, partner-class groups, ARIA label, links,
nothing from outside."""

import json

import pytest

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.facts import is_in_question
from build_scripts.derive.partners import partner_group_label
from build_scripts.derive.responses import cohort_outcomes
from build_scripts.render.chart_base import CROSS_STUDY_MEASURES, PRIOR_STATUS_COLOURS, SUBGROUP_MARK, chart_page_url

from conftest import ROOT


@pytest.fixture(scope="module")
def evidence():
    return validate_tree(ROOT / "evidence")


def expected_cohorts(evidence, measure):
    """Cohorts in the question that have a comparable figure with a value for the measure, counted from the records and
    the rates computed from their patients' responses (responses.cohort_outcomes)."""
    return sum(
        1
        for study in evidence.studies.values()
        for cohort in study.cohorts
        if is_in_question(evidence, study, cohort) and any(
            o.measure == measure and o.value is not None and o.cross_study and o.status == "reported"
            for o in cohort_outcomes(cohort))
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
    # without an export menu, vega-embed gives the chart's own element the role and the description
    label = page.locator(".atlas-chart-live[role='graphics-document']").first.get_attribute("aria-label")
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
    page.locator("#chart-lines").scroll_into_view_if_needed()  # the live chart is drawn once it is near
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


# A text element's text: a label drawn on several lines is several tspans, read as one line with spaces between.
_TEXT = ("(t.querySelectorAll('tspan').length ? Array.from(t.querySelectorAll('tspan'))"
         ".map(s => s.textContent.trim()).join(' ') : t.textContent)")


def _chart_texts(page, selector):
    """Visible text elements of an SVG in the page: their text and whether they have a box on screen."""
    return page.evaluate(
        ("(selector) => Array.from(document.querySelectorAll(selector)).map(t => {"
         " const box = t.getBoundingClientRect();"
         " return {text: TEXT(t), visible: box.width > 0 && box.height > 0"
         " && getComputedStyle(t).visibility !== 'hidden' && getComputedStyle(t).opacity !== '0'}; })").replace(
            "TEXT(t)", _TEXT), selector)


def test_live_chart_shows_partner_class_groups_indented_subgroups_and_control_arms(served_real_site, watched, real_site):
    page = watched.page
    page.goto(f"{served_real_site}/charts/pfs/", wait_until="networkidle")
    page.wait_for_selector(".atlas-chart-view.atlas-chart-ready", timeout=20_000)
    spec = json.loads((real_site / "charts" / "pfs" / "chart-pfs.vl.json").read_text())
    groups = [unit["title"]["text"] for unit in spec["vconcat"]]
    assert len(groups) >= 3 and partner_group_label("imid") in groups
    texts = _chart_texts(page, ".atlas-chart-live svg text")
    shown = {t["text"] for t in texts if t["visible"]}
    assert set(groups) <= shown
    # subgroups are indented: a second-level subgroup's label starts right of a first-level one's, which starts
    # right of a top-level cohort's
    starts = {t["text"]: t["x"] for t in page.evaluate(
        "() => Array.from(document.querySelectorAll('.atlas-chart-live svg text'))"
        ".map(t => ({text: TEXT(t), x: t.getBoundingClientRect().left}))".replace("TEXT(t)", _TEXT))}
    labels = [label for unit in spec["vconcat"] for label in unit["layer"][0]["encoding"]["y"]["scale"]["domain"]]
    deepest = next(label for label in labels if label.startswith("\u00a0"))  # Frerichs: part B, recommended dose
    first = next(label for label in labels if label.startswith(SUBGROUP_MARK))
    top = labels[0]

    def x(label):
        return next(v for text, v in starts.items() if text.rstrip("…") and label.lstrip("\u00a0").startswith(
            text.rstrip("…")))

    assert x(deepest) > x(first) + 5 and x(first) == pytest.approx(x(top), abs=1)
    # the control arm is drawn, in its own layer, and labelled as such
    assert live_marks(page, "controls_") == 1
    assert any("control arm, not retreatment" in t["text"] and t["visible"] for t in texts)
    # the IMAGE daratumumab-refractory cohort is in the refractory colour
    colour = page.evaluate(
        "() => Array.from(document.querySelectorAll('.atlas-chart-live g[class*=estimates_] > path'))"
        ".filter(p => (p.getAttribute('aria-label') || '').includes('Daratumumab-refractory patients (n=56)'))"
        ".map(p => p.getAttribute('fill'))")
    assert colour == [PRIOR_STATUS_COLOURS["refractory"]]
    watched.assert_clean()


def test_static_fallback_shows_the_same_groups(browser, served_real_site, real_site):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{served_real_site}/charts/orr/", wait_until="networkidle")
        image = page.locator("img.atlas-chart-static").first
        assert image.is_visible() and page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 100
        spec = json.loads((real_site / "charts" / "orr" / "chart-orr.vl.json").read_text())
        groups = [unit["title"]["text"] for unit in spec["vconcat"]]
        labels = [label for unit in spec["vconcat"] for label in unit["layer"][0]["encoding"]["y"]["scale"]["domain"]]
        # the image itself, opened as a document: the same groups and rows, each drawn where it can be seen
        page.goto(f"{served_real_site}/charts/orr/chart-orr.svg", wait_until="networkidle")
        headings = _chart_texts(page, "text.group")
        assert [t["text"] for t in headings] == groups and all(t["visible"] for t in headings)
        rows = _chart_texts(page, "text.row")
        assert len(rows) == len(labels) and all(t["visible"] for t in rows)
        assert all(label.lstrip("\u00a0").startswith(text.rstrip("…"))
                   for text, label in zip((t["text"] for t in rows), labels))
    finally:
        context.close()
