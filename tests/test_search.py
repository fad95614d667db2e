"""Search: what record pages give Pagefind, the exact-name map, a byte-stable index, and, in Chromium, the names
readers use leading to the right record, with type labels, spaced excerpts, filters and a lazily loaded list."""

import gzip
import html
import json
import re
import shutil
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

from build_scripts.publish import search_bundle
from build_scripts.derive.checks import validate_tree
from build_scripts.publish.pagefind import PINS_FOLDER, SEARCH_FOLDER, write_pins
from build_scripts.render.search import filter_options, pin_file, pin_files, pin_key, pins, search_view
from build_scripts.publish.search_bundle import SIGNATURE, cbor_decode, cbor_encode, fragment_ids, read_index, stabilise
from build_scripts.load.vocabulary import SEARCH_FILTERS

from build_scripts.publish.build import build_site
from tools.localsite import served
from conftest import VALID, PageWatch, evidence_tree, fixture_layout


def fragments(site):
    """Every indexed page as Pagefind stored it: url, title and the other metadata, filters, content."""
    found = []
    for path in sorted((site / SEARCH_FOLDER / "fragment").glob("*.pf_fragment")):
        found.append(json.loads(gzip.decompress(path.read_bytes())[len(SIGNATURE):]))
    return found


# --- what each record page gives search -------------------------------------------------------------------------

def test_a_study_is_indexed_with_the_names_of_its_agents_and_regimens_and_its_filter_values():
    evidence = validate_tree(VALID)
    view = search_view(evidence, "study", "fixture-dpd-retreatment")
    names = dict(view.names)
    assert [(n.name, n.aliases) for n in names["Agents"]] == [
        ("Daratumumab", ("Darzalex",)), ("Pomalidomide", ()), ("Dexamethasone", ())]
    assert [(n.name, n.aliases) for n in names["Regimens"]] == [
        ("Daratumumab + pomalidomide + dexamethasone", ("DPd", "Dara-Pd"))]
    # filter values are identifiers, never record text
    filters = dict(view.filters)
    assert set(filters) == set(SEARCH_FILTERS)
    assert filters["type"] == ("study",)
    assert filters["agent"] == ("daratumumab", "pomalidomide", "dexamethasone")
    assert filters["design"] == ("retrospective_real_world",)
    assert "refractory" in filters["prior"] and "imid" in filters["partner"]


def test_other_records_carry_their_type_and_the_filters_that_apply_to_them():
    evidence = validate_tree(VALID)
    regimen = dict(search_view(evidence, "regimen", "daratumumab-pomalidomide-dexamethasone").filters)
    assert regimen == {"type": ("regimen",), "agent": ("daratumumab", "pomalidomide", "dexamethasone"),
                       "partner": ("imid",)}
    assert dict(search_view(evidence, "agent", "daratumumab").filters) == {"type": ("agent",),
                                                                          "agent": ("daratumumab",)}
    assert dict(search_view(evidence, "publication", "fixture-2020-journal").filters) == {"type": ("publication",)}
    assert dict(search_view(evidence, "review", "fixture-review").filters) == {"type": ("review",)}
    assert search_view(evidence, "review", "fixture-review").type == "Systematic review"


def test_the_search_page_offers_every_filter_value_some_record_has_in_vocabulary_order():
    options = {f["key"]: f["options"] for f in filter_options(validate_tree(VALID))}
    assert list(options) == list(SEARCH_FILTERS)
    assert options["type"] == [("publication", "Publication"), ("study", "Study"), ("regimen", "Regimen"),
                               ("agent", "Agent"), ("review", "Systematic review")]
    assert options["agent"] == [("daratumumab", "Daratumumab"), ("dexamethasone", "Dexamethasone"),
                                ("pomalidomide", "Pomalidomide")]
    assert [value for value, _ in options["design"]] == ["randomised", "retrospective_real_world",
                                                         "real_world_unspecified"]


