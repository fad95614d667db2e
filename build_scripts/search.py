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
    where = ["--output-path", str(bundle.resolve())] if bundle is not None else ["--output-subdir", SEARCH_FOLDER]
    result = subprocess.run(
        [sys.executable, "-m", "pagefind", "--site", str(site), *where, "--force-language", "en"],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise SearchIndexError("pagefind failed:\n" + (result.stderr or result.stdout))
    return result.stdout
