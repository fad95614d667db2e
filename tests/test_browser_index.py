"""The studies index as a reader uses it in Chromium: filters, sorting, pages, the view in the URL, CSV, no JavaScript."""

from __future__ import annotations

import csv
import io
import re
import sys
import unicodedata

import pytest
import yaml

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.facts import exposure_status
from build_scripts.derive.partners import index_switch, partners
from build_scripts.derive.question_count import question_count, question_count_note
from build_scripts.load.evidence import patient_count
from build_scripts.load.vocabulary import DESIGNS
from build_scripts.publish.build import build_site
from build_scripts.render.csv_cells import neutralise
from tools.localsite import served
from tools.synthetic import generate

from conftest import ROOT, fixture_layout

# A function, not a bare expression: Playwright polls a bare expression with eval(), which the site's CSP refuses.
READY = "() => window.atlasIndex && window.atlasIndex.ready"

# Titles and labels a spreadsheet or a browser would act on; the index must show them as text and guard them in CSV.
HOSTILE_TITLE = '=HYPERLINK("http://x.example/?leak","open me")'
HOSTILE_SHORT_NAME = "@SUM(1+1)"
HOSTILE_LABEL = "-2+3 patients; =1+1"
MARKUP_TITLE = '<img src=x onerror="alert(1)"> study'