def test_the_built_pages_carry_type_filters_and_hidden_names_for_pagefind(fixture_site):
    by_url = {f["url"]: f for f in fragments(fixture_site)}
    study = by_url["/studies/fixture-dpd-retreatment/"]
    assert study["meta"]["type"] == "Study"
    assert study["filters"]["agent"] == ["daratumumab", "pomalidomide", "dexamethasone"]
    assert "Darzalex" in study["content"] and "DPd" in study["content"]
    assert by_url["/agents/daratumumab/"]["meta"]["type"] == "Agent"
    # the names are indexed, not shown
    page = (fixture_site / "studies" / "fixture-dpd-retreatment" / "index.html").read_text()
    hidden = re.search(r'<div class="atlas-search-terms" data-pagefind-meta="type:Study" hidden>(.*?)</div>',
                       page, re.S)
    assert hidden and "Darzalex" in hidden.group(1)


def test_no_result_title_carries_the_heading_permalink_sign(fixture_site):
    titles = [f["meta"]["title"] for f in fragments(fixture_site)]
    assert titles and not [t for t in titles if "¶" in t]
    # the sign is still on the page, for readers
    assert 'class="headerlink"' in (fixture_site / "studies" / "fixture-dpd-retreatment" / "index.html").read_text()


INLINE = {"a", "abbr", "b", "bdi", "cite", "code", "data", "em", "i", "kbd", "mark", "q", "s", "small", "span",
          "strong", "sub", "sup", "time", "u", "var", "wbr"}


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _PageWords(HTMLParser):
    """The words of a page's indexed part as a reader sees them: text runs on across inline tags, never across
    block ones. Open elements are kept on a stack, and a stray end tag is ignored, as a browser does."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open, self.body, self.parts = [], None, []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.open.append(tag)
            if self.body is None and ("data-pagefind-body", None) in attrs:
                self.body = len(self.open)
        if tag not in INLINE:
            self.parts.append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag not in INLINE:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self.open:
            while self.open.pop() != tag:
                pass
            if self.body is not None and len(self.open) < self.body:
                self.body = -1
        if tag not in INLINE:
            self.parts.append(" ")

    def handle_data(self, data):
        if self.body is not None and 0 < self.body <= len(self.open):
            self.parts.append(data)


def test_every_word_search_stores_is_a_word_of_the_page(fixture_site):
    """Block elements never run together in excerpts ("CountriesGermanyStable URL")."""
    glued = {}
    for fragment in fragments(fixture_site):
        reader = _PageWords()
        reader.feed((fixture_site / fragment["url"].strip("/") / "index.html").read_text())
        page_words = set(re.findall(r"\w+", "".join(reader.parts)))
        stored = set(re.findall(r"\w+", html.unescape(fragment["content"])))
        if stored - page_words:
            glued[fragment["url"]] = sorted(stored - page_words)
    assert glued == {}


# --- the exact-name map -------------------------------------------------------------------------------------------

def test_exact_names_are_keyed_without_case_or_punctuation():
    assert pin_key("ICARIA-MM") == "icariamm"
    assert pin_key("Dara + Pom + Dex") == "darapomdex"
    assert pin_key("Isatuximab–pomalidomide") == "isatuximabpomalidomide"
    assert pin_key("Pom-PAD-Dara (ß)") == "pompaddara"
    assert pin_key("—") == ""


def test_the_map_names_abbreviations_trial_and_brand_names_and_registry_ids():
    found = pins(validate_tree(VALID))
    assert found["dpd"] == ["/regimens/daratumumab-pomalidomide-dexamethasone/"]
    assert found["darzalex"] == found["daratumumab"] == ["/agents/daratumumab/"]
    assert found["fixture1"] == found["nct00000001"] == ["/studies/fixture-dpd-retreatment/"]
    assert "fixturerct" in found


def test_the_map_is_split_by_a_hash_every_reader_agrees_on():
    # 32-bit FNV-1a (atlas-search.js computes the same): offset basis for "", published test vectors otherwise.
    assert pin_file("", 2**32) == 0x811C9DC5
    assert pin_file("a", 2**32) == 0xE40C292C
    assert pin_file("foobar", 2**32) == 0xBF9CF968
    assert pin_files(0) == 1 and pin_files(100) == 1 and pin_files(101) == 2


def test_the_map_files_hold_the_result_ids_of_the_pages_named(fixture_site, tmp_path):
    by_id = {path.stem: json.loads(gzip.decompress(path.read_bytes())[len(SIGNATURE):])["url"]
             for path in (fixture_site / SEARCH_FOLDER / "fragment").glob("*.pf_fragment")}
    folder = fixture_site / SEARCH_FOLDER / PINS_FOLDER
    files = sorted(folder.glob("*.json"))
    assert [p.name for p in files] == [f"{n}.json" for n in range(len(files))]
    merged = {}
    for number, path in enumerate(files):
        shard = json.loads(path.read_text())
        assert all(pin_file(key, len(files)) == number for key in shard)
        merged.update(shard)
    assert [by_id[i] for i in merged["dpd"]] == ["/regimens/daratumumab-pomalidomide-dexamethasone/"]
    assert [by_id[i] for i in merged["darzalex"]] == ["/agents/daratumumab/"]
    # a name whose page is not indexed is left out, not pointed at nothing
    bundle = tmp_path / "bundle"
    shutil.copytree(fixture_site / SEARCH_FOLDER, bundle)
    write_pins(bundle, {"dpd": ["/regimens/daratumumab-pomalidomide-dexamethasone/"], "gone": ["/studies/gone/"]},
               fragment_ids(bundle))
    assert set(json.loads((bundle / PINS_FOLDER / "0.json").read_text())) == {"dpd"}


# --- a byte-stable index --------------------------------------------------------------------------------------------

def test_cbor_codec_matches_the_standard_examples():
    # RFC 8949, appendix A
    examples = [(0, "00"), (23, "17"), (24, "1818"), (1000, "1903e8"), (1000000, "1a000f4240"), (-1, "20"),
                (-1000, "3903e7"), ("", "60"), ("a", "6161"), ("\u00fc", "62c3bc"), ([], "80"),
                ([1, [2, 3], [4, 5]], "8301820203820405"), ({"a": 1, "b": [2, 3]}, "a26161016162820203"),
                (b"\x01\x02", "420102"),
                (list(range(1, 26)), "98190102030405060708090a0b0c0d0e0f101112131415161718181819")]
    for value, encoded in examples:
        assert cbor_encode(value) == bytes.fromhex(encoded), value
        assert cbor_decode(bytes.fromhex(encoded)) == value
    with pytest.raises(search_bundle.BundleFormatError):
        cbor_decode(bytes.fromhex("f5"))          # true: Pagefind never writes it
    with pytest.raises(search_bundle.BundleFormatError):
        cbor_decode(bytes.fromhex("830102"))      # ends early


def _write(path, value):
    path.write_bytes(gzip.compress(SIGNATURE + cbor_encode(value), mtime=0))


def _bundle(folder, order):
    """A two-filter Pagefind bundle whose 'agent' values are written in the given order, as Pagefind 1.5.2 may."""
    (folder / "filter").mkdir(parents=True)
    values = {"Daratumumab": [0, 2], "Isatuximab": [1], "Pomalidomide": [0, 1, 2]}
    _write(folder / "filter" / f"en_{len(order)}a{order[0][:3]}.pf_filter", ["agent", [[v, values[v]] for v in order]])
    _write(folder / "filter" / "en_type000.pf_filter", ["type", [["Study", [0, 1]], ["Regimen", [2]]]])
    meta = ["1.5.2", [["en_frag0", 10], ["en_frag1", 12], ["en_frag2", 9]], [["a", "z", "en_idx0"]],
            [["type", "en_type000"], ["agent", f"en_{len(order)}a{order[0][:3]}"]], [], ["title", "type"]]
    _write(folder / "pagefind.en_meta000000.pf_meta", meta)
    (folder / "pagefind-entry.json").write_text(json.dumps(
        {"version": "1.5.2", "languages": {"en": {"hash": "en_meta000000", "wasm": "en", "page_count": 3}},
         "include_characters": ["_", "‿"]}, ensure_ascii=False, separators=(",", ":")))


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_filter_indexes_in_any_value_order_are_rewritten_to_the_same_bytes(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    _bundle(one, ["Pomalidomide", "Daratumumab", "Isatuximab"])
    _bundle(two, ["Isatuximab", "Pomalidomide", "Daratumumab"])
    assert _tree(one) != _tree(two)
    stabilise(one)
    stabilise(two)
    assert _tree(one) == _tree(two)
    entry = json.loads((one / "pagefind-entry.json").read_text())
    meta = read_index(one / f"pagefind.{entry['languages']['en']['hash']}.pf_meta")
    assert [name for name, _ in meta[3]] == ["agent", "type"]
    agent = read_index(one / "filter" / f"{meta[3][0][1]}.pf_filter")
    assert agent == ["agent", [["Daratumumab", [0, 2]], ["Isatuximab", [1]], ["Pomalidomide", [0, 1, 2]]]]
    # every file the metadata names exists, and nothing else is left in the filter folder
    assert sorted(p.stem for p in (one / "filter").iterdir()) == sorted(h for _, h in meta[3])
    # the rest of the metadata is untouched
    assert meta[:3] == ["1.5.2", [["en_frag0", 10], ["en_frag1", 12], ["en_frag2", 9]], [["a", "z", "en_idx0"]]]


def test_a_bundle_in_an_unknown_format_stops_the_build(tmp_path):
    _bundle(tmp_path, ["Daratumumab", "Isatuximab", "Pomalidomide"])
    meta = tmp_path / "pagefind.en_meta000000.pf_meta"
    meta.write_bytes(gzip.compress(b"something else"))
    with pytest.raises(search_bundle.BundleFormatError):
        stabilise(tmp_path)


def test_the_built_filter_indexes_are_in_order(fixture_site):
    bundle = fixture_site / SEARCH_FOLDER
    entry = json.loads((bundle / "pagefind-entry.json").read_text())
    meta = read_index(bundle / f"pagefind.{entry['languages']['en']['hash']}.pf_meta")
    assert [name for name, _ in meta[3]] == sorted(SEARCH_FILTERS)
    for _, name in meta[3]:
        _, values = read_index(bundle / "filter" / f"{name}.pf_filter")
        assert [v for v, _ in values] == sorted(v for v, _ in values)


# --- in Chromium, on the real evidence ------------------------------------------------------------------------------

INPUT = ".atlas-search-input"
LINK = ".atlas-search-result-link"

# The record a query must reach among the first three pages found.
QUERIES = [
    ("Darzalex", "/agents/daratumumab/"),
    ("Sarclisa", "/agents/isatuximab/"),
    ("MOR202", "/agents/felzartamab/"),
    ("Pom-PAD-Dara", "/regimens/daratumumab-pomalidomide-bortezomib-doxorubicin-dexamethasone/"),
    ("TRIMM-2", "/studies/trimm-2/"),
    ("NCT02751255", "/studies/frerichs-2021-dara-atra/"),
    ("Frerichs", "/publications/frerichs-2021-blood-adv/"),
]
# An exact abbreviation or trial name: its own page first.
FIRST = [
    ("Kd", "/regimens/carfilzomib-dexamethasone/"),
    ("DKd", "/regimens/daratumumab-carfilzomib-dexamethasone/"),
    ("IsaPd", "/regimens/isatuximab-pomalidomide-dexamethasone/"),
    ("DPd", "/regimens/daratumumab-pomalidomide-dexamethasone/"),
    ("ICARIA-MM", "/studies/icaria-mm/"),
    ("LYNX", "/studies/lynx/"),
]


def search(page, query):
    """Type a query and wait for its results; returns the result pages' links in order."""
    page.locator(INPUT).fill(query)
    page.wait_for_function(
        "q => document.querySelector('.atlas-search-status').textContent.includes(q)"
        " && document.querySelectorAll('.atlas-search-result-link').length > 0", arg=query, timeout=15_000)
    return page.locator(LINK).evaluate_all("els => els.map(e => e.getAttribute('href'))")


