"""The Content-Security-Policy: built into every page and the headers file, allowing only the theme's own inline
scripts by hash; every page type runs under it in Chromium with no violation, live charts and search included; an
inline script and a handler planted in a built page are refused."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from build_scripts.publish import csp
from conftest import PAGE_TYPES, SEARCH_QUERY, WIDTHS

# Chromium reports a refusal on the console and as a securitypolicyviolation event; the page records the events.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", e => window.__violations.push(
  `${e.violatedDirective} refused ${e.blockedURI || "inline"} ${e.sample}`.trim()));
"""
CSP_CONSOLE = re.compile(r"Content.Security.Policy|unsafe-eval|unsafe-inline", re.IGNORECASE)
LIVE_CHARTS_SETTLED = """() => [...document.querySelectorAll(".atlas-chart-view[data-spec]")].every(v =>
  ["atlas-chart-ready", "atlas-chart-failed", "atlas-chart-static-only"].some(c => v.classList.contains(c)))"""


# ------------------------------------------------------------------ the policy itself

def test_a_script_hash_is_the_one_browsers_compute():
    # The example of the CSP Level 3 specification and MDN: this script and this hash.
    assert csp.script_hash("alert('Hello, world.');") == "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"


def test_only_inline_scripts_a_browser_runs_are_hashed():
    html = ('<script>one()</script><script src="a.js"></script><script type="application/json">{"a": 1}</script>'
            '<script type="application/ld+json">{}</script><script type="module">two()</script>'
            '<SCRIPT TYPE="text/javascript">three()</SCRIPT><p onclick="four()">x</p>')
    assert csp.inline_scripts(html) == ["one()", "two()", "three()"]


