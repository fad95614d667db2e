"""Write the docs folder from content and generated pages, run MkDocs, and replace the site only on success."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit


from .charts import Chart, site_charts
from .checks import validate_tree
from .evidence import Evidence
from .history import read_history
from .linkcheck import check_site
from .mkdocs_hooks import stash_data, stash_file
from .export import DATA_FOLDER, data_files
from .news import news_pages
from .pages import Page, generate_pages, template_environment
from .release import CHANGELOG_FILE, ReleaseError, disagreements, read_release
from .search import SearchIndexError, index_site, pins
from .settings import SiteSettings
from .svg import forest_svg, render_svgs, spec_json, vega_bundle


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
    def cache(self) -> Path:
        return self.work / "cache"

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


@dataclass
class SyncResult:
    """What writing the docs folder did."""

    written: int = 0
    removed: int = 0
    pages: int = 0


def sync_docs(layout: Layout, pages: Iterable[Page]) -> SyncResult:
    """Make the docs folder hold exactly the content files, assets and generated pages.

    Pages are written as they come, so the build never holds the whole site in memory; only paths are kept,
    to remove files that are no longer generated.
    """
    result = SyncResult()
    wanted: set[Path] = set()
    hand_written: set[Path] = set()

    def write(path: Path, data: bytes) -> None:
        wanted.add(path)
        result.written += write_if_changed(path, data)

    for source in sorted(layout.content.rglob("*")):
        if source.is_file():
            target = layout.docs / source.relative_to(layout.content)
            hand_written.add(target)
            write(target, source.read_bytes())
    assets = layout.templates / "assets"
    if assets.is_dir():
        for source in sorted(assets.rglob("*")):
            if source.is_file():
                write(layout.docs / "assets" / source.relative_to(assets), source.read_bytes())
    stashes: set[Path] = set()
    for page in pages:
        target = layout.docs / page.path
        if target in hand_written:
            raise BuildError(f"generated page {page.path} would overwrite the hand-written file content/{page.path}")
        write(target, page.text.encode("utf-8"))
        result.pages += page.path.endswith(".md")
        if page.blocks or page.head:
            stash = stash_file(layout.docs, page.path)
            stashes.add(stash)
            result.written += write_if_changed(stash, stash_data(page.blocks, page.head))
    for root, keep in ((layout.docs.parent / "blocks", stashes), (layout.docs, wanted)):
        if not root.exists():
            continue
        for existing in sorted(root.rglob("*"), reverse=True):
            if existing.is_file() and existing not in keep:
                existing.unlink()
                result.removed += 1
            elif existing.is_dir() and not any(existing.iterdir()):
                existing.rmdir()
    return result


def write_mkdocs_config(layout: Layout) -> None:
    """A config that inherits the project's mkdocs.yml but reads and writes inside the build folder."""
    text = (
        f"INHERIT: {(layout.root / 'mkdocs.yml').resolve().as_posix()}\n"
        f"docs_dir: {layout.docs.resolve().as_posix()}\n"
        f"site_dir: {layout.staging_site.resolve().as_posix()}\n"
        "theme:\n"
        "  name: material\n"
        f"  custom_dir: {(layout.templates / 'overrides').resolve().as_posix()}\n"
        "hooks:\n"
        f"  - {(Path(__file__).parent / 'mkdocs_hooks.py').resolve().as_posix()}\n"
    )
    write_if_changed(layout.mkdocs_config, text.encode("utf-8"))


def source_date_epoch(root: Path) -> str:
    """Commit time of HEAD in seconds, or 0 outside a git checkout."""
    result = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=root, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else "0"


def run_mkdocs(layout: Layout) -> None:
    if layout.staging_site.exists():
        shutil.rmtree(layout.staging_site)
    # MkDocs stamps the sitemap with the build date unless SOURCE_DATE_EPOCH says otherwise: use the
    # date of the commit being built, so two builds of one commit are byte-identical.
    environment = {**os.environ, "SOURCE_DATE_EPOCH": source_date_epoch(layout.root)}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(layout.mkdocs_config)],
        cwd=layout.root, capture_output=True, text=True, env=environment,
    )
    if result.returncode != 0:
        shutil.rmtree(layout.staging_site, ignore_errors=True)
        raise BuildError("mkdocs build --strict failed:\n" + (result.stderr or result.stdout))