def result_count(page):
    return int(re.match(r"(\d+) (results?|records?)", page.locator(".atlas-search-status").text_content()).group(1))


@pytest.mark.parametrize("query, record", QUERIES)
def test_query_reaches_the_record(served_real_site, watched, query, record):
    page = watched.page
    page.goto(f"{served_real_site}/", wait_until="networkidle")
    page.locator("a.atlas-search-link").click()
    page.wait_for_load_state("networkidle")
    hrefs = search(page, query)
    assert record in hrefs[:3], hrefs
    page.locator(f"{LINK}[href='{record}']").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(record)
    watched.assert_clean()


@pytest.mark.parametrize("query, record", FIRST)
def test_an_exact_abbreviation_or_trial_name_lists_its_own_page_first(served_real_site, watched, query, record):
    page = watched.page
    page.goto(f"{served_real_site}/search/", wait_until="networkidle")
    assert search(page, query)[0] == record
    watched.assert_clean()


@pytest.mark.parametrize("query, studies", [
    ("Darzalex refractory", {"/studies/abdallah-2023-dara-retreatment/", "/studies/fusion-mm-005/"}),
    ("Sarclisa pomalidomide", {"/studies/image-study/", "/studies/uk-isapomdex-case-series/"}),
])
def test_brand_names_find_the_studies_of_the_drug(served_real_site, watched, query, studies):
    page = watched.page
    page.goto(f"{served_real_site}/search/", wait_until="networkidle")
    hrefs = search(page, query)
    assert studies <= set(hrefs), hrefs
    types = page.locator(".atlas-search-type").all_text_contents()
    assert types.count("Study") >= len(studies)


