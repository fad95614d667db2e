"""Incremental builds: each step redoes only what changed, and the site is byte for byte a clean build's."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from build_scripts import cache
from build_scripts.build import BuildReport, Layout, build_site
from build_scripts.cache import Digests, Memo, TrackedDict, tracing, tracked_evidence
from build_scripts.checks import RecordCache, validate_tree
from build_scripts.linkcheck import check_pages
from build_scripts.problems import EvidenceError

from conftest import ROOT, VALID, broken_cases, evidence_tree

STUDY = "fixture-dpd-retreatment"


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


@pytest.fixture
def project(tmp_path: Path) -> Layout:
    """A copy of the project's inputs, whose navigation takes one title from a page (so a page edit can change
    the navigation of every page)."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("CHANGELOG.md", "CITATION.cff"):
        shutil.copyfile(ROOT / name, root / name)
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "  - Methods: methods.md\n" in config
    (root / "mkdocs.yml").write_text(config.replace("  - Methods: methods.md\n", "  - methods.md\n"), encoding="utf-8")
    shutil.copytree(ROOT / "content", root / "content")
    shutil.copytree(ROOT / "templates", root / "templates")
    shutil.copytree(VALID, root / "evidence")
    return Layout(root, root / "evidence", root / "content", root / "templates", tmp_path / "work", tmp_path / "site")


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
    assert_same_site(layout.site, clean_build(layout, tmp_path / "clean-0"))

    # Add a study (it is not yet in the ledger of published URLs, which is allowed).
    added = (layout.evidence / "studies" / "fixture-unspecified-design.yaml").read_text()
    (layout.evidence / "studies" / "fixture-added.yaml").write_text(
        added.replace("id: fixture-unspecified-design", "id: fixture-added")
        .replace("title: Fixture real-world study of unstated design", "title: Fixture study added later"))
    report = rebuild(layout)
    assert 0 < report.jobs_run < report.jobs_run + report.jobs_skipped
    assert 0 < report.pages_rendered < report.pages and report.searched
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
