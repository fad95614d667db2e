"""A sharded search index (issue 25): above a size, the pages are indexed in shards that the search page merges, an
edit re-indexes only the shards of the pages it changed, and the pinned queries still find their records. The
thresholds are lowered here, so the real atlas and the fixture tree are sharded."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from build_scripts.derive.checks import validate_tree
from build_scripts.load.vocabulary import RECORD_KINDS
from build_scripts.publish import search_shards
from build_scripts.publish.build import build_site
from build_scripts.publish.layout import BuildReport, Layout
from build_scripts.publish.pagefind import SEARCH_FOLDER, SearchIndexError, finish_index, start_index
from build_scripts.publish.search_bundle import SIGNATURE, read_index, rechunk, stabilise
from build_scripts.publish.search_shards import SHARDS_FILE, chunk_bytes, shard_folder, shard_plan
from build_scripts.render.search import companions
from browser_waits import still
from conftest import ROOT
from test_incremental import assert_same_site, clean_build, project, rebuild  # noqa: F401 - project is a fixture
from test_csp import CSP_CONSOLE, RECORD_VIOLATIONS
from test_search import FIRST, QUERIES, search
from tools.localsite import served

PREFIXES = [kind.url_prefix for kind in RECORD_KINDS.values()]


def _pages(studies: int, publications: int, others: int) -> list[str]:
    return ([f"studies/s{n}/index.html" for n in range(studies)]
            + [f"publications/p{n}/index.html" for n in range(publications)]
            + [f"studies/page/{n}/index.html" for n in range(others)] + ["index.html", "charts/orr/index.html"]
            + [f"agents/a{n}/index.html" for n in range(3)])


# ---------------------------------------------------------------- the plan


def test_a_site_of_up_to_shard_pages_pages_is_one_index(monkeypatch):
    monkeypatch.setattr(search_shards, "SHARD_PAGES", 100)
    pages = _pages(40, 50, 5)
    assert len(pages) <= 100
    assert shard_plan(pages, PREFIXES) == {0: sorted(pages)}
    assert chunk_bytes(1) is None


def test_record_pages_of_large_kinds_are_spread_and_every_other_page_stays_in_shard_zero(monkeypatch):
    monkeypatch.setattr(search_shards, "SHARD_PAGES", 30)
    monkeypatch.setattr(search_shards, "SPREAD_FROM", 10)
    pages = _pages(40, 50, 5)
    plan = shard_plan(pages, PREFIXES)
    placed = [path for paths in plan.values() for path in paths]
    assert sorted(placed) == sorted(pages) and len(placed) == len(set(placed))
    # 90 spread pages at up to 30 a shard: four record shards (a power of two) beside shard 0
    assert sorted(plan) == [0, 1, 2, 3, 4]
    assert sorted(plan[0]) == sorted(p for p in pages if not p.startswith(("studies/s", "publications/p")))
    assert all(10 <= len(plan[n]) <= 40 for n in (1, 2, 3, 4))  # a hash, roughly even
    # the same plan whatever the order the pages come in
    assert shard_plan(list(reversed(pages)), PREFIXES) == plan
    assert chunk_bytes(len(plan)) == search_shards.INDEX_CHUNK_BYTES // 5
    # 120 spread pages still make four record shards: the count changes only when they double
    assert sorted(shard_plan(_pages(60, 60, 5), PREFIXES)) == [0, 1, 2, 3, 4]


def test_a_page_that_changes_with_another_is_in_that_pages_shard(monkeypatch):
    monkeypatch.setattr(search_shards, "SHARD_PAGES", 30)
    monkeypatch.setattr(search_shards, "SPREAD_FROM", 10)
    pages = _pages(40, 40, 0)
    together = {f"publications/p{n}/index.html": f"studies/s{n}/index.html" for n in range(40)}
    plan = shard_plan(pages, PREFIXES, together)
    shard = {path: number for number, paths in plan.items() for path in paths}
    assert all(shard[publication] == shard[study] for publication, study in together.items())
    assert len({shard[study] for study in together.values()}) > 1


def test_each_publication_goes_with_the_first_study_that_reports_it():
    evidence = validate_tree(ROOT / "evidence")
    found = companions(evidence)
    for study_id, study in evidence.studies.items():
        for publication_id in study.publications:
            first = min(s for s, other in evidence.studies.items() if publication_id in other.publications)
            assert found[f"publications/{publication_id}/index.html"] == f"studies/{first}/index.html"
    assert len(found) == len({p for s in evidence.studies.values() for p in s.publications})


# ---------------------------------------------------------------- finer chunks


def _words(folder: Path, chunks: list) -> list:
    return [word for _, _, name in chunks for word in read_index(folder / f"{name}.pf_index")[0]]


def _meta(bundle: Path) -> list:
    entry = json.loads((bundle / "pagefind-entry.json").read_text())
    return read_index(bundle / f"pagefind.{entry['languages']['en']['hash']}.pf_meta")


def test_finer_chunks_hold_the_same_words_in_order_and_their_ranges_find_each_word(fixture_site, tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(fixture_site / SEARCH_FOLDER, bundle)
    before = _meta(bundle)
    words = _words(bundle / "index", before[2])
    assert len(words) > 100
    stabilise(bundle, chunk_bytes=600)
    after = _meta(bundle)
    assert after[1] == before[1] and after[3] == before[3]  # pages and filters untouched
    assert len(after[2]) > 5 * len(before[2])
    assert _words(bundle / "index", after[2]) == words
    assert sorted(p.stem for p in (bundle / "index").glob("*.pf_index")) == sorted(name for _, _, name in after[2])
    for low, high, name in after[2]:
        # each word of a chunk lies in its range, as Pagefind's search looks them up: from <= word, word <= to
        # or word starts with to (ranges are cut to the shortest prefixes that tell neighbours apart)
        for word, *_ in read_index(bundle / "index" / f"{name}.pf_index")[0]:
            assert low <= word and (word <= high or word.startswith(high)), (low, word, high)
    for (_, high, _), (low, _, _) in zip(after[2], after[2][1:]):
        assert high < low
    # one chunk as large as the index: Pagefind's words, in one file
    stabilise(bundle, chunk_bytes=10**9)
    single = _meta(bundle)[2]
    assert len(single) == 1 and _words(bundle / "index", single) == words


def test_a_chunk_in_an_unknown_layout_stops_the_build(tmp_path):
    folder = tmp_path / "index"
    folder.mkdir()
    (folder / "en_x.pf_index").write_bytes(gzip.compress(SIGNATURE + b"\x82\x80\x80"))
    with pytest.raises(Exception, match="word-index layout"):
        rechunk(folder, "en", [["a", "b", "en_x"]], 100)


# ---------------------------------------------------------------- a sharded site


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> tuple[Path, BuildReport]:
    """The real atlas built with thresholds that shard it: its studies and publications over record shards."""
    base = tmp_path_factory.mktemp("sharded-real")
    report = BuildReport()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search_shards, "SHARD_PAGES", 20)
        patch.setattr(search_shards, "SPREAD_FROM", 25)
        build_site(Layout(ROOT, ROOT / "evidence", ROOT / "content", ROOT / "templates", base / "build",
                          base / "site"), report)
    return base / "site", report


def _fragment_urls(bundle: Path) -> list[str]:
    return [json.loads(gzip.decompress(path.read_bytes())[len(SIGNATURE):])["url"]
            for path in (bundle / "fragment").glob("*.pf_fragment")]


def test_a_sharded_site_indexes_every_page_of_the_single_index_once(sharded, real_site):
    site, report = sharded
    bundle = site / SEARCH_FOLDER
    folders = json.loads((bundle / SHARDS_FILE).read_text())
    assert report.search_shards == len(folders) + 1 >= 3 and report.search_shards_indexed == report.search_shards
    assert folders == [shard_folder(n) for n in range(1, len(folders) + 1)]
    urls = _fragment_urls(bundle) + [url for folder in folders for url in _fragment_urls(bundle / folder)]
    assert len(urls) == len(set(urls))
    assert sorted(urls) == sorted(_fragment_urls(real_site / SEARCH_FOLDER))
    # a merged shard carries only what a merged index loads; the script and wasm are shard 0's
    for folder in folders:
        assert not list((bundle / folder).glob("*.js")) and not list((bundle / folder).glob("wasm.*"))
        assert (bundle / folder / "pagefind-entry.json").is_file()
    assert (bundle / "pagefind.js").is_file() and json.loads((real_site / SEARCH_FOLDER / SHARDS_FILE).read_text()) == []


def test_the_pinned_queries_hold_on_the_sharded_index(sharded, watched):
    site, _ = sharded
    page = watched.page
    with served(site) as base:
        page.goto(f"{base}/search/", wait_until="networkidle")
        for query, record in QUERIES:
            assert record in search(page, query)[:3], query
        for query, record in FIRST:
            assert search(page, query)[0] == record, query
        shards = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)"
                               ".filter(n => n.includes('/pagefind/shards/') && n.endsWith('.pf_meta'))")
        assert len(shards) == len(json.loads((site / SEARCH_FOLDER / SHARDS_FILE).read_text()))
    watched.assert_clean()


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_results_from_every_shard_read_at_both_widths_under_the_policy(sharded, browser, viewport):
    site, _ = sharded
    context = browser.new_context(viewport=viewport)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    with served(site) as base:
        page.goto(f"{base}/search/?q=daratumumab", wait_until="networkidle")
        hrefs = search(page, "daratumumab")
        # results come from record shards and from shard 0 (agents and regimens stay there)
        assert any(h.startswith("/studies/") for h in hrefs) and any(h.startswith("/agents/") for h in hrefs)
        still(page)
        assert page.evaluate("window.__violations") == []
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        violations = Axe().run(page, options={"resultTypes": ["violations"]}).response["violations"]
        assert not violations, [(v["id"], v["nodes"][0]["target"]) for v in violations]
    assert not [text for text in console if CSP_CONSOLE.search(text)]
    context.close()


# ---------------------------------------------------------------- edits


def test_an_edit_reindexes_the_shards_of_the_changed_pages_and_equals_a_clean_build(project, tmp_path, monkeypatch):
    monkeypatch.setattr(search_shards, "SHARD_PAGES", 2)
    monkeypatch.setattr(search_shards, "SPREAD_FROM", 2)
    layout = project
    first = rebuild(layout)
    assert first.search_shards >= 3 and first.search_shards_indexed == first.search_shards

    def pages() -> dict[str, bytes]:
        return {p.relative_to(layout.site).as_posix(): p.read_bytes() for p in layout.site.rglob("*.html")
                if p.relative_to(layout.site).parts[0] != SEARCH_FOLDER}

    before = pages()
    study = layout.evidence / "studies" / "fixture-randomised.yaml"
    study.write_text(study.read_text().replace("\ntitle: ", "\ntitle: Edited ", 1))
    edited = rebuild(layout)
    after = pages()
    changed = {path for path in after if before.get(path) != after[path]}
    plan = shard_plan(after, PREFIXES, companions(validate_tree(layout.evidence)))
    stale = {number for number, paths in plan.items() if changed & set(paths)}
    assert "studies/fixture-randomised/index.html" in changed and 0 in stale
    assert edited.search_shards_indexed == len(stale) < edited.search_shards
    assert_same_site(layout.site, clean_build(layout, tmp_path / "clean"))
    warm = rebuild(layout)
    assert (warm.searched, warm.search_shards_indexed) == (False, 0)


# ---------------------------------------------------------------- memory


def test_pagefinds_peak_memory_is_its_own_not_that_of_the_large_process_it_was_started_from(tmp_path):
    held = bytearray(400 * 2**20)  # the build's main process is large; a process forked from it starts as large
    for at in range(0, len(held), 4096):
        held[at] = 1
    pages = tmp_path / "pages"
    (pages / "a").mkdir(parents=True)
    (pages / "a" / "index.html").write_text("<html lang='en'><body><main><h1>Alpha</h1><p>Words to index.</p>"
                                             "</main></body></html>")
    run = start_index([(0, pages, tmp_path / "bundle")], None, tmp_path / "run")
    indexed = finish_index(run)
    assert list(indexed) == [0] and list(indexed[0].ids) == ["/a/"]
    assert 1 < indexed[0].peak_rss_mib < 200, indexed[0].peak_rss_mib


def test_a_failed_pagefind_run_gives_its_output(tmp_path):
    run = start_index([(0, tmp_path / "no such folder", tmp_path / "bundle")], None, tmp_path / "run")
    with pytest.raises(SearchIndexError, match="pagefind failed"):
        finish_index(run)
