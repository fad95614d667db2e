"""Search in Chromium: the names readers use lead to the right record."""

import pytest

QUERIES = [
    ("Darzalex", "/agents/daratumumab/"),
    ("Sarclisa", "/agents/isatuximab/"),
    ("MOR202", "/agents/felzartamab/"),
    ("DPd", "/regimens/daratumumab-pomalidomide-dexamethasone/"),
    ("IsaPd", "/regimens/isatuximab-pomalidomide-dexamethasone/"),
    ("Pom-PAD-Dara", "/regimens/daratumumab-pomalidomide-bortezomib-doxorubicin-dexamethasone/"),
    ("ICARIA-MM", "/studies/icaria-mm/"),
    ("TRIMM-2", "/studies/trimm-2/"),
    ("NCT02751255", "/studies/frerichs-2021-dara-atra/"),
    ("Frerichs", "/publications/frerichs-2021-blood-adv/"),
]


@pytest.mark.parametrize("query, record", QUERIES)
def test_query_reaches_the_record(served_real_site, watched, query, record):
    page = watched.page
    page.goto(f"{served_real_site}/", wait_until="networkidle")
    page.locator("a.atlas-search-link").click()
    page.wait_for_load_state("networkidle")
    page.locator(".pagefind-ui__search-input").fill(query)
    page.wait_for_selector(".pagefind-ui__result-link", timeout=15_000)
    page.wait_for_function("document.querySelectorAll('.pagefind-ui__result-link').length > 0")
    hrefs = page.locator(".pagefind-ui__result-link").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    pages = list(dict.fromkeys(h for h in hrefs if "#" not in h))
    # the record is among the first three distinct pages found
    assert record in pages[:3], pages
    page.locator(f".pagefind-ui__result-link[href='{record}']").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(record)
    watched.assert_clean()


def test_search_loads_only_a_small_part_of_the_index_before_the_first_result(served_real_site, browser):
    context = browser.new_context()
    page = context.new_page()
    sizes = {}
    page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())) if r.ok else None)
    page.goto(f"{served_real_site}/search/", wait_until="networkidle")
    page.locator(".pagefind-ui__search-input").fill("daratumumab")
    page.wait_for_selector(".pagefind-ui__result-link", timeout=15_000)
    search_bytes = sum(size for url, size in sizes.items() if "/pagefind/" in url)
    assert search_bytes > 0
    assert not any(url.endswith("search_index.json") for url in sizes)
    context.close()