def test_results_have_titles_without_the_permalink_sign_a_type_and_spaced_excerpts(served_real_site, watched):
    page = watched.page
    page.goto(f"{served_real_site}/search/?q=Germany", wait_until="networkidle")
    page.wait_for_selector(LINK, timeout=15_000)
    titles = page.locator(LINK).all_text_contents()
    assert titles and all(t.strip() and "¶" not in t for t in titles)
    excerpts = " ".join(page.locator(".atlas-search-excerpt").all_text_contents())
    assert re.search(r"\bGermany\b", excerpts) and "GermanyStable" not in excerpts, excerpts
    assert page.locator(".atlas-search-excerpt mark").first.text_content() == "Germany"
    types = set()
    for query in ("Darzalex", "ICARIA-MM"):
        search(page, query)
        types.update(page.locator(".atlas-search-type").all_text_contents())
        assert page.locator(".atlas-search-result").count() == page.locator(".atlas-search-type").count()
    assert {"Study", "Regimen", "Agent", "Publication", "Systematic review"} <= types, types
    watched.assert_clean()


FILTERS = [("type", "study"), ("agent", "isatuximab"), ("partner", "imid"), ("design", "single_arm"),
           ("prior", "refractory")]


@pytest.mark.parametrize("key, value", FILTERS)
def test_each_filter_narrows_the_results_and_stays_in_the_url(served_real_site, watched, key, value):
    page = watched.page
    page.goto(f"{served_real_site}/search/", wait_until="networkidle")
    search(page, "myeloma")
    everything = result_count(page)
    page.locator(".atlas-search-filters summary").click()
    page.locator(f"fieldset[data-filter='{key}'] input[value='{value}']").check()
    page.wait_for_function("() => document.querySelector('.atlas-search-status').textContent.includes('with the filters')",
                           timeout=15_000)
    page.wait_for_selector(LINK)
    narrowed = result_count(page)
    assert 0 < narrowed < everything
    hrefs = page.locator(LINK).evaluate_all("els => els.map(e => e.getAttribute('href'))")
    if key == "type":
        assert set(page.locator(".atlas-search-type").all_text_contents()) == {"Study"}
    if key in ("design", "prior", "partner"):
        assert all(h.startswith("/studies/") or h.startswith("/regimens/") for h in hrefs), hrefs
    assert parse_qs(urlsplit(page.url).query) == {"q": ["myeloma"], key: [value]}
    # the linked view opens as it was left
    page.goto(page.url, wait_until="networkidle")
    page.wait_for_selector(LINK, timeout=15_000)
    assert page.locator(INPUT).input_value() == "myeloma"
    assert page.locator(f"fieldset[data-filter='{key}'] input[value='{value}']").is_checked()
    assert result_count(page) == narrowed
    watched.assert_clean()


