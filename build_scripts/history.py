"""When each record file was added and last changed, read from the repository's git history."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Revision:
    """First and latest commit dates (YYYY-MM-DD) of a file, and its path in the repository."""

    added: str
    changed: str
    repo_path: str


def revisions(folder: Path) -> dict[Path, Revision]:
    """Dates of every committed file under folder, from one `git log`; empty outside a git checkout."""
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True,
                             check=True).stdout.strip()
        log = subprocess.run(["git", "log", "--format=%x00%cs", "--name-only", "--no-renames", "--", "."],
                             cwd=folder, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    root = Path(top)
    found: dict[Path, Revision] = {}
    date = ""
    # Newest commit first: the first date seen for a file is its latest change, the last one its addition.
    for line in log.splitlines():
        if line.startswith("\x00"):
            date = line[1:]
            continue
        if not line.strip():
            continue
        path = (root / line).resolve()
        previous = found.get(path)
        found[path] = Revision(added=date, changed=previous.changed if previous else date, repo_path=line)
    return found
