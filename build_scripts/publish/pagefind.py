"""Pagefind on the built site: the indexing run, the byte-stable bundle and the exact-name map written beside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from build_scripts.publish import search_bundle
from build_scripts.render.search import pin_file, pin_files

SEARCH_FOLDER = "pagefind"
# Beside Pagefind's files, in the bundle: the exact-name map, split into files by a hash of the name.
PINS_FOLDER = "pins"
# Not indexed: the permalink sign MkDocs appends to every heading (it would end every result title).
EXCLUDE_SELECTORS = ".headerlink"


class SearchIndexError(Exception):
    """Pagefind failed; the message carries its output."""


def write_pins(bundle: Path, names: dict[str, list[str]]) -> None:
    """The exact-name map as files of Pagefind result ids (fragment ids), which the result list reads before
    any result's data, so a page named exactly by the query can be listed first without loading the others."""
    ids = search_bundle.fragment_ids(bundle)
    files = pin_files(len(names))
    shards: list[dict[str, list[str]]] = [{} for _ in range(files)]
    for key, urls in names.items():
        found = [ids[url] for url in urls if url in ids]
        if found:
            shards[pin_file(key, files)][key] = found
    folder = bundle / PINS_FOLDER
    folder.mkdir(exist_ok=True)
    for number, shard in enumerate(shards):
        text = json.dumps(shard, sort_keys=True, separators=(",", ":"))
        (folder / f"{number}.json").write_text(text, encoding="utf-8")


@dataclass
class IndexRun:
    """Pagefind indexing in a process of its own; its output goes to a file, so a long run never fills a pipe."""

    process: subprocess.Popen
    log: IO[str]
    peak_rss_mib: float | None = None  # Pagefind's peak memory, once it has finished

    def wait(self) -> tuple[int, str]:
        """Wait for Pagefind and read its peak memory from wait4; its exit status and output."""
        if self.process.returncode is None:
            _, status, usage = os.wait4(self.process.pid, 0)
            self.process.returncode = os.waitstatus_to_exitcode(status)
            self.peak_rss_mib = usage.ru_maxrss / 1024  # Linux gives kilobytes
        self.log.seek(0)
        output = self.log.read()
        self.log.close()
        return self.process.returncode, output

    def stop(self) -> None:
        if self.process.returncode is None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()


def start_index(site: Path, bundle: Path | None = None) -> IndexRun:
    """Start Pagefind on the site, so that other work can run while it indexes (finish with finish_index)."""
    where = ["--output-path", str(bundle.resolve())] if bundle is not None else ["--output-subdir", SEARCH_FOLDER]
    log = tempfile.TemporaryFile("w+", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "pagefind", "--site", str(site), *where,
         "--force-language", "en", "--exclude-selectors", EXCLUDE_SELECTORS],
        stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    return IndexRun(process, log)


def finish_index(run: IndexRun, bundle: Path, names: dict[str, list[str]] | None = None) -> str:
    """Wait for a Pagefind run, then make its bundle byte-stable and add the exact-name map."""
    status, output = run.wait()
    if status != 0:
        raise SearchIndexError("pagefind failed:\n" + output)
    try:
        search_bundle.stabilise(bundle)
        write_pins(bundle, names or {})
    except (search_bundle.BundleFormatError, OSError, ValueError, KeyError) as error:
        raise SearchIndexError(f"the search index could not be made reproducible: {error}") from error
    return output
