"""Write the docs folder from content and generated pages, run MkDocs, and replace the site only on success.

Each step redoes only what changed since it last succeeded, and keeps what it needs for that in build/cache:
- validation reads again only the record files whose bytes changed (record_checks.RecordCache), and checks again the
  references of only the records that changed or read one that did (kept_links.KeptLinks);
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

import gc
import resource
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment

from build_scripts.derive.checks import collection_paused
from build_scripts.derive.guide import NO_GUIDE, Guide, TrackedGuide, validate_with_guide
from build_scripts.derive.kept_links import KeptLinks
from build_scripts.derive.record_checks import RecordCache
from build_scripts.load.cache import Digests, TrackedDict, digest, note, tracked_evidence
from build_scripts.load.evidence import Evidence
from build_scripts.load.history import read_history
from build_scripts.load.release import ReleaseError, disagreements, read_release
from build_scripts.load.settings import SiteSettings
from build_scripts.publish.docs import DocsFolder, site_jobs, write_docs
from build_scripts.publish.layout import BuildError, BuildReport, Layout
from build_scripts.publish.mkdocs_step import render_site
from build_scripts.publish.staging import SearchUpdate, check_links, publish, stage
from build_scripts.publish.theme import PATCHES_FILE
from build_scripts.render.charts import PageCharts
from build_scripts.render.search import companions, pins
from build_scripts.render.templating import template_environment


# ---------------------------------------------------------------- the docs folder


# ---------------------------------------------------------------- MkDocs


# ---------------------------------------------------------------- search, staging, links


# ---------------------------------------------------------------- the build

# A validation that parsed this many record files anew leaves enough garbage to collect before its records are set
# aside; an edit's validation parses a few and skips the collection, which would only walk every record again.
COLLECT_AFTER_PARSING = 1000


class TracedEnvironment(Environment):
    """Templates that record, in the job being traced, each template it loads: its own and those it imports, includes
    or extends (Jinja loads them all through get_template), so a template edit reruns only the jobs that use it."""

    def get_template(self, name, parent=None, globals=None):  # noqa: A002 - Jinja's signature
        if isinstance(name, str):
            note(("templates", "item", self.join_path(name, parent) if parent is not None else name))
        return super().get_template(name, parent, globals)


def template_digests(templates: Path) -> dict[str, str]:
    """The digest of every page template (the theme's own files, its patches and the assets are not jobs' templates)."""
    if not templates.is_dir():
        return {}
    return {path.relative_to(templates).as_posix(): digest(path.read_bytes()) for path in sorted(templates.rglob("*"))
            if path.is_file() and path.relative_to(templates).parts[0] not in ("overrides", "assets", PATCHES_FILE)}


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
    try:
        return _build(layout, report if report is not None else BuildReport())
    finally:
        gc.unfreeze()  # what validation set aside (collection_paused) is collectable again once the build is over


def _build(layout: Layout, report: BuildReport) -> Evidence:
    layout.cache.mkdir(parents=True, exist_ok=True)
    with report.step("validate"):
        records = RecordCache(layout.cache / "records.pickle")
        links = KeptLinks(layout.cache / "record-links.pickle")
        try:
            with collection_paused(set_aside=True, collect_first=lambda: records.parsed >= COLLECT_AFTER_PARSING):
                evidence, guide = validate_with_guide(layout.evidence, layout.content, cache=records, kept=links)
        finally:
            records.save()
            links.save()
    report.records, report.records_reused = evidence.record_count(), records.reused
    report.records_relinked = len(links.checked)
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
            report.mkdocs_files, report.mkdocs_files_looked_up = output.collected, output.looked_up
        with report.step("search and linkcheck"):
            search = SearchUpdate(layout, output, pins(evidence), companions(evidence))
            report.searched = search.changed
            report.search_shards, report.search_shards_indexed = len(search.plan), len(search.stale)
            try:
                bundle = check_links(layout, output, urlsplit(settings.url).path or "/", search)
            finally:
                search.stop()
            report.search_peak_rss_mib = search.peak_rss_mib
        with report.step("stage"):
            staged = stage(layout, output, bundle)
        with report.step("publish"):
            publish(layout, staged)
        report.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux gives kilobytes
    finally:
        shutil.rmtree(layout.staging_site, ignore_errors=True)  # left by builds before the standby folder
    return evidence
