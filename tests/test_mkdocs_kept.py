"""MkDocs given only the files it writes and the navigation's while the navigation is kept, and the site still that of
a clean build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mkdocs.config import load_config
from mkdocs.structure.files import InclusionLevel, get_files

from build_scripts.publish import mkdocs_step
from build_scripts.publish.mkdocs_step import keepable
from build_scripts.publish.layout import Layout
from build_scripts.publish.mkdocs_files import kept_files, walk_order
from test_incremental import _project_at, assert_same_site, clean_build, rebuild

STUDY = "fixture-dpd-retreatment"

DOCS = ["index.md", "a.md", "b-c.md", "b/index.md", "b/z.md", "b/a/index.md", "b-c/index.md", "b-c/x.json",
        "a/README.txt", "a/index.md", "a/b/c/index.md", "Z.md", "_x.md", ".hidden.md", "templates/t.md",
        "assets/atlas.css", "studies/index.md", "studies/x-1/index.md", "studies/x/index.md", "studies/x/cite.bib"]


@pytest.fixture
def docs_config(tmp_path: Path):
    docs = tmp_path / "docs"
    for uri in DOCS:
        (docs / uri).parent.mkdir(parents=True, exist_ok=True)
        (docs / uri).write_text("# Page\n\n[link](../index.md)\n" if uri.endswith(".md") else "x\n")
    config_file = tmp_path / "mkdocs.yml"
    config_file.write_text(f"site_name: t\nsite_url: https://example.org/t/\ndocs_dir: {docs}\nsite_dir: {tmp_path / 'site'}\n"
                           "nav:\n  - Home: index.md\n  - A: a.md\n  - Section:\n      - b/index.md\n")
    return load_config(str(config_file))


def test_the_walk_order_is_the_order_get_files_gives(docs_config):
    walked = [file.src_uri for file in get_files(docs_config)]
    assert sorted(walked) == sorted(DOCS)
    assert sorted(DOCS, key=walk_order) == walked


def test_a_kept_collection_holds_the_plans_and_the_navigations_files_and_makes_others_as_get_files_does(docs_config):
    walked = {file.src_uri: file for file in get_files(docs_config)}
    kept = kept_files(docs_config, DOCS, ["studies/x/index.md", "b-c/x.json"], sitemap=False)
    assert [file.src_uri for file in kept] == ["index.md", "a.md", "b/index.md", "b-c/x.json", "studies/x/index.md"]
    assert kept.looked_up == 0
    for uri in ("studies/x-1/index.md", "b/z.md", ".hidden.md", "templates/t.md", "studies/x/cite.bib"):
        made, want = kept.get_file_from_path(uri), walked[uri]
        assert (made.url, made.dest_uri, made.abs_src_path, made.abs_dest_path, made.inclusion) == \
            (want.url, want.dest_uri, want.abs_src_path, want.abs_dest_path, want.inclusion)
        assert not made.is_modified()  # its output is kept, never rendered or copied again
        assert uri not in {file.src_uri for file in kept}
    assert walked[".hidden.md"].inclusion == InclusionLevel.EXCLUDED
    assert kept.looked_up == 5

    # Not a docs file: the theme's files are listed as get_files' collection lists them, once one is looked up.
    env = docs_config.theme.get_env()
    kept.add_files_from_theme(env, docs_config)
    full = get_files(docs_config)
    full.add_files_from_theme(env, docs_config)
    theme_file = next(file for file in full if file.src_uri.endswith(".css") and file.src_uri not in walked)
    assert kept.get_file_from_path(theme_file.src_uri).abs_src_path == theme_file.abs_src_path
    assert kept.get_file_from_path("missing.md") is None and kept.looked_up == 5


def test_a_kept_collection_for_the_sitemap_holds_every_page_in_get_files_order(docs_config):
    walked = [file.src_uri for file in get_files(docs_config) if file.is_documentation_page()]
    kept = kept_files(docs_config, DOCS, [], sitemap=True)
    assert [file.src_uri for file in kept.documentation_pages(inclusion=InclusionLevel.all)] == walked


def test_a_folder_with_two_pages_written_to_one_place_is_walked():
    # get_files keeps one of the two; a kept collection would keep both, and render either.
    assert keepable(DOCS) and keepable(["a/x.md", "b/x.md", "a/x.json", "a/x.csv"])
    for pair in (["a/index.md", "a/README.md"], ["index.md", "index.html"], ["a/x.md", "a/x.markdown"]):
        assert not keepable(pair)


@pytest.fixture
def project(tmp_path: Path) -> Layout:
    return _project_at(tmp_path)


def _docs_files(layout: Layout) -> int:
    return sum(path.is_file() for path in layout.docs.rglob("*"))


def _plan_changed(layout: Layout) -> list[str]:
    return json.loads((layout.cache / "mkdocs-plan-0.json").read_text(encoding="utf-8"))["changed"]


NAV_PAGES = 19  # mkdocs.yml's navigation


def test_an_edit_gives_mkdocs_the_changed_files_and_the_navigations_not_the_docs_folder(project: Layout,
                                                                                       tmp_path: Path):
    first = rebuild(project)
    assert first.mkdocs_files > _docs_files(project)  # a full build walks the docs folder, and the theme's files

    study = project.evidence / "studies" / f"{STUDY}.yaml"
    study.write_text(study.read_text().replace("It has *two* cohorts", "It has *two* cohorts (edited)"))
    report = rebuild(project)
    changed = _plan_changed(project)
    assert 0 < report.pages_rendered < 10
    assert report.mkdocs_files <= len(changed) + NAV_PAGES < _docs_files(project) / 2
    assert "(edited)" in (project.site / "studies" / STUDY / "index.html").read_text()
    assert_same_site(project.site, clean_build(project, tmp_path / "clean-edit"))

    # A page linking to a page outside the collection: the link is made from that page's file, as in a clean build.
    methods = project.content / "methods.md"
    assert "](derived-axes/index.md)" in methods.read_text()
    methods.write_text(methods.read_text() + "\nOne more sentence.\n")
    report = rebuild(project)
    assert report.pages_rendered == 1 and report.mkdocs_files_looked_up >= 1
    assert 'href="../derived-axes/"' in (project.site / "methods" / "index.html").read_text()
    assert_same_site(project.site, clean_build(project, tmp_path / "clean-link"))


def test_the_kept_sitemap_follows_pages_added_and_removed_and_the_build_date(project: Layout, tmp_path: Path,
                                                                           monkeypatch):
    rebuild(project)
    sitemap = project.site / "sitemap.xml"

    # A page added: the sitemap lists it, so MkDocs is given every page (but the docs folder is not walked).
    added = (project.evidence / "studies" / "fixture-unspecified-design.yaml").read_text()
    (project.evidence / "studies" / "fixture-added.yaml").write_text(
        added.replace("id: fixture-unspecified-design", "id: fixture-added"))
    report = rebuild(project)
    assert "studies/fixture-added/" in sitemap.read_text()
    assert report.pages <= report.mkdocs_files < _docs_files(project)
    assert_same_site(project.site, clean_build(project, tmp_path / "clean-added"))

    # A page removed (it was never in the ledger of published URLs).
    (project.evidence / "studies" / "fixture-added.yaml").unlink()
    report = rebuild(project)
    assert "studies/fixture-added/" not in sitemap.read_text()
    assert_same_site(project.site, clean_build(project, tmp_path / "clean-removed"))

    # Nothing changed but the date of the commit built: the sitemap's dates change, the pages do not.
    monkeypatch.setattr(mkdocs_step, "source_date_epoch", lambda root: "1700000000")
    report = rebuild(project)
    assert report.pages_rendered == 0 and "<lastmod>2023-11-14</lastmod>" in sitemap.read_text()
    assert_same_site(project.site, clean_build(project, tmp_path / "clean-dated"))

    # An edit on that date keeps the sitemap, and gives MkDocs only the changed files and the navigation's.
    study = project.evidence / "studies" / f"{STUDY}.yaml"
    study.write_text(study.read_text().replace("It has *two* cohorts", "It has *two* cohorts (edited)"))
    before = (project.output / "sitemap.xml").stat().st_ino
    report = rebuild(project)
    assert report.mkdocs_files <= len(_plan_changed(project)) + NAV_PAGES
    assert "sitemap.xml" not in json.loads((project.cache / "mkdocs-result-0.json").read_text())["written"]
    assert (project.output / "sitemap.xml").stat().st_ino == before
    assert_same_site(project.site, clean_build(project, tmp_path / "clean-dated-edit"))
