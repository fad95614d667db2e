"""What a reader sees, in Debian's Chromium driven by Playwright, with the site served on 127.0.0.1."""

import re


def test_study_page_shows_outcomes_with_sources(served_fixture_site, watched):
    page = watched.page
    page.goto(f"{served_fixture_site}/studies/fixture-dpd-retreatment/", wait_until="networkidle")
    assert page.locator("h1").inner_text().startswith("Fixture study of DPd retreatment")
    first_table = page.locator("#cohort-refractory table.atlas-outcomes")
    assert first_table.is_visible()
    rows = first_table.locator("tbody tr")
    assert rows.count() == 6
    pfs = rows.filter(has_text="PFS")
    assert "3.1 months" in pfs.inner_text() and "95% CI 2.0–4.5" in pfs.inner_text()
    assert "Results, Survival" in pfs.locator(".atlas-source").inner_text()
    assert page.locator(".atlas-flag-banner").is_visible()
    watched.assert_clean()


def test_discrepancy_flag_leads_to_the_claims(served_fixture_site, watched):
    page = watched.page
    page.goto(f"{served_fixture_site}/studies/fixture-dpd-retreatment/", wait_until="networkidle")
    page.locator("a.atlas-flag").first.click()
    assert page.url.endswith("#discrepancy-orr-counts")
    claims = page.locator("#discrepancy-orr-counts li")
    assert claims.count() == 2
    assert page.locator("#discrepancy-orr-counts").is_visible()
    watched.assert_clean()


def test_reader_can_go_from_index_to_study_to_regimen(served_fixture_site, watched):
    page = watched.page
    page.goto(f"{served_fixture_site}/studies/", wait_until="networkidle")
    page.get_by_role("link", name="Fixture study of DPd retreatment").click()
    page.wait_for_load_state("networkidle")
    assert re.search(r"/studies/fixture-dpd-retreatment/$", page.url)
    page.locator("#cohort-refractory .atlas-cohort-meta a").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/regimens/daratumumab-pomalidomide-dexamethasone/")
    assert page.locator("table.atlas-regimen-outcomes").is_visible()
    watched.assert_clean()


def test_search_box_finds_a_study(served_fixture_site, watched):
    page = watched.page
    page.goto(f"{served_fixture_site}/", wait_until="networkidle")
    page.locator("a.atlas-search-link").click()
    page.wait_for_load_state("networkidle")
    page.locator(".atlas-search-input").fill("FIXTURE-1")
    page.wait_for_selector(".atlas-search-result-link", timeout=10_000)
    first = page.locator(".atlas-search-result-link").first.get_attribute("href")
    assert first == "/studies/fixture-dpd-retreatment/"
    watched.assert_clean()