def test_the_policy_allows_the_trusted_scripts_by_hash_and_nothing_unsafe():
    text = csp.policy("<script>trusted()</script><script>also()</script>")
    policy = csp.parse(text)
    assert sorted(policy["script-src"]) == sorted(["'self'", csp.script_hash("trusted()"), csp.script_hash("also()"),
                                                   "'wasm-unsafe-eval'"])
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["script-src-attr"] == ["'none'"]
    assert all("'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources for sources in policy.values())
    assert "frame-ancestors" not in policy  # browsers ignore it in a <meta> policy, and warn
    assert csp.parse(csp.policy("<script>trusted()</script>", header=True))["frame-ancestors"] == ["'none'"]


# ------------------------------------------------------------------ in the built site

class _Head(HTMLParser):
    """The CSP <meta> of a page, the tags before it, its inline scripts' positions and any handler attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.policies: list[str] = []
        self.before_policy: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        values = dict(attrs)
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "content-security-policy":
            self.policies.append(values.get("content") or "")
        elif not self.policies and tag not in ("html", "head"):
            self.before_policy.append(tag)
        self.handlers += [f"<{tag} {name}>" for name, _ in attrs if name.lower().startswith("on")]


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


@pytest.mark.parametrize("which", ["real_site", "fixture_site"])
def test_every_page_carries_one_policy_first_that_allows_each_of_its_inline_scripts(which, request):
    site = request.getfixturevalue(which)
    policies = set()
    for path in _pages(site):
        html = path.read_text(encoding="utf-8")
        head = _Head()
        head.feed(html)
        where = path.relative_to(site)
        assert len(head.policies) == 1, f"{where}: {len(head.policies)} CSP meta tags"
        assert head.before_policy == ["meta"], f"{where}: {head.before_policy} before the policy (only the charset)"
        assert head.handlers == [], f"{where}: {head.handlers}"
        allowed = csp.parse(head.policies[0])["script-src"]
        for script in csp.inline_scripts(html):
            assert csp.script_hash(script) in allowed, f"{where}: an inline script the policy refuses: {script[:80]}"
        policies.add(head.policies[0])
    assert len(policies) == 1, "pages differ in their policy, so one headers file cannot fit them all"
    (meta,) = policies
    headers = (site / "_headers").read_text(encoding="utf-8")
    (line,) = [line for line in headers.splitlines() if line.strip().startswith("Content-Security-Policy:")]
    header = line.split(":", 1)[1].strip()
    assert csp.parse(header) == {**csp.parse(meta), "frame-ancestors": ["'none'"]}
    assert headers.startswith("/*\n")
    assert "'sha256-" in meta, "Material's inline scripts are allowed by hash, not by 'unsafe-inline'"


def test_pages_style_nothing_inline(real_site):
    # style-src has no 'unsafe-inline': a style attribute or <style> element would be refused.
    for path in _pages(real_site):
        html = path.read_text(encoding="utf-8")
        assert not re.search(r"<style[\s>]|\sstyle\s*=", html, re.IGNORECASE), path.relative_to(real_site)


# ------------------------------------------------------------------ in Chromium

@pytest.fixture(scope="module")
def policed(browser):
    """One browser page per width that records policy violations and the console's CSP messages."""
    opened = {}

    def page_at(width: str):
        if width not in opened:
            w, h = WIDTHS[width]
            context = browser.new_context(viewport={"width": w, "height": h})
            context.add_init_script(RECORD_VIOLATIONS)
            page = context.new_page()
            messages: list[str] = []
            page.on("console", lambda m: messages.append(m.text) if CSP_CONSOLE.search(m.text) else None)
            opened[width] = (context, page, messages)
        return opened[width][1], opened[width][2]

    yield page_at
    for context, _, _ in opened.values():
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_type_runs_under_the_policy_with_no_violation(served_real_site, policed, width):
    page, messages = policed(width)
    problems = []
    live_charts = results = 0
    for name, path in {**PAGE_TYPES, "page not found": "404.html"}.items():
        messages.clear()
        page.goto(f"{served_real_site}/{path}")
        page.wait_for_load_state("load")
        views = page.locator(".atlas-chart-view[data-spec]")
        for index in range(views.count()):
            views.nth(index).scroll_into_view_if_needed()
        if width == "desktop" and views.count():
            page.wait_for_function(LIVE_CHARTS_SETTLED, timeout=20_000)
            live_charts += page.locator(".atlas-chart-ready").count()
            assert page.locator(".atlas-chart-failed").count() == 0, f"a live chart failed on {name}"
        if name.startswith("search"):
            page.locator(".atlas-search-input").fill(SEARCH_QUERY)
            page.wait_for_selector(".atlas-search-result-link", timeout=10_000)
            results += page.locator(".atlas-search-result-link").count()
        if page.locator(".atlas-access-date").count():
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", page.locator(".atlas-access-date").first.inner_text()), name
        page.wait_for_load_state("networkidle")
        violations = page.evaluate("window.__violations")
        if violations or messages:
            problems.append(f"{name} (/{path}): {violations} {messages}")
    assert problems == [], "\n".join(problems)
    assert results > 0, "search found nothing under the policy"
    if width == "desktop":
        assert live_charts > 0, "no live chart was drawn under the policy"


def test_a_live_chart_shows_its_tooltip_under_the_policy(served_real_site, policed):
    page, messages = policed("desktop")
    page.goto(f"{served_real_site}/{PAGE_TYPES['chart']}")
    view = page.locator(".atlas-chart-view[data-spec]").first
    view.scroll_into_view_if_needed()
    page.wait_for_selector(".atlas-chart-ready .atlas-chart-live svg", timeout=20_000)
    mark = page.locator(".atlas-chart-live svg g.mark-symbol.role-mark path").first
    mark.hover(force=True)
    tooltip = page.locator("#vg-tooltip-element.visible")
    tooltip.wait_for(timeout=5_000)
    # Its style is the site's own (atlas.css), since vega-tooltip's inline <style> is not allowed.
    assert tooltip.evaluate("e => getComputedStyle(e).position") == "fixed"
    assert page.evaluate("window.__violations") == [] and messages == []


PLANTED = ('<script>window.__planted = "inline script ran"</script>'
           '<img src="planted-missing.png" alt="" onerror="window.__handler = &quot;handler ran&quot;">'
           '<a id="planted-link" href="#" onclick="window.__click = &quot;click ran&quot;; return false">x</a>'
           '<style>body { display: none }</style>')


def test_an_inline_script_and_handlers_planted_in_a_built_page_are_refused(real_site, served_real_site, policed):
    page, _ = policed("desktop")
    study = PAGE_TYPES["trial"]
    html = (real_site / study / "index.html").read_text(encoding="utf-8")
    planted = html.replace('<div class="md-content"', PLANTED + '<div class="md-content"', 1)
    assert planted != html
    url = f"{served_real_site}/{study}planted.html"
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=planted))
    try:
        page.goto(url)
        page.wait_for_load_state("load")
        page.locator("#planted-link").click()
        ran = page.evaluate("[window.__planted, window.__handler, window.__click]")
        violations = page.evaluate("window.__violations")
        # The page's own scripts still ran: Material's (it marks <html> as having JavaScript) and the site's.
        own = page.evaluate("document.documentElement.classList.contains('js')")
        access_date = page.locator(".atlas-access-date").first.inner_text()
        hidden_by_planted_style = page.evaluate("getComputedStyle(document.body).display === 'none'")
    finally:
        page.unroute(url)
    assert ran == [None, None, None]
    assert any(v.startswith("script-src-elem") for v in violations), violations
    assert sum(v.startswith("script-src-attr") for v in violations) >= 2, violations
    assert any(v.startswith("style-src-elem") for v in violations), violations
    assert not hidden_by_planted_style
    assert own and re.fullmatch(r"\d{4}-\d{2}-\d{2}", access_date)
