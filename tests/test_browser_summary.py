"""The reader's path in Chromium: home page, one click to the Evidence summary, a row by partner class and prior
status, and from a number in it to the cohort it came from; the regimen tables sorted by their header buttons."""

import posixpath
import re
from urllib.parse import urlsplit

import pytest

# The '+ ATRA' row of daratumumab-refractory patients: the Frerichs 2021 trial (seed document 002).
PARTNER, PRIOR = "retinoid", "refractory"


def test_home_page_reaches_the_summary_in_one_click_and_a_cell_leads_to_its_cohort(served_real_site, watched):
    page = watched.page
    page.goto(f"{served_real_site}/", wait_until="networkidle")
    first_paragraph = page.locator("article.md-content__inner h1 + p")
    link = first_paragraph.get_by_role("link", name="Evidence summary")
    link.click()
    page.wait_for_load_state("networkidle")
    assert urlsplit(page.url).path == "/summary/"

    selector = f"tr[data-partner='{PARTNER}'][data-prior='{PRIOR}']"
    row = page.locator(f"table.atlas-sof {selector}")
    assert row.count() == 1
    assert row.locator("th[scope='row']").inner_text().splitlines() == ["Refractory to anti-CD38", "Same antibody again"]
    partner_header = page.locator("table.atlas-sof tbody", has=page.locator(selector)).locator("th[scope='rowgroup']")
    assert partner_header.inner_text() == "+ ATRA"

    number = row.locator("td[data-measure='pfs'] a").first
    value = number.inner_text()
    assert re.fullmatch(r"\d+(\.\d+)?", value), value
    href = number.get_attribute("href")
    fragment = href.split("#", 1)[1]
    assert fragment.startswith("cohort-")
    number.click()
    page.wait_for_load_state("networkidle")
    assert urlsplit(page.url).path == posixpath.normpath(urlsplit(f"/summary/{href}").path) + "/"
    assert urlsplit(page.url).path.startswith("/studies/")
    assert urlsplit(page.url).fragment == fragment
    cohort = page.locator(f"section#{fragment}")
    assert cohort.is_visible()
    assert f"{value} months" in cohort.locator("table.atlas-outcomes").inner_text()
    assert cohort.evaluate("(el) => el.getBoundingClientRect().top") < page.viewport_size["height"]
    watched.assert_clean()


def test_a_mark_of_the_evidence_map_leads_to_its_cohorts(served_real_site, watched):
    page = watched.page
    page.goto(f"{served_real_site}/summary/", wait_until="networkidle")
    mark = page.locator("a.atlas-map-mark").first
    target = mark.get_attribute("href")
    mark.click()
    assert page.url.endswith(target) and urlsplit(page.url).path == "/summary/details/"
    listed = page.locator(f"section#{target.split('#', 1)[1]} li a[href*='/studies/']")
    assert listed.count() >= 1
    watched.assert_clean()


def sort_values(page, column):
    """The data-sort values of a column of the first regimen table, in the order the rows show."""
    return page.evaluate(
        "(column) => Array.from(document.querySelector('table.atlas-sortable').tBodies[0].rows)"
        ".map(row => row.cells[column].getAttribute('data-sort'))", column)


def header_index(page, label):
    return page.evaluate(
        "(label) => Array.from(document.querySelector('table.atlas-sortable').tHead.rows[0].cells)"
        ".findIndex(th => th.textContent.trim().startsWith(label))", label)


@pytest.mark.parametrize("label", ["ORR", "Patients"])
def test_regimen_table_sorts_by_a_column_with_the_button_in_its_header(served_real_site, watched, label):
    page = watched.page
    page.goto(f"{served_real_site}/regimen-tables/", wait_until="networkidle")
    table = page.locator("table.atlas-sortable").first
    column = header_index(page, label)
    assert column >= 0
    original = sort_values(page, column)
    header = table.locator("thead th").nth(column)
    button = header.get_by_role("button")
    assert button.count() == 1 and header.get_attribute("aria-sort") is None

    button.click()
    assert header.get_attribute("aria-sort") == "ascending"
    ascending = sort_values(page, column)
    numbers = [float(v) for v in ascending if v]
    assert numbers == sorted(numbers) and len(set(numbers)) > 1
    assert ascending[len(numbers):] == [v for v in ascending if not v]  # figures not reported last
    assert sorted(ascending, key=str) == sorted(original, key=str)  # the same rows, reordered

    button.click()
    assert header.get_attribute("aria-sort") == "descending"
    descending = sort_values(page, column)
    numbers = [float(v) for v in descending if v]
    assert numbers == sorted(numbers, reverse=True)
    assert descending[len(numbers):] == [v for v in descending if not v]
    # only the sorted column carries aria-sort
    assert table.locator("thead th[aria-sort]").count() == 1
    watched.assert_clean()


def test_regimen_tables_read_in_study_order_without_javascript(browser, served_real_site):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{served_real_site}/regimen-tables/", wait_until="networkidle")
        table = page.locator("table.atlas-sortable").first
        assert table.is_visible() and table.locator("tbody tr").count() > 10
        assert table.locator("button").count() == 0 and table.locator("th[aria-sort]").count() == 0
    finally:
        context.close()
