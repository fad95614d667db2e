"""Index search shards one after another in a small process of its own: `python -m build_scripts.publish.index_shards
JOBS.json` runs Pagefind on each shard's pages, makes each bundle byte-stable and writes what it found beside them.

The build's main process is large, and a process forked from it starts as a copy: the kernel counts that copy in the
peak memory it reports for the process, even after exec. Started from this small process, each Pagefind run's
reported peak is its own. Running the shards in turn keeps one shard's index in memory at a time; running them
here keeps them off the main process, which checks links meanwhile.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from build_scripts.publish import search_bundle

# Not indexed: the permalink sign MkDocs appends to every heading (it would end every result title).
EXCLUDE_SELECTORS = ".headerlink"


def pagefind_command(site: Path, bundle: Path) -> list[str]:
    """Pagefind indexing the pages under `site` into `bundle`."""
    return [sys.executable, "-m", "pagefind", "--site", str(site), "--output-path", str(bundle.resolve()),
            "--force-language", "en", "--exclude-selectors", EXCLUDE_SELECTORS]


def index_shard(site: Path, bundle: Path, chunk_bytes: int | None) -> dict:
    """One shard: Pagefind's run, its peak memory (KiB) and output, then the stable bundle's result ids by URL."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        process = subprocess.Popen(pagefind_command(site, bundle), stdout=log, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        log.seek(0)
        done = {"status": os.waitstatus_to_exitcode(status), "peak_kib": usage.ru_maxrss, "output": log.read()}
    if done["status"] != 0:
        return done
    try:
        search_bundle.stabilise(bundle, chunk_bytes)
        done["ids"] = search_bundle.fragment_ids(bundle)
    except (search_bundle.BundleFormatError, OSError, ValueError, KeyError) as error:
        done["status"], done["output"] = 1, f"the search index could not be made reproducible: {error}"
    return done


def main(argv: list[str]) -> int:
    jobs_file = Path(argv[0])
    jobs = json.loads(jobs_file.read_text(encoding="utf-8"))
    results = {}
    for job in jobs["shards"]:
        results[str(job["number"])] = done = index_shard(Path(job["site"]), Path(job["bundle"]), jobs["chunk_bytes"])
        if done["status"] != 0:
            break
    Path(jobs["results"]).write_text(json.dumps(results), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
