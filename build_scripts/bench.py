"""Benchmark the build on synthetic evidence at several sizes, against plain mkdocs-material on as many pages."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .localsite import CHROMIUM, launch_chromium, served
from .synthetic import generate

ROOT = Path(__file__).resolve().parent.parent
PLAIN_MKDOCS_YML = """site_name: Plain floor
theme:
  name: material
  font: false
nav:
  - Home: index.md
"""


@dataclass
class Run:
    """One timed build: wall time, the build's own step times, peak memory of its largest process."""

    seconds: float
    peak_rss_mib: float
    steps: dict[str, float] = field(default_factory=dict)


@dataclass
class Result:
    studies: int
    records: int
    pages: int
    clean: Run
    warm: Run
    edit_one: Run
    floor: Run
    site_mib: float
    largest_page_kib: float
    median_page_kib: float
    largest_study_page_kib: float
    search_kib_before_first_result: float | None
    studies_index: dict[str, float] = field(default_factory=dict)
    chart_pages: list[dict[str, Any]] = field(default_factory=list)

    def ratios(self) -> dict[str, float]:
        return {"clean_vs_floor": self.clean.seconds / self.floor.seconds,
                "warm_vs_floor": self.warm.seconds / self.floor.seconds,
                "edit_vs_clean": self.edit_one.seconds / self.clean.seconds}


def timed(command: list[str], cwd: Path, report: Path | None = None) -> Run:
    """Run a command, timing it and reading the peak RSS of its largest process from wait4."""
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True)
        # wait4 gives this child's own usage, which includes the children it waited for (mkdocs, pagefind).
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        peak = usage.ru_maxrss / 1024
        if os.waitstatus_to_exitcode(status) != 0:
            log.seek(0)
            raise RuntimeError(f"{' '.join(command)} failed:\n{log.read()}")
    steps = json.loads(report.read_text())["steps"] if report and report.exists() else {}
    return Run(round(seconds, 2), round(peak, 1), {k: round(v, 2) for k, v in steps.items()})


def site_metrics(site: Path) -> dict[str, float]:
    pages = [p for p in site.rglob("*.html")]
    sizes = [p.stat().st_size for p in pages]
    study_sizes = [p.stat().st_size for p in (site / "studies").glob("*/index.html")]
    total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    return {"site_mib": round(total / 2**20, 1), "largest_page_kib": round(max(sizes) / 1024, 1),
            "median_page_kib": round(statistics.median(sizes) / 1024, 1),
            "largest_study_page_kib": round(max(study_sizes) / 1024, 1) if study_sizes else 0.0}


# What the studies index page loads of its own: the page, the rows for its script, the script.
STUDIES_INDEX_FILES = {"html": "studies/index.html", "data": "data/studies-index.json", "script": "assets/atlas-index.js"}


def studies_index_weight(site: Path) -> dict[str, float]:
    """KiB of the studies index's own files, as stored and gzip-compressed (as a static host would send them)."""
    weight: dict[str, float] = {}
    for name, path in STUDIES_INDEX_FILES.items():
        data = (site / path).read_bytes()
        weight[f"{name}_kib"] = round(len(data) / 1024, 1)
        weight[f"{name}_gzip_kib"] = round(len(gzip.compress(data, compresslevel=9, mtime=0)) / 1024, 1)
    for suffix in ("kib", "gzip_kib"):
        weight[f"total_{suffix}"] = round(sum(weight[f"{name}_{suffix}"] for name in STUDIES_INDEX_FILES), 1)
    return weight


def search_transfer(site: Path, query: str = "retreatment") -> float | None:
    """KiB of search code and index (Pagefind's files, the result list's script) the browser loads before the first
    result shows; None without Chromium."""
    if not Path(CHROMIUM).exists():
        return None
    from playwright.sync_api import sync_playwright

    with served(site) as base, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        loaded: dict[str, int] = {}
        page.on("response", lambda r: loaded.__setitem__(r.url, len(r.body()))
                if r.ok and ("/pagefind/" in r.url or r.url.endswith("/atlas-search.js")) else None)
        page.goto(f"{base}/search/", wait_until="networkidle")
        page.locator(".atlas-search-input").fill(query)
        page.wait_for_selector(".atlas-search-result-link", timeout=60_000)
        browser.close()
    return round(sum(loaded.values()) / 1024, 1)


