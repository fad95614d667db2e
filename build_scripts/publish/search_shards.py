"""Which search-index shard each page goes into, so a large site is indexed in parts and an edit re-indexes a few.

Pagefind holds every page it indexes in memory and has no incremental mode. A site of up to SHARD_PAGES pages is
one index, as before. Above that, the pages of the record kinds that hold many records (studies and publications, in
this atlas; decided by count, not by name) are spread by a stable hash of their URL over a power of two of record
shards, and every other page (lists, charts, summaries, the few records of small kinds) stays in shard 0. An edit
changes one record's page and some list pages, so it re-indexes shard 0 and one record shard, not the whole site.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Iterable, Mapping

# Up to this many pages, one index; above, at most this many record pages a shard (and at least half as many). Pagefind needs about 70 KiB a page of
# the benchmark's site (0.35 GiB for a shard), and an edit re-indexes shard 0 and one record shard.
SHARD_PAGES = 5000
# A record kind with at least this many pages has its pages spread over the record shards.
SPREAD_FROM = 1000
# Where a shard's bundle sits inside the search bundle (shard 0 is the bundle's root, which Pagefind's script and
# wasm are loaded from), and the file that lists them for the search page.
SHARDS_FOLDER = "shards"
SHARDS_FILE = "shards.json"
# About the bytes Pagefind 1.5.2 puts in one chunk of a word index (median 54.7 KB, unzipped, on the benchmark's site).
INDEX_CHUNK_BYTES = 55_000


def record_folder(path: str, prefixes: frozenset[str]) -> str | None:
    """The record kind's URL prefix when `path` is a record's page (`<prefix>/<id>/index.html`), else None."""
    parts = path.split("/")
    if len(parts) == 3 and parts[2] == "index.html" and parts[0] in prefixes:
        return parts[0]
    return None


def _bucket(path: str, count: int) -> int:
    return int.from_bytes(hashlib.blake2b(path.encode("utf-8"), digest_size=8).digest(), "big") % count


def shard_plan(pages: Iterable[str], record_prefixes: Iterable[str],
               companions: Mapping[str, str] | None = None) -> dict[int, list[str]]:
    """Each shard's pages (site paths of HTML files), by shard number; shard 0 always exists. A page that changes
    with another (`companions`: a publication's page with its study's) is hashed as that page, so an edit re-indexes
    one record shard."""
    pages = sorted(pages)
    prefixes = frozenset(record_prefixes)
    if len(pages) <= SHARD_PAGES:
        return {0: pages}
    folders = {path: record_folder(path, prefixes) for path in pages}
    sizes = Counter(folder for folder in folders.values() if folder is not None)
    spread = {folder for folder, size in sizes.items() if size >= SPREAD_FROM}
    spread_pages = sum(sizes[folder] for folder in spread)
    # A power of two, so the count (and with it every page's shard) changes only when the spread pages double.
    count = 1
    while count * SHARD_PAGES < spread_pages:
        count *= 2
    plan: dict[int, list[str]] = {0: []}
    for path in pages:
        number = 1 + _bucket((companions or {}).get(path, path), count) if folders[path] in spread else 0
        plan.setdefault(number, []).append(path)
    return plan


def shard_folder(number: int) -> str:
    """Where shard `number`'s files sit in the search bundle ('' for shard 0, the bundle's root)."""
    return "" if number == 0 else f"{SHARDS_FOLDER}/{number}/"


def chunk_bytes(shards: int) -> int | None:
    """The size a sharded index's word chunks are cut to, so that a search, which loads a chunk from every shard,
    loads about what one index would; None for one index, which keeps Pagefind's own chunks."""
    return None if shards <= 1 else INDEX_CHUNK_BYTES // shards
