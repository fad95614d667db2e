"""Incremental builds: each step redoes only what changed, and the site is byte for byte a clean build's."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.record_checks import RecordCache
from build_scripts.load.cache import Digests, Memo, TrackedDict, tracing, tracked_evidence
from build_scripts.load.problems import EvidenceError
from build_scripts.publish.build import build_site
from build_scripts.publish.layout import BuildReport, Layout
from build_scripts.publish.linkcheck import check_pages

from conftest import ROOT, VALID, broken_cases, evidence_tree, fixture_content

STUDY = "fixture-dpd-retreatment"
REGIMEN = "daratumumab-pomalidomide-dexamethasone"


def site_snapshot(site: Path) -> tuple[dict[str, bytes], set[str]]:
    """Every file of a site with its bytes, and every folder."""
    files = {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}
    folders = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_dir()}
    return files, folders


def assert_same_site(incremental: Path, clean: Path) -> None:
    got, want = site_snapshot(incremental), site_snapshot(clean)
    assert sorted(got[0]) == sorted(want[0])
    differing = [path for path in want[0] if got[0][path] != want[0][path]]
    assert differing == []
    assert got[1] == want[1]


def _layout_at(base: Path) -> Layout:
    root = base / "project"
    return Layout(root, root / "evidence", root / "content", root / "templates", base / "work", base / "site")


def _project_at(base: Path) -> Layout:
    """A copy of the project's inputs in `base`, whose navigation takes one title from a page (so a page edit can
    change the navigation of every page)."""
    root = base / "project"
    root.mkdir(parents=True)
    for name in ("CHANGELOG.md", "CITATION.cff"):
        shutil.copyfile(ROOT / name, root / name)
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "  - Methods: methods.md\n" in config
    (root / "mkdocs.yml").write_text(config.replace("  - Methods: methods.md\n", "  - methods.md\n"), encoding="utf-8")
    shutil.copytree(fixture_content(base), root / "content")
    shutil.copytree(ROOT / "templates", root / "templates")
    shutil.copytree(VALID, root / "evidence")
    return _layout_at(base)


@pytest.fixture
def project(tmp_path: Path) -> Layout:
    """A copy of the project's inputs, whose navigation takes one title from a page (so a page edit can change
    the navigation of every page)."""
    return _project_at(tmp_path)


@pytest.fixture(scope="module")
def _pristine_project(tmp_path_factory) -> tuple[Path, Path]:
    """The project built once, in the folder where built_project puts each copy (the build's caches hold absolute
    paths: a copy in another folder would not be an unchanged build), then moved aside: (that folder, the copy)."""
    base = tmp_path_factory.mktemp("built-project")
    here = base / "current"
    build_site(_project_at(here))
    pristine = base / "pristine"
    here.rename(pristine)
    return here, pristine


@pytest.fixture
def built_project(_pristine_project) -> Layout:
    """The project after its first build, for tests whose first build only sets them up: a copy of one build made
    for this module, in the very folder it was built in, with the hard links between the site and the build's
    output kept (cp -a), so that the next build is incremental exactly as a second build in place is."""
    here, pristine = _pristine_project
    shutil.rmtree(here, ignore_errors=True)
    subprocess.run(["cp", "-a", str(pristine), str(here)], check=True)
    return _layout_at(here)


def clean_build(layout: Layout, where: Path) -> Path:
    """The same inputs built from nothing, in another folder."""
    clean = Layout(layout.root, layout.evidence, layout.content, layout.templates, where / "work", where / "site")
    build_site(clean)
    return clean.site


def rebuild(layout: Layout) -> BuildReport:
    report = BuildReport()
    build_site(layout, report)
    return report


def test_incremental_builds_equal_clean_builds_byte_for_byte(project: Layout, tmp_path: Path):
    layout = project
    first = rebuild(layout)
    assert first.jobs_skipped == 0 and first.pages_rendered == first.pages

    # Nothing changed: nothing is generated, rendered or indexed again.
    warm = rebuild(layout)
    assert (warm.jobs_run, warm.pages_rendered, warm.searched, warm.records_reused) == (0, 0, False, warm.records)
    assert first.records_relinked > 0 and warm.records_relinked == 0  # no record's references checked again
    assert_same_site(layout.site, clean_build(layout, tmp_path / "clean-0"))

    # Add a study (it is not yet in the ledger of published URLs, which is allowed).
    added = (layout.evidence / "studies" / "fixture-unspecified-design.yaml").read_text()
    (layout.evidence / "studies" / "fixture-added.yaml").write_text(
        added.replace("id: fixture-unspecified-design", "id: fixture-added")
        .replace("title: Fixture real-world study of unstated design", "title: Fixture study added later"))
    report = rebuild(layout)
    assert 0 < report.jobs_run < report.jobs_run + report.jobs_skipped
    assert 0 < report.pages_rendered < report.pages and report.searched
    assert report.records_relinked == 1  # the study added: nothing names it yet
    assert_same_site(layout.site, clean_build(layout, tmp_path / "clean-1"))

    # Remove a study, and its URL from the ledger.
    (layout.evidence / "studies" / "fixture-unspecified-design.yaml").unlink()
    ledger = layout.evidence / "published-urls.txt"
    ledger.write_text(ledger.read_text().replace("studies/fixture-unspecified-design/\n", ""))
    rebuild(layout)
    assert not (layout.site / "studies" / "fixture-unspecified-design").exists()
    assert_same_site(layout.site, clean_build(layout, tmp_path / "clean-2"))

    # Rename a study: its old URL becomes a redirect.
    old = layout.evidence / "studies" / f"{STUDY}.yaml"
    text = old.read_text().replace(f"id: {STUDY}", f"id: fixture-dpd-study\nmoved_from: [{STUDY}]")
    old.unlink()
    (layout.evidence / "studies" / "fixture-dpd-study.yaml").write_text(text)
    review = layout.evidence / "reviews" / "fixture-review.yaml"
    review.write_text(review.read_text().replace(STUDY, "fixture-dpd-study"))
    bottom = layout.content / "bottom-line.md"  # the bottom line cites the study by its id, as the review does
    bottom.write_text(bottom.read_text().replace(STUDY, "fixture-dpd-study"))
    rebuild(layout)
    assert "url=../fixture-dpd-study/" in (layout.site / "studies" / STUDY / "index.html").read_text()
    assert_same_site(layout.site, clean_build(layout, tmp_path / "clean-3"))

    # Edit a page template: every study page changes, nothing else is generated again.
    template = layout.templates / "study.md.j2"
    template.write_text(template.read_text() + "\nEdited template.\n")
    report = rebuild(layout)
    assert "Edited template." in (layout.site / "studies" / "fixture-dpd-study" / "index.html").read_text()
    assert_same_site(layout.site, clean_build(layout, tmp_path / "clean-4"))

    # Edit the theme's override: every page is rendered again.
    main = layout.templates / "overrides" / "main.html"
    main.write_text(main.read_text() + "\n{#- edited -#}\n")
    report = rebuild(layout)
    assert report.pages_rendered == report.pages and report.jobs_run == 0
    assert_same_site(layout.site, clean_build(layout, tmp_path / "clean-5"))

    # Edit the title of a page the navigation takes its title from: every page's navigation changes.
    methods = layout.content / "methods.md"
    methods.write_text(methods.read_text().replace("# Methods", "# How the atlas is made", 1))
    report = rebuild(layout)
    assert report.pages_rendered == report.pages
    assert "How the atlas is made" in (layout.site / "studies" / "fixture-dpd-study" / "index.html").read_text()
    assert_same_site(layout.site, clean_build(layout, tmp_path / "clean-6"))

    # Add a clinical question: its page appears and the summary lists it; no study page is generated again.
    questions = layout.content / "questions.yaml"
    questions.write_text(questions.read_text() + "  - id: exposed-not-refractory\n    question: Exposed only?\n"
                         "    short: Exposed\n    where: {prior_status: [exposed_not_refractory]}\n")
    report = rebuild(layout)
    assert (layout.site / "questions" / "exposed-not-refractory" / "index.html").is_file()
    assert "Exposed only?" in (layout.site / "summary" / "index.html").read_text()
    assert 0 < report.jobs_run < report.jobs_run + report.jobs_skipped
    assert_same_site(layout.site, clean_build(layout, tmp_path / "clean-7"))


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("case", broken_cases())
def test_cached_validation_reports_what_a_fresh_one_does(tmp_path, case):
    evidence = evidence_tree(tmp_path, case)
    with pytest.raises(EvidenceError) as fresh:
        validate_tree(evidence)
    store = tmp_path / "records.pickle"
    for run in range(2):
        records = RecordCache(store)
        with pytest.raises(EvidenceError) as cached:
            validate_tree(evidence, cache=records)
        records.save()
        assert cached.value.problems == fresh.value.problems
    assert records.reused > 0 and records.reused == len(records.file_digests)


def test_cached_validation_reads_again_only_changed_files_and_keeps_records_equal(tmp_path):
    evidence = evidence_tree(tmp_path)
    store = tmp_path / "records.pickle"
    first = RecordCache(store)
    fresh = validate_tree(evidence, cache=first)
    first.save()
    study = evidence / "studies" / f"{STUDY}.yaml"
    study.write_text(study.read_text().replace("title: Fixture study of DPd retreatment", "title: Edited title"))
    second = RecordCache(store)
    cached = validate_tree(evidence, cache=second)
    assert second.reused == len(second.file_digests) - 1
    assert cached.studies[STUDY].title == "Edited title"
    assert cached.studies["fixture-randomised"] == fresh.studies["fixture-randomised"]
    assert cached.publications == fresh.publications


def test_a_code_change_discards_the_validation_cache(tmp_path, monkeypatch):
    evidence = evidence_tree(tmp_path)
    store = tmp_path / "records.pickle"
    first = RecordCache(store)
    validate_tree(evidence, cache=first)
    first.save()
    monkeypatch.setattr("build_scripts.derive.record_checks.code_version", lambda: "other code")
    second = RecordCache(store)
    validate_tree(evidence, cache=second)
    assert second.reused == 0


def test_dates_in_the_future_are_checked_against_today_even_for_cached_files(tmp_path):
    import datetime as dt

    evidence = evidence_tree(tmp_path)
    store = tmp_path / "records.pickle"
    records = RecordCache(store)
    validate_tree(evidence, today=dt.date(2100, 1, 1), cache=records)
    records.save()
    records = RecordCache(store)
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence, today=dt.date(2020, 6, 1), cache=records)
    assert records.reused == len(records.file_digests)
    assert any("in the future" in problem.message and problem.line > 1 for problem in caught.value.problems)


# ---------------------------------------------------------------- traces


def test_tracked_evidence_records_what_is_read_and_digests_follow_the_records():
    evidence = validate_tree(VALID)
    digests = {key: f"d-{key[1]}" for key in evidence.files}
    tracked = tracked_evidence(evidence)
    with tracing() as trace:
        tracked.studies[STUDY]
        tracked.publications.get("fixture-2020-journal")
        tracked.cohorts_by_regimen.get("daratumumab-pomalidomide-dexamethasone")
        len(tracked.agents)
    assert trace.reads == {("studies", "item", STUDY), ("publications", "item", "fixture-2020-journal"),
                           ("index:cohorts_by_regimen", "item", "daratumumab-pomalidomide-dexamethasone"),
                           ("agents", "keys")}
    with tracing() as everything:
        list(tracked.reviews.values())
    assert everything.reads == {("reviews", "all")}
    reads = tuple(sorted(trace.reads, key=repr))
    key = Digests(evidence, digests).of_all(reads)
    unrelated = Digests(evidence, {**digests, ("study", "fixture-unspecified-design"): "changed"})
    # fixture-unspecified-design's cohort is given the same regimen, so the index entry changes with it ...
    assert unrelated.of_all(reads) != key
    # ... while a record nothing read does not change the key.
    assert Digests(evidence, {**digests, ("agent", "pomalidomide"): "changed"}).of_all(reads) == key
    assert Digests(evidence, {**digests, ("study", STUDY): "changed"}).of_all(reads) != key


def test_a_shared_value_charges_its_reads_to_every_job_that_uses_it():
    data = TrackedDict("things", {"a": 1, "b": 2})
    memo = Memo()
    traces = []
    for _ in range(2):
        with tracing() as trace:
            memo.get("sum", lambda: data["a"] + data["b"])
        traces.append(trace.reads)
    assert traces[0] == traces[1] == {("things", "item", "a"), ("things", "item", "b")}


def test_only_the_jobs_whose_reads_changed_run_again(built_project: Layout):
    project = built_project  # built once: the first build only set the test up
    study = project.evidence / "studies" / "fixture-randomised.yaml"
    study.write_text(study.read_text().replace("title: ", "title: Edited ", 1))
    report = rebuild(project)
    assert "study:fixture-randomised" in report.ran and "index:study" in report.ran
    # The agent pages count the studies of each regimen, and the edited study's arms are given one of them.
    assert "agent:daratumumab" in report.ran
    unaffected = {f"study:{STUDY}", "study:fixture-unspecified-design", "publication:fixture-2020-journal",
                  "vega-bundle", "definitions"}
    assert unaffected.isdisjoint(report.ran)


def test_a_template_edit_reruns_only_the_jobs_that_load_it(built_project: Layout, tmp_path: Path):
    project = built_project  # built once: the first build only set the test up
    agent = project.templates / "agent.md.j2"
    agent.write_text(agent.read_text() + "\n<!-- the agent pages' template, edited -->\n")
    report = rebuild(project)
    assert report.ran and all(name.startswith("agent:") for name in report.ran)
    # a template imported by others reruns the jobs of every template that imports it, and only those
    uses = project.templates / "_regimen_uses.j2"
    uses.write_text(uses.read_text() + "\n{# edited #}\n")
    report = rebuild(project)
    assert {"index:regimen", "agent:daratumumab", f"regimen:{REGIMEN}"} <= set(report.ran)
    assert not any(name.startswith(("study:", "publication:", "chart:")) for name in report.ran)
    assert_same_site(project.site, clean_build(project, tmp_path / "clean"))


def test_the_report_gives_pagefinds_peak_memory_when_it_ran_and_the_main_process_peak(built_project: Layout):
    project = built_project  # built once: the first build only set the test up
    warm = rebuild(project)
    assert not warm.searched and warm.search_peak_rss_mib is None and warm.peak_rss_mib > 10
    study = project.evidence / "studies" / f"{STUDY}.yaml"
    study.write_text(study.read_text().replace("It has *two* cohorts", "It has *two* cohorts (edited)"))
    edited = rebuild(project)
    assert edited.searched and 1 < edited.search_peak_rss_mib < 4096


# ---------------------------------------------------------------- MkDocs output, publishing, links


def test_unchanged_pages_are_not_rendered_again_and_the_published_site_is_never_written_in_place(
        built_project: Layout, tmp_path: Path):
    project = built_project  # built once: the first build only set the test up
    changed = project.site / "studies" / STUDY / "index.html"
    unchanged = project.site / "agents" / "daratumumab" / "index.html"
    kept = tmp_path / "kept.html"
    os.link(changed, kept)  # a reader still holding the published page
    before, unchanged_inode = kept.read_bytes(), unchanged.stat().st_ino
    study = project.evidence / "studies" / f"{STUDY}.yaml"
    study.write_text(study.read_text().replace("It has *two* cohorts", "It has *two* cohorts (edited)"))
    report = rebuild(project)
    assert "(edited)" in changed.read_text() and kept.read_bytes() == before
    assert unchanged.stat().st_ino == unchanged_inode
    assert 0 < report.pages_rendered < 10


def test_a_failed_build_is_failed_again_until_its_cause_is_fixed(built_project: Layout, tmp_path: Path):
    project = built_project  # built once: the first build only set the test up
    methods = project.content / "methods.md"
    good = methods.read_text()
    methods.write_text(good + '\n<a href="../studies/no-such-study/">broken</a>\n')
    for _ in range(2):  # the link check remembers only sites that passed
        with pytest.raises(Exception, match="no-such-study"):
            rebuild(project)
    methods.write_text(good + "\n[gone](no-such-page.md)\n")
    with pytest.raises(Exception, match="no-such-page.md"):
        rebuild(project)
    methods.write_text(good)
    rebuild(project)
    assert_same_site(project.site, clean_build(project, tmp_path / "clean"))


def _page(site: Path, path: str, html: str) -> None:
    (site / path).parent.mkdir(parents=True, exist_ok=True)
    (site / path).write_text(html)


def test_link_check_reads_changed_pages_and_rechecks_links_to_what_changed(tmp_path):
    site = tmp_path / "site"
    _page(site, "a/index.html", '<a href="../b/">b</a> <a href="../c/#part">c</a> <a href="../d.svg">d</a>')
    _page(site, "b/index.html", "<p>b</p>")
    _page(site, "c/index.html", '<h2 id="part">c</h2>')
    _page(site, "d.svg", "<svg></svg>")
    files = {"a/index.html": "1", "b/index.html": "1", "c/index.html": "1", "d.svg": "1"}
    broken, state = check_pages(site, "/", files)
    assert broken == []
    # a is unchanged; b disappears, c loses its id, d is replaced by nothing: all three links are reported.
    (site / "b" / "index.html").unlink()
    (site / "d.svg").unlink()
    _page(site, "c/index.html", "<h2>c</h2>")
    broken, _ = check_pages(site, "/", {"a/index.html": "1", "c/index.html": "2"}, state)
    assert sorted((b.page, b.target) for b in broken) == [
        ("a/index.html", "b/index.html"), ("a/index.html", "c/index.html#part"), ("a/index.html", "d.svg")]


PARALLEL_BUILD = """
import sys
from pathlib import Path
from build_scripts.publish import build, docs, mkdocs_step
from build_scripts.publish.layout import BuildReport, Layout
docs.PARALLEL_SECONDS, mkdocs_step.PARALLEL_PAGES = 0, 1
shared = []
run_all = docs.JobRunner.run_all
def sharing(runner, jobs, estimates):
    shared.append(docs._single_threaded() and len(jobs) > 1)
    return run_all(runner, jobs, estimates)