# The weight a chart page may load before its live charts, compressed (issue 15).
CHART_PAGE_BUDGET_KB = 150
KINDS = {".html": "html", ".css": "css", ".js": "js", ".svg": "images", ".png": "images", ".json": "data",
         ".xml": "data"}


def _gzip_kib(data: bytes) -> float:
    return len(gzip.compress(data, compresslevel=9, mtime=0)) / 1024


def page_weight(page, site: Path, base: str, url: str) -> dict[str, Any]:
    """What a page of the built site loads up to its load event, gzip-compressed as a static host would send it, by
    kind (html, css, js, images, data); and what it loads after, once its charts are near the viewport (the Vega
    bundle and the live charts' specs).

    `page` is a Playwright page whose viewport sets what is on screen (lazy images below it are not loaded). Sizes are
    of the files in `site` the browser asked for, compressed here: the local server sends them uncompressed.
    """
    page.goto(f"{base}/{url}", wait_until="load")
    load = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventStart")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)  # a live chart asks for its spec once the bundle has run
    page.wait_for_load_state("networkidle")
    entries = page.evaluate("[[location.href, 0]].concat(performance.getEntriesByType('resource')"
                            ".map(r => [r.name, r.startTime]))")
    weight: dict[str, Any] = {"url": url, "load_kib": 0.0, "after_load_kib": 0.0,
                              **{f"{kind}_kib": 0.0 for kind in sorted(set(KINDS.values()) | {"other"})}}
    for address, started in entries:
        if not address.startswith(base):
            continue
        path = unquote(urlsplit(address).path).lstrip("/")
        file = site / (path + "index.html" if path.endswith("/") or not path else path)
        if not file.is_file():
            continue
        kib = _gzip_kib(file.read_bytes())
        if started <= load:
            weight["load_kib"] += kib
            weight[f"{KINDS.get(file.suffix, 'other')}_kib"] += kib
        else:
            weight["after_load_kib"] += kib
    return {key: round(value, 1) if isinstance(value, float) else value for key, value in weight.items()}


def chart_page_weights(site: Path, urls: list[str], viewport: tuple[int, int] = (1280, 800)) -> list[dict[str, Any]]:
    """page_weight of each page in Chromium at a desktop viewport; [] without Chromium."""
    if not Path(CHROMIUM).exists():
        return []
    from playwright.sync_api import sync_playwright

    with served(site) as base, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        weights = [page_weight(page, site, base, url) for url in urls]
        browser.close()
    return weights


def chart_pages(site: Path) -> list[str]:
    """The pages whose weight the benchmark reports: the ORR chart across studies, and the first study page and
    regimen page with a chart."""
    urls = ["charts/orr/"] if (site / "charts" / "orr" / "index.html").exists() else []
    for folder in ("studies", "regimens"):
        for page in sorted((site / folder).glob("*/index.html")):
            if 'class="atlas-chart"' in page.read_text(encoding="utf-8"):
                urls.append(f"{folder}/{page.parent.name}/")
                break
    return urls


def plain_floor(pages: int, work: Path) -> Run:
    """Build time of plain mkdocs-material on as many minimal Markdown pages."""
    if work.exists():
        shutil.rmtree(work)
    docs = work / "docs"
    (docs / "p").mkdir(parents=True)
    (work / "mkdocs.yml").write_text(PLAIN_MKDOCS_YML)
    (docs / "index.md").write_text("# Home\n\nA minimal page.\n")
    for number in range(1, pages):
        (docs / "p" / f"page-{number:05d}.md").write_text(f"# Page {number}\n\nA minimal page with one paragraph.\n")
    return timed([sys.executable, "-m", "mkdocs", "build", "--quiet", "--site-dir", str(work / "site")], work)


