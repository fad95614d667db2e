"""A living atlas: the git history of evidence/ read in one `git log`, shown on the What's new page and in an
Atom feed, with dates from the history and never from the clock."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from build_scripts.derive.checks import validate_tree
from build_scripts.load.history import Change, History, parse_log, read_history
from build_scripts.load.release import Release, read_release
from build_scripts.load.settings import SiteSettings
from build_scripts.publish.build import build_site
from build_scripts.render import news
from build_scripts.render.news import news_pages
from build_scripts.render.templating import template_environment

from conftest import ROOT, VALID, fixture_layout

ATOM = "{http://www.w3.org/2005/Atom}"
STUDY = "studies/fixture-dpd-retreatment.yaml"
SITE_URL = "https://anti-cd38-atlas.github.io/atlas/"


class Repo:
    """A throwaway git repository whose commits have the dates the test gives them."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.environment = {"PATH": os.environ.get("PATH", ""), "HOME": str(root), "GIT_CONFIG_NOSYSTEM": "1",
                            "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "Curator",
                            "GIT_AUTHOR_EMAIL": "curator@example.org", "GIT_COMMITTER_NAME": "Curator",
                            "GIT_COMMITTER_EMAIL": "curator@example.org", "LC_ALL": "C"}
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, date: str | None = None) -> str:
        environment = dict(self.environment)
        if date:
            environment.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
        return subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=self.root, env=environment,
                              capture_output=True, text=True, check=True).stdout

    def commit(self, message: str, date: str, *paths: str) -> str:
        self.git("add", *(paths or ["-A"]))
        self.git("commit", "-q", "-m", message, date=date)
        return self.git("rev-parse", "HEAD").strip()


def committed_fixture_tree(root: Path) -> Repo:
    """The valid fixture tree committed in two steps, then one study's title edited: three commits, dated."""
    repo = Repo(root)
    evidence = repo.root / "evidence"
    shutil.copytree(VALID, evidence)
    study = evidence / STUDY
    study_text = study.read_text()
    study.unlink()
    repo.commit("First records", "2026-01-05T09:00:00+01:00")
    study.write_text(study_text)
    repo.commit("Add the fixture study <em>&amp; friends</em>", "2026-02-10T12:30:00+00:00")
    study.write_text(study_text.replace("title: Fixture study of DPd retreatment",
                                        "title: Fixture study of DPd retreatment, corrected"))
    repo.commit("Correct the study's title", "2026-03-15T08:00:00-05:00")
    return repo


@pytest.fixture
def repo(tmp_path) -> Repo:
    return committed_fixture_tree(tmp_path / "repo")


@pytest.fixture(scope="module")
def repo_site(tmp_path_factory) -> Path:
    """The site built from the committed fixture tree."""
    base = tmp_path_factory.mktemp("news-site")
    repo = committed_fixture_tree(base / "repo")
    layout = fixture_layout(base, repo.root / "evidence")
    build_site(layout)
    return layout.site


# ---------------------------------------------------------------- history


def test_history_lists_each_change_newest_first_with_commit_dates_and_subjects(repo):
    history = read_history(repo.root / "evidence")
    assert history.available
    study = [c for c in history.changes if c.repo_path == f"evidence/{STUDY}"]
    assert [(c.action, c.time, c.subject) for c in study] == [
        ("changed", "2026-03-15T08:00:00-05:00", "Correct the study's title"),
        ("added", "2026-02-10T12:30:00+00:00", "Add the fixture study <em>&amp; friends</em>"),
    ]
    assert study[0].path == (repo.root / "evidence" / STUDY).resolve()
    assert {c.action for c in history.changes if c.subject == "First records"} == {"added"}
    assert len([c for c in history.changes if c.subject == "First records"]) == len([p for p in VALID.rglob("*") if p.is_file()]) - 1


def test_revisions_are_the_first_and_latest_dates_of_each_file(repo):
    revisions = read_history(repo.root / "evidence").revisions()
    study = revisions[(repo.root / "evidence" / STUDY).resolve()]
    assert (study.added, study.changed, study.repo_path) == ("2026-02-10", "2026-03-15", f"evidence/{STUDY}")
    agent = revisions[(repo.root / "evidence" / "agents" / "daratumumab.yaml").resolve()]
    assert (agent.added, agent.changed) == ("2026-01-05", "2026-01-05")


def test_a_removed_file_is_a_removal(repo):
    (repo.root / "evidence" / "agents" / "pomalidomide.yaml").unlink()
    repo.commit("Remove an agent", "2026-04-01T00:00:00+00:00")
    newest = read_history(repo.root / "evidence").changes[0]
    assert (newest.action, newest.repo_path) == ("removed", "evidence/agents/pomalidomide.yaml")


def test_outside_a_git_checkout_history_is_unavailable(tmp_path):
    shutil.copytree(VALID, tmp_path / "evidence")
    history = read_history(tmp_path / "evidence")
    assert not history.available and history.changes == () and history.revisions() == {}


