"""The docs folder: the page jobs run (in parallel when many), their pages and chart files written when changed."""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from build_scripts.derive.guide import GUIDE_FILES
from build_scripts.derive import kept
from build_scripts.load.cache import (
    Digests, Fragments, code_version, current_fragments, digest, fragment, keeping_fragments, load_store, note,
    save_store, tracing, tree_digest,
)
from build_scripts.load.evidence import Evidence
from build_scripts.load.fragment_store import FragmentStore
from build_scripts.load.release import CHANGELOG_FILE, CITATION_FILE
from build_scripts.load.settings import SiteSettings
from build_scripts.publish.layout import NEW_RECORDS, BuildError, BuildReport, Layout, remove_emptied, write_if_changed
from build_scripts.render.blocks import stash_data, stash_file
from build_scripts.render.chart_base import Chart
from build_scripts.render.charts import PageCharts
from build_scripts.render.export import DATA_FILES, DATA_FOLDER, NEEDS_SYNTHESIS, DownloadInputs
from build_scripts.render.jobs import page_jobs
from build_scripts.render.news import news_pages
from build_scripts.render.pages import Page, PageJob
from build_scripts.render.svg import forest_svg, render_svgs, spec_json, vega_bundle


# Jobs run in two processes when they are expected to take this long (a job not run before counts
# UNKNOWN_JOB_SECONDS).
PARALLEL_SECONDS = 2.0
UNKNOWN_JOB_SECONDS = 0.01
# Kept numeric results per function (derive/kept.py) beyond which a build keeps only those it used.
KEPT_LIMIT = 500_000


@dataclass
class JobEntry:
    """What a job read last time (in a stable order) and their digest, and the files it wrote with their digests."""

    reads: tuple
    digest: str
    outputs: dict[str, str]
    stashes: tuple[str, ...] = ()
    seconds: float = 0.0  # how long it took, to share jobs out between processes next time


@dataclass
class DocsFolder:
    """The docs folder after a build wrote it: every file's digest (a page's includes its stash)."""

    digests: dict[str, str]
    written: int = 0
    removed: int = 0


def _url_of_page(path: str) -> str | None:
    """The directory URL of a generated page at docs path `path`, for pages written as <url>index.md."""
    if path == "index.md":
        return ""
    return path[: -len("index.md")] if path.endswith("/index.md") else None


def chart_files(charts: list[Chart], url: str, cache: Path, environment) -> tuple[list[Page], int]:
    """Each chart's spec and static SVGs (wide, and narrow for small screens) beside its page; also how many SVGs
    Vega rendered anew."""
    files, rendered = [], 0
    for chart in charts:
        if chart.forest is not None:
            # Kept between builds (a fragment) while the chart is the same: a cross-study chart's job runs again
            # after every edit, and few of its pages' charts change.
            wide, narrow = fragment("forest svgs", (url, chart.spec_file, digest(repr(chart))), lambda chart=chart: (
                forest_svg(chart, environment), forest_svg(chart, environment, narrow=True)))
        else:
            (wide, narrow), count = render_svgs([chart.spec, chart.narrow_spec or chart.spec], cache / "svg", workers=1)
            rendered += count
        files += [Page(f"{url}{chart.spec_file}", spec_json(chart.spec)), Page(f"{url}{chart.svg_file}", wide),
                  Page(f"{url}{chart.narrow_svg_file}", narrow)]
    return files, rendered


@dataclass
class JobResult:
    """A job that ran: its new entry and what it did."""

    name: str
    entry: JobEntry
    written: int
    charts: int
    rendered: int


