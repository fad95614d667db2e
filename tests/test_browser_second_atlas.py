"""The second atlas (tests/fixtures/second-atlas) as a reader sees it, in Debian's Chromium with the site served on
127.0.0.1, at the desktop and phone widths: its home page, a study, the summary and a chart load with no console
error and no request outside the site, the chart draws, search finds a study by a word of its title, axe-core finds
nothing, and no text the browser shows names the first atlas's topic. One built site serves every test."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.facts import is_in_question
from build_scripts.derive.responses import cohort_outcomes
from build_scripts.load.topic_model import activate
from tools.localsite import served

from browser_waits import charts_drawn, still
from conftest import WIDTHS
from second_atlas import SECOND, built_second_atlas, first_topic_words, leak_report, second_topic

PAGES = {
    "home": "",
    "study": "studies/fixture-randomised-chemotherapy/",
    "summary": "summary/",
    "chart": "charts/orr/",
}
CHART_MEASURE = "orr"
# A word of one study's title, and that study.
SEARCH_WORD, FOUND_STUDY = "erlotinib", "/studies/fixture-erlotinib-rechallenge-series/"
# No axe rule is disabled, as in tests/test_accessibility.py.
AXE_OPTIONS = {"resultTypes": ["violations"]}
_axe = Axe()


@pytest.fixture(autouse=True)
def _fixture_topic():
    """Replaces conftest's: every test here runs with the second atlas's topic active."""
    activate(second_topic())


@pytest.fixture(scope="module")
def second_site(tmp_path_factory):
    return built_second_atlas(tmp_path_factory)


@pytest.fixture(scope="module")
def base_url(second_site):
    with served(second_site) as url:
        yield url


def open_page(watched, base_url: str, path: str, width: str):
    page = watched.page
    w, h = WIDTHS[width]
    page.set_viewport_size({"width": w, "height": h})
    response = page.goto(f"{base_url}/{path}", wait_until="load")
    assert response is not None and response.ok, f"/{path} did not load"
    return page


def search(page, word: str) -> list[str]:
    page.locator(".atlas-search-input").fill(word)
    page.wait_for_selector(".atlas-search-result-link", timeout=10_000)
    page.wait_for_load_state("networkidle")
    return [link.get_attribute("href") for link in page.locator(".atlas-search-result-link").all()]


def axe_problems(page) -> list[str]:
    violations = _axe.run(page, options=AXE_OPTIONS).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']}: " + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
            for v in violations]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_page_loads_clean_and_axe_finds_nothing(base_url, watched, name, width):
    page = open_page(watched, base_url, PAGES[name], width)
    assert page.locator("h1").first.is_visible()
    charts_drawn(page)
    watched.assert_clean()
    # what a reader can open is checked open: the data table under each chart, notes
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    still(page)
    problems = axe_problems(page)
    assert not problems, f"{name} page /{PAGES[name]} at {width} width:\n" + "\n".join(problems)
    watched.assert_clean()


def expected_marks() -> int:
    """Cohorts in the second atlas's question with a comparable figure of the chart's measure (the rates its
    patients' best responses give included)."""
    evidence = validate_tree(SECOND / "evidence")
    return sum(1 for study in evidence.studies.values() for cohort in study.cohorts
               if is_in_question(evidence, study, cohort) and any(
                   o.measure == CHART_MEASURE and o.value is not None and o.cross_study and o.status == "reported"
                   for o in cohort_outcomes(cohort)))


@pytest.mark.parametrize("width", WIDTHS)
def test_the_chart_draws(base_url, watched, width):
    page = open_page(watched, base_url, PAGES["chart"], width)
    charts_drawn(page)
    if page.locator(".atlas-chart-view.atlas-chart-ready").count():
        marks = page.evaluate(
            "() => Array.from(document.querySelectorAll('.atlas-chart-live svg g.role-mark'))"
            ".filter(g => Array.from(g.classList).some(c => c.startsWith('estimates_')))"
            ".reduce((n, g) => n + g.querySelectorAll(':scope > path').length, 0)")
        assert marks == expected_marks() == 6
        label = page.locator(".atlas-chart-live[role='graphics-document']").first.get_attribute("aria-label")
        assert label.startswith("Objective response rate across studies.")
    else:
        # a phone gets the static image drawn for narrow screens
        assert width == "phone"
        image = page.locator("img.atlas-chart-static:visible").first
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    watched.assert_clean()


@pytest.mark.parametrize("width", WIDTHS)
def test_search_finds_a_study_by_a_word_of_its_title(base_url, watched, width):
    page = open_page(watched, base_url, "search/", width)
    found = search(page, SEARCH_WORD)
    assert FOUND_STUDY in found, found
    page.locator(f".atlas-search-result-link[href='{FOUND_STUDY}']").first.click()
    page.wait_for_url(f"**{FOUND_STUDY}", timeout=10_000)
    assert page.locator("h1").first.inner_text().startswith("Fixture: erlotinib again after gefitinib")
    watched.assert_clean()


def test_no_text_the_browser_shows_names_the_first_topic(base_url, watched):
    """What the browser shows once the pages' scripts have run (filters, tables and search results they write), at
    the desktop width."""
    leaks = {}
    for name, path in {**PAGES, "studies index": "studies/"}.items():
        page = open_page(watched, base_url, path, "desktop")
        charts_drawn(page)
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        found = first_topic_words(page.locator("body").inner_text())
        if found:
            leaks[f"/{path}"] = found
    page = open_page(watched, base_url, "search/", "desktop")
    search(page, SEARCH_WORD)
    found = first_topic_words(page.locator("body").inner_text())
    if found:
        leaks[f"/search/ with results for {SEARCH_WORD!r}"] = found
    assert not leaks, leak_report(leaks)
