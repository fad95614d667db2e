"""Accessibility of the built site: axe-core finds nothing on any kind of page at desktop and phone widths, every
keyboard focus stop of a study page can be seen and wears a ring, and "Cite this page" and its downloads are among
the first Tab stops. The browser tests share one Chromium and one page per width, to stay within about two minutes."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from axe_playwright_python.sync_playwright import Axe

from browser_waits import charts_drawn, still
from conftest import PAGE_TYPES as PAGES
from conftest import SEARCH_QUERY, WIDTHS


# No axe rule is disabled. A rule turned off here must say why it does not apply to this site.
AXE_OPTIONS = {"resultTypes": ["violations"]}

STUDY = "studies/frerichs-2021-dara-atra/"
FIRST_STOPS = 15

_axe = Axe()


@pytest.fixture(scope="module")
def tab(browser):
    """One browser page per width, opened on first use and shared by this module's tests."""
    opened = {}

    def page_at(width: str):
        if width not in opened:
            w, h = WIDTHS[width]
            context = browser.new_context(viewport={"width": w, "height": h})
            opened[width] = (context, context.new_page())
        return opened[width][1]

    yield page_at
    for context, _ in opened.values():
        context.close()


def _search(page) -> None:
    """Type a query into the search page and wait for its results."""
    page.locator(".atlas-search-input").fill(SEARCH_QUERY)
    page.wait_for_selector(".atlas-search-result-link", timeout=10_000)
    page.wait_for_load_state("networkidle")


DUPLICATE_IDS = """() => {
  const counts = new Map();
  for (const element of document.querySelectorAll("[id]")) counts.set(element.id, (counts.get(element.id) || 0) + 1);
  return [...counts].filter(([, n]) => n > 1).map(([id, n]) => `#${id} (${n} times)`);
}"""


def _report(name: str, width: str, path: str, violations: list[dict], duplicates: list[str]) -> str:
    lines = [f"{name} page /{path} at {width} width {WIDTHS[width]}:"]
    for v in violations:
        targets = "; ".join(" ".join(node["target"]) for node in v["nodes"][:8])
        more = f" and {len(v['nodes']) - 8} more" if len(v["nodes"]) > 8 else ""
        lines.append(f"  {v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']}: {targets}{more}")
        checks = v["nodes"][0]["any"] + v["nodes"][0]["all"] + v["nodes"][0]["none"]
        lines += [f"    first: {check['message']}" for check in checks[:2]]
    if duplicates:
        lines.append(f"  duplicate ids: {', '.join(duplicates)}")
    return "\n".join(lines)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_axe_finds_no_violation(served_real_site, tab, name, width):
    page = tab(width)
    path = PAGES[name]
    response = page.goto(f"{served_real_site}/{path}", wait_until="load")
    assert response is not None and response.ok, f"/{path} did not load"
    if name == "search with results":
        _search(page)
    charts_drawn(page)
    # What a reader can open is checked open: the data table under each chart, filters, notes.
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    still(page)
    violations = _axe.run(page, options=AXE_OPTIONS).response["violations"]
    # axe 4.12 no longer checks ids for uniqueness except where ARIA refers to them; a link to a fragment does too.
    duplicates = page.evaluate(DUPLICATE_IDS)
    assert not violations and not duplicates, _report(name, width, path, violations, duplicates)


# What the keyboard has focused, once it has had up to a second to show (Material's skip links fade in): whether it
# can be seen (a box, not hidden, not transparent, at least partly inside the window) and its outline.
FOCUSED = """async () => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) return null;
  const deadline = performance.now() + 1000;
  for (;;) {
    const r = e.getBoundingClientRect();
    const s = getComputedStyle(e);
    const visible = r.width > 0 && r.height > 0
      && e.checkVisibility({opacityProperty: true, visibilityProperty: true})
      && r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight;
    if (visible || performance.now() > deadline) {
      const text = (e.getAttribute("aria-label") || e.textContent || "").replace(/\\s+/g, " ").trim().slice(0, 50);
      return {
        visible, href: e.getAttribute("href"),
        what: `<${e.tagName.toLowerCase()}${e.id ? " id=" + e.id : ""} class="${e.getAttribute("class") || ""}"> ${text}`,
        box: [r.left, r.top, r.width, r.height].map(Math.round),
        outline: {style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor},
      };
    }
    await new Promise(requestAnimationFrame);
  }
}"""


