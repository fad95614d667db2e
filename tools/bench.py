"""Benchmark the build on synthetic evidence at several sizes, against plain mkdocs-material on as many pages.

Run as `python -m tools.bench` (or `make bench`); results are appended to bench/results.jsonl.
"""

from __future__ import annotations

import argparse
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

from build_scripts.derive.bottom_line import BOTTOM_LINE_FILE
from build_scripts.derive.checks import use_topic

from .bench_explore import explore_line, explore_timings
from .localsite import CHROMIUM, launch_chromium, served
from .memory_sampler import TreeSampler
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
    search_peak_rss_mib: float | None = None  # Pagefind's own peak, when it ran
    main_peak_rss_mib: float | None = None  # the build's main process (job processes fork from it)
    tree_peak_mib: float | None = None  # every process of the build at once: the largest sampled sum of their Pss


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
    explore: dict[str, float] = field(default_factory=dict)
    chart_pages: list[dict[str, Any]] = field(default_factory=list)
    add_one: Run | None = None
    edit_template: Run | None = None
    largest_page: str = ""
    rendering: dict[str, float] = field(default_factory=dict)
    real: bool = False

    def ratios(self) -> dict[str, float]:
        ratios = {"clean_vs_floor": self.clean.seconds / self.floor.seconds,
                  "warm_vs_floor": self.warm.seconds / self.floor.seconds,
                  "edit_vs_clean": self.edit_one.seconds / self.clean.seconds}
        if self.add_one is not None:
            ratios["add_vs_clean"] = self.add_one.seconds / self.clean.seconds
        if self.edit_template is not None:
            ratios["template_vs_clean"] = self.edit_template.seconds / self.clean.seconds
        return ratios


def timed(command: list[str], cwd: Path, report: Path | None = None) -> Run:
    """Run a command, timing it and reading the peak RSS of its largest process from wait4, and the largest memory
    of all its processes at once from a sampler."""
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True)
        # wait4 gives this child's own usage, which includes the children it waited for (mkdocs, pagefind).
        with TreeSampler(process.pid) as tree:
            _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        peak = usage.ru_maxrss / 1024
        if os.waitstatus_to_exitcode(status) != 0:
            log.seek(0)
            raise RuntimeError(f"{' '.join(command)} failed:\n{log.read()}")
    built = json.loads(report.read_text()) if report and report.exists() else {}
    search_peak, main_peak = built.get("search_peak_rss_mib"), built.get("peak_rss_mib")
    return Run(round(seconds, 2), round(peak, 1), {k: round(v, 2) for k, v in built.get("steps", {}).items()},
               round(search_peak, 1) if search_peak else None, round(main_peak, 1) if main_peak else None,
               round(tree.peak_mib, 1) if tree.peak_kib else None)