def publish(layout: Layout) -> None:
    """Swap the staged site into place; the previous site is removed only once the new one is complete."""
    previous = layout.work / "site-previous"
    shutil.rmtree(previous, ignore_errors=True)
    if layout.site.exists():
        layout.site.rename(previous)
    layout.staging_site.rename(layout.site)
    shutil.rmtree(previous, ignore_errors=True)


def chart_files(charts: dict[str, list[Chart]], cache: Path, environment) -> tuple[list[Page], int]:
    """Each chart's spec and static SVGs (wide, and narrow for small screens) beside its page, and the Vega bundle;
    also how many SVGs Vega rendered."""
    ordered = [(url, chart) for url, page_charts in sorted(charts.items()) for chart in page_charts]
    by_vega = [spec for _, chart in ordered if chart.forest is None
               for spec in (chart.spec, chart.narrow_spec or chart.spec)]
    vega_svgs, rendered = render_svgs(by_vega, cache / "svg")
    vega_iter = iter(vega_svgs)
    files = [Page("assets/vega-bundle.js", vega_bundle(cache))] if ordered else []
    for url, chart in ordered:
        if chart.forest is not None:
            wide, narrow = forest_svg(chart, environment), forest_svg(chart, environment, narrow=True)
        else:
            wide, narrow = next(vega_iter), next(vega_iter)
        files.append(Page(f"{url}{chart.spec_file}", spec_json(chart.spec)))
        files.append(Page(f"{url}{chart.svg_file}", wide))
        files.append(Page(f"{url}{chart.narrow_svg_file}", narrow))
    return files, rendered


@dataclass
class BuildReport:
    """What a build did and how long each step took, in seconds."""

    records: int = 0
    pages: int = 0
    charts: int = 0
    charts_rendered: int = 0
    files_written: int = 0
    steps: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - started


def build_site(layout: Layout, report: BuildReport | None = None) -> Evidence:
    """Validate, generate and build; raises EvidenceError or BuildError and leaves site/ untouched on failure."""
    report = report if report is not None else BuildReport()
    with report.step("validate"):
        evidence = validate_tree(layout.evidence)
    report.records = evidence.record_count()
    settings = SiteSettings.read(layout.root / "mkdocs.yml")
    try:
        release = read_release(layout.root)
        problems = disagreements(layout.root, release.version)
    except (OSError, ReleaseError) as error:
        raise BuildError(f"the data release cannot be read: {error}") from error
    if problems:
        raise BuildError("the data release is stated differently in different places:\n" + "\n".join(problems))
    with report.step("charts"):
        charts = site_charts(evidence)
    with report.step("downloads"):
        environment = template_environment(layout.templates, settings.url)
        downloads = [Page(f"{DATA_FOLDER}/{name}", text)
                     for name, text in data_files(evidence, settings.name, settings.url, release.version).items()]
    with report.step("svg"):
        chart_pages, rendered = chart_files(charts, layout.cache, environment)
    report.charts, report.charts_rendered = sum(len(c) for c in charts.values()), rendered
    with report.step("pages and write"):
        layout.work.mkdir(parents=True, exist_ok=True)
        history = read_history(layout.evidence)
        pages = generate_pages(evidence, environment, charts, settings, history.revisions())
        news = news_pages(evidence, history, environment, settings, release,
                          (layout.root / CHANGELOG_FILE).read_text(encoding="utf-8"))
        synced = sync_docs(layout, itertools.chain(pages, news, downloads, chart_pages))
        report.files_written, report.pages = synced.written, synced.pages
        write_mkdocs_config(layout)
    with report.step("mkdocs"):
        run_mkdocs(layout)
    with report.step("search"):
        try:
            index_site(layout.staging_site, pins(evidence))
        except SearchIndexError as error:
            shutil.rmtree(layout.staging_site, ignore_errors=True)
            raise BuildError(str(error)) from error
    with report.step("linkcheck"):
        broken = check_site(layout.staging_site, urlsplit(settings.url).path or "/")
    if broken:
        shutil.rmtree(layout.staging_site, ignore_errors=True)
        raise BuildError(f"{len(broken)} broken link{'s' if len(broken) != 1 else ''} in the built site:\n"
                         + "\n".join(str(link) for link in broken))
    with report.step("publish"):
        publish(layout)
    return evidence
