"""The kept fragments of aggregates in one SQLite file, read and written per fragment, so no process holds them all."""

from __future__ import annotations

import hashlib
import os
import pickle
import sqlite3
from pathlib import Path
from typing import Any, Iterable

# A fragment no build has taken for this many builds is dropped (a deleted record's, say); one that is taken has its
# generation refreshed only when it is this old, so an edit writes few rows besides the ones it made.
FORGET_AFTER = 64
REFRESH_AFTER = 16
# How long a writer waits for the other job process's transaction to end, in seconds.
BUSY_SECONDS = 120


def fragment_id(name: str, key: Any) -> str:
    """A stable id of a fragment's name and key (repr is stable for the strings, numbers and tuples keys are made of;
    pickle is not: it shares repeated objects by identity)."""
    return hashlib.blake2b(repr((name, key)).encode("utf-8"), digest_size=16).hexdigest()


class FragmentStore:
    """Fragments as rows (id, reads, digest of the reads, value, generation last taken), in a file or in memory.

    Each process opens its own connection (one is never used across a fork), so job processes read what they need
    and write what they made themselves.
    """

    def __init__(self, path: Path | None, key: str):
        self.path, self.key = path, key
        self._connection: sqlite3.Connection | None = None
        self._pid = -1
        self.generation = self._start()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None or self._pid != os.getpid():
            if self.path is None:
                if self._connection is not None:  # an in-memory store cannot be shared by processes
                    raise RuntimeError("an in-memory fragment store used in another process")
                target = ":memory:"
            else:
                target = str(self.path)
            self._connection = sqlite3.connect(target, timeout=BUSY_SECONDS, isolation_level=None)
            self._pid = os.getpid()
            if self.path is not None:
                self._connection.execute("PRAGMA journal_mode=WAL")
                self._connection.execute("PRAGMA synchronous=NORMAL")
        return self._connection

    def _start(self) -> int:
        """Open the store for a new build: emptied when made for other code or settings; the build's generation."""
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._begin()
        except sqlite3.DatabaseError:  # not a database, or from an older layout: start afresh
            self.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return self._begin()

    def _begin(self) -> int:
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute("CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT)")
            connection.execute("CREATE TABLE IF NOT EXISTS fragments (id TEXT PRIMARY KEY, reads BLOB, digest TEXT, "
                               "value BLOB, generation INTEGER)")
            stored = dict(connection.execute("SELECT name, value FROM settings").fetchall())
            if stored.get("key") != self.key:
                connection.execute("DELETE FROM fragments")
                stored = {"generation": "0"}
            generation = int(stored.get("generation", "0")) + 1
            connection.executemany("INSERT OR REPLACE INTO settings VALUES (?, ?)",
                                   [("key", self.key), ("generation", str(generation))])
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return generation

    def get(self, identity: str) -> tuple[tuple, str, bytes, int] | None:
        """The stored reads, their digest, the pickled value and the generation last taken, of one fragment."""
        row = self._connect().execute("SELECT reads, digest, value, generation FROM fragments WHERE id = ?",
                                      (identity,)).fetchone()
        if row is None:
            return None
        return pickle.loads(row[0]), row[1], row[2], row[3]

    def write(self, made: dict[str, tuple[tuple, str, Any]], taken: Iterable[str]) -> None:
        """Store the fragments made (id -> reads, digest, value) and refresh the generation of those taken."""
        connection = self._connect()
        rows = [(identity, pickle.dumps(reads, pickle.HIGHEST_PROTOCOL), value_digest,
                 pickle.dumps(value, pickle.HIGHEST_PROTOCOL), self.generation)
                for identity, (reads, value_digest, value) in made.items()]
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany("INSERT OR REPLACE INTO fragments VALUES (?, ?, ?, ?, ?)", rows)
            connection.executemany("UPDATE fragments SET generation = ? WHERE id = ?",
                                   [(self.generation, identity) for identity in taken])
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def forget_old(self) -> int:
        """Drop the fragments no build has taken for FORGET_AFTER builds; how many were dropped."""
        connection = self._connect()
        cursor = connection.execute("DELETE FROM fragments WHERE generation < ?", (self.generation - FORGET_AFTER,))
        return cursor.rowcount

    def count(self) -> int:
        return self._connect().execute("SELECT COUNT(*) FROM fragments").fetchone()[0]

    def close(self) -> None:
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None