class JobRunner:
    """Runs jobs with their reads traced, writing their files (and the charts of their pages) into the docs folder."""

    def __init__(self, layout: Layout, hand_written: set[str], digests: Digests, page_charts: PageCharts,
                 environment):
        self.layout, self.hand_written, self.digests = layout, hand_written, digests
        self.page_charts, self.environment = page_charts, environment

    def run(self, job: PageJob) -> JobResult:
        started = time.perf_counter()
        self.page_charts.take_requested()
        charts = rendered = 0
        with tracing() as trace:
            made = job.make()
            urls = {_url_of_page(page.path) for page in made}
            for url, found in sorted(self.page_charts.take_requested().items()):
                if url in urls:
                    files, count = chart_files(found, url, self.layout.cache, self.environment)
                    made += files
                    charts, rendered = charts + len(found), rendered + count
        outputs, stashes, written = {}, [], 0
        for page in made:
            if page.path in self.hand_written:
                raise BuildError(f"generated page {page.path} would overwrite the hand-written file content/{page.path}")
            data = page.text.encode("utf-8")
            written += write_if_changed(self.layout.docs / page.path, data)
            if page.blocks or page.head:
                stash = stash_data(page.blocks, page.head)
                written += write_if_changed(stash_file(self.layout.docs, page.path), stash)
                outputs[page.path] = digest(data, stash)
                stashes.append(page.path)
            else:
                outputs[page.path] = digest(data)
        reads = tuple(sorted(trace.reads, key=repr))
        entry = JobEntry(reads, self.digests.of_all(reads), outputs, tuple(stashes),
                         round(time.perf_counter() - started, 4))
        return JobResult(job.name, entry, written, charts, rendered)

    def run_all(self, jobs: list[PageJob], estimates: dict[str, float]) -> tuple[list[JobResult], dict, dict]:
        """Run the jobs, in two processes (forks sharing the evidence) when they are expected to take a while; also
        the kept results they used (derive/kept.py) and the fragments they made (cache.Fragments).

        Jobs are shared out by how long each took last time, longest first, each to the less loaded process.
        What the jobs of a group share is computed first, here, so the processes inherit it: the group's jobs
        (at 10,000 studies a minute of work after an edit) are then shared out like the others.
        """
        def cost(job: PageJob) -> float:
            return estimates.get(job.name, UNKNOWN_JOB_SECONDS)

        if len(jobs) < 2 or sum(map(cost, jobs)) < PARALLEL_SECONDS or (os.cpu_count() or 1) < 2 \
                or not _single_threaded():
            return [self.run(job) for job in jobs], kept.take_used(), _fragments_made()
        if any(job.group is not None for job in jobs):
            self.page_charts.prepare()
        used_here, made_here = kept.take_used(), _fragments_made()  # the latter writes what was made here
        _SHARES[:] = [(self, share) for share in share_out(jobs, cost)]
        if current_fragments() is not None:  # each job process opens the store anew: a connection never crosses a fork
            current_fragments().store.close()
        try:
            with multiprocessing.get_context("fork").Pool(2) as pool:
                shared = pool.map(_run_share, range(2))
            return ([result for results, _, _ in shared for result in results],
                    kept.merge(used_here, *(used for _, used, _ in shared)),
                    made_here + [key for _, _, made in shared for key in made])
        finally:
            _SHARES.clear()


_SHARES: list[tuple[JobRunner, list[PageJob]]] = []


def share_out(jobs: list[PageJob], cost: Callable[[PageJob], float], processes: int = 2) -> list[list[PageJob]]:
    """The jobs in `processes` shares of about equal cost: longest first, each to the less loaded share."""
    shares: list[list[PageJob]] = [[] for _ in range(processes)]
    loads = [0.0] * processes
    for job in sorted(jobs, key=lambda job: -cost(job)):
        lighter = loads.index(min(loads))
        shares[lighter].append(job)
        loads[lighter] += cost(job)
    return shares


def _single_threaded() -> bool:
    """Whether this process runs one thread, so that a fork copies no lock another thread holds.

    A process that has rendered a chart with Vega runs that renderer's threads (as `make preview` and the tests
    do after their first build); its jobs run in the process itself.
    """
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _run_share(number: int) -> tuple[list[JobResult], dict, list]:
    runner, jobs = _SHARES[number]
    kept.take_used()
    results, made = [runner.run(job) for job in jobs], _fragments_made()
    if current_fragments() is not None:
        current_fragments().store.close()
    return results, kept.take_used(), made


def _fragments_made() -> list[tuple[str, Any]]:
    return current_fragments().take_made() if current_fragments() is not None else []


def docs_key(layout: Layout) -> str:
    """What every generated file depends on besides the evidence and the templates it loads: code, settings, release,
    changelog. (Each job's templates are among its reads: TracedEnvironment.)"""
    return digest(code_version(),
                  *(tree_digest(layout.root / name) for name in ("mkdocs.yml", CHANGELOG_FILE, CITATION_FILE)))