def test_filters_alone_list_the_matching_records(served_real_site, watched):
    page = watched.page
    page.goto(f"{served_real_site}/search/?type=agent", wait_until="networkidle")
    page.wait_for_selector(LINK, timeout=15_000)
    assert set(page.locator(".atlas-search-type").all_text_contents()) == {"Agent"}
    assert "match the filters" in page.locator(".atlas-search-status").text_content()
    watched.assert_clean()


def test_a_filter_on_an_agent_whose_name_holds_markup_entities_and_spacing_finds_its_records(tmp_path, browser):
    """Pagefind decodes entities in filter values (twice) and collapses their white space: filtering by the name
    would find nothing; the page sends the agent's id and shows its name as text."""
    tree = evidence_tree(tmp_path)
    agent = tree / "agents" / "daratumumab.yaml"
    name = 'Dara  <b>"&amp;"</b>   mab\'s'
    agent.write_text(agent.read_text().replace("name: Daratumumab", "name: '" + name.replace("'", "''") + "'"))
    layout = fixture_layout(tmp_path, tree)
    build_site(layout)
    with served(layout.site) as base:
        watch = PageWatch(browser)
        try:
            page = watch.page
            page.goto(f"{base}/search/", wait_until="networkidle")
            page.locator(".atlas-search-filters summary").click()
            box = page.locator("fieldset[data-filter='agent'] input[value='daratumumab']")
            assert box.locator("xpath=..").text_content().strip() == name
            box.check()
            page.wait_for_selector(LINK, timeout=15_000)
            hrefs = page.locator(LINK).evaluate_all("els => els.map(e => e.getAttribute('href'))")
            assert {"/agents/daratumumab/", "/studies/fixture-dpd-retreatment/"} <= set(hrefs), hrefs
            assert "/agents/pomalidomide/" not in hrefs
            watch.assert_clean()
        finally:
            watch.close()


