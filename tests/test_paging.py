"""Lists of cohorts on the Evidence summary and the regimen tables that grow with the evidence go on over pages of
their own, TABLE_PAGE_SIZE cohorts a page, so the two pages stay light at any size (issue 16)."""

import posixpath
import re

import pytest

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.synthesis import synthesise
from build_scripts.render import paging
from build_scripts.render.links import REGIMEN_TABLES_URL, SUMMARY_DETAILS_URL, SUMMARY_URL
from build_scripts.render.long_lists import regimen_table_url
from build_scripts.render.members import members
from build_scripts.render.regimen_tables import (
    REGIMEN_TABLES_LISTED_AT_MOST, regimen_table_pages, regimen_tables_context, table_groups,
)
from build_scripts.render.summary import SUMMARY_LISTED_AT_MOST, item_member, summary_pages
from build_scripts.render.templating import render_page, template_environment
from tools.synthetic import generate

from conftest import ROOT, VALID


@pytest.fixture(scope="module")
def environment():
    return template_environment(ROOT / "templates")


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """Synthetic evidence with lists longer than a page: 300 studies, some 750 cohorts."""
    folder = tmp_path_factory.mktemp("paging") / "evidence"
    generate(folder, 300, ROOT / "evidence")
    return validate_tree(folder)


def html_of(environment, template, **context):
    _, blocks = render_page(environment.get_template(template), charts=[], assets="../assets/", **context)
    return "\n".join(blocks)


def resolve(page_url, href):
    """The page a relative link on the page at page_url leads to, as a directory URL, and its fragment."""
    path, _, fragment = href.partition("#")
    return posixpath.normpath(posixpath.join(page_url, path)) + "/", fragment


def body_rows(html):
    return sum(body.count("<tr>") for body in re.findall(r"<tbody>(.*?)</tbody>", html, re.S))


def assert_pager_links_resolve(page_url, pager, urls):
    links = [pager["previous"], pager["next"]] + [item["href"] for item in pager["pages"] or []]
    for href in filter(None, links):
        assert resolve(page_url, href)[0] in urls, href
    assert pager["count"] == len(urls) and (pager["count"] <= 20) == bool(pager["pages"])


# ---------------------------------------------------------------- the regimen tables

def test_long_regimen_tables_go_on_over_pages_of_their_own_each_cohort_once_in_order(large, environment):
    context = regimen_tables_context(large)
    main = html_of(environment, "regimen_tables.md.j2", **context)
    made = regimen_table_pages(large)
    by_url = {path.removesuffix("index.md"): page for path, page in made}
    groups = table_groups(members(large))
    long_groups = [g for g in groups if len(g.members) > paging.TABLE_PAGE_SIZE]
    assert long_groups and any(len(g.members) <= paging.TABLE_PAGE_SIZE for g in groups)
    shown = {"all-regimens": (context["all_rows"], context["all_more"]),
             **{s["label"]: (s["rows"], s["more"]) for s in context["sections"]}}
    for group in groups:
        rows, more = shown["all-regimens" if group.slug == "all-regimens" else group.label]
        if more is None:  # listed on the page, as before
            assert len(group.members) <= paging.TABLE_PAGE_SIZE
            assert [r["member"].key for r in rows] == [m.key for m in group.members]
            assert not any(url.startswith(regimen_table_url(group.slug)) for url in by_url)
            continue
        assert rows == [] and more.total == len(group.members)
        urls = [url for url in by_url if url.startswith(regimen_table_url(group.slug))]
        assert urls == list(more.urls) and urls[0] == regimen_table_url(group.slug)
        assert resolve(REGIMEN_TABLES_URL, more.href)[0] == urls[0] and f'href="{more.href}"' in main
        assert more.text in main and more.text.startswith(f"{len(group.members):,} cohort")
        listed = []
        for url in urls:
            page = by_url[url]
            html = html_of(environment, "regimen_table_page.md.j2", **page)
            assert len(page["rows"]) == body_rows(html) <= paging.TABLE_PAGE_SIZE
            listed += [r["member"].key for r in page["rows"]]
            assert resolve(url, page["back_href"]) == (REGIMEN_TABLES_URL, group.back)
            assert f'href="{page["back_href"]}"' in html and ('class="atlas-pager"' in html) == (len(urls) > 1)
            assert_pager_links_resolve(url, page["pager"], urls)
            # the cohorts' links are written from this page
            first = page["rows"][0]
            assert resolve(url, first["cohort_href"])[0] == f"studies/{first['member'].study.id}/"
        assert listed == [m.key for m in group.members]
    # the main page holds no row of a long table, and at most REGIMEN_TABLES_LISTED_AT_MOST in all: a short table
    # goes to pages of its own only when the tables before it have used up the room (no randomised arms here)
    assert context["randomised"] == []
    assert body_rows(main) == sum(len(rows) for rows, _ in shown.values()) <= REGIMEN_TABLES_LISTED_AT_MOST
    listed = 0
    for group in groups:
        rows, more = shown["all-regimens" if group.slug == "all-regimens" else group.label]
        if more is not None and len(group.members) <= paging.TABLE_PAGE_SIZE:
            assert listed + len(group.members) > REGIMEN_TABLES_LISTED_AT_MOST
        listed += len(rows)
    assert any(more is not None and len(rows) == 0 and more.total <= paging.TABLE_PAGE_SIZE
               for rows, more in shown.values())


