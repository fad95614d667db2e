"""A data release has one version and date (CITATION.cff) that the changelog and datapackage.json repeat."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from build_scripts.load.release import ReleaseError, changelog_releases, disagreements, read_release
from build_scripts.publish.build import build_site
from build_scripts.publish.layout import BuildError, Layout

from conftest import ROOT, evidence_tree, fixture_content

CHANGELOG = """# Changelog

## Unreleased

- Something new.

## 0.2.0 (2026-12-01)

- More studies.

## 0.1.0 (2026-11-21)

- The first evidence base.
"""


def release_root(tmp_path, version="0.2.0", date="2026-12-01", changelog=CHANGELOG):
    (tmp_path / "CITATION.cff").write_text(f'cff-version: 1.2.0\nversion: {version}\ndate-released: "{date}"\n')
    (tmp_path / "CHANGELOG.md").write_text(changelog)
    return tmp_path


def test_changelog_entries_are_read_newest_first_and_unreleased_is_not_one():
    assert [(r.version, r.date) for r in changelog_releases(CHANGELOG)] == [("0.2.0", "2026-12-01"),
                                                                          ("0.1.0", "2026-11-21")]


def test_agreeing_release_files_have_no_disagreement(tmp_path):
    assert disagreements(release_root(tmp_path), "0.2.0") == []


@pytest.mark.parametrize("citation, package, expected", [
    (("0.3.0", "2026-12-01"), "0.3.0", "the latest entry of CHANGELOG.md is 0.2.0 (2026-12-01), but CITATION.cff says 0.3.0"),
    (("0.2.0", "2026-12-02"), "0.2.0", "but CITATION.cff says 0.2.0 (2026-12-02)"),
    (("0.2.0", "2026-12-01"), "0.1.0", "datapackage.json has version '0.1.0', but CITATION.cff says '0.2.0'"),
    (("0.2.0", "2026-12-01"), None, "datapackage.json has version None"),
])
def test_each_disagreement_is_named(tmp_path, citation, package, expected):
    problems = disagreements(release_root(tmp_path, *citation), package)
    assert len(problems) == 1 and expected in problems[0]


def test_a_changelog_without_a_released_entry_disagrees(tmp_path):
    problems = disagreements(release_root(tmp_path, changelog="# Changelog\n\n## Unreleased\n"), "0.2.0")
    assert problems == ["CHANGELOG.md has no released entry ('## 0.2.0 (2026-12-01)')"]


@pytest.mark.parametrize("line", ["version: 1.0\ndate-released: \"2026-12-01\"", "version: 0.2.0\n",
                                  "version: 0.2.0\ndate-released: 2026-12-01T10:00:00"])
def test_citation_without_a_usable_version_and_date_is_refused(tmp_path, line):
    (tmp_path / "CITATION.cff").write_text(f"cff-version: 1.2.0\n{line}\n")
    with pytest.raises(ReleaseError, match="MAJOR.MINOR.PATCH"):
        read_release(tmp_path)


def test_the_project_release_files_agree_with_the_built_datapackage(fixture_site):
    package = json.loads((fixture_site / "data" / "datapackage.json").read_text())
    assert disagreements(ROOT, package.get("version")) == []
    assert package["version"] == read_release(ROOT).version


def test_the_changelog_is_published_on_the_site(fixture_site):
    html = (fixture_site / "changelog" / "index.html").read_text()
    release = read_release(ROOT)
    assert f"{release.version} ({release.date})" in html


def test_how_to_cite_asks_for_the_data_release_version(fixture_site):
    html = (fixture_site / "how-to-cite" / "index.html").read_text()
    assert "data release" in html and 'href="../changelog/"' in html


def test_a_build_whose_changelog_disagrees_with_citation_cff_fails_without_a_site(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    shutil.copyfile(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copyfile(ROOT / "CHANGELOG.md", root / "CHANGELOG.md")
    citation = (ROOT / "CITATION.cff").read_text()
    (root / "CITATION.cff").write_text(re.sub(r"^version: .*$", "version: 99.0.0", citation, flags=re.M))
    layout = Layout(root, evidence_tree(tmp_path), fixture_content(tmp_path), ROOT / "templates", tmp_path / "b",
                    tmp_path / "s")
    with pytest.raises(BuildError, match="CITATION.cff says 99.0.0"):
        build_site(layout)
    assert not layout.site.exists()
