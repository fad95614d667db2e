"""Every page at every width, measured in Chromium: no page wider than a phone, tables that scroll in their own
focusable and labelled boxes, chart text of at least 11 CSS px, the Vega bundle loaded only near a chart, chart
labels unique and never cut, a chart page's weight within its budget, and screenshots of every page type."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from build_scripts.derive.checks import validate_tree
from build_scripts.load.evidence import evidence_type
from build_scripts.render.chart_base import FONT_SIZE, LABEL_LINE_CHARACTERS, chart_page_url, label_lines
from build_scripts.render.charts import NARROW_BELOW, NARROW_WIDTH, WIDE_MAX_WIDTH, site_charts
from tools.bench import CHART_PAGE_BUDGET_KB, page_weight
from tools.localsite import served

from conftest import ROOT, VALID

PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 320, "height": 568}
DESKTOP = {"width": 1280, "height": 800}
SCREENSHOTS = ROOT / "build" / "screenshots"
BUNDLE = "vega-bundle.js"


@pytest.fixture(scope="module")
def real():
    return validate_tree(ROOT / "evidence")


def _largest(site: Path, folder: str, ids) -> str:
    """The URL of the largest built page among these records: the one with the most tables and text."""
    best = max(ids, key=lambda record_id: (site / folder / record_id / "index.html").stat().st_size)
    return f"{folder}/{best}/"


@pytest.fixture(scope="module")
def page_types(real, real_site) -> dict[str, str]:
    """A URL of each page type, the largest of its kind where there are several (found from the records)."""
    trials = [s.id for s in real.studies.values() if evidence_type(s) == "clinical_trial"]
    series = [s.id for s in real.studies.values() if s.design in ("case_series", "case_report")]
    types = {
        "home": "", "studies-index": "studies/", "trial": _largest(real_site, "studies", trials),
        "case-series": _largest(real_site, "studies", series),
        "regimen": _largest(real_site, "regimens", real.regimens), "agent": _largest(real_site, "agents", real.agents),
        "publication": _largest(real_site, "publications", real.publications),
        "review": _largest(real_site, "reviews", real.reviews), "chart": chart_page_url("orr"),
        "charts-index": "charts/", "downloads": "downloads/", "methods": "methods/", "search": "search/",
        "whats-new": "whats-new/", "field-reference": "contribute/fields/",
    }
    # pages other branches add, where they have landed
    for name, url in (("summary", "summary/"), ("regimen-comparison", "regimen-tables/")):
        if (real_site / url / "index.html").exists():
            types[name] = url
    return types


def _search(page) -> None:
    """Type a query into the search page and wait for results (the page type is 'search with results')."""
    page.locator("#atlas-search input[type=search], #atlas-search input[type=text]").first.fill("daratumumab")
    page.wait_for_function("() => document.querySelectorAll('#atlas-search a[href]').length > 3", timeout=20_000)


def _open(page, base: str, url: str) -> None:
    page.goto(f"{base}/{url}", wait_until="load")
    if url == "search/":
        _search(page)


def _overflow(page) -> dict:
    """The page's width against the viewport's, and the innermost elements that stick out on the right."""
    return page.evaluate("""() => {
        const width = innerWidth, out = [];
        for (const e of document.querySelectorAll('body *')) {
            const box = e.getBoundingClientRect();
            if (box.right > width + 1 && box.width > 0
                && !Array.from(e.children).some(k => k.getBoundingClientRect().right > width + 1)) {
                out.push(e.tagName.toLowerCase() + '.' + (e.getAttribute('class') || '') + ' ' + Math.round(box.right));
            }
        }
        return {scroll: document.documentElement.scrollWidth, inner: width, culprits: out.slice(0, 5)};
    }""")


def _built_pages(site: Path) -> list[str]:
    urls = []
    for path in sorted(site.rglob("*.html")):
        relative = path.relative_to(site).as_posix()
        if relative.startswith(("pagefind/", "assets/")):
            continue
        urls.append(relative[: -len("index.html")] if relative.endswith("index.html") else relative)
    return urls


# ---------------------------------------------------------------- no page wider than its screen


def _wider_than_the_screen(browser, viewport, base, named_urls) -> list[str]:
    """Each page (name, URL) that scrolls sideways at the viewport, with its width and the elements that overflow."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    wide = []
    try:
        for name, url in named_urls:
            _open(page, base, url)
            found = _overflow(page)
            if found["scroll"] > found["inner"]:
                wide.append(f"{name}/{url}: {found['scroll']} px {found['culprits']}")
    finally:
        context.close()
    return wide