def _tab(page) -> dict | None:
    """Press Tab; what has the focus then (None once focus has left the page)."""
    page.keyboard.press("Tab")
    return page.evaluate(FOCUSED)


def _stop_problems(stop: dict) -> list[str]:
    problems = []
    if not stop["visible"]:
        problems.append(f"cannot be seen (box {stop['box']})")
    outline = stop["outline"]
    if outline["style"] in ("none", "hidden") or outline["width"] < 2 or outline["color"] in ("transparent", "rgba(0, 0, 0, 0)"):
        problems.append(f"has no focus ring of at least 2 px ({outline})")
    return problems


def _open(page, base: str, path: str) -> None:
    page.goto(f"{base}/{path}", wait_until="load")
    page.evaluate("document.activeElement && document.activeElement.blur()")


@pytest.mark.parametrize("width", WIDTHS)
def test_cite_this_page_and_its_downloads_are_within_the_first_tab_stops(served_real_site, tab, width):
    page = tab(width)
    _open(page, served_real_site, STUDY)
    stops = [_tab(page) for _ in range(FIRST_STOPS)]
    hrefs = [stop["href"] if stop else None for stop in stops]
    assert "#cite-this-page" in hrefs, hrefs
    assert "#cite-downloads" in hrefs, hrefs
    for stop in stops:
        assert stop is not None and not _stop_problems(stop), stop

    # Following the link puts the next Tab on the first download, and the heading it leads to is the section's.
    _open(page, served_real_site, STUDY)
    for _ in range(hrefs.index("#cite-downloads") + 1):
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "cite.bib"
    assert page.locator("h2#cite-this-page").inner_text().startswith("Cite this page")


@pytest.mark.parametrize("width", WIDTHS)
def test_every_tab_stop_of_a_study_page_can_be_seen_and_wears_a_ring(served_real_site, tab, width):
    page = tab(width)
    _open(page, served_real_site, STUDY)
    charts_drawn(page)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    stops, problems = 0, []
    first = None
    for _ in range(1000):
        stop = _tab(page)
        if stop is None:
            break  # past the last stop, focus leaves the page
        if first is None:
            first = stop["what"]
        elif stop["what"] == first and stops > 1:
            break  # back at the start
        stops += 1
        problems += [f"Tab {stops}: {stop['what']} {p}" for p in _stop_problems(stop)]
    else:
        pytest.fail("focus never left the page after 1000 Tab presses")
    assert stops > 50, f"only {stops} Tab stops on {STUDY}"
    assert not problems, f"{len(problems)} of {stops} Tab stops at {width} width:\n" + "\n".join(problems[:40])


def test_the_menu_opens_and_closes_from_the_keyboard_on_a_phone(served_real_site, tab):
    page = tab("phone")
    _open(page, served_real_site, STUDY)
    drawer_links = page.locator(".md-sidebar--primary a[href]")
    assert not drawer_links.first.is_visible(), "the closed menu's links are visible"
    for _ in range(10):
        stop = _tab(page)
        if stop and stop["what"].startswith("<button") and "Menu" in stop["what"]:
            break
    else:
        pytest.fail("no menu button among the first 10 Tab stops")
    assert page.evaluate("document.activeElement.getAttribute('aria-expanded')") == "false"
    page.keyboard.press("Enter")
    opened = _tab_state(page)
    assert opened["open"] and opened["inDrawer"] and opened["visible"], opened
    page.keyboard.press("Escape")
    closed = _tab_state(page)
    assert not closed["open"] and closed["onButton"] and closed["expanded"] == "false", closed
    assert not drawer_links.first.is_visible()