@pytest.fixture(scope="module")
def evidence():
    return validate_tree(ROOT / "evidence")


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A site of 230 synthetic studies (three pages of the index) and two studies with hostile text."""
    base = tmp_path_factory.mktemp("index-site")
    tree = base / "evidence"
    generate(tree, 230, ROOT / "evidence")
    for study_id, title, short_name in (("hostile-formula", HOSTILE_TITLE, HOSTILE_SHORT_NAME),
                                        ("hostile-markup", MARKUP_TITLE, None)):
        def source():
            return {"publication": "synthetic-00001-pub1", "location": "Table 1"}  # no shared dict: no YAML alias
        record = {
            "id": study_id, "title": title, "design": "case_series", "publications": ["synthetic-00001-pub1"],
            "summary": "A study whose text would act in a spreadsheet or a browser.",
            "cohorts": [{
                "id": "overall", "label": HOSTILE_LABEL, "role": "overall",
                "regimen": "daratumumab-pomalidomide-dexamethasone",
                "population": {"n": {"value": 7, "source": source()},
                               "refractory": [{"to": "daratumumab", "percent": 100, "source": source()}]},
                "outcomes": [{"measure": "orr", "value": 42.9, "unit": "percent", "responders": 3, "n": 7,
                              "source": source()}],
            }],
        }
        if short_name:
            record["short_name"] = short_name
        (tree / "studies" / f"{study_id}.yaml").write_text(yaml.safe_dump(record, allow_unicode=True), encoding="utf-8")
    layout = fixture_layout(base, tree, guide=False)  # a tree of its own: the fixture guide cites other cohorts
    build_site(layout)
    with served(layout.site) as url:
        yield {"url": url, "evidence": validate_tree(tree), "site": layout.site}


def open_index(page, url):
    page.goto(f"{url}/studies/", wait_until="load")
    page.wait_for_function(READY, timeout=15_000)


def shown_ids(page) -> list[str]:
    """Study ids of the rows on every page of the current view, in order, turning the pages and back."""
    ids, turned = [], 0
    while True:
        ids += page.eval_on_selector_all(
            "#studies-table tbody tr td:first-child a",
            "links => links.map(a => decodeURIComponent(a.pathname.split('/').filter(Boolean).pop()))")
        following = page.locator('#studies-pages [data-step="1"]')
        if page.locator("#studies-pages").is_hidden() or following.is_disabled():
            break
        following.click()
        turned += 1
    for _ in range(turned):
        page.go_back()
    return ids


def choose(page, name, value):
    page.select_option(f"#studies-filters [name='{name}']", value)


def type_into(page, name, value):
    page.fill(f"#studies-filters [name='{name}']", str(value))
    # The inputs wait for a pause in typing, then record the view in the address: wait for that, not for a time.
    page.wait_for_function("([name, value]) => new URL(location.href).searchParams.get(name) === value",
                           arg=[name, str(value).strip()], timeout=15_000)


# ---------------------------------------------------------------- what each filter should leave, from the records


def study_agents(evidence, study):
    return {a for c in study.cohorts if c.regimen for a in evidence.regimens[c.regimen].agents}


def years(evidence, study):
    found = [evidence.publications[p].year for p in study.publications if evidence.publications[p].year]
    return min(found) if found else None


def count(study):
    found = patient_count(study)
    return found[0].value if found else None


FILTERS = {
    "agent": lambda ev, s, v: v in study_agents(ev, s),
    "partner": lambda ev, s, v: any(partners(ev, s, c).name == v for c in s.cohorts),
    "index_switch": lambda ev, s, v: any(index_switch(ev, s, c).name == v for c in s.cohorts),
    "regimen": lambda ev, s, v: any(c.regimen == v for c in s.cohorts),
    "prior": lambda ev, s, v: any(exposure_status(s, c).status == v for c in s.cohorts),
    "design": lambda ev, s, v: s.design == v,
    "type": lambda ev, s, v: DESIGNS[s.design].evidence_type == v,
}


def expected_ids(evidence, test) -> list[str]:
    return sorted(s.id for s in evidence.studies.values() if test(s))


@pytest.mark.parametrize("name, value", [
    ("agent", "isatuximab"), ("agent", "pomalidomide"), ("partner", "imid"), ("index_switch", "switch"),
    ("regimen", "daratumumab-pomalidomide-dexamethasone"), ("prior", "exposed_not_refractory"), ("prior", "naive"),
    ("design", "randomised"), ("type", "clinical_trial"),
])
def test_each_filter_leaves_the_studies_the_records_say(served_real_site, watched, evidence, name, value):
    page = watched.page
    open_index(page, served_real_site)
    everything = shown_ids(page)
    assert everything == sorted(evidence.studies) and len(everything) >= 27
    choose(page, name, value)
    expected = expected_ids(evidence, lambda s: FILTERS[name](evidence, s, value))
    assert 0 < len(expected) < len(everything), "the filter must narrow the rows, or the test proves nothing"
    assert shown_ids(page) == expected
    assert f"{name}={value}" in page.url
    assert page.locator("#studies-count").inner_text().startswith(f"Studies 1–{len(expected)} of {len(expected)} matching")
    watched.assert_clean()


def test_ranges_of_years_and_patients_leave_out_studies_without_one(served_real_site, watched, evidence):
    page = watched.page
    open_index(page, served_real_site)
    type_into(page, "year_min", 2021)
    type_into(page, "year_max", 2022)
    by_year = expected_ids(evidence, lambda s: years(evidence, s) is not None and 2021 <= years(evidence, s) <= 2022)
    assert 0 < len(by_year) < len(evidence.studies)
    assert shown_ids(page) == by_year
    page.click("#studies-filters button[type=reset]")
    page.wait_for_function("() => location.search === ''", timeout=15_000)
    assert len(shown_ids(page)) == len(evidence.studies)
    type_into(page, "n_min", 5)
    type_into(page, "n_max", 40)
    by_size = expected_ids(evidence, lambda s: count(s) is not None and 5 <= count(s) <= 40)
    assert 0 < len(by_size) < len(evidence.studies)
    assert shown_ids(page) == by_size
    watched.assert_clean()


def test_words_and_filters_combine(served_real_site, watched, evidence):
    page = watched.page
    open_index(page, served_real_site)
    type_into(page, "q", "pomalidomide dexamethasone")
    with_words = shown_ids(page)
    assert 0 < len(with_words) < len(evidence.studies)
    choose(page, "index_switch", "switch")
    both = shown_ids(page)
    switch = expected_ids(evidence, lambda s: FILTERS["index_switch"](evidence, s, "switch"))
    assert both == [s for s in with_words if s in switch] and both
    type_into(page, "q", "no-such-word-anywhere")
    assert shown_ids(page) == []
    assert page.locator("#studies-count").inner_text().startswith("Studies 0 of 0 matching")
    watched.assert_clean()


def test_sorting_by_patients_puts_unreported_counts_last_and_says_so(served_real_site, watched, evidence):
    page = watched.page
    open_index(page, served_real_site)
    header = page.locator("#studies-table th[data-sort='n']")
    button = header.get_by_role("button", name="Patients")
    assert header.get_attribute("aria-sort") is None
    button.click()
    assert header.get_attribute("aria-sort") == "ascending"
    # the count is the cell's first line; a note on the retreated patients may follow it
    cells = [c.split("\n")[0] for c in page.locator("#studies-table tbody td.atlas-n").all_inner_texts()]
    numbers = [int(c) for c in cells if c.isdigit()]
    expected = sorted(count(s) for s in evidence.studies.values() if count(s) is not None)
    assert numbers == expected and len(numbers) >= 5
    assert cells[len(numbers):] == ["Not reported"] * (len(cells) - len(numbers))
    button.click()
    assert header.get_attribute("aria-sort") == "descending"
    cells = [c.split("\n")[0] for c in page.locator("#studies-table tbody td.atlas-n").all_inner_texts()]
    assert [int(c) for c in cells if c.isdigit()] == expected[::-1]
    assert cells[-1] == "Not reported"
    assert page.locator("#studies-table th[aria-sort]").count() == 1
    assert "sort=-n" in page.url
    watched.assert_clean()


def test_a_filtered_view_survives_its_address_and_the_back_button(served_real_site, watched, browser, evidence):
    page = watched.page
    open_index(page, served_real_site)
    choose(page, "agent", "daratumumab")
    type_into(page, "year_min", 2020)
    page.locator("#studies-table th[data-sort='year'] button").click()
    page.locator("#studies-table th[data-sort='year'] button").click()
    rows = shown_ids(page)
    assert 0 < len(rows) < len(evidence.studies)
    address = page.url
    assert re.search(r"/studies/\?.*agent=daratumumab.*year_min=2020.*sort=-year", address)
    other = browser.new_context()
    try:
        fresh = other.new_page()
        fresh.goto(address, wait_until="load")
        fresh.wait_for_function(READY)
        assert shown_ids(fresh) == rows
        assert fresh.locator("#studies-agent").input_value() == "daratumumab"
        assert fresh.locator("#studies-year-min").input_value() == "2020"
        assert fresh.locator("#studies-table th[data-sort='year']").get_attribute("aria-sort") == "descending"
    finally:
        other.close()
    page.go_back()  # undoes the second sort click
    assert page.locator("#studies-table th[data-sort='year']").get_attribute("aria-sort") == "ascending"
    page.go_back()
    page.go_back()
    page.go_back()  # before any filter
    assert page.locator("#studies-agent").input_value() == ""
    assert len(shown_ids(page)) == len(evidence.studies)
    watched.assert_clean()


def read_download(page) -> tuple[str, list[list[str]]]:
    with page.expect_download() as event:
        page.click("#studies-csv")
    download = event.value
    text = open(download.path(), encoding="utf-8", newline="").read()
    return download.suggested_filename, list(csv.reader(io.StringIO(text, newline="")))


def test_the_csv_of_a_filtered_view_holds_its_rows(served_real_site, watched, evidence):
    page = watched.page
    open_index(page, served_real_site)
    choose(page, "prior", "refractory")
    page.locator("#studies-table th[data-sort='title'] button").click()
    rows = shown_ids(page)
    name, table = read_download(page)
    assert name.endswith(".csv")
    header, body = table[0], table[1:]
    assert header[0] == "study_id" and "patients" in header and "key_orr" in header
    assert [row[0] for row in body] == rows
    by_id = {row[0]: dict(zip(header, row)) for row in body}
    for study_id in rows:
        study = evidence.studies[study_id]
        assert by_id[study_id]["title"] == study.title
        assert by_id[study_id]["patients"] == ("" if count(study) is None else str(count(study)))
        assert by_id[study_id]["url"].endswith(f"/studies/{study_id}/")
    watched.assert_clean()


def test_the_csv_guards_hostile_cells_and_the_page_shows_them_as_text(big, watched):
    page = watched.page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_index(page, big["url"])
    type_into(page, "q", "hostile")
    assert shown_ids(page) == ["hostile-formula", "hostile-markup"]
    table = page.locator("#studies-table tbody")
    assert MARKUP_TITLE in table.inner_text() and HOSTILE_TITLE in table.inner_text()
    assert table.locator("img").count() == 0
    _, rows = read_download(page)
    header, body = rows[0], rows[1:]
    cells = {row[0]: dict(zip(header, row)) for row in body}
    formula = cells["hostile-formula"]
    assert formula["title"] == "'" + HOSTILE_TITLE
    assert formula["short_name"] == "'" + HOSTILE_SHORT_NAME
    assert formula["key_cohort"] == neutralise(HOSTILE_LABEL) == "'-2+3 patients;' =1+1"
    assert formula["key_n"] == "7" and formula["patients"] == "7"
    assert cells["hostile-markup"]["title"] == MARKUP_TITLE
    assert dialogs == []
    watched.assert_clean()


def formula_probe_strings() -> list[str]:
    """Every character that opens a formula or is skipped before one, in the places a cell can start."""
    formula, invisible = [], []
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        if unicodedata.normalize("NFKC", ch)[:1] in "=+-@\t\r\0":
            formula.append(ch)
        elif unicodedata.category(ch) == "Cf" or (ch.isspace() and ch not in ",;\t\r\n"):
            invisible.append(ch)
    probes = ["", "plain", "a - b", "x@y.example", "p = 0.03", "'=quoted", "a;b", "\u22121"]
    for ch in formula:
        probes += [ch + "1", "a;" + ch + "x", "a," + ch, "x\n" + ch, "\u200b" + ch, " " + ch, "a" + ch]
    for ch in invisible:
        probes += [ch + "=1", "a;" + ch + "@x", ch + "x"]
    return probes


def test_the_browser_guards_csv_cells_exactly_as_export_py_does(served_real_site, watched):
    page = watched.page
    open_index(page, served_real_site)
    probes = formula_probe_strings()
    assert len(probes) > 600 and "\uff1d1" in probes and "\u202e=1" in probes
    guarded = page.evaluate("texts => texts.map(t => window.atlasIndex.neutralise(t))", probes)
    differ = [(p, g, neutralise(p)) for p, g in zip(probes, guarded) if g != neutralise(p)]
    assert differ == []
    assert sum(g != p for g, p in zip(guarded, probes)) > 400  # most probes do open a formula
    watched.assert_clean()


# ---------------------------------------------------------------- pages, accessibility, no JavaScript


def test_pages_of_a_large_index_turn_and_are_kept_in_the_address(big, watched):
    page = watched.page
    open_index(page, big["url"])
    total = len(big["evidence"].studies)
    assert total > 200
    assert page.locator("#studies-table tbody tr").count() == 100
    assert page.locator("#studies-count").inner_text() == f"Studies 1–100 of {total}."
    assert page.locator(".atlas-pager:not(#studies-pages)").is_hidden()  # the static pager gives way to the script's
    page.click('#studies-pages [data-step="1"]')
    assert "page=2" in page.url
    assert page.locator("#studies-count").inner_text() == f"Studies 101–200 of {total}."
    assert page.locator("#studies-page-label").inner_text() == f"Page 2 of {-(-total // 100)}"
    assert shown_ids(page) == sorted(big["evidence"].studies)[100:]
    page.goto(f"{big['url']}/studies/page/3/", wait_until="load")  # a static page opens on its own rows
    page.wait_for_function(READY)
    assert page.locator("#studies-count").inner_text() == f"Studies 201–{total} of {total}."
    watched.assert_clean()


def test_controls_are_labelled_sort_controls_are_buttons_and_the_count_is_announced(served_real_site, watched):
    page = watched.page
    open_index(page, served_real_site)
    controls = page.locator("#studies-filters input, #studies-filters select")
    assert controls.count() == 12
    for i in range(controls.count()):
        control = controls.nth(i)
        label = page.locator(f"label[for='{control.get_attribute('id')}']")
        assert label.count() == 1 and label.inner_text().strip(), control.get_attribute("id")
    headers = page.locator("#studies-table thead th")
    assert headers.count() == 10
    assert page.locator("#studies-table thead th > button").count() == 10
    status = page.locator("#studies-count")
    assert status.get_attribute("role") == "status" and status.get_attribute("aria-live") == "polite"
    before = status.inner_text()
    choose(page, "design", "randomised")
    assert status.inner_text() != before and "matching" in status.inner_text()
    watched.assert_clean()


def test_without_javascript_the_full_table_is_there(browser, served_real_site, evidence, big):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{served_real_site}/studies/")
        rows = page.locator("#studies-table tbody tr")
        assert rows.count() == len(evidence.studies)
        assert page.locator("#studies-filters").is_hidden()
        for study in evidence.studies.values():
            row = rows.filter(has=page.locator(f"a[href='{study.id}/']"))
            assert row.count() == 1
            note = question_count_note(question_count(evidence, study), count(study))
            assert row.locator("td.atlas-n").inner_text() == (str(count(study)) if count(study) is not None
                                                              else "Not reported") + (f"\n{note}" if note else "")
        page.goto(f"{big['url']}/studies/page/3/")
        total = len(big["evidence"].studies)
        assert page.locator("#studies-table tbody tr").count() == total - 200
        assert page.locator("nav.atlas-pager a[rel='prev']").is_visible()
    finally:
        context.close()