# ---------------------------------------------------------------- the Evidence summary

def test_long_summary_lists_go_on_over_pages_of_their_own_each_cohort_once_in_order(large, environment):
    _, context, made = summary_pages(large, synthesise(large))
    # the lists are on the summary's page of details
    main = html_of(environment, "summary_details.md.j2", **context)
    long = context["long"]
    assert long and any(len(c.items) <= paging.TABLE_PAGE_SIZE for c in context["lists"])
    assert {c.kind for c in context["lists"] if c.key in long} >= {"cohorts", "counted", "not-summarised"}
    by_url = {path.removesuffix("index.md"): page for path, page in made}
    for cohort_list in context["lists"]:
        # the part of the page that holds the list stays, so links to it still land
        assert f'id="{cohort_list.anchor}"' in main, cohort_list.anchor
        pages_of_list = [url for url, page in by_url.items() if page["list"].key == cohort_list.key]
        if cohort_list.key not in long:
            assert len(cohort_list.items) <= paging.TABLE_PAGE_SIZE and not pages_of_list
            continue
        more = long[cohort_list.key]
        assert pages_of_list == list(more.urls) and more.urls[0] == cohort_list.url
        assert resolve(SUMMARY_DETAILS_URL, more.href)[0] == cohort_list.url and f'href="{more.href}"' in main
        listed = []
        for url in pages_of_list:
            page = by_url[url]
            html = html_of(environment, "summary_list.md.j2", **page)
            assert len(page["items"]) == body_rows(html) <= paging.TABLE_PAGE_SIZE
            listed += [item_member(item).key for item in page["items"]]
            back = f'{page["details_href"]}#{cohort_list.anchor}'
            assert resolve(url, back) == (SUMMARY_DETAILS_URL, cohort_list.anchor) and f'href="{back}"' in html
            assert_pager_links_resolve(url, page["pager"], pages_of_list)
            member = item_member(page["items"][0])
            assert f'href="{"../" * url.count("/")}studies/{member.study.id}/#cohort-{member.cohort.id}"' in html
        assert listed == [item_member(item).key for item in cohort_list.items]
    # the page lists at most SUMMARY_LISTED_AT_MOST cohorts: a short list goes to pages of its own only when the
    # lists before it on the page have used up the room
    listed = 0
    for cohort_list in context["lists"]:
        total = len(cohort_list.items)
        if cohort_list.key in long and total <= paging.TABLE_PAGE_SIZE:
            assert listed + total > SUMMARY_LISTED_AT_MOST
        listed += 0 if cohort_list.key in long else total
    assert listed <= SUMMARY_LISTED_AT_MOST
    assert any(c.key in long and len(c.items) <= paging.TABLE_PAGE_SIZE for c in context["lists"])
    # a row whose cohorts are too many has no table of them on the summary
    rows = [c for c in context["lists"] if c.kind == "cohorts"]
    assert main.count('class="atlas-row-table"') == sum(c.key not in long for c in rows) < len(rows)


def test_lists_at_or_under_the_page_size_stay_on_their_page():
    evidence = validate_tree(VALID)
    _, context, made = summary_pages(evidence, synthesise(evidence))
    assert made == [] and context["long"] == {}
    assert regimen_table_pages(evidence) == []
    tables = regimen_tables_context(evidence)
    assert tables["all_more"] is None and len(tables["all_rows"]) == len(members(evidence))


def test_the_page_size_is_the_one_table_page_size(monkeypatch):
    evidence = validate_tree(VALID)
    cohorts = len(members(evidence))
    monkeypatch.setattr(paging, "TABLE_PAGE_SIZE", cohorts - 1)
    made = regimen_table_pages(evidence)
    assert [path for path, _ in made][:2] == ["regimen-tables/all-regimens/index.md",
                                              "regimen-tables/all-regimens/2/index.md"]
    assert [len(page["rows"]) for path, page in made if "all-regimens" in path] == [cohorts - 1, 1]


