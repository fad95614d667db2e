"""Checks across records kept between builds with what each read, so an edit re-checks only the references into and
out of the records it changed."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from build_scripts.load.cache import (Digests, Read, TrackedDict, code_version, load_store, save_store, tracing,
                                      tracked_evidence)


class KeptLinks:
    """Each record's checks of its references, kept in a store with the reads they made (records by the digest of
    their file, the records that failed and the reviews including each study by their contents).

    A record's checks run again when its own file changed or when anything they read did: a record they name added,
    removed or edited, a review including its study changed. Everything else is taken from the store unchecked, so a
    build costs one digest per distinct read, not one check per record.
    """

    def __init__(self, path: Path | None):
        self.path = path  # None: nothing kept, every record checked (a run without a cache)
        self.checked: list[tuple[str, str]] = []  # the records whose checks ran in this run
        self._entries: dict[tuple[str, str], tuple[frozenset, Any]] = {}
        self._changed: set[Read] = set()
        self._digests: Digests | None = None

    @cached_property
    def _stored(self) -> dict[str, Any]:
        # Read at first use, once the run's topic (part of the code version) is known.
        return load_store(self.path, code_version()) if self.path is not None else {}

    def start(self, evidence: Any, record_digests: dict[tuple[str, str], str], extra: dict[str, dict]) -> tuple:
        """Begin a run over `evidence` (records digested by `record_digests`, other inputs as named dicts in `extra`);
        gives the evidence and each of `extra`'s dicts as the checks are to read them: recording what they read."""
        if self.path is None:
            return (evidence, *extra.values())
        self._digests = Digests(evidence, record_digests, extra)
        # A read whose value is not what it was when it was kept: every check that made it runs again.
        self._changed = {read for read, value in self._stored.get("digests", {}).items()
                         if self._digests.of(read) != value}
        return (tracked_evidence(evidence), *(TrackedDict(name, values) for name, values in extra.items()))

    def result(self, key: tuple[str, str], own: Read, check: Callable[[], Any]) -> Any:
        """The checks of record `key` (whose own read is `own`): kept while nothing they read has changed, else run."""
        entry = self._stored.get("entries", {}).get(key)
        if entry is None or not entry[0].isdisjoint(self._changed):
            if self.path is None:
                self.checked.append(key)
                return check()
            with tracing() as trace:
                value = check()
            entry = (frozenset(trace.reads | {own}), value)
            self.checked.append(key)
        self._entries[key] = entry
        return entry[1]

    def save(self) -> None:
        """Keep this run's checks with the current value of what they read (the checks of records gone are dropped)."""
        if self.path is None or self._digests is None:
            return
        stored = self._stored
        if self.checked or set(self._entries) != set(stored.get("entries", {})) or self._changed:
            reads = {read for reads, _ in self._entries.values() for read in reads}
            save_store(self.path, code_version(), {"entries": self._entries,
                                                   "digests": {read: self._digests.of(read) for read in reads}})
        self._entries, self._digests = {}, None
        self.__dict__.pop("_stored", None)