docs.JobRunner.run_all = sharing
root, work, site = (Path(arg) for arg in sys.argv[1:])
report = BuildReport()
build.build_site(Layout(root, root / "evidence", root / "content", root / "templates", work, site), report)
assert shared == [True] and report.pages_rendered >= 1, (shared, report)
"""


def test_builds_shared_between_two_processes_equal_builds_in_one(project: Layout, tmp_path: Path):
    import subprocess
    import sys

    def parallel_build() -> None:
        # In a process of its own: one that has run Vega (as this one has) does its jobs in one process.
        subprocess.run([sys.executable, "-c", PARALLEL_BUILD, str(project.root), str(project.work), str(project.site)],
                       cwd=ROOT, check=True)

    parallel_build()
    # the job processes handed back the exact intervals they made, and the build kept them
    from build_scripts.load.cache import code_version, load_store
    assert load_store(project.cache / "kept.pickle", code_version())["exact intervals"]
    assert_same_site(project.site, clean_build(project, tmp_path / "serial"))
    study = project.evidence / "studies" / f"{STUDY}.yaml"
    study.write_text(study.read_text().replace("It has *two* cohorts", "It has *two* cohorts (edited)"))
    parallel_build()
    assert_same_site(project.site, clean_build(project, tmp_path / "edited"))


def test_jobs_are_shared_out_by_cost_and_a_groups_jobs_may_go_to_either_process():
    # The group's shared work is computed before the job processes fork (PageCharts.prepare), so its jobs are
    # shared out like any other: a group of most of an edit's work no longer runs in one process.
    from build_scripts.publish.docs import share_out
    from build_scripts.render.pages import PageJob

    costs = {"s1": 5.0, "s2": 4.0, "a": 3.0, "b": 3.0, "s3": 1.0}
    jobs = [PageJob(name, list, "synthesis" if name.startswith("s") else None) for name in costs]
    shares = share_out(jobs, lambda job: costs[job.name])
    assert [[job.name for job in share] for share in shares] == [["s1", "b"], ["s2", "a", "s3"]]
    assert all(any(job.group == "synthesis" for job in share) for share in shares)


# ---------------------------------------------------------------- pages that stay light


def test_long_tables_go_on_over_pages_whose_links_all_resolve(project: Layout, monkeypatch):
    from build_scripts.render import paging

    monkeypatch.setattr(paging, "TABLE_PAGE_SIZE", 1)
    rebuild(project)  # the link check passes: every link of the continuation pages resolves
    site = project.site
    regimen = site / "regimens" / "daratumumab-pomalidomide-dexamethasone"
    first = (regimen / "index.html").read_text()
    assert "Cohorts 1–1 of" in first and 'href="page/2/"' in first
    second = (regimen / "page" / "2" / "index.html").read_text()
    assert "Cohorts 2–2 of" in second and 'href="../../../../studies/' in second
    chart = (site / "charts" / "vgpr-or-better" / "index.html").read_text()
    assert "Rows 1–1 of" in chart and 'href="chart-vgpr-or-better/2/"' in chart
    assert chart.split('class="atlas-chart-table"')[1].split("</table>")[0].count("<tr><td>") == 1
    rows = (site / "charts" / "vgpr-or-better" / "chart-vgpr-or-better" / "2" / "index.html").read_text()
    assert "Rows 2–2 of" in rows and 'href="../../../../studies/' in rows
    assert 'href="../../#chart-vgpr-or-better"' in rows
    lines = (site / "studies" / STUDY / "chart-lines" / "2" / "index.html").read_text()
    assert "Lines of therapy per patient: data" in lines
    # the derived axes go on over pages of whole studies, whose links (to the methods too) resolve
    axes = (site / "derived-axes" / "2" / "index.html").read_text()
    assert "Derived axes, cohort by cohort: cohorts" in axes and 'href="../../methods/"' in axes
    # the regimen tables and the Evidence summary link their long lists, whose pages link back
    assert 'href="all-regimens/"' in (site / "regimen-tables" / "index.html").read_text()
    tables = (site / "regimen-tables" / "all-regimens" / "2" / "index.html").read_text()
    assert "Cohorts 2–2 of" in tables and 'href="../../#all-regimens"' in tables
    assert 'href="../imid-refractory/cohorts/"' in (site / "summary" / "details" / "index.html").read_text()
    cohorts = (site / "summary" / "imid-refractory" / "cohorts" / "2" / "index.html").read_text()
    assert "Cohorts 2–2 of" in cohorts and 'href="../../../details/#cohorts-imid-refractory"' in cohorts


EDITS = {"studies": ("title: ", "title: Edited "), "publications": ("title: ", "title: Edited "),
         "regimens": ("name: ", "name: Edited "), "agents": ("name: ", "name: Edited "),
         "reviews": ("title: ", "title: Edited ")}


def _docs(layout: Layout) -> dict[str, bytes]:
    from build_scripts.publish.build import generate_docs
    from build_scripts.load.release import read_release
    from build_scripts.load.settings import SiteSettings

    records = RecordCache(layout.cache / "records.pickle")
    evidence = validate_tree(layout.evidence, cache=records)
    records.save()
    generate_docs(layout, evidence, records, SiteSettings.read(layout.root / "mkdocs.yml"), read_release(layout.root),
                  BuildReport())
    return {**site_snapshot(layout.docs)[0], **{f"blocks/{k}": v for k, v in site_snapshot(layout.blocks)[0].items()}}


@pytest.mark.parametrize("folder", sorted(EDITS))
def test_every_record_a_job_reads_is_in_its_trace(project: Layout, tmp_path: Path, folder: str):
    """Edit each record of a kind in turn: the jobs that did not run again wrote what fresh jobs write."""
    project.cache.mkdir(parents=True)
    _docs(project)
    old, new = EDITS[folder]
    for path in sorted((project.evidence / folder).glob("*.yaml")):
        path.write_text(path.read_text().replace(old, new, 1))
        incremental = _docs(project)
        fresh = Layout(project.root, project.evidence, project.content, project.templates,
                       tmp_path / path.stem / "work", tmp_path / path.stem / "site")
        fresh.cache.mkdir(parents=True)
        assert incremental == _docs(fresh), path.name
