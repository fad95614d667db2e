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
    add_one: Run | None = None
    edit_template: Run | None = None
    largest_page: str = ""

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
    """KiB the browser loads from /pagefind/ before the first result shows; None without Chromium."""
    if not Path(CHROMIUM).exists():
        return None
    from playwright.sync_api import sync_playwright

    with served(site) as base, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        loaded: dict[str, int] = {}
        page.on("response", lambda r: loaded.__setitem__(r.url, len(r.body())) if r.ok and "/pagefind/" in r.url else None)
        page.goto(f"{base}/search/", wait_until="networkidle")
        page.locator(".pagefind-ui__search-input").fill(query)
        page.wait_for_selector(".pagefind-ui__result-link", timeout=60_000)
        browser.close()
    return round(sum(loaded.values()) / 1024, 1)


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


def add_study(evidence: Path) -> None:
    """A new study record, like the second synthetic study, with its own id, title and registry id."""
    source = (evidence / "studies" / "synthetic-00002.yaml").read_text(encoding="utf-8")
    added = (source.replace("id: synthetic-00002", "id: synthetic-added")
             .replace("Synthetic retreatment study 2", "Synthetic retreatment study added later")
             .replace("NCT90000002", "NCT80000001"))
    (evidence / "studies" / "synthetic-added.yaml").write_text(added, encoding="utf-8")


def bench_size(studies: int, work: Path) -> Result:
    """Time, on synthetic evidence: a clean build, a warm one, and builds after editing one record, adding one
    study and editing the template of study pages; then the floor, in the same run."""
    base = work / f"n{studies}"
    evidence, build, site, report = base / "evidence", base / "build", base / "site", base / "report.json"
    templates = base / "templates"
    for path in (build, site, templates):
        if path.exists():
            shutil.rmtree(path)
    shutil.copytree(ROOT / "templates", templates)
    counts = generate(evidence, studies, ROOT / "evidence")
    command = [sys.executable, "-m", "build_scripts", "--evidence", str(evidence), "build", "--work", str(build),
               "--site", str(site), "--templates", str(templates), "--report", str(report)]
    clean = timed(command, ROOT, report)
    pages = json.loads(report.read_text())["pages"]
    warm = timed(command, ROOT, report)
    edited = evidence / "studies" / "synthetic-00001.yaml"
    edited.write_text(edited.read_text().replace("Its numbers are random", "Its numbers are random (edited)"))
    edit_one = timed(command, ROOT, report)
    add_study(evidence)
    add_one = timed(command, ROOT, report)
    template = templates / "study.md.j2"
    template.write_text(template.read_text(encoding="utf-8") + "\n<!-- edited for the benchmark -->\n",
                        encoding="utf-8")
    edit_template = timed(command, ROOT, report)
    floor = plain_floor(pages, base / "floor")
    return Result(studies=studies, records=sum(counts.values()), pages=pages, clean=clean, warm=warm,
                  edit_one=edit_one, floor=floor, search_kib_before_first_result=search_transfer(site),
                  studies_index=studies_index_weight(site), add_one=add_one, edit_template=edit_template,
                  **site_metrics(site))


def print_result(result: Result) -> None:
    ratios = result.ratios()
    print(f"N = {result.studies:,} studies ({result.records:,} records, {result.pages:,} pages)")
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
    print(f"  peak memory (largest process): {max(r.peak_rss_mib for r in _runs(result)):.0f} MiB")
    print(f"  site {result.site_mib} MiB; page HTML largest {result.largest_page_kib} KiB ({result.largest_page}), "
          f"median {result.median_page_kib} KiB; largest study page {result.largest_study_page_kib} KiB")
    print(f"  search data loaded before the first result: {result.search_kib_before_first_result} KiB")
    index = result.studies_index
    print(f"  studies index page: {index['total_kib']} KiB ({index['total_gzip_kib']} KiB gzipped): HTML "
          f"{index['html_kib']} ({index['html_gzip_kib']}), data {index['data_kib']} ({index['data_gzip_kib']}), "
          f"script {index['script_kib']} ({index['script_gzip_kib']}) KiB")


def _runs(result: Result) -> list[Run]:
    return [run for run in (result.clean, result.warm, result.edit_one, result.add_one, result.edit_template)
            if run is not None]


def time_tests() -> float:
    """Seconds `make test` takes (the whole test suite, browser tests included)."""
    started = time.perf_counter()
    subprocess.run(["make", "test"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
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
