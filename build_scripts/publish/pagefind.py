"""Pagefind on the built site: the indexing run, the byte-stable bundle and the exact-name map written beside it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from build_scripts.render.search import pin_file, pin_files

SEARCH_FOLDER = "pagefind"
# Beside Pagefind's files, in the bundle: the exact-name map, split into files by a hash of the name.
PINS_FOLDER = "pins"


class SearchIndexError(Exception):
    """Pagefind failed; the message carries its output."""


def write_pins(bundle: Path, names: dict[str, list[str]], ids: dict[str, str]) -> None:
    """The exact-name map as files of Pagefind result ids (fragment ids, `ids` by page URL), which the result list
    reads before any result's data, so a page named exactly by the query can be listed first without loading the
    others."""
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
    """Search shards being indexed by index_shards, in a process of its own (with Pagefind's runs under it)."""

    process: subprocess.Popen
    folder: Path  # the jobs, the results and the runner's own output

    def stop(self) -> None:
        """End the runner and the Pagefind run under it (after a failure elsewhere in the build)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class ShardIndexed:
    """What one shard's indexing gave: the result id of each page, by URL, and Pagefind's peak memory."""

    ids: dict[str, str]
    peak_rss_mib: float


def start_index(shards: list[tuple[int, Path, Path]], chunk_bytes: int | None, folder: Path) -> IndexRun:
    """Start indexing shards (number, folder of its pages, folder of its bundle) one after another, so that other
    work can run meanwhile (finish with finish_index)."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = {"shards": [{"number": n, "site": str(site), "bundle": str(bundle)} for n, site, bundle in shards],
            "chunk_bytes": chunk_bytes, "results": str(folder / "results.json")}
    (folder / "jobs.json").write_text(json.dumps(jobs), encoding="utf-8")
    root = Path(__file__).resolve().parents[2]  # where build_scripts can be imported from, whatever the cwd
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    with open(folder / "runner.log", "w", encoding="utf-8") as log:
        process = subprocess.Popen([sys.executable, "-m", "build_scripts.publish.index_shards", str(folder / "jobs.json")],
                                   stdout=log, stderr=subprocess.STDOUT, env=environment,
                                   start_new_session=True)  # stop() ends the whole group
    return IndexRun(process, folder)


def finish_index(run: IndexRun) -> dict[int, ShardIndexed]:
    """Wait for the shards' indexing; what each gave. Raises SearchIndexError with Pagefind's output on failure."""
    status = run.process.wait()
    try:
        results = json.loads((run.folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        runner = (run.folder / "runner.log").read_text(encoding="utf-8", errors="replace")
        raise SearchIndexError(f"the search index could not be made (exit status {status}):\n{runner}") from None
    found = {}
    for number, done in results.items():
        if done["status"] != 0:
            raise SearchIndexError("pagefind failed:\n" + done["output"])
        found[int(number)] = ShardIndexed(done["ids"], done["peak_kib"] / 1024)  # Linux gives kilobytes
    return found