def bench_size(studies: int, work: Path) -> Result:
    base = work / f"n{studies}"
    evidence, build, site, report = base / "evidence", base / "build", base / "site", base / "report.json"
    for path in (build, site):
        if path.exists():
            shutil.rmtree(path)
    counts = generate(evidence, studies, ROOT / "evidence")
    command = [sys.executable, "-m", "build_scripts", "--evidence", str(evidence), "build", "--work", str(build),
               "--site", str(site), "--report", str(report)]
    clean = timed(command, ROOT, report)
    pages = json.loads(report.read_text())["pages"]
    warm = timed(command, ROOT, report)
    edited = evidence / "studies" / "synthetic-00001.yaml"
    edited.write_text(edited.read_text().replace("Its numbers are random", "Its numbers are random (edited)"))
    edit_one = timed(command, ROOT, report)
    floor = plain_floor(pages, base / "floor")
    return Result(studies=studies, records=sum(counts.values()), pages=pages, clean=clean, warm=warm,
                  edit_one=edit_one, floor=floor, search_kib_before_first_result=search_transfer(site),
                  studies_index=studies_index_weight(site), chart_pages=chart_page_weights(site, chart_pages(site)),
                  **site_metrics(site))


def print_result(result: Result) -> None:
    ratios = result.ratios()
    print(f"N = {result.studies:,} studies ({result.records:,} records, {result.pages:,} pages)")
    print(f"  build from clean: {result.clean.seconds:.1f} s  (floor: plain mkdocs-material on {result.pages:,} pages "
          f"{result.floor.seconds:.1f} s; ratio {ratios['clean_vs_floor']:.2f})")
    own = sum(v for k, v in result.clean.steps.items() if k != "mkdocs")
    print(f"    own steps {own:.1f} s, mkdocs {result.clean.steps.get('mkdocs', 0):.1f} s: {result.clean.steps}")
    print(f"  build with caches warm: {result.warm.seconds:.1f} s (ratio {ratios['warm_vs_floor']:.2f})")
    print(f"  rebuild after editing one record: {result.edit_one.seconds:.1f} s "
          f"({100 * ratios['edit_vs_clean']:.0f}% of the clean build)")
    print(f"  peak memory (largest process): {result.clean.peak_rss_mib:.0f} MiB")
    print(f"  site {result.site_mib} MiB; page HTML largest {result.largest_page_kib} KiB, median "
          f"{result.median_page_kib} KiB; largest study page {result.largest_study_page_kib} KiB")
    print(f"  search data loaded before the first result: {result.search_kib_before_first_result} KiB")
    index = result.studies_index
    print(f"  studies index page: {index['total_kib']} KiB ({index['total_gzip_kib']} KiB gzipped): HTML "
          f"{index['html_kib']} ({index['html_gzip_kib']}), data {index['data_kib']} ({index['data_gzip_kib']}), "
          f"script {index['script_kib']} ({index['script_gzip_kib']}) KiB")
    for weight in result.chart_pages:
        verdict = "within" if weight["load_kib"] < CHART_PAGE_BUDGET_KB else "OVER"
        print(f"  {weight['url']} at load, gzipped: {weight['load_kib']} KiB ({verdict} the {CHART_PAGE_BUDGET_KB} KB "
              f"budget): HTML {weight['html_kib']}, CSS {weight['css_kib']}, JS {weight['js_kib']}, images "
              f"{weight['images_kib']}, data {weight['data_kib']}; after load (the Vega bundle and specs once a chart "
              f"is on screen, the icon) {weight['after_load_kib']} KiB")


def run(sizes: list[int], work: Path, results_file: Path) -> list[Result]:
    results = []
    for studies in sizes:
        result = bench_size(studies, work)
        print_result(result)
        results.append(result)
        with results_file.open("a", encoding="utf-8") as handle:
            record = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "commit": _commit(), "cores": os.cpu_count(),
                      **asdict(result), "ratios": result.ratios()}
            handle.write(json.dumps(record) + "\n")
    return results


def _commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return result.stdout.strip()
