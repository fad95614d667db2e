"""What the repository's git history says about the record files: each change, and when each file was added
and last changed, all read from one `git log`."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from build_scripts.load.fields import NOT_ONE_LINE

# git's one-letter change types; with --no-renames a renamed file is one removed and one added.
ACTIONS = {"A": "added", "M": "changed", "T": "changed", "D": "removed"}
_COMMIT = re.compile(r"[0-9a-f]{40}")
_STATUS = re.compile(r"[A-Z][0-9]{0,3}")


@dataclass(frozen=True)
class Revision:
    """First and latest commit dates (YYYY-MM-DD) of a file, and its path in the repository."""

    added: str
    changed: str
    repo_path: str


@dataclass(frozen=True)
class Change:
    """One commit's change to one file."""

    commit: str      # full hash
    time: str        # committer date, RFC 3339 (strict ISO 8601 with its offset)
    subject: str     # first line of the commit message, control and bidi characters replaced
    action: str      # added, changed or removed
    repo_path: str   # path in the repository
    path: Path       # absolute path on this machine

    @property
    def date(self) -> str:
        """The committer's calendar date, YYYY-MM-DD."""
        return self.time[:10]


@dataclass(frozen=True)
class History:
    """Every change to the files under a folder, newest first; unavailable outside a git checkout."""

    available: bool
    changes: tuple[Change, ...] = ()

    def revisions(self) -> dict[Path, Revision]:
        """When each file was added and last changed."""
        found: dict[Path, Revision] = {}
        # Newest first: the first date seen for a file is its latest change, the last one its addition.
        for change in self.changes:
            previous = found.get(change.path)
            found[change.path] = Revision(added=change.date, changed=previous.changed if previous else change.date,
                                          repo_path=change.repo_path)
        return found


def read_history(folder: Path) -> History:
    """The history of every committed file under folder, from one `git log`."""
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True,
                             check=True).stdout.strip()
        # -z: paths and fields end in NUL, which no path or commit message holds, so neither needs quoting.
        log = subprocess.run(["git", "log", "-z", "--format=%H%x00%cI%x00%s", "--name-status", "--no-renames",
                              "--", "."], cwd=folder, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return History(available=False)
    return History(available=True, changes=tuple(parse_log(log.decode("utf-8", "replace"), Path(top))))


def parse_log(log: str, root: Path) -> list[Change]:
    """Changes from `git log -z --format=%H%x00%cI%x00%s --name-status` output."""
    tokens = [token.lstrip("\n") for token in log.split("\x00")]
    changes: list[Change] = []
    position = 0
    while position < len(tokens):
        if not tokens[position]:
            position += 1
            continue
        commit, time, subject = (tokens[position:position + 3] + ["", ""])[:3]
        if not _COMMIT.fullmatch(commit) or not time:
            raise ValueError(f"unexpected git log output near {commit[:60]!r}")
        subject = NOT_ONE_LINE.sub("\ufffd", subject).strip()
        position += 3
        # A change type, then its path; a merge commit lists none, and the next commit's hash follows.
        while position + 1 < len(tokens) and _STATUS.fullmatch(tokens[position]):
            action = ACTIONS.get(tokens[position][0], "changed")
            repo_path = tokens[position + 1]
            changes.append(Change(commit, time, subject, action, repo_path, (root / repo_path).resolve()))
            position += 2
    return changes