def site_metrics(site: Path) -> dict[str, float | str]:
    pages = [p for p in site.rglob("*.html")]
    sizes = [p.stat().st_size for p in pages]
    study_sizes = [p.stat().st_size for p in (site / "studies").glob("*/index.html")]
    total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    largest = max(pages, key=lambda p: p.stat().st_size)
    return {"site_mib": round(total / 2**20, 1), "largest_page_kib": round(max(sizes) / 1024, 1),
            "largest_page": largest.relative_to(site).as_posix(),
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


def add_study(evidence: Path, work: Path) -> None:
    """One new synthetic study with its publications, under ids no other record has."""
    new = work / "new-study"
    generate(new, 1, ROOT / "evidence", seed=16)
    for folder in ("studies", "publications"):
        for path in sorted((new / folder).glob("*.yaml")):
            text = (path.read_text(encoding="utf-8").replace("synthetic-00001", "synthetic-added")
                    .replace("synthetic.1.", "synthetic.added.").replace("NCT90000001", "NCT80000001"))
            (evidence / folder / path.name.replace("synthetic-00001", "synthetic-added")).write_text(text, encoding="utf-8")
    shutil.rmtree(new)


def edit_record(evidence: Path) -> None:
    """Change one study's title, as a curator fixing a record does."""
    path = sorted((evidence / "studies").glob("*.yaml"))[0]
    lines = path.read_text(encoding="utf-8").split("\n")
    number = next(i for i, line in enumerate(lines) if line.startswith("title: "))
    value = lines[number][len("title: "):]
    lines[number] = "title: " + (value[:-1] + " (edited)" + value[-1] if value[:1] in "'\"" else value + " (edited)")
    path.write_text("\n".join(lines), encoding="utf-8")


def prepare(studies: int, base: Path) -> tuple[list[str], dict[str, int]]:
    """The inputs of a benchmark run under `base` (synthetic evidence of `studies` studies, or a copy of the real
    evidence when 0; copies of the templates and content) and the build command; with the record counts."""
    evidence, build, site, report = base / "evidence", base / "build", base / "site", base / "report.json"
    templates, content = base / "templates", base / "content"
    for path in (build, site, templates, evidence, content):
        if path.exists():
            shutil.rmtree(path)
    shutil.copytree(ROOT / "templates", templates)
    shutil.copytree(ROOT / "content", content)
    if studies:
        use_topic(ROOT / "evidence")  # the synthetic records are written in the real topic's measures
        counts = generate(evidence, studies, ROOT / "evidence")
        # The bottom line's statements cite the real atlas's cohorts; the questions match synthetic cohorts too.
        (content / BOTTOM_LINE_FILE).unlink()
    else:
        shutil.copytree(ROOT / "evidence", evidence)
        counts = {folder.name: len(list(folder.glob("*.yaml"))) for folder in evidence.iterdir() if folder.is_dir()}
    command = [sys.executable, "-m", "build_scripts", "--evidence", str(evidence), "build", "--work", str(build),
               "--site", str(site), "--templates", str(templates), "--content", str(content), "--report", str(report)]
    return command, counts


def bench_size(studies: int, work: Path) -> Result:
    """Time, on synthetic evidence (or a copy of the real evidence when `studies` is 0): a clean build, a warm one,
    and builds after editing one record, adding one study and editing the template of study pages; then the
    floor, in the same run."""
    base = work / (f"n{studies}" if studies else "real")
    evidence, build, site, report, templates = (base / "evidence", base / "build", base / "site", base / "report.json",
                                                base / "templates")
    command, counts = prepare(studies, base)
    clean = timed(command, ROOT, report)
    pages = json.loads(report.read_text())["pages"]
    warm = timed(command, ROOT, report)
    edit_record(evidence)
    edit_one = timed(command, ROOT, report)
    add_study(evidence, base)
    add_one = timed(command, ROOT, report)
    template = templates / "study.md.j2"
    template.write_text(template.read_text(encoding="utf-8") + "\n<!-- edited for the benchmark -->\n",
                        encoding="utf-8")
    edit_template = timed(command, ROOT, report)
    floor = plain_floor(pages, base / "floor")
    return Result(studies=counts.get("studies", studies), records=sum(counts.values()), pages=pages, clean=clean,
                  warm=warm, edit_one=edit_one, floor=floor, search_kib_before_first_result=search_transfer(site),
                  studies_index=studies_index_weight(site), explore=explore_timings(site), chart_pages=chart_page_weights(site, chart_pages(site)),
                  add_one=add_one, edit_template=edit_template,
                  rendering=compare_rendering(build), real=not studies, **site_metrics(site))


# Option (b) of issue 16, measured against what the build does: render one record page from the theme's
# templates in a process of our own, with MkDocs given only the pages of the navigation.
DIRECT_RENDER = """
import sys, time
from mkdocs.commands.build import get_context
from mkdocs.config import load_config
from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import get_navigation
config = load_config(sys.argv[1])
config.plugins.on_startup(command="build", dirty=True)
config = config.plugins.on_config(config)
uris = [item for entry in config.nav for item in entry.values()] + [sys.argv[2]]
files = Files([File(uri, config.docs_dir, config.site_dir, config.use_directory_urls) for uri in uris])
env = config.plugins.on_env(config.theme.get_env(), config=config, files=files)  # the CSP's hashes, as a build has them
nav = get_navigation(files, config)
page = files.get_file_from_path(sys.argv[2]).page
page.read_source(config)
page.markdown = config.plugins.on_page_markdown(page.markdown, page=page, config=config, files=files)
page.render(config, files)
page.content = config.plugins.on_page_content(page.content, page=page, config=config, files=files)
html = env.get_template("main.html").render(get_context(nav, files, config, page))
assert "<article" in html
"""


def compare_rendering(build: Path) -> dict[str, float]:
    """Seconds to bring the site up to date after one record page changed: (a) as the build does it (MkDocs 1.6's
    dirty build of the persistent output, told which page changed), (b) rendering that page from the theme's
    templates ourselves (no sitemap, no other file: a lower bound of what (b) costs)."""
    plan = json.loads((build / "cache" / "mkdocs-plan-0.json").read_text())
    page = next(uri for uri in sorted(json.loads((build / "cache" / "mkdocs-result-0.json").read_text())["destinations"])
                if uri.startswith("studies/") and uri.endswith("/index.md") and uri.count("/") == 2)
    plan.update(pages=[page], changed=[page], theme=False, templates=True, result=str(build / "cache" / "compare.json"))
    plan_file = build / "cache" / "compare-plan.json"
    plan_file.write_text(json.dumps(plan))
    dirty = timed([sys.executable, "-m", "build_scripts.publish.mkdocs_run", str(plan_file)], ROOT)
    direct = timed([sys.executable, "-c", DIRECT_RENDER, plan["config"], page], ROOT)
    return {"dirty_build_seconds": dirty.seconds, "direct_render_seconds": direct.seconds}


def print_result(result: Result) -> None:
    ratios = result.ratios()
    print(f"N = {result.studies:,} studies ({result.records:,} records, {result.pages:,} pages)"
          + (" (a copy of the real evidence)" if result.real else ""))
    print(f"  build from clean: {result.clean.seconds:.1f} s  (floor: plain mkdocs-material on {result.pages:,} pages "
          f"{result.floor.seconds:.1f} s; ratio {ratios['clean_vs_floor']:.2f})")
    own = sum(v for k, v in result.clean.steps.items() if k != "mkdocs")
    print(f"    own steps {own:.1f} s, mkdocs {result.clean.steps.get('mkdocs', 0):.1f} s: {result.clean.steps}")
    print(f"  build with caches warm: {result.warm.seconds:.1f} s (ratio {ratios['warm_vs_floor']:.2f})")
    for name, run, ratio in (("editing one record", result.edit_one, "edit_vs_clean"),
                             ("adding one study", result.add_one, "add_vs_clean"),
                             ("editing the study page template", result.edit_template, "template_vs_clean")):
        if run is not None:
            print(f"  rebuild after {name}: {run.seconds:.1f} s ({100 * ratios[ratio]:.0f}% of the clean build): "
                  f"{run.steps}")
    runs = _runs(result)
    search_peaks = [r.search_peak_rss_mib for r in runs if r.search_peak_rss_mib]
    main_peaks = [r.main_peak_rss_mib for r in runs if r.main_peak_rss_mib]
    tree_peaks = [r.tree_peak_mib for r in runs if r.tree_peak_mib]
    print(f"  peak memory (largest process): {max(r.peak_rss_mib for r in runs):.0f} MiB; Pagefind "
          f"{max(search_peaks, default=0):.0f} MiB, the build's main process {max(main_peaks, default=0):.0f} MiB; "
          f"every process at once {max(tree_peaks, default=0):.0f} MiB")
    print(f"  site {result.site_mib} MiB; page HTML largest {result.largest_page_kib} KiB ({result.largest_page}), "
          f"median {result.median_page_kib} KiB; largest study page {result.largest_study_page_kib} KiB")
    print(f"  search data loaded before the first result: {result.search_kib_before_first_result} KiB")
    if result.rendering:
        print(f"  one changed page: MkDocs' dirty build of the kept output {result.rendering['dirty_build_seconds']:.1f} s,"
              f" rendering it from the theme's templates ourselves {result.rendering['direct_render_seconds']:.1f} s")
    index = result.studies_index
    print(f"  studies index page: {index['total_kib']} KiB ({index['total_gzip_kib']} KiB gzipped): HTML "
          f"{index['html_kib']} ({index['html_gzip_kib']}), data {index['data_kib']} ({index['data_gzip_kib']}), "
          f"script {index['script_kib']} ({index['script_gzip_kib']}) KiB")
    explore = explore_line(result.explore)
    if explore:
        print(explore)
    for weight in result.chart_pages:
        verdict = "within" if weight["load_kib"] < CHART_PAGE_BUDGET_KB else "OVER"
        print(f"  {weight['url']} at load, gzipped: {weight['load_kib']} KiB ({verdict} the {CHART_PAGE_BUDGET_KB} KB "
              f"budget): HTML {weight['html_kib']}, CSS {weight['css_kib']}, JS {weight['js_kib']}, images "
              f"{weight['images_kib']}, data {weight['data_kib']}; after load (the Vega bundle and specs once a chart "
              f"is on screen, the icon) {weight['after_load_kib']} KiB")
    for line in target_lines(result):
        print(line)


# Issue 25's targets: an edit at most this share of a clean build; a clean build at most this many floors (by size);
# peak memory under this at 10,000 studies.
EDIT_TARGET = 0.15
CLEAN_TARGET = {1000: 3.0, 10000: 3.0}
MEMORY_TARGET_MIB = 2048


def target_lines(result: Result) -> list[str]:
    """Each target that applies to the result's size, with its figure and whether it is met."""
    ratios = result.ratios()

    def verdict(met: bool) -> str:
        return "met" if met else "MISSED"

    lines = []
    for name, key in (("edit one record", "edit_vs_clean"), ("add one study", "add_vs_clean"),
                      ("edit one template", "template_vs_clean")):
        if key in ratios:
            lines.append(f"  target: {name} at most {100 * EDIT_TARGET:.0f}% of a clean build: "
                         f"{100 * ratios[key]:.0f}% ({verdict(ratios[key] <= EDIT_TARGET)})")
    if result.studies in CLEAN_TARGET:
        limit = CLEAN_TARGET[result.studies]
        lines.append(f"  target: clean build at most {limit:g}x the floor: {ratios['clean_vs_floor']:.2f}x "
                     f"({verdict(ratios['clean_vs_floor'] <= limit)})")
    if result.studies >= 10000:
        runs = _runs(result)
        largest = max(run.peak_rss_mib for run in runs)
        together = max((run.tree_peak_mib or 0) for run in runs)
        lines.append(f"  target: peak memory under {MEMORY_TARGET_MIB} MiB: largest process {largest:.0f} MiB "
                     f"({verdict(largest < MEMORY_TARGET_MIB)}); every process at once (the largest sum of their "
                     f"proportional set sizes, sampled every 0.2 s) {together:.0f} MiB "
                     f"({verdict(together < MEMORY_TARGET_MIB)})")
        for weight in result.chart_pages:
            if weight["url"].startswith("charts/"):
                lines.append(f"  target: {weight['url']} at most {CHART_PAGE_BUDGET_KB} KB gzipped at load: "
                             f"{weight['load_kib']} KiB ({verdict(weight['load_kib'] * 1.024 <= CHART_PAGE_BUDGET_KB)})")
    return lines


def _runs(result: Result) -> list[Run]:
    return [run for run in (result.clean, result.warm, result.edit_one, result.add_one, result.edit_template)
            if run is not None]


def time_tests() -> float:
    """Seconds the test suite takes, as `make test` runs it once set up (browser tests included)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return round(time.perf_counter() - started, 1)


def last_test_time(results_file: Path) -> tuple[float, str] | None:
    """The last `make test` time recorded in the results file, with its date."""
    if not results_file.exists():
        return None
    found = None
    for line in results_file.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("make_test_seconds") is not None:
            found = (record["make_test_seconds"], record["date"])
    return found


def run(sizes: list[int], work: Path, results_file: Path, with_tests: bool = False, repeat: int = 1) -> list[Result]:
    results = []
    for studies in sizes:
        for _ in range(repeat):
            result = bench_size(studies, work)
            print_result(result)
            results.append(result)
            with results_file.open("a", encoding="utf-8") as handle:
                record = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "commit": _commit(), "cores": os.cpu_count(),
                          **asdict(result), "ratios": result.ratios()}
                handle.write(json.dumps(record) + "\n")
    if with_tests:
        seconds = time_tests()
        with results_file.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "commit": _commit(),
                                     "cores": os.cpu_count(), "make_test_seconds": seconds}) + "\n")
        print(f"make test: {seconds:.0f} s")
    else:
        last = last_test_time(results_file)
        print(f"make test: {last[0]:.0f} s when last measured ({last[1]}; `bench --with-tests` measures it again)"
              if last else "make test: not measured yet (`bench --with-tests` measures it)")
    return results


def _commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return result.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--studies", type=int, nargs="*", default=[100, 1000, 10000],
                        help="sizes of synthetic evidence; 0 benchmarks a copy of the real evidence")
    parser.add_argument("--work", default=str(ROOT / "build" / "bench"))
    parser.add_argument("--results", default=str(ROOT / "bench" / "results.jsonl"))
    parser.add_argument("--with-tests", action="store_true",
                        help="also time `make test` (otherwise the last time is shown)")
    parser.add_argument("--repeat", type=int, default=1, help="benchmark each size this many times")
    args = parser.parse_args(argv)
    results_file = Path(args.results)
    results_file.parent.mkdir(parents=True, exist_ok=True)
    run(args.studies, Path(args.work), results_file, args.with_tests, args.repeat)
    print(f"Results appended to {results_file}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