def test_results_load_ten_at_a_time_as_the_list_scrolls(served_real_site, watched):
    page = watched.page
    page.set_viewport_size({"width": 1000, "height": 700})
    page.goto(f"{served_real_site}/search/", wait_until="networkidle")
    search(page, "daratumumab")
    total = result_count(page)
    assert total > 25
    page.wait_for_timeout(300)
    assert page.locator(".atlas-search-result").count() == 10
    fragments_before = len([u for u in watched.requests if u.endswith(".pf_fragment")])
    page.locator(".atlas-search-more").scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelectorAll('.atlas-search-result').length >= 20", timeout=15_000)
    page.mouse.wheel(0, 20_000)
    page.wait_for_function("() => document.querySelectorAll('.atlas-search-result').length >= 30", timeout=15_000)
    assert len([u for u in watched.requests if u.endswith(".pf_fragment")]) > fragments_before
    # to the end: every result once, and no button left
    for _ in range(total):
        if page.locator(".atlas-search-result").count() == total:
            break
        page.mouse.wheel(0, 20_000)
        page.wait_for_timeout(100)
    hrefs = page.locator(LINK).evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert len(hrefs) == total == len(set(hrefs))
    assert page.locator(".atlas-search-more").is_hidden()
    watched.assert_clean()


def test_the_result_list_works_from_the_keyboard(served_real_site, watched):
    page = watched.page
    page.goto(f"{served_real_site}/search/", wait_until="networkidle")
    search(page, "daratumumab")
    page.locator(INPUT).focus()
    page.keyboard.press("ArrowDown")
    focused = "document.activeElement.getAttribute('href')"
    hrefs = page.locator(LINK).evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert page.evaluate(focused) == hrefs[0]
    page.keyboard.press("ArrowDown")
    assert page.evaluate(focused) == hrefs[1]
    page.keyboard.press("ArrowUp")
    assert page.evaluate(focused) == hrefs[0]
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.classList.contains('atlas-search-input')")
    # the tenth result's down arrow loads the next ten and moves on to the eleventh
    page.locator(LINK).nth(9).focus()
    page.keyboard.press("ArrowDown")
    page.wait_for_function("() => document.activeElement === document.querySelectorAll('.atlas-search-result-link')[10]",
                           timeout=15_000)
    target = page.evaluate(focused)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(target)
    watched.assert_clean()


def test_search_loads_only_a_small_part_of_the_index_before_the_first_result(served_real_site, browser):
    context = browser.new_context()
    page = context.new_page()
    sizes = {}
    page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())) if r.ok else None)
    page.goto(f"{served_real_site}/search/", wait_until="networkidle")
    search(page, "daratumumab")
    loaded = [url for url in sizes if "/pagefind/" in url]
    assert any(url.endswith(".pf_meta") for url in loaded) and any(url.endswith(".pf_index") for url in loaded)
    # no UI library, no worker, no filter index (no filter was ticked), no whole-site index
    assert not [url for url in loaded
                if re.search(r"pagefind-(ui|modular-ui|component-ui|worker)\.js|\.pf_filter", url)]
    assert not any(url.endswith("search_index.json") for url in sizes)
    assert len([url for url in loaded if url.endswith(".pf_fragment")]) == 10
    context.close()