def test_log_parser_handles_merges_odd_paths_and_hostile_subjects(tmp_path):
    one, two = "a" * 40, "b" * 40
    log = (f"{one}\x002026-01-02T00:00:00+00:00\x00Merge branch 'x'\x00"
           f"{two}\x002026-01-01T00:00:00+00:00\x00Bad \x1b[31mred\u202e subject\x00"
           "\nA\x00evidence/studies/a b\tc.yaml\x00M\x00evidence/agents/M\x00")
    changes = parse_log(log, tmp_path)
    assert [(c.commit, c.action, c.repo_path) for c in changes] == [
        (two, "added", "evidence/studies/a b\tc.yaml"), (two, "changed", "evidence/agents/M")]
    assert changes[0].subject == "Bad \ufffd[31mred\ufffd subject"


def test_log_parser_refuses_output_it_does_not_understand(tmp_path):
    with pytest.raises(ValueError, match="unexpected git log output"):
        parse_log("not a commit\x00", tmp_path)


# ---------------------------------------------------------------- the Atom feed

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def atom(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == f"{ATOM}feed"
    return root


def assert_valid_atom(feed: ET.Element) -> None:
    """The structure RFC 4287 requires: feed and entry ids, titles and updated dates, an author, entry links."""
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"{ATOM}{name}")) == 1 and feed.findtext(f"{ATOM}{name}").strip(), name
    assert feed.find(f"{ATOM}author/{ATOM}name").text
    assert RFC3339.fullmatch(feed.findtext(f"{ATOM}updated"))
    assert feed.find(f"{ATOM}link[@rel='self']").get("href").endswith("/feed.xml")
    ids = []
    for entry in feed.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1 and entry.findtext(f"{ATOM}{name}").strip(), name
        assert RFC3339.fullmatch(entry.findtext(f"{ATOM}updated"))
        assert entry.find(f"{ATOM}link[@rel='alternate']").get("href").startswith(SITE_URL)
        ids.append(entry.findtext(f"{ATOM}id"))
    assert len(ids) == len(set(ids))


def entries(feed: ET.Element) -> list[tuple[str, str, str]]:
    return [(e.findtext(f"{ATOM}title"), e.findtext(f"{ATOM}updated"), e.find(f"{ATOM}link").get("href"))
            for e in feed.findall(f"{ATOM}entry")]


def test_feed_is_atom_and_lists_the_latest_changes_newest_first(repo_site):
    feed = atom(repo_site / "feed.xml")
    assert_valid_atom(feed)
    study_url = f"{SITE_URL}studies/fixture-dpd-retreatment/"
    listed = entries(feed)
    assert listed[:2] == [
        ("Study changed: Fixture study of DPd retreatment, corrected", "2026-03-15T08:00:00-05:00", study_url),
        ("Study added: Fixture study of DPd retreatment, corrected", "2026-02-10T12:30:00+00:00", study_url),
    ]
    # Then every other record of the fixture tree, added by the first commit.
    assert {updated for _, updated, _ in listed[2:]} == {"2026-01-05T09:00:00+01:00"}
    assert f"{SITE_URL}agents/daratumumab/" in {link for _, _, link in listed[2:]}
    assert len(listed) == len([p for p in VALID.rglob("*.yaml") if p.parent != VALID]) + 1
    assert feed.findtext(f"{ATOM}updated") == "2026-03-15T08:00:00-05:00"


def test_feed_entries_have_stable_ids_naming_record_and_commit(repo_site):
    feed = atom(repo_site / "feed.xml")
    first = feed.find(f"{ATOM}entry")
    assert re.fullmatch(r"tag:anti-cd38-atlas\.github\.io,2026-03-15:atlas/studies/fixture-dpd-retreatment/[0-9a-f]{40}",
                        first.findtext(f"{ATOM}id"))
    assert first.findtext(f"{ATOM}summary").startswith("Correct the study's title (commit ")


def test_whats_new_page_lists_commits_in_order_with_escaped_subjects(repo_site):
    html = (repo_site / "whats-new" / "index.html").read_text()
    subjects = re.findall(r'<span class="atlas-news-subject">(.*?)</span>', html)
    assert subjects == ["Correct the study&#39;s title", "Add the fixture study &lt;em&gt;&amp;amp; friends&lt;/em&gt;",
                        "First records"]
    assert '<time datetime="2026-03-15T08:00:00-05:00">2026-03-15</time>' in html
    assert re.search(r'Study <a href="\.\./studies/fixture-dpd-retreatment/">Fixture study of DPd retreatment,'
                     r' corrected</a> <span class="atlas-news-changed">changed</span>', html)
    assert 'href="../feed.xml"' in html


