"""Index the built site with Pagefind, whose browser code loads only the index fragments a query needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SEARCH_FOLDER = "pagefind"


class SearchIndexError(Exception):
    """Pagefind failed; the message carries its output."""


def index_site(site: Path, bundle: Path | None = None) -> str:
    """Write the search index and UI into site/pagefind/, or into `bundle` (published as site/pagefind/);
    returns Pagefind's summary."""
    return finish_index(start_index(site, bundle))


def start_index(site: Path, bundle: Path | None = None) -> subprocess.Popen:
    """Start Pagefind on the site, so that other work can run while it indexes (see index_site)."""
    where = ["--output-path", str(bundle.resolve())] if bundle is not None else ["--output-subdir", SEARCH_FOLDER]
    return subprocess.Popen(
        [sys.executable, "-m", "pagefind", "--site", str(site), *where, "--force-language", "en"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish_index(process: subprocess.Popen) -> str:
    """Wait for a Pagefind run; its summary, or SearchIndexError with its output."""
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise SearchIndexError("pagefind failed:\n" + (stderr or stdout))
    return stdout
