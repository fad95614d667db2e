"""Write the docs folder from content and generated pages, run MkDocs, and replace the site only on success.

Each step redoes only what changed since it last succeeded, and keeps what it needs for that in build/cache:
- validation reads again only the record files whose bytes changed (checks.RecordCache);
- a page, chart or download is generated again only when something it read last time has changed
  (cache.py traces the records, indexes and other inputs each job reads);
- MkDocs renders only the docs files whose digest changed, into a folder that persists between builds
  (mkdocs_run.py); a change of the code, the theme or mkdocs.yml renders everything;
- Pagefind indexes the site again only when a page's HTML changed (it has no incremental mode);
- the link check parses only the pages whose HTML changed, and checks the links of the others that point
  at a page or file that changed or disappeared.
The site is staged as hard links to the persistent output and the search index, and swapped into place.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

from jinja2 import Environment

from build_scripts.load.cache import Digests, TrackedDict, code_version, digest, load_store, note, save_store, tracked_evidence, \
    tracing, tree_digest
from build_scripts.render.charts import Chart, PageCharts
from build_scripts.derive.checks import RecordCache
from build_scripts.load.evidence import Evidence
from build_scripts.render.export import DATA_FILES, DATA_FOLDER, NEEDS_SYNTHESIS, DownloadInputs
from build_scripts.derive.guide import GUIDE_FILES, NO_GUIDE, Guide, TrackedGuide, validate_with_guide
from build_scripts.load.history import read_history
from build_scripts.publish.linkcheck import BrokenLink, check_pages
from build_scripts.render.blocks import stash_data, stash_file
from build_scripts.publish.mkdocs_run import NAV_CHANGED
from build_scripts.render.news import news_pages
from build_scripts.render.jobs import page_jobs
from build_scripts.render.pages import Page, PageJob
from build_scripts.render.templating import template_environment
from build_scripts.load.release import CHANGELOG_FILE, CITATION_FILE, ReleaseError, disagreements, read_release
from build_scripts.publish.pagefind import SEARCH_FOLDER, SearchIndexError, finish_index, start_index
from build_scripts.render.search import pins
from build_scripts.load.settings import SiteSettings
from build_scripts.render.svg import forest_svg, render_svgs, spec_json, vega_bundle

# From this many pages to render, MkDocs runs in two processes, each rendering half of them; jobs run in two
# processes when they are expected to take this long (a job not run before counts UNKNOWN_JOB_SECONDS).
PARALLEL_PAGES = 200
PARALLEL_SECONDS = 2.0
UNKNOWN_JOB_SECONDS = 0.01


@dataclass(frozen=True)
class Layout:
    """Where a build reads from and writes to."""

    root: Path           # holds mkdocs.yml
    evidence: Path
    content: Path
    templates: Path
    work: Path           # git-ignored build folder: generated docs, caches, staging site
    site: Path           # final output

    @property
    def docs(self) -> Path:
        return self.work / "docs"

    @property
    def blocks(self) -> Path:
        return self.work / "blocks"

    @property
    def cache(self) -> Path:
        return self.work / "cache"

    @property
    def output(self) -> Path:
        """MkDocs' output, kept between builds so that unchanged pages are not rendered again."""
        return self.work / "out"

    @property
    def search(self) -> Path:
        """Pagefind's bundle, kept between builds and published as site/pagefind/."""
        return self.work / "search"

    @property
    def staging_site(self) -> Path:
        return self.work / "site-next"

    @property
    def mkdocs_config(self) -> Path:
        return self.work / "mkdocs.yml"

    @classmethod
    def default(cls, root: Path) -> "Layout":
        return cls(root, root / "evidence", root / "content", root / "templates", root / "build", root / "site")


class BuildError(Exception):
    """MkDocs or a build step failed; the message says which and why."""


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write a file only when its bytes differ, so unchanged pages keep their timestamps."""
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def _remove(path: Path, stop: Path) -> None:
    """Remove a file and the folders it leaves empty, up to `stop`."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    folder = path.parent
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