def test_the_whats_new_page_announces_the_feed_and_no_other_page_has_an_alternate_link(repo_site):
    html = (repo_site / "whats-new" / "index.html").read_text()
    assert re.search(r'<link rel="alternate" type="application/atom\+xml" title="[^"]+" href="\.\./feed\.xml">', html)
    # Material's script fetches the whole sitemap.xml on any page with an alternate link
    others = [p for p in repo_site.rglob("*.html") if p.parent.name != "whats-new"]
    assert others and not [p for p in others if 'rel="alternate"' in p.read_text()]


def test_whats_new_is_in_the_nav_and_linked_from_home(repo_site):
    home = (repo_site / "index.html").read_text()
    assert re.search(r'<a href="whats-new/"[^>]*>\s*What\'s new', home) or re.search(r'href="whats-new/"', home)
    assert home.count('href="whats-new/"') >= 2  # the nav tab and the home page's list


def test_outside_git_the_page_says_history_is_unavailable_and_the_feed_is_empty_but_valid(fixture_site):
    html = (fixture_site / "whats-new" / "index.html").read_text()
    assert "The history of the records is unavailable" in html
    feed = atom(fixture_site / "feed.xml")
    assert_valid_atom(feed)
    assert feed.findall(f"{ATOM}entry") == []
    assert feed.findtext(f"{ATOM}updated") == f"{read_release(ROOT).date}T00:00:00Z"


# ---------------------------------------------------------------- untrusted text and limits


def hostile_history(tmp_path, count: int = 1) -> tuple:
    evidence = validate_tree(VALID)
    path = evidence.files[("study", "fixture-dpd-retreatment")].resolve()
    changes = tuple(Change(f"{i:040x}", f"2026-01-{i + 1:02d}T00:00:00Z",
                           "</summary><script>alert(1)</script> & \uffff \ud800", "changed",
                           "evidence/studies/fixture-dpd-retreatment.yaml", path) for i in reversed(range(count)))
    return evidence, History(True, changes)


def render(evidence, history, monkeypatch=None):
    environment = template_environment(ROOT / "templates", SITE_URL)
    settings = SiteSettings("Atlas & <co>", SITE_URL, "https://example.org/repo")
    return {page.path: page for page in news_pages(evidence, history, environment, settings,
                                                   Release("1.2.3", "2026-01-01"), "# Changelog\n")}


def test_hostile_commit_subjects_and_titles_stay_text_in_the_feed_and_page(tmp_path):
    evidence, history = hostile_history(tmp_path)
    study = evidence.studies["fixture-dpd-retreatment"]
    evidence.studies["fixture-dpd-retreatment"] = study.model_copy(update={"title": "<b>Bold</b> \uffff & co"})
    pages = render(evidence, history)
    feed = ET.fromstring(pages["feed.xml"].text.encode("utf-8"))
    entry = feed.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "Study changed: <b>Bold</b> \ufffd & co"
    assert entry.findtext(f"{ATOM}summary").startswith("</summary><script>alert(1)</script> & \ufffd \ufffd (commit ")
    assert feed.findtext(f"{ATOM}title") == "Atlas & <co>: what's new"
    page = pages["whats-new.md"]
    html = page.text + "".join(page.blocks)
    assert "<script>" not in html and "<b>Bold</b>" not in html
    assert "&lt;/summary&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in html


def test_feed_holds_the_newest_entries_only(tmp_path, monkeypatch):
    monkeypatch.setattr(news, "FEED_ENTRIES", 3)
    evidence, history = hostile_history(tmp_path, count=5)
    feed = ET.fromstring(render(evidence, history)["feed.xml"].text.encode("utf-8"))
    assert [e.findtext(f"{ATOM}updated") for e in feed.findall(f"{ATOM}entry")] == [
        "2026-01-05T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-03T00:00:00Z"]


def test_removed_records_and_files_that_are_not_records_are_not_news(tmp_path):
    evidence = validate_tree(VALID)
    path = evidence.files[("agent", "daratumumab")].resolve()
    changes = (Change("a" * 40, "2026-01-02T00:00:00Z", "gone", "removed", "evidence/agents/daratumumab.yaml", path),
               Change("b" * 40, "2026-01-01T00:00:00Z", "ledger", "changed", "evidence/published-urls.txt",
                      (VALID / "published-urls.txt").resolve()),
               Change("c" * 40, "2026-01-01T00:00:00Z", "kept", "added", "evidence/agents/daratumumab.yaml", path))
    assert [(i.change.subject, i.kind, i.record_id) for i in news.news_items(evidence, History(True, changes))] == [
        ("kept", "agent", "daratumumab")]


def test_the_page_shows_the_newest_changes_only_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(news, "PAGE_ENTRIES", 2)
    evidence, history = hostile_history(tmp_path, count=5)
    page = render(evidence, history)["whats-new.md"]
    html = "".join(page.blocks)
    assert re.findall(r'<time datetime="([^"]+)"', html) == ["2026-01-05T00:00:00Z", "2026-01-04T00:00:00Z"]
    assert "The 2 latest of 5 changes." in html and 'href="https://example.org/repo/commits/main/evidence"' in html
