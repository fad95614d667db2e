"""Checks across records kept between builds with what each read, so an edit re-checks only the references into and
out of the records it changed."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from build_scripts.load.cache import RECORD_COLLECTIONS, Read, TrackedDict, code_version, load_store, save_store, \
    tracing, tracked_evidence

COLLECTION_OF_KIND = {kind: name for name, kind in RECORD_COLLECTIONS.items()}


class KeptLinks:
    """Each record's checks of its references, kept in a store with the reads they made: records (known by the digest
    of their files), the records that failed and the reviews including each study (known by their values).

    A record's checks run again when its own file changed or when anything they read did: a record they name added,
    removed or edited, a review including its study changed. The others are taken from the store as they are, so
    what a run costs beyond the changed records is comparing two dicts of file digests.
    """

    def __init__(self, path: Path | None):
        self.path = path  # None: nothing kept, every record checked (a run without a cache)
        self.checked: list[tuple[str, str]] = []  # the records whose checks ran in this run
        self._entries: dict[tuple[str, str], tuple[frozenset, bool, Any]] = {}  # reads, read unseen inputs, result
        self._changed: set[Read] = set()
        self._inputs: dict[str, dict] | None = None

    @cached_property
    def _stored(self) -> dict[str, Any]:
        # Read at first use, once the run's topic (part of the code version) is known.
        return load_store(self.path, code_version()) if self.path is not None else {}

    def start(self, evidence: Any, record_digests: dict[tuple[str, str], str], extra: dict[str, dict]) -> tuple:
        """Begin a run over `evidence` (records digested by `record_digests`, other inputs as named dicts in `extra`);
        gives the evidence and each of `extra`'s dicts as the checks are to read them: recording what they read."""
        if self.path is None:
            return (evidence, *extra.values())
        records: dict[str, dict] = {name: {} for name in RECORD_COLLECTIONS}
        for (kind, record_id), value in record_digests.items():
            records[COLLECTION_OF_KIND[kind]][record_id] = value
        self._inputs = {**records, **extra}
        before = self._stored.get("inputs", {})
        self._changed = {read for name, values in self._inputs.items()
                         for read in _changed_reads(name, before.get(name), values)}
        return (tracked_evidence(evidence), *(TrackedDict(name, values) for name, values in extra.items()))

    def result(self, key: tuple[str, str], own: Read, check: Callable[[], Any]) -> Any:
        """The checks of record `key` (whose own read is `own`): kept while nothing they read has changed, else run."""
        entry = self._stored.get("entries", {}).get(key)
        if entry is None or entry[1] or not entry[0].isdisjoint(self._changed):
            self.checked.append(key)
            if self.path is None:
                return check()
            with tracing() as trace:
                value = check()
            reads = frozenset(trace.reads | {own})
            # start() sees changes of single items only: a check that read a list of ids or a derived index is run
            # again every time, to be safe.
            unseen = any(read[1] != "item" or read[0] not in self._inputs for read in reads)
            entry = (reads, unseen, value)
        self._entries[key] = entry
        return entry[2]

    def save(self) -> None:
        """Keep this run's checks and what they read (the checks of records gone are dropped)."""
        if self.path is None or self._inputs is None:
            return
        stored = self._stored
        if self.checked or set(self._entries) != set(stored.get("entries", {})) or self._inputs != stored.get("inputs"):
            save_store(self.path, code_version(), {"entries": self._entries, "inputs": self._inputs})
        self._entries, self._inputs = {}, None
        self.__dict__.pop("_stored", None)


def _changed_reads(name: str, before: dict | None, now: dict) -> set[Read]:
    """The item reads of input `name` whose value differs between two runs."""
    if before == now:
        return set()
    before = before or {}
    return {(name, "item", key) for key in before.keys() | now.keys() if before.get(key, _MISSING) != now.get(key, _MISSING)}


_MISSING = object()