def test_no_built_page_is_wider_than_a_phone(browser, served_real_site, real_site):
    urls = _built_pages(real_site)
    assert len(urls) > 100
    wide = _wider_than_the_screen(browser, PHONE, served_real_site, [("", url) for url in urls + ["search/"]])
    assert wide == [], "\n".join(wide)


def test_no_page_type_is_wider_than_a_small_phone(browser, served_real_site, page_types):
    wide = _wider_than_the_screen(browser, SMALL_PHONE, served_real_site,
                                  [(f"{name} ", url) for name, url in page_types.items()])
    assert wide == [], "\n".join(wide)


def test_the_width_check_catches_a_page_wider_than_the_screen(browser, tmp_path):
    (tmp_path / "index.html").write_text('<!doctype html><meta name="viewport" content="width=device-width">'
                                         '<table><tr><td style="white-space:nowrap">' + "wide " * 80 + "</td></tr></table>")
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        with served(tmp_path) as base:
            page.goto(f"{base}/")
            found = _overflow(page)
        assert found["scroll"] > found["inner"] and found["culprits"]
    finally:
        context.close()


# ---------------------------------------------------------------- tables in focusable, labelled scroll boxes


class _Tables(HTMLParser):
    """Each table of a page's article with the scroll box around it, if any; and the names of the page's regions."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.tables: list[dict[str, str] | None] = []  # the box of each table, None without one
        self.regions: list[str] = []
        self.in_article = 0

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag in ("img", "br", "input", "meta", "link", "source", "hr", "wbr"):
            return
        if tag == "article":
            self.in_article += 1
        if attrs.get("role") == "region":
            self.regions.append(attrs.get("aria-label", ""))
        if tag == "table" and self.in_article:
            parent = self.stack[-1] if self.stack else None
            box = parent[1] if parent and parent[0] == "div" and "atlas-scroll" in parent[1].get("class", "") else None
            self.tables.append(box)
        self.stack.append((tag, attrs))

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                break
        if tag == "article":
            self.in_article -= 1


def table_problems(html: str, url: str) -> list[str]:
    parser = _Tables()
    parser.feed(html)
    problems = []
    for index, box in enumerate(parser.tables):
        if box is None:
            problems.append(f"/{url}: table {index + 1} is not in a scroll box")
        elif box.get("tabindex") != "0" or box.get("role") != "region" or not box.get("aria-label", "").strip():
            problems.append(f"/{url}: the scroll box of table {index + 1} is not a focusable, labelled region: {box}")
    repeated = {name for name in parser.regions if parser.regions.count(name) > 1}
    if repeated:
        problems.append(f"/{url}: regions share a name: {sorted(repeated)}")
    return problems


def test_every_table_scrolls_in_a_focusable_labelled_box(real_site):
    problems = []
    tables = 0
    for url in _built_pages(real_site):
        html = (real_site / (url + "index.html" if url.endswith("/") or not url else url)).read_text(encoding="utf-8")
        tables += html.count("<table")
        problems += table_problems(html, url)
    assert tables > 100
    assert problems == [], "\n".join(problems[:30])


def test_the_table_check_catches_a_bare_table_an_unnamed_box_and_a_repeated_name():
    bare = "<article><table><tr><td>1</td></tr></table></article>"
    unnamed = '<article><div class="atlas-scroll" tabindex="0" role="region"><table></table></div></article>'
    named = '<div class="atlas-scroll" tabindex="0" role="region" aria-label="Outcomes"><table></table></div>'
    assert "not in a scroll box" in table_problems(bare, "x/")[0]
    assert "not a focusable, labelled region" in table_problems(unnamed, "x/")[0]
    assert table_problems(f"<article>{named}</article>", "x/") == []
    assert "share a name" in table_problems(f"<article>{named}{named}</article>", "x/")[0]


def test_a_table_wider_than_a_phone_scrolls_inside_its_box(browser, served_real_site):
    """The studies index, wider than a phone, scrolls in its box, which takes keyboard focus."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(f"{served_real_site}/studies/", wait_until="load")
        box = page.locator(".atlas-scroll").filter(has=page.locator("table.atlas-studies"))
        assert box.evaluate("b => b.scrollWidth > b.clientWidth")  # the premise: this table is wider than a phone
        box.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("b => b.scrollLeft > 0", arg=box.element_handle(), timeout=5_000)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()