@dataclass
class BuildReport:
    """What a build did and how long each step took, in seconds."""

    records: int = 0
    records_reused: int = 0
    pages: int = 0
    charts: int = 0
    charts_rendered: int = 0
    files_written: int = 0
    jobs_run: int = 0
    jobs_skipped: int = 0
    ran: list[str] = field(default_factory=list)
    pages_rendered: int = 0
    searched: bool = False
    search_peak_rss_mib: float | None = None  # Pagefind's peak memory, when it ran
    peak_rss_mib: float = 0.0  # the build's own main process
    steps: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - started


# ---------------------------------------------------------------- the docs folder

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
            wide, narrow = forest_svg(chart, environment), forest_svg(chart, environment, narrow=True)
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

    def run_all(self, jobs: list[PageJob], estimates: dict[str, float]) -> list[JobResult]:
        """Run the jobs, in two processes (forks sharing the evidence) when they are expected to take a while.

        Jobs are shared out by how long each took last time, longest first, each to the less loaded process;
        the jobs of a group stay together.
        """
        def cost(job: PageJob) -> float:
            return estimates.get(job.name, UNKNOWN_JOB_SECONDS)

        if len(jobs) < 2 or sum(map(cost, jobs)) < PARALLEL_SECONDS or (os.cpu_count() or 1) < 2 \
                or not _single_threaded():
            return [self.run(job) for job in jobs]
        units: dict[str, list[PageJob]] = {}
        for job in jobs:
            units.setdefault(job.group or f"job:{job.name}", []).append(job)
        shares: list[list[PageJob]] = [[], []]
        loads = [0.0, 0.0]
        for unit in sorted(units.values(), key=lambda members: -sum(map(cost, members))):
            lighter = loads.index(min(loads))
            shares[lighter] += unit
            loads[lighter] += sum(map(cost, unit))
        _SHARES[:] = [(self, share) for share in shares]
        try:
            with multiprocessing.get_context("fork").Pool(2) as pool:
                return [result for results in pool.map(_run_share, range(2)) for result in results]
        finally:
            _SHARES.clear()


_SHARES: list[tuple[JobRunner, list[PageJob]]] = []


def _single_threaded() -> bool:
    """Whether this process runs one thread, so that a fork copies no lock another thread holds.

    A process that has rendered a chart with Vega runs that renderer's threads (as `make preview` and the tests
    do after their first build); its jobs run in the process itself.
    """
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _run_share(number: int) -> list[JobResult]:
    runner, jobs = _SHARES[number]
    return [runner.run(job) for job in jobs]


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
        if source.is_file() and source.relative_to(layout.content).as_posix() not in GUIDE_FILES:
            hand_written[source.relative_to(layout.content).as_posix()] = source.read_bytes()
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
    try:
        results = JobRunner(layout, set(hand_written), digests, page_charts, environment).run_all(pending, estimates)
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
            _remove(layout.docs / path, layout.docs)
            folder.removed += 1
        for path in set(stored.get("stashes", ())) - wanted_stashes:
            _remove(stash_file(layout.docs, path), layout.blocks)
    save_store(store_path, key, {"jobs": current, "wanted": sorted(wanted), "stashes": sorted(wanted_stashes)})
    return folder