def _tab_state(page) -> dict:
    page.wait_for_timeout(300)  # the drawer slides in and out
    return page.evaluate("""() => {
      const e = document.activeElement, button = document.querySelector(".atlas-drawer-button");
      return {open: document.getElementById("__drawer").checked,
              inDrawer: !!e.closest(".md-sidebar--primary"), visible: e.checkVisibility({visibilityProperty: true}),
              onButton: e === button, expanded: button.getAttribute("aria-expanded")};
    }""")


# Built HTML, every page: checks that need no browser.

class _Elements(HTMLParser):
    """The start tags of a page with their attributes, and the text of each table caption."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.captions: list[tuple[str, str]] = []  # (table class, caption text)
        self._table: list[str] = []
        self._caption: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "table":
            self._table.append(attributes.get("class") or "")
        elif tag == "caption":
            self._caption = []

    def handle_endtag(self, tag):
        if tag == "table" and self._table:
            self._table.pop()
        elif tag == "caption" and self._caption is not None:
            self.captions.append((self._table[-1] if self._table else "", " ".join("".join(self._caption).split())))
            self._caption = None

    def handle_data(self, data):
        if self._caption is not None:
            self._caption.append(data)


def _built_pages(site):
    for path in sorted(site.rglob("*.html")):
        parsed = _Elements()
        parsed.feed(path.read_text(encoding="utf-8"))
        yield path.relative_to(site).as_posix(), parsed


def test_no_built_page_repeats_an_id(real_site):
    repeated = {}
    for name, parsed in _built_pages(real_site):
        ids = [attributes["id"] for _, attributes in parsed.tags if attributes.get("id")]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            repeated[name] = twice
    assert not repeated, repeated


def test_every_scroll_box_is_a_named_region_a_keyboard_can_reach(real_site):
    boxes, problems = 0, []
    for name, parsed in _built_pages(real_site):
        for tag, attributes in parsed.tags:
            if "atlas-scroll" in (attributes.get("class") or "").split():
                boxes += 1
                if attributes.get("tabindex") != "0" or attributes.get("role") != "region" \
                        or not (attributes.get("aria-label") or "").strip():
                    problems.append(f"{name}: <{tag} {attributes}>")
    assert boxes > 20
    assert not problems, "\n".join(problems[:20])


COHORT_TABLES = ("atlas-outcomes", "atlas-population", "atlas-best-response", "atlas-adverse-events",
                 "atlas-patients", "atlas-lines")


def test_every_cohort_table_has_a_caption_naming_what_and_whose(real_site):
    checked, problems = 0, []
    for name, parsed in _built_pages(real_site):
        if not name.startswith("studies/") or name == "studies/index.html":
            continue
        tables = [attributes.get("class") or "" for tag, attributes in parsed.tags if tag == "table"]
        cohort_tables = [c for c in tables if c in COHORT_TABLES]
        captions = [(c, text) for c, text in parsed.captions if c in COHORT_TABLES]
        checked += len(cohort_tables)
        if len(captions) != len(cohort_tables) or any(not text for _, text in captions):
            problems.append(f"{name}: {len(cohort_tables)} cohort tables, captions {captions}")
        texts = [text for _, text in captions]
        problems += [f"{name}: caption {t!r} names no one table" for t in sorted(set(texts)) if texts.count(t) > 1]
    assert checked > 50
    assert not problems, "\n".join(problems[:20])


def test_outcome_captions_name_the_cohort(real_site):
    html = (real_site / "studies" / "lynx" / "index.html").read_text(encoding="utf-8")
    captions = re.findall(r'<table class="atlas-outcomes">\s*<caption>([^<]*)</caption>', html)
    assert len(captions) == 2 and all(c.startswith("Outcomes: ") for c in captions), captions
    assert len(set(captions)) == 2
