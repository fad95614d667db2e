"""Links and URLs: the link checker over built HTML, the ledger of published URLs, and redirects from moved ids."""

import shutil

import pytest

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.ledger import missing_from_ledger, update_ledger
from build_scripts.publish.build import build_site
from build_scripts.publish.layout import BuildError
from build_scripts.publish.linkcheck import check_site

from conftest import ROOT, evidence_tree, fixture_layout, fixture_content


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_link_checker_finds_missing_pages_files_and_anchors(tmp_path):
    write(tmp_path / "index.html", '<a href="a/">ok</a><a href="a/#here">ok</a><a href="b/">gone</a>'
                                   '<a href="a/#nowhere">no anchor</a><img src="pic.png"><a href="https://example.org/">ext</a>')
    write(tmp_path / "a" / "index.html", '<h2 id="here">Here</h2><a href="../index.html#top">top</a><a href="#here">self</a>')
    broken = check_site(tmp_path)
    assert sorted((b.page, b.link, b.reason) for b in broken) == [
        ("a/index.html", "../index.html#top", "no element with this id"),
        ("index.html", "a/#nowhere", "no element with this id"),
        ("index.html", "b/", "no such page or file"),
        ("index.html", "pic.png", "no such page or file"),
    ]
    assert str(broken[0]).startswith("a/index.html: link '../index.html#top' -> index.html#top")


def test_link_checker_maps_root_relative_links_through_the_site_prefix(tmp_path):
    write(tmp_path / "index.html", '<a href="/atlas/a/">ok</a><a href="/atlas/b/">gone</a>')
    write(tmp_path / "a" / "index.html", "")
    assert [b.link for b in check_site(tmp_path, "/atlas/")] == ["/atlas/b/"]


def build_with_content(tmp_path, page_text):
    content = fixture_content(tmp_path)
    (content / "methods.md").write_text(page_text)
    layout = fixture_layout(tmp_path, evidence_tree(tmp_path))
    layout = type(layout)(layout.root, layout.evidence, content, layout.templates, layout.work, layout.site)
    return layout


@pytest.mark.parametrize("markdown, target", [
    ('# Methods\n\n<a href="../studies/no-such-study/">raw HTML link</a>\n', "studies/no-such-study/index.html"),
    ('# Methods\n\n<a href="../studies/fixture-dpd-retreatment/#no-such-anchor">anchor</a>\n',
     "studies/fixture-dpd-retreatment/index.html#no-such-anchor"),
])
def test_build_fails_on_a_broken_link_in_raw_html_and_writes_no_site(tmp_path, markdown, target):
    layout = build_with_content(tmp_path, markdown)
    with pytest.raises(BuildError) as caught:
        build_site(layout)
    assert "methods/index.html" in str(caught.value) and target in str(caught.value)
    assert not layout.site.exists()


def test_markdown_link_to_a_missing_page_fails_the_build(tmp_path):
    layout = build_with_content(tmp_path, "# Methods\n\n[gone](no-such-page.md)\n")
    with pytest.raises(BuildError, match="no-such-page.md"):
        build_site(layout)


def test_the_real_site_has_no_broken_link(real_site):
    assert check_site(real_site, "/atlas/") == []


def test_moved_record_keeps_its_old_url_as_a_redirect(tmp_path):
    evidence = evidence_tree(tmp_path)
    old = evidence / "studies" / "fixture-dpd-retreatment.yaml"
    text = old.read_text().replace("id: fixture-dpd-retreatment", "id: fixture-dpd-study\nmoved_from: [fixture-dpd-retreatment]")
    old.unlink()
    (evidence / "studies" / "fixture-dpd-study.yaml").write_text(text)
    review = evidence / "reviews" / "fixture-review.yaml"
    review.write_text(review.read_text().replace("fixture-dpd-retreatment", "fixture-dpd-study"))
    layout = fixture_layout(tmp_path, evidence)
    bottom = layout.content / "bottom-line.md"
    bottom.write_text(bottom.read_text().replace("fixture-dpd-retreatment", "fixture-dpd-study"))
    build_site(layout)
    redirect = (layout.site / "studies" / "fixture-dpd-retreatment" / "index.html").read_text()
    assert 'http-equiv="refresh" content="0; url=../fixture-dpd-study/"' in redirect
    assert (layout.site / "studies" / "fixture-dpd-study" / "index.html").is_file()


def test_new_urls_are_added_to_the_ledger_by_command_and_never_removed(tmp_path):
    evidence_dir = evidence_tree(tmp_path)
    (evidence_dir / "published-urls.txt").write_text("studies/fixture-dpd-retreatment/\n")
    evidence = validate_tree(evidence_dir)
    assert "agents/daratumumab/" in missing_from_ledger(evidence, evidence_dir)
    added = update_ledger(evidence, evidence_dir)
    assert len(added) == 10
    assert missing_from_ledger(validate_tree(evidence_dir), evidence_dir) == []
    assert "studies/fixture-dpd-retreatment/" in (evidence_dir / "published-urls.txt").read_text()


def test_every_real_record_url_is_in_the_committed_ledger():
    evidence_dir = ROOT / "evidence"
    assert missing_from_ledger(validate_tree(evidence_dir), evidence_dir) == []


def test_relative_links_equal_posixpaths_relpath_for_every_shape_of_url():
    # relative() works on URL segments; posixpath.relpath (through the working directory) is the reference.
    import itertools
    import posixpath
    import random

    from build_scripts.render.links import relative

    def reference(from_url: str, to_url: str) -> str:
        target = posixpath.relpath(to_url or ".", from_url or ".")
        return target if target.endswith("/") or "#" in target else target + "/"

    segments = ["", "studies", "x", "a-b", "x#cohort-1", "#top", "data.csv", ".", "..", "studies"]
    generator = random.Random(25)
    urls = {"", "studies/", "studies/x/", "studies/y/", "charts/orr/groups/2/", "summary/#answers", "a//b/"}
    urls |= {"/".join(generator.choice(segments) for _ in range(generator.randint(1, 4))) for _ in range(300)}
    assert len(urls) > 150
    for from_url, to_url in itertools.product(sorted(urls), repeat=2):
        assert relative(from_url, to_url) == reference(from_url, to_url), (from_url, to_url)