# ---------------------------------------------------------------- charts: legible at every width


def _chart_pages(real_site) -> list[str]:
    """Pages with charts: the ORR chart across studies, and every study and regimen page with a forest plot, a best
    response chart or a swimmer plot (the first of each kind)."""
    urls, kinds = [chart_page_url("orr")], set()
    for folder in ("studies", "regimens"):
        for path in sorted((real_site / folder).glob("*/index.html")):
            html = path.read_text(encoding="utf-8")
            found = set(re.findall(r'<figure class="atlas-chart" id="chart-([a-z-]+)"', html)) - kinds
            if found:
                kinds |= found
                urls.append(f"{folder}/{path.parent.name}/")
    return urls


_SMALLEST_TEXT = """async (view) => {
    // The smallest text of a chart as drawn on screen, in CSS pixels: font size times the drawing's scale.
    const live = view.classList.contains('atlas-chart-ready') ? view.querySelector('.atlas-chart-live svg') : null;
    let svg, scale, holder = null;
    if (live) {
        svg = live;
        scale = live.getBoundingClientRect().width / parseFloat(live.getAttribute('width'));
    } else {
        const img = view.querySelector('img');
        if (!img.complete || !img.naturalWidth) { await img.decode(); }
        scale = img.getBoundingClientRect().width / img.naturalWidth;
        const text = await (await fetch(img.currentSrc)).text();
        holder = document.createElement('div');
        holder.style.cssText = 'position:absolute;left:-10000px;top:0';
        holder.innerHTML = text;
        document.body.appendChild(holder);
        svg = holder.querySelector('svg');
    }
    const sizes = Array.from(svg.querySelectorAll('text')).filter(t => t.textContent.trim())
        .map(t => parseFloat(getComputedStyle(t).fontSize));
    if (holder) { holder.remove(); }
    return {live: !!live, file: live ? null : view.querySelector('img').currentSrc.split('/').pop(),
            scale: scale, smallest: Math.min(...sizes) * scale, texts: sizes.length};
}"""


@pytest.mark.parametrize("viewport", [SMALL_PHONE, PHONE, {"width": NARROW_BELOW, "height": 900}, DESKTOP],
                         ids=lambda v: str(v["width"]))