def site_jobs(layout: Layout, evidence: Evidence, environment, settings: SiteSettings, release, history,
              page_charts: PageCharts, revisions) -> Iterable[PageJob]:
    """Every job of the site: the pages, What's new with its feed, the downloads and the Vega bundle."""
    yield from page_jobs(evidence, environment, page_charts, settings, revisions, page_charts.synthesis,
                         page_charts.guide)
    changelog = (layout.root / CHANGELOG_FILE).read_text(encoding="utf-8")

    def news() -> list[Page]:
        note(("history", "item", "changes"))
        return news_pages(evidence, history, environment, settings, release, changelog)

    yield PageJob("news", news)
    given = DownloadInputs(evidence, settings.name, settings.url, release.version, page_charts.synthesis)
    for name, make in DATA_FILES.items():
        # synthesis.csv in the synthesis group, whose process computes the synthesis once for the charts too; the
        # other downloads as jobs of their own, which the other process can take.
        yield PageJob(f"download:{name}", lambda name=name, make=make: [Page(f"{DATA_FOLDER}/{name}", make(given))],
                      "synthesis" if name in NEEDS_SYNTHESIS else None)
    yield PageJob("vega-bundle", lambda: [Page("assets/vega-bundle.js", vega_bundle(layout.cache))])


# ---------------------------------------------------------------- MkDocs

def write_mkdocs_config(layout: Layout) -> str:
    """A config that inherits the project's mkdocs.yml but reads and writes inside the build folder."""
    text = (
        f"INHERIT: {(layout.root / 'mkdocs.yml').resolve().as_posix()}\n"
        f"docs_dir: {layout.docs.resolve().as_posix()}\n"
        f"site_dir: {layout.output.resolve().as_posix()}\n"
        "theme:\n"
        "  name: material\n"
        f"  custom_dir: {(layout.templates / 'overrides').resolve().as_posix()}\n"
        "hooks:\n"
        f"  - {(Path(__file__).parent / 'mkdocs_hooks.py').resolve().as_posix()}\n"
    )
    write_if_changed(layout.mkdocs_config, text.encode("utf-8"))
    return text


def source_date_epoch(root: Path) -> str:
    """Commit time of HEAD in seconds, or 0 outside a git checkout."""
    result = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=root, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else "0"


@dataclass
class SiteOutput:
    """MkDocs' output folder after a build: every file's digest, and which pages were rendered."""

    digests: dict[str, str]
    rendered: int = 0


