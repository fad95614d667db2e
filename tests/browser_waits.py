"""Waits the browser tests share: until every chart of a page is settled, and until transitions end."""

from __future__ import annotations

# A chart is settled when its live view is drawn, or will not be: it failed, it would not fit (static-only), or the
# screen is narrower than its data-narrow media query, where the static SVG drawn for narrow screens stays.
CHARTS_SETTLED = """() => [...document.querySelectorAll(".atlas-chart-view[data-spec]")].every(v =>
  ["atlas-chart-ready", "atlas-chart-failed", "atlas-chart-static-only"].some(c => v.classList.contains(c))
  || (v.dataset.narrow && matchMedia(v.dataset.narrow).matches))"""


def charts_drawn(page) -> None:
    """Bring each chart into view (a live chart may load only then) and wait until every one is settled."""
    views = page.locator(".atlas-chart-view[data-spec]")
    for index in range(views.count()):
        views.nth(index).scroll_into_view_if_needed()
    page.wait_for_function(CHARTS_SETTLED, timeout=20_000)
    assert page.locator(".atlas-chart-failed").count() == 0, f"a chart failed to draw on {page.url}"
    page.evaluate("window.scrollTo(0, 0)")
    still(page)


def still(page) -> None:
    """Wait for transitions to end: Material fades the top tabs out while the page is scrolled down and back in at
    the top, vega-embed fades its export menu in, and axe measures colour contrast through the opacity of the moment."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.wait_for_function(
        "() => document.getAnimations().every(a => a.playState !== 'running'"
        " || a.effect.getComputedTiming().iterations === Infinity)", timeout=5_000)
