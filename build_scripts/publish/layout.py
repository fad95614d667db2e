"""Where a build reads and writes (the Layout), its report, and writing files only when their bytes change."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


# The folder of content/ holding the commented records `new` starts for curators: the topic's own examples, read by
# the command line and never published.
NEW_RECORDS = "new"


@dataclass(frozen=True)
class Layout:
    """Where a build reads from and writes to."""

    root: Path           # holds mkdocs.yml
    evidence: Path
    content: Path
    templates: Path
    work: Path           # git-ignored build folder: generated docs, caches, staging site
    site: Path           # final output

    @property
    def docs(self) -> Path:
        return self.work / "docs"

    @property
    def blocks(self) -> Path:
        return self.work / "blocks"

    @property
    def cache(self) -> Path:
        return self.work / "cache"

    @property
    def output(self) -> Path:
        """MkDocs' output, kept between builds so that unchanged pages are not rendered again."""
        return self.work / "out"

    @property
    def search(self) -> Path:
        """Pagefind's bundle, kept between builds and published as site/pagefind/."""
        return self.work / "search"

    @property
    def staging_site(self) -> Path:
        return self.work / "site-next"

    @property
    def theme(self) -> Path:
        """The theme folder MkDocs renders with: the atlas's theme files and Material's patched partials."""
        return self.work / "theme"

    @property
    def mkdocs_config(self) -> Path:
        return self.work / "mkdocs.yml"

    @classmethod
    def default(cls, root: Path) -> "Layout":
        return cls(root, root / "evidence", root / "content", root / "templates", root / "build", root / "site")


class BuildError(Exception):
    """MkDocs or a build step failed; the message says which and why."""


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write a file only when its bytes differ, so unchanged pages keep their timestamps."""
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def remove_emptied(path: Path, stop: Path) -> None:
    """Remove a file and the folders it leaves empty, up to `stop`."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    folder = path.parent
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


@dataclass
class BuildReport:
    """What a build did and how long each step took, in seconds."""

    records: int = 0
    records_reused: int = 0
    records_relinked: int = 0  # records whose references were checked again (the others' checks were kept)
    pages: int = 0
    charts: int = 0
    charts_rendered: int = 0
    files_written: int = 0
    jobs_run: int = 0
    jobs_skipped: int = 0
    ran: list[str] = field(default_factory=list)
    fragments_made: int = 0  # pieces of aggregates made anew (the others were taken from the store)
    pages_rendered: int = 0
    mkdocs_files: int = 0  # files MkDocs was given: the whole docs folder, or the few a kept navigation needs
    mkdocs_files_looked_up: int = 0  # of the others, those a rendered page linked to
    searched: bool = False
    search_shards: int = 0  # the search index's shards (one Pagefind run each)
    search_shards_indexed: int = 0  # of which indexed anew in this build
    search_peak_rss_mib: float | None = None  # Pagefind's peak memory, when it ran
    peak_rss_mib: float = 0.0  # the build's own main process
    steps: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - started
