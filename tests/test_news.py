"""A living atlas: the git history of evidence/ read in one `git log`, shown on the What's new page and in an
Atom feed, with dates from the history and never from the clock."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest

from build_scripts.build import build_site
from build_scripts.history import parse_log, read_history

from conftest import VALID, fixture_layout

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


@pytest.fixture
def repo(tmp_path) -> Repo:
    """The valid fixture tree committed in two steps, then one study edited: three commits, dated."""
    repo = Repo(tmp_path / "repo")
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
