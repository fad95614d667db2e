"""The Explore page in Chromium, for the benchmark (issue 24): how long until it is ready, and how long a recompute
takes after a facet changes, each measured inside the page with performance.now()."""

from __future__ import annotations

import gzip
import json
import statistics
from pathlib import Path

from .localsite import CHROMIUM, launch_chromium, served

EXPLORE_URL = "explore/"
EXPLORE_DATA = "data/explore.json"
# Loads of the page timed; the median is reported, the first load (a cold cache) included.
LOADS = 3
# Facet changes timed on one loaded page: each value of the prior-status facet and back to "any", in turn.
CHANGES = 9

# Each change as a reader makes it (the select's value, then its change event), timed from before the change to after
# the layout it causes (reading offsetHeight forces it), so that the figure includes drawing, not only the pooling.
RECOMPUTE = """(changes) => {
  const select = document.querySelector("#explore-form [name='prior_status']");
  const values = [...select.options].map(o => o.value);
  const order = values.slice(1).flatMap(v => [v, ""]);
  const times = [];
  for (let i = 0; i < changes; i += 1) {
    const started = performance.now();
    select.value = order[i % order.length];
    select.dispatchEvent(new Event("change", {bubbles: true}));
    void document.body.offsetHeight;
    times.push(performance.now() - started);
  }
  return times;
}"""


def explore_timings(site: Path) -> dict[str, float]:
    """Milliseconds until the Explore page is ready (its rows loaded and its first result painted: the data-ready
    attribute the page sets on #explore-table, in ms since navigation began), median of LOADS loads; the median and
    largest recompute after a facet change; the rows and the data file's size. {} without Chromium or the page."""
    if not Path(CHROMIUM).exists() or not (site / EXPLORE_URL / "index.html").exists():
        return {}
    from playwright.sync_api import sync_playwright

    data = (site / EXPLORE_DATA).read_bytes()
    with served(site) as base, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        ready = []
        for _ in range(LOADS):
            page.goto(f"{base}/{EXPLORE_URL}", wait_until="load")
            page.wait_for_selector("#explore-table[data-ready]", state="attached", timeout=120_000)
            ready.append(float(page.get_attribute("#explore-table", "data-ready")))
        times = page.evaluate(RECOMPUTE, CHANGES)
        browser.close()
    return {"rows": len(json.loads(data)["rows"]), "ready_ms": round(statistics.median(ready), 1), "ready_first_ms": round(ready[0], 1),
            "recompute_median_ms": round(statistics.median(times), 1), "recompute_max_ms": round(max(times), 1),
            "data_kib": round(len(data) / 1024, 1),
            "data_gzip_kib": round(len(gzip.compress(data, compresslevel=9, mtime=0)) / 1024, 1)}


def explore_line(timings: dict[str, float]) -> str | None:
    """The benchmark's line about the Explore page, or None when it was not measured."""
    if not timings:
        return None
    return (f"  explore page ({timings['rows']:,} cohorts; data {timings['data_kib']} KiB, "
            f"{timings['data_gzip_kib']} KiB gzipped): ready in {timings['ready_ms']:.0f} ms (median of {LOADS} loads; "
            f"first {timings['ready_first_ms']:.0f} ms), recompute after a facet change "
            f"{timings['recompute_median_ms']:.0f} ms (median of {CHANGES}; largest {timings['recompute_max_ms']:.0f} ms)")