def test_chart_text_is_at_least_11_css_px(browser, served_real_site, real_site, viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    small, shown = [], []
    try:
        for url in _chart_pages(real_site):
            page.goto(f"{served_real_site}/{url}", wait_until="networkidle")
            for view in page.locator(".atlas-chart-view").all():
                view.scroll_into_view_if_needed()
                if viewport["width"] >= NARROW_BELOW:
                    page.wait_for_function(
                        "v => v.matches('.atlas-chart-ready, .atlas-chart-static-only, .atlas-chart-failed')",
                        arg=view.element_handle(), timeout=30_000)
                found = view.evaluate(_SMALLEST_TEXT)
                shown.append(found)
                if found["smallest"] < FONT_SIZE - 0.01:
                    small.append(f"/{url} {found}")
    finally:
        context.close()
    assert shown and all(f["texts"] > 3 for f in shown)
    # the premise: narrow screens see the narrow drawings, wide ones the live charts
    if viewport["width"] < NARROW_BELOW:
        assert all(not f["live"] and f["file"].endswith("-narrow.svg") for f in shown), shown
    else:
        assert all(f["live"] for f in shown), shown
    assert small == [], "\n".join(small)


def test_static_charts_fit_the_column_they_are_shown_in(real_site):
    """Wide drawings fit the content column from NARROW_BELOW up (measured below), narrow ones a 320 px screen."""
    sizes = {}
    for svg in real_site.rglob("chart-*.svg"):
        head = svg.read_text(encoding="utf-8")[:400]
        sizes[svg] = float(re.search(r'<svg[^>]*?\swidth="([\d.]+)', head).group(1))
    assert len(sizes) > 20
    wide = {p: w for p, w in sizes.items() if w > (NARROW_WIDTH if p.stem.endswith("-narrow") else WIDE_MAX_WIDTH)}
    assert wide == {}


@pytest.mark.parametrize("width", [NARROW_BELOW, 960, 1219, 1220, 1280, 1920])
def test_the_content_column_holds_a_wide_chart_from_the_narrow_width_up(browser, served_real_site, real_site, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        for url in _chart_pages(real_site)[:2]:
            page.goto(f"{served_real_site}/{url}", wait_until="load")
            column = page.locator(".atlas-chart-view").first.evaluate("v => v.clientWidth")
            assert column >= WIDE_MAX_WIDTH, (url, column)
    finally:
        context.close()


# ---------------------------------------------------------------- the Vega bundle only near a chart


def _requested(watch) -> bool:
    return any(BUNDLE in url for url in watch.requests)


def test_the_vega_bundle_waits_until_a_chart_is_near(browser, served_real_site, real_site):
    from conftest import PageWatch

    pages = [url for url in _chart_pages(real_site) if url.startswith("studies/")]
    checked = 0
    for url in pages:
        watch = PageWatch(browser)
        try:
            page = watch.page
            page.set_viewport_size(DESKTOP)
            page.goto(f"{served_real_site}/{url}", wait_until="networkidle")
            first = page.locator(".atlas-chart-view").first
            if first.evaluate("v => v.getBoundingClientRect().top") < DESKTOP["height"] + 800:
                continue  # its chart is near the top: the bundle may load at once
            page.wait_for_timeout(500)
            assert not _requested(watch), url
            first.scroll_into_view_if_needed()
            page.wait_for_selector(".atlas-chart-view.atlas-chart-ready", timeout=30_000)
            assert _requested(watch)
            assert page.locator(".vega-embed details, .vega-actions").count() == 0  # no export menu
            watch.assert_clean()
            checked += 1
        finally:
            watch.close()
    assert checked >= 1


def test_on_a_phone_the_vega_bundle_is_never_loaded(browser, served_real_site, real_site):
    from conftest import PageWatch

    watch = PageWatch(browser)
    try:
        page = watch.page
        page.set_viewport_size(PHONE)
        page.goto(f"{served_real_site}/{chart_page_url('orr')}", wait_until="networkidle")
        page.locator(".atlas-chart-view").first.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        assert not _requested(watch)
        assert page.locator("img.atlas-chart-static").first.evaluate("i => i.currentSrc").endswith("-narrow.svg")
        watch.assert_clean()
    finally:
        watch.close()


def test_a_chart_page_loads_the_bundle_only_after_its_own_load(browser, served_real_site):
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(f"{served_real_site}/{chart_page_url('orr')}", wait_until="networkidle")
        page.wait_for_selector(".atlas-chart-view.atlas-chart-ready", timeout=30_000)
        timing = page.evaluate(f"""() => ({{
            load: performance.getEntriesByType('navigation')[0].loadEventStart,
            bundle: performance.getEntriesByType('resource').filter(r => r.name.endsWith('{BUNDLE}'))
                .map(r => r.startTime)}})""")
        assert len(timing["bundle"]) == 1 and timing["bundle"][0] >= timing["load"]
    finally:
        context.close()


def test_a_chart_page_weighs_less_than_its_budget_before_the_live_charts(browser, served_real_site, real_site):
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        for url in _chart_pages(real_site)[:2]:
            weight = page_weight(page, real_site, served_real_site, url)
            assert 20 < weight["load_kib"] < CHART_PAGE_BUDGET_KB, weight
            # the bundle (about 300 KB compressed) is never part of it
            assert weight["js_kib"] < 100, weight
        assert weight["after_load_kib"] > 100 or url != chart_page_url("orr")
    finally:
        context.close()


# ---------------------------------------------------------------- chart labels: unique, never cut


def chart_label_problems(charts) -> list[str]:
    """Labels that two rows of one chart (one panel of it) share, and labels cut short."""
    problems = []
    for url, page_charts in charts.items():
        for chart in page_charts:
            if chart.forest is not None:
                keys = [((row.partner if chart.panels else ""), row.label) for row in chart.forest]
            else:
                # a Vega chart's rows are its first column's links (cohorts, patients)
                keys = list(dict.fromkeys((str(row[0]), getattr(row[0], "href", "")) for row in chart.rows))
                keys = [("", text) for text, _ in keys]
            repeated = {key for key in keys if keys.count(key) > 1}
            if repeated:
                problems.append(f"{url}{chart.name}: rows share a label: {sorted(repeated)}")
            for _, label in keys:
                if "…" in label or " ".join(label_lines(label)) != " ".join(label.split()):
                    problems.append(f"{url}{chart.name}: {label!r} is cut")
    return problems


def test_chart_labels_are_unique_per_chart_and_never_cut(real):
    charts = site_charts(real)
    labels = [row.label for page in charts.values() for chart in page for row in chart.forest or ()]
    assert any(len(label) > LABEL_LINE_CHARACTERS for label in labels)  # the premise: some labels need two lines
    assert chart_label_problems(charts) == []
    assert chart_label_problems(site_charts(validate_tree(VALID))) == []


def test_the_label_check_catches_a_repeated_and_a_cut_label(real):
    charts = site_charts(real)
    url, page_charts = next((u, c) for u, c in charts.items() if c[0].forest and len(c[0].forest) > 2)
    chart = page_charts[0]
    first, second = chart.forest[0], chart.forest[1]
    saved = (second.label, second.partner)
    try:
        second.label, second.partner = first.label, first.partner
        assert "share a label" in chart_label_problems({url: [chart]})[0]
        second.label = first.label[:20] + "…"
        assert "is cut" in chart_label_problems({url: [chart]})[-1]
    finally:
        second.label, second.partner = saved


def test_label_lines_break_at_spaces_and_keep_every_word():
    label = "Dara + previously failed IMiD, Athens letter: All six patients, daratumumab (unchanged) (n=6)"
    lines = label_lines(label)
    assert len(lines) > 1 and all(len(line) <= LABEL_LINE_CHARACTERS for line in lines)
    assert " ".join(lines) == label
    assert label_lines("short") == ["short"]
    assert label_lines("x" * 60 + " y") == ["x" * 60, "y"]  # a longer word keeps a line of its own, uncut


def test_the_live_chart_breaks_labels_where_the_static_ones_do(browser, served_real_site, real_site):
    """The Vega expression and label_lines() agree: every multi-line axis label of the live chart is label_lines() of
    a row label, and none is cut with an ellipsis."""
    import json

    spec = json.loads((real_site / chart_page_url("orr") / "chart-orr.vl.json").read_text())
    labels = [label for unit in spec["vconcat"] for label in unit["layer"][0]["encoding"]["y"]["scale"]["domain"]]
    expected = {tuple(label_lines(label)) for label in labels}
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(f"{served_real_site}/{chart_page_url('orr')}", wait_until="networkidle")
        page.wait_for_selector(".atlas-chart-view.atlas-chart-ready", timeout=30_000)
        drawn = page.evaluate("""() => Array.from(document.querySelectorAll(
            '.atlas-chart-live svg .role-axis-label text')).map(t => {
                const spans = t.querySelectorAll('tspan');
                return spans.length ? Array.from(spans).map(s => s.textContent) : [t.textContent];
            })""")
    finally:
        context.close()
    rows = [tuple(lines) for lines in drawn if not re.fullmatch(r"[\d.]+", lines[0])]
    assert len(rows) == len(labels) and any(len(lines) > 1 for lines in rows)
    assert set(rows) == expected
    assert not any("…" in line for lines in rows for line in lines)


# ---------------------------------------------------------------- screenshots


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_screenshots_of_every_page_type(browser, served_real_site, page_types, viewport):
    """Full-page screenshots in build/screenshots/ (not committed), charts drawn, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        for name, url in page_types.items():
            _open(page, served_real_site, url)
            height = page.evaluate("document.documentElement.scrollHeight")
            for top in range(0, height, viewport["height"]):  # bring every lazy image and chart near
                page.evaluate(f"window.scrollTo(0, {top})")
                page.wait_for_timeout(30)
            for view in page.locator(".atlas-chart-view").all():
                view.scroll_into_view_if_needed()
                if viewport["width"] >= NARROW_BELOW:
                    page.wait_for_function(
                        "v => v.matches('.atlas-chart-ready, .atlas-chart-static-only, .atlas-chart-failed')",
                        arg=view.element_handle(), timeout=30_000)
            page.wait_for_load_state("networkidle")
            page.evaluate("window.scrollTo(0, 0)")
            path = SCREENSHOTS / f"{name}-{viewport['width']}.png"
            page.screenshot(path=str(path), full_page=True)
            assert path.stat().st_size > 10_000
    finally:
        context.close()