def _run_parts(layout: Layout, plans: list[dict[str, Any]], epoch: str) -> list[dict[str, Any]] | None:
    """Run MkDocs once per plan, at the same time; None when the navigation changed and everything must render."""
    # MkDocs stamps the sitemap with the build date unless SOURCE_DATE_EPOCH says otherwise: use the
    # date of the commit being built, so two builds of one commit are byte-identical.
    environment = {**os.environ, "SOURCE_DATE_EPOCH": epoch}
    processes = []
    for number, plan in enumerate(plans):
        plan_file = layout.cache / f"mkdocs-plan-{number}.json"
        plan["result"] = str((layout.cache / f"mkdocs-result-{number}.json").resolve())
        plan_file.write_text(json.dumps(plan), encoding="utf-8")
        processes.append(subprocess.Popen([sys.executable, "-m", "build_scripts.publish.mkdocs_run", str(plan_file)],
                                          cwd=Path(__file__).resolve().parents[2], env=environment,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outcomes = [(process, *process.communicate()) for process in processes]
    if any(process.returncode == NAV_CHANGED for process, _, _ in outcomes):
        return None
    failed = [(out, err) for process, out, err in outcomes if process.returncode != 0]
    if failed:
        raise BuildError("mkdocs build --strict failed:\n" + "\n".join(err or out for out, err in failed))
    return [json.loads(Path(plan["result"]).read_text(encoding="utf-8")) for plan in plans]


def render_site(layout: Layout, docs: dict[str, str]) -> SiteOutput:
    """Bring MkDocs' persistent output up to date with the docs folder, rendering only what changed."""
    config = write_mkdocs_config(layout)
    store_path = layout.cache / "mkdocs.pickle"
    key = digest(code_version(), config, tree_digest(layout.root / "mkdocs.yml", layout.templates / "overrides"))
    state = load_store(store_path, key)
    full = not state or not layout.output.is_dir()
    if full:
        shutil.rmtree(layout.output, ignore_errors=True)
        state = {"sources": {}, "destinations": {}, "nav": None, "outputs": {}}
    sources: dict[str, str] = state["sources"]
    destinations: dict[str, str] = state["destinations"]
    outputs: dict[str, str] = state["outputs"]
    for uri in [uri for uri in sources if uri not in docs]:
        destination = destinations.pop(uri, None)
        sources.pop(uri)
        if destination is not None:
            outputs.pop(destination, None)
            _remove(layout.output / destination, layout.output)
    changed = sorted(uri for uri, value in docs.items() if sources.get(uri) != value)
    epoch = source_date_epoch(layout.root)
    if not changed and state.get("epoch") == epoch:
        return SiteOutput(dict(outputs), 0)
    for uri in changed:
        sources.pop(uri, None)  # forgotten until rendered, in case this run fails half-way
    state["epoch"] = None
    save_store(store_path, key, state)

    written = _render(layout, changed, full, state["nav"], epoch)
    if written is None:  # the navigation changed: every page shows it
        full = True
        written = _render(layout, sorted(docs), True, None, epoch)
    results, rendered = written
    for result in results:
        destinations.update(result["destinations"])
        if result["nav"]:
            state["nav"] = result["nav"]
    for destination in {path for result in results for path in result["written"]}:
        try:
            outputs[destination] = digest((layout.output / destination).read_bytes())
        except FileNotFoundError:  # a template that rendered nothing
            outputs.pop(destination, None)
    sources.update({uri: docs[uri] for uri in (docs if full else changed)})
    state["epoch"] = epoch
    save_store(store_path, key, state)
    return SiteOutput(dict(outputs), rendered)


def _render(layout: Layout, changed: list[str], full: bool, nav: list[Any] | None,
            epoch: str) -> tuple[list[dict[str, Any]], int] | None:
    pages = [uri for uri in changed if uri.endswith(".md")]
    others = [uri for uri in changed if not uri.endswith(".md")]
    common = {"config": str(layout.mkdocs_config.resolve()), "nav": nav, "changed": changed}
    if len(pages) >= PARALLEL_PAGES and (os.cpu_count() or 1) > 1:
        plans = [{**common, "pages": others + pages[0::2], "theme": full, "templates": True},
                 {**common, "pages": pages[1::2], "theme": False, "templates": False}]
    else:
        plans = [{**common, "pages": changed, "theme": full, "templates": True}]
    results = _run_parts(layout, plans, epoch)
    return None if results is None else (results, len(pages))


# ---------------------------------------------------------------- search, staging, links

class SearchUpdate:
    """Pagefind indexing the site in its own process when any page's HTML (or the exact-name map) changed since
    the index was made."""

    def __init__(self, layout: Layout, output: SiteOutput, names: dict[str, list[str]]):
        self.layout, self.names = layout, names
        self.store_path = layout.cache / "search.pickle"
        self.pages = digest(json.dumps(names, sort_keys=True),
                            *(part for path, value in sorted(output.digests.items()) if path.endswith(".html")
                              for part in (path, value)))
        self.stored = load_store(self.store_path, code_version())
        self.next = layout.work / "search-next"
        self.process = None
        if self.stored.get("pages") != self.pages or not layout.search.is_dir():
            shutil.rmtree(self.next, ignore_errors=True)
            self.process = start_index(layout.output, self.next)

    def finish(self) -> dict[str, str]:
        """Wait for Pagefind; the digest of every file of the search bundle."""
        if self.process is None:
            return self.stored["files"]
        try:
            finish_index(self.process, self.next, self.names)
        except SearchIndexError as error:
            shutil.rmtree(self.next, ignore_errors=True)
            raise BuildError(str(error)) from error
        shutil.rmtree(self.layout.search, ignore_errors=True)
        self.next.rename(self.layout.search)
        files = {path.relative_to(self.layout.search).as_posix(): digest(path.read_bytes())
                 for path in self.layout.search.rglob("*") if path.is_file()}
        save_store(self.store_path, code_version(), {"pages": self.pages, "files": files})
        return files

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


def _identity(folder: Path) -> tuple[int, int] | None:
    try:
        status = folder.stat()
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def sync_tree(tree: Path, wanted: dict[str, tuple[Path, str]], held: dict[str, str] | None) -> None:
    """Make `tree` hold hard links to exactly the wanted files (site path -> (file, digest)), given what it holds.

    Only files whose digest differs are linked anew, so a build that changed one page touches a few files, not
    the whole site; hard links are safe because the build never writes a file in place.
    """
    if held is None:
        shutil.rmtree(tree, ignore_errors=True)
        held = {}
    for path in held.keys() - wanted.keys():
        _remove(tree / path, tree)
    for path, (source, value) in wanted.items():
        if held.get(path) != value:
            target = tree / path
            try:
                target.unlink()
            except FileNotFoundError:
                target.parent.mkdir(parents=True, exist_ok=True)
            os.link(source, target)


def stage(layout: Layout, output: SiteOutput, search: dict[str, str]) -> Path:
    """The next site, in the standby folder (the site before the last one): MkDocs' output and the search bundle."""
    store_path = layout.cache / "trees.pickle"
    trees = load_store(store_path, "trees")
    standby = layout.work / "site-standby"
    held = trees.get("standby")
    if held is None or held[0] != _identity(standby):
        held = (None, None)
    wanted = {path: (layout.output / path, value) for path, value in output.digests.items()}
    wanted.update({f"{SEARCH_FOLDER}/{path}": (layout.search / path, value) for path, value in search.items()})
    trees["standby"] = None  # unknown while it changes
    save_store(store_path, "trees", trees)
    sync_tree(standby, wanted, held[1])
    standby.mkdir(parents=True, exist_ok=True)
    trees["standby"] = (_identity(standby), {path: value for path, (_, value) in wanted.items()})
    save_store(store_path, "trees", trees)
    return standby


def check_links(layout: Layout, output: SiteOutput, base_path: str, search: SearchUpdate) -> dict[str, str]:
    """Check the links of the pages whose HTML changed, and every link that points at something that changed,
    while Pagefind indexes; links into the search bundle are checked once it is written. Returns the bundle."""
    store_path = layout.cache / "links.pickle"
    key = digest(code_version(), base_path)
    broken, state = check_pages(layout.output, base_path, output.digests, load_store(store_path, key),
                                elsewhere=f"{SEARCH_FOLDER}/")
    bundle = search.finish()
    for page, link, target in state["elsewhere"]:
        if target[len(SEARCH_FOLDER) + 1:] not in bundle:
            broken.append(BrokenLink(page, link, target, "no such page or file"))
    if broken:
        raise BuildError(f"{len(broken)} broken link{'s' if len(broken) != 1 else ''} in the built site:\n"
                         + "\n".join(str(link) for link in sorted(broken, key=str)))
    save_store(store_path, key, state)
    return bundle


def publish(layout: Layout, staged: Path) -> None:
    """Swap the staged site into place; the previous site becomes the standby folder the next build updates."""
    store_path = layout.cache / "trees.pickle"
    trees = load_store(store_path, "trees")
    site, standby = trees.get("site"), trees.get("standby")
    if site is not None and site[0] != _identity(layout.site):
        site = None
    outgoing = layout.work / "site-outgoing"
    shutil.rmtree(outgoing, ignore_errors=True)
    trees = {"site": None, "standby": None}
    save_store(store_path, "trees", trees)
    if layout.site.exists():
        layout.site.rename(outgoing)
    staged.rename(layout.site)
    if outgoing.exists():
        outgoing.rename(staged)
    trees["site"] = (_identity(layout.site), standby[1]) if standby is not None else None
    trees["standby"] = (_identity(staged), site[1]) if site is not None and staged.exists() else None
    save_store(store_path, "trees", trees)


# ---------------------------------------------------------------- the build

class TracedEnvironment(Environment):
    """Templates that record, in the job being traced, each template it loads: its own and those it imports, includes
    or extends (Jinja loads them all through get_template), so a template edit reruns only the jobs that use it."""

    def get_template(self, name, parent=None, globals=None):  # noqa: A002 - Jinja's signature
        if isinstance(name, str):
            note(("templates", "item", self.join_path(name, parent) if parent is not None else name))
        return super().get_template(name, parent, globals)


def template_digests(templates: Path) -> dict[str, str]:
    """The digest of every page template (the theme's overrides and the assets are not jobs' templates)."""
    if not templates.is_dir():
        return {}
    return {path.relative_to(templates).as_posix(): digest(path.read_bytes()) for path in sorted(templates.rglob("*"))
            if path.is_file() and path.relative_to(templates).parts[0] not in ("overrides", "assets")}


def record_digests(evidence: Evidence, records: RecordCache) -> dict[tuple[str, str], str]:
    return {key: records.file_digests.get(path) or digest(path.read_bytes()) for key, path in evidence.files.items()}


def generate_docs(layout: Layout, evidence: Evidence, records: RecordCache, settings: SiteSettings, release,
                  report: BuildReport, guide: Guide = NO_GUIDE) -> DocsFolder:
    """Write the docs folder, running only the jobs whose reads changed since the last build."""
    environment = template_environment(layout.templates, settings.url, TracedEnvironment)
    history = read_history(layout.evidence)
    revisions = history.revisions()
    tracked = tracked_evidence(evidence)
    page_charts = PageCharts(tracked, TrackedGuide(guide))
    digests = Digests(evidence, record_digests(evidence, records),
                      {"revisions": revisions, "history": {"changes": history},
                       "templates": template_digests(layout.templates), "guide": {"files": guide.digest}})
    jobs = site_jobs(layout, tracked, environment, settings, release, history, page_charts,
                     TrackedDict("revisions", revisions))
    return write_docs(layout, jobs, digests, page_charts, environment, report)


def build_site(layout: Layout, report: BuildReport | None = None) -> Evidence:
    """Validate, generate and build; raises EvidenceError or BuildError and leaves site/ untouched on failure."""
    report = report if report is not None else BuildReport()
    layout.cache.mkdir(parents=True, exist_ok=True)
    with report.step("validate"):
        records = RecordCache(layout.cache / "records.pickle")
        try:
            evidence, guide = validate_with_guide(layout.evidence, layout.content, cache=records)
        finally:
            records.save()
    report.records, report.records_reused = evidence.record_count(), records.reused
    settings = SiteSettings.read(layout.root / "mkdocs.yml")
    try:
        release = read_release(layout.root)
        problems = disagreements(layout.root, release.version)
    except (OSError, ReleaseError) as error:
        raise BuildError(f"the data release cannot be read: {error}") from error
    if problems:
        raise BuildError("the data release is stated differently in different places:\n" + "\n".join(problems))
    try:
        with report.step("pages and write"):
            docs = generate_docs(layout, evidence, records, settings, release, report, guide)
            report.files_written = docs.written
            report.pages = sum(path.endswith(".md") for path in docs.digests)
        with report.step("mkdocs"):
            output = render_site(layout, docs.digests)
            report.pages_rendered = output.rendered
        with report.step("search and linkcheck"):
            search = SearchUpdate(layout, output, pins(evidence))
            report.searched = search.process is not None
            try:
                bundle = check_links(layout, output, urlsplit(settings.url).path or "/", search)
            finally:
                search.stop()
            report.search_peak_rss_mib = search.process.peak_rss_mib if search.process is not None else None
        with report.step("stage"):
            staged = stage(layout, output, bundle)
        with report.step("publish"):
            publish(layout, staged)
        report.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux gives kilobytes
    finally:
        shutil.rmtree(layout.staging_site, ignore_errors=True)  # left by builds before the standby folder
    return evidence