def write_docs(layout: Layout, jobs: Iterable[PageJob], digests: Digests, page_charts: PageCharts, environment,
               report: BuildReport) -> DocsFolder:
    """Make the docs folder hold exactly the content files, the assets and every job's files, running only the
    jobs whose reads changed.

    Files are written as jobs make them, so the build never holds the whole site in memory. The job store is
    saved even when a job fails, so that it always describes what the docs folder holds.
    """
    store_path, key = layout.cache / "jobs.pickle", docs_key(layout)
    stored = load_store(store_path, key)
    previous: dict[str, JobEntry] = stored.get("jobs", {})
    fresh = not previous or not layout.docs.is_dir()
    current: dict[str, JobEntry] = {}
    folder = DocsFolder({})

    hand_written: dict[str, bytes] = {}
    for source in sorted(layout.content.rglob("*")):
        relative = source.relative_to(layout.content).as_posix()
        if source.is_file() and relative not in GUIDE_FILES and not relative.startswith(f"{NEW_RECORDS}/"):
            hand_written[relative] = source.read_bytes()
    assets = layout.templates / "assets"
    if assets.is_dir():
        for source in sorted(assets.rglob("*")):
            if source.is_file():
                hand_written.setdefault(f"assets/{source.relative_to(assets).as_posix()}", source.read_bytes())
    for path, data in hand_written.items():
        folder.written += write_if_changed(layout.docs / path, data)
        folder.digests[path] = digest(data)

    pending: list[PageJob] = []
    estimates: dict[str, float] = {}
    for job in jobs:
        entry = None if fresh else previous.get(job.name)
        if entry is not None and digests.of_all(entry.reads) == entry.digest:
            current[job.name] = entry
            folder.digests.update(entry.outputs)
            report.jobs_skipped += 1
        else:
            pending.append(job)
            if entry is not None:
                estimates[job.name] = entry.seconds
            previous.pop(job.name, None)
    kept_path = layout.cache / "kept.pickle"
    stored_results = load_store(kept_path, code_version())
    kept.recall(stored_results)
    kept.take_used()
    # Keyed like the jobs: a fragment may hold text made with the settings, the release or the changelog.
    fragments = Fragments(FragmentStore(layout.cache / "fragments.sqlite", key), digests)
    try:
        with keeping_fragments(fragments):
            results, used, made = JobRunner(layout, set(hand_written), digests, page_charts,
                                            environment).run_all(pending, estimates)
    finally:
        # Until the jobs that ran are stored, they are forgotten: their files may be half written.
        save_store(store_path, key, {"jobs": previous})
    shared: dict[Any, Any] = {}  # one object for each read many jobs make (a small store for a large site)
    for result in results:
        result.entry.reads = tuple(shared.setdefault(read, read) for read in result.entry.reads)
        current[result.name] = result.entry
        folder.digests.update(result.entry.outputs)
        folder.written += result.written
        report.charts += result.charts
        report.charts_rendered += result.rendered
        report.ran.append(result.name)
    report.jobs_run = len(results)
    # A build that reran some jobs used only some results: the others are kept for the jobs that did not run, up to a
    # bound past which only this build's are (results of numbers no record holds any more are dropped then).
    if any(used.values()):
        store = {}
        for name in stored_results.keys() | used.keys():
            before, now = stored_results.get(name, {}), used.get(name, {})
            store[name] = now if len(before) + len(now) > KEPT_LIMIT else {**before, **now}
        save_store(kept_path, code_version(), store)
    fragments.store.forget_old()
    fragments.store.close()
    report.fragments_made = len(made)

    wanted = set(folder.digests)
    wanted_stashes = {stash for entry in current.values() for stash in entry.stashes}
    if fresh:
        for root, keep in ((layout.blocks, {f"{s}.json" for s in wanted_stashes}), (layout.docs, wanted)):
            for existing in sorted(root.rglob("*"), reverse=True) if root.exists() else ():
                relative = existing.relative_to(root).as_posix()
                if existing.is_file() and relative not in keep:
                    existing.unlink()
                    folder.removed += 1
                elif existing.is_dir() and not any(existing.iterdir()):
                    existing.rmdir()
    else:
        for path in set(stored.get("wanted", ())) - wanted:
            remove_emptied(layout.docs / path, layout.docs)
            folder.removed += 1
        for path in set(stored.get("stashes", ())) - wanted_stashes:
            remove_emptied(stash_file(layout.docs, path), layout.blocks)
    save_store(store_path, key, {"jobs": current, "wanted": sorted(wanted), "stashes": sorted(wanted_stashes)})
    return folder


def site_jobs(layout: Layout, evidence: Evidence, environment, settings: SiteSettings, release, history,
              page_charts: PageCharts, revisions) -> Iterable[PageJob]:
    """Every job of the site: the pages, What's new with its feed, the downloads and the Vega bundle."""
    yield from page_jobs(evidence, environment, page_charts, settings, revisions, page_charts.synthesis,
                         page_charts.guide, release)
    changelog = (layout.root / CHANGELOG_FILE).read_text(encoding="utf-8")

    def news() -> list[Page]:
        note(("history", "item", "changes"))
        return news_pages(evidence, history, environment, settings, release, changelog)

    yield PageJob("news", news)
    given = DownloadInputs(evidence, settings.name, settings.url, release.version, page_charts.synthesis)
    for name, make in DATA_FILES.items():
        # synthesis.csv in the synthesis group, whose synthesis is computed once for the charts too.
        yield PageJob(f"download:{name}", lambda name=name, make=make: [Page(f"{DATA_FOLDER}/{name}", make(given))],
                      "synthesis" if name in NEEDS_SYNTHESIS else None)
    yield PageJob("vega-bundle", lambda: [Page("assets/vega-bundle.js", vega_bundle(layout.cache))])
