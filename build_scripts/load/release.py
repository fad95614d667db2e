"""The data release: its version and date, defined once in CITATION.cff, and the changelog that must agree."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

CITATION_FILE = "CITATION.cff"
CHANGELOG_FILE = "CHANGELOG.md"
# A released entry of CHANGELOG.md: "## 0.1.0 (2026-11-21)"; the "## Unreleased" entry above it has no date.
_RELEASE_HEADING = re.compile(r"^## (?P<version>\d+\.\d+\.\d+) \((?P<date>\d{4}-\d{2}-\d{2})\)$", re.M)
_SEMVER = re.compile(r"\d+\.\d+\.\d+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Release:
    """A data release: its version (MAJOR.MINOR.PATCH) and date (YYYY-MM-DD)."""

    version: str
    date: str


class ReleaseError(ValueError):
    """CITATION.cff does not state a release version and date the way this module reads them."""


def read_release(root: Path) -> Release:
    """The current release, as CITATION.cff states it (`version` and `date-released`)."""
    path = root / CITATION_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    version, date = str(data.get("version") or ""), str(data.get("date-released") or "")
    if not _SEMVER.fullmatch(version) or not _DATE.fullmatch(date):
        raise ReleaseError(f"{path}: `version` must be MAJOR.MINOR.PATCH and `date-released` a quoted YYYY-MM-DD"
                           f" date; found {version!r} and {date!r}")
    return Release(version, date)


def changelog_releases(text: str) -> list[Release]:
    """The released entries of a changelog, newest first, as their headings state them."""
    return [Release(found["version"], found["date"]) for found in _RELEASE_HEADING.finditer(text)]


def disagreements(root: Path, datapackage_version: str | None) -> list[str]:
    """Where CITATION.cff, the latest entry of CHANGELOG.md and datapackage.json state different releases."""
    release = read_release(root)
    problems = []
    entries = changelog_releases((root / CHANGELOG_FILE).read_text(encoding="utf-8"))
    if not entries:
        problems.append(f"{CHANGELOG_FILE} has no released entry ('## {release.version} ({release.date})')")
    elif entries[0] != release:
        problems.append(f"the latest entry of {CHANGELOG_FILE} is {entries[0].version} ({entries[0].date}), but"
                        f" {CITATION_FILE} says {release.version} ({release.date})")
    if datapackage_version != release.version:
        problems.append(f"datapackage.json has version {datapackage_version!r}, but {CITATION_FILE} says"
                        f" {release.version!r}")
    return problems