def test_a_cell_counts_rather_than_names_the_cohorts_not_reached_when_too_many(monkeypatch, environment):
    from test_summary import SOURCE, cohort, study, with_studies

    def not_reached(study_id):
        data = cohort("c", n=10)
        data["outcomes"] = [{"measure": "pfs", "status": "not_reached", "n": 10, "source": SOURCE}]
        return study(study_id, data)

    evidence = with_studies(validate_tree(VALID), not_reached("a"), not_reached("b"))
    [row] = summary_pages(evidence, synthesise(evidence))[0]["rows"]
    assert len(row.measures["pfs"].not_reached) == 2 and row.measures["pfs"].lists_not_reached
    named = html_of(environment, "summary.md.j2", **summary_pages(evidence, synthesise(evidence))[0])
    assert re.search(r'not reached in <a href="[^"]+/a/#cohort-c" title="Study a: Cohort c">Study a</a>, <a ', named)
    monkeypatch.setattr(paging, "TABLE_PAGE_SIZE", 1)
    context, _, made = summary_pages(evidence, synthesise(evidence))
    counted = html_of(environment, "summary.md.j2", **context)
    assert 'not reached in <a href="details/#cohorts-imid-refractory">2 cohorts</a>' in counted
    assert "summary/imid-refractory/cohorts/2/index.md" in [path for path, _ in made]


def test_a_linked_list_says_how_many_cohorts_and_pages_in_good_english():
    from build_scripts.render.long_lists import LongList
    assert LongList(("a/",), 1, "a/").text == "1 cohort, on 1 page"
    assert LongList(("a/",), 40, "a/").text == "40 cohorts, on 1 page"
    assert LongList(("a/", "a/2/"), 1234, "a/").text == "1,234 cohorts, on 2 pages"


# ---------------------------------------------------------------- the derived-axes audit (issue 25)

def test_the_derived_axes_audit_goes_on_over_pages_that_keep_each_study_whole(large, environment):
    from build_scripts.render.audit import AXES_AUDIT_URL, axes_audit_pages

    pages = axes_audit_pages(large)
    cohorts = [(s.id, c.id) for s in sorted(large.studies.values(), key=lambda s: s.id) for c in s.cohorts]
    assert len(cohorts) > 2 * paging.TABLE_PAGE_SIZE and len(pages) >= 3
    assert [path for path, _ in pages] == [f"{AXES_AUDIT_URL}index.md"] + [
        f"{AXES_AUDIT_URL}{n}/index.md" for n in range(2, len(pages) + 1)]
    shown = [(row["study"].id, row["cohort"].id) for _, context in pages for row in context["rows"]]
    assert shown == cohorts  # every cohort once, in order
    first = 1
    for number, (path, context) in enumerate(pages, start=1):
        rows, pager = context["rows"], context["pager"]
        studies = {row["study"].id for row in rows}
        assert len(rows) <= paging.TABLE_PAGE_SIZE or len(studies) == 1
        assert (pager["number"], pager["count"], pager["total"]) == (number, len(pages), len(cohorts))
        assert (pager["first"], pager["last"]) == (first, first + len(rows) - 1)
        first += len(rows)
        # a page's links resolve from its own folder: to the study pages, to the methods page, to the other pages
        folder = posixpath.dirname(path)
        assert all(posixpath.normpath(posixpath.join(folder, row["href"].split("#")[0])) ==
                   f"studies/{row['study'].id}" for row in rows)
        assert posixpath.normpath(posixpath.join(folder, pager["pages"][0]["href"])) == AXES_AUDIT_URL.rstrip("/")
    # the studies on a page boundary are not split
    for (_, before), (_, after) in zip(pages, pages[1:]):
        assert before["rows"][-1]["study"].id != after["rows"][0]["study"].id
    html = html_of(environment, "derived_axes.md.j2", **pages[1][1])
    assert f"cohorts {pages[1][1]['pager']['first']} to {pages[1][1]['pager']['last']} of {len(cohorts)}" in html
    assert 'rel="prev"' in html and 'rel="next"' in html
    # its link to the methods resolves from its folder (the site's build checks every link of every page)
    text, _ = render_page(environment.get_template("derived_axes.md.j2"), charts=[], assets="../../assets/",
                          **pages[1][1])
    assert "[Methods](../../methods.md)" in text
