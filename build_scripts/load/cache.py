"""Build caches: the code version, content digests, and traces of what each unit of work read.

A build redoes a unit of work (a page, a chart, a download) only when something it read last time has
changed. What it read is recorded while it runs: the evidence it is given tracks every record, every list of
ids and every derived index it is asked for (tracked_evidence), and the unit's key is the digest of those
reads. A unit that reads more than before is still right, since the reads are taken afresh each time it runs;
every key also holds the code version, so no cache survives a change of the code, the vocabulary or a package.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from functools import cached_property, lru_cache, wraps
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

from build_scripts.load.fragment_store import REFRESH_AFTER, FragmentStore, fragment_id
from build_scripts.load.topic_model import active

CODE_FOLDER = Path(__file__).resolve().parent.parent  # build_scripts/, every stage
# Packages whose behaviour shapes the output; a new version of any of them starts every cache afresh.
PACKAGES = ("mkdocs", "mkdocs-material", "Jinja2", "MarkupSafe", "Markdown", "pydantic", "pydantic_core", "PyYAML",
            "altair", "vl-convert-python", "nh3", "pagefind")

Read = tuple  # ("<collection>", "item", key) | ("<collection>", "keys") | ("<collection>", "all")


def digest(*parts: bytes | str) -> str:
    """SHA-256 of the parts, each length-prefixed so that no two different lists of parts collide."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.hexdigest()


def code_version() -> str:
    """Digest of the build's code (every .py under build_scripts/, the vocabulary included), of the packages it
    uses and of the run's topic, which every stage reads as if it were code."""
    return digest(_code_digest(), active().digest)


@lru_cache(maxsize=None)
def _code_digest() -> str:
    parts: list[bytes | str] = [sys.version]
    for path in sorted(CODE_FOLDER.rglob("*.py")):
        parts += [path.relative_to(CODE_FOLDER).as_posix(), path.read_bytes()]
    for name in PACKAGES:
        try:
            parts += [name, metadata.version(name)]
        except metadata.PackageNotFoundError:
            parts += [name, "absent"]
    return digest(*parts)


def tree_digest(*roots: Path) -> str:
    """Digest of every file under the given folders (or of the given files): relative paths and contents."""
    parts: list[bytes | str] = []
    for root in roots:
        parts.append(root.name)
        if root.is_file():
            parts.append(root.read_bytes())
            continue
        for path in sorted(root.rglob("*")) if root.is_dir() else ():
            if path.is_file():
                parts += [path.relative_to(root).as_posix(), path.read_bytes()]
    return digest(*parts)


# ---------------------------------------------------------------- stores

def load_store(path: Path, key: str) -> dict[str, Any]:
    """A pickled cache written by save_store with the same key; empty when missing, unreadable or from other code.

    The cache folder is the build's own (build/cache); nothing else writes there, so unpickling is safe.
    """
    try:
        with path.open("rb") as handle:
            stored_key, data = pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, ImportError):
        return {}
    return data if stored_key == key else {}


def save_store(path: Path, key: str, data: dict[str, Any]) -> None:
    """Write a cache atomically: a build that stops half-way leaves the previous one whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        pickle.dump((key, data), handle, protocol=pickle.HIGHEST_PROTOCOL)
    temporary.replace(path)


# ---------------------------------------------------------------- traces

@dataclass
class Trace:
    """What one unit of work read."""

    reads: set[Read] = field(default_factory=set)


_TRACES: list[Trace] = []
_PAUSED: list[bool] = [False]


def note(read: Read) -> None:
    """Record a read in every trace being taken (a unit of work inside another counts for both)."""
    if _TRACES and not _PAUSED[-1]:
        for trace in _TRACES:
            trace.reads.add(read)


def note_all(reads: set[Read]) -> None:
    if _TRACES and not _PAUSED[-1]:
        for trace in _TRACES:
            trace.reads.update(reads)


@contextmanager
def tracing() -> Iterator[Trace]:
    """Take a trace of the reads made inside the block."""
    trace = Trace()
    _TRACES.append(trace)
    _PAUSED.append(False)
    try:
        yield trace
    finally:
        _PAUSED.pop()
        _TRACES.pop()


@contextmanager
def paused() -> Iterator[None]:
    """Reads inside the block are not recorded (for work whose reads are accounted for otherwise)."""
    _PAUSED.append(True)
    try:
        yield
    finally:
        _PAUSED.pop()


class TrackedDict(dict):
    """A dict that records which keys were looked up, and whether its keys or all its values were used."""

    def __init__(self, name: str, data: dict):
        super().__init__(data)
        self.name = name

    def __getitem__(self, key):
        note((self.name, "item", key))
        return super().__getitem__(key)

    def get(self, key, default=None):
        note((self.name, "item", key))
        return super().get(key, default)

    def __contains__(self, key) -> bool:
        note((self.name, "item", key))
        return super().__contains__(key)

    def __iter__(self):
        note((self.name, "keys"))
        return super().__iter__()

    def keys(self):
        note((self.name, "keys"))
        return super().keys()

    def __len__(self) -> int:
        note((self.name, "keys"))
        return super().__len__()

    def __bool__(self) -> bool:
        note((self.name, "keys"))
        return super().__len__() > 0

    def values(self):
        note((self.name, "all"))
        return super().values()

    def items(self):
        note((self.name, "all"))
        return super().items()

    def __reduce__(self):
        return (dict, (dict(super().items()),))


# ---------------------------------------------------------------- tracked evidence

RECORD_COLLECTIONS = {"publications": "publication", "studies": "study", "regimens": "regimen", "agents": "agent",
                      "reviews": "review"}


class Digests:
    """The current digest of everything a trace can name: records, lists of ids, derived indexes, other inputs."""

    def __init__(self, evidence: Any, record_digests: dict[tuple[str, str], str],
                 extra: dict[str, dict] | None = None):
        self.evidence = evidence
        self.records = record_digests
        self.by_object = {id(record): record_digests.get((kind, record_id), "?")
                          for name, kind in RECORD_COLLECTIONS.items()
                          for record_id, record in getattr(evidence, name).items()}
        self.extra = extra or {}
        self._memo: dict[Read, str] = {}

    def of(self, read: Read) -> str:
        found = self._memo.get(read)
        if found is None:
            found = self._memo[read] = self._compute(read)
        return found

    def of_all(self, reads: tuple[Read, ...]) -> str:
        """One digest of the current values of a trace's reads, given in the order they are stored in.

        Every fragment an edit takes from the store is checked with this, so it joins the parts rather than feeding
        them one by one: a part is a hex digest, "missing" or "?", none of which holds the separator.
        """
        memo = self._memo
        parts = [memo.get(read) or self.of(read) for read in reads]
        return hashlib.sha256(",".join(parts).encode("ascii")).hexdigest()

    def _collection(self, name: str) -> dict:
        if name in RECORD_COLLECTIONS or name == "files":
            return getattr(self.evidence, name)
        if name.startswith("index:"):
            with paused():
                return getattr(self.evidence, name[len("index:"):])
        return self.extra[name]

    def _compute(self, read: Read) -> str:
        name, what = read[0], read[1]
        with paused():
            collection = self._collection(name)
            if what == "keys":
                return digest(*(repr(key) for key in sorted(dict.keys(collection), key=repr)))
            if what == "all":
                return digest(*(part for key in sorted(dict.keys(collection), key=repr)
                                for part in (repr(key), self._value(name, key, dict.__getitem__(collection, key)))))
            key = read[2]
            if not dict.__contains__(collection, key):
                return "missing"
            return self._value(name, key, dict.__getitem__(collection, key))

    def _value(self, name: str, key: Any, value: Any) -> str:
        if name in RECORD_COLLECTIONS:
            return self.records.get((RECORD_COLLECTIONS[name], key), "?")
        hasher = hashlib.sha256()
        self._feed(hasher, value)
        return hasher.hexdigest()

    def _feed(self, hasher, value: Any, covered: bool = False) -> None:
        """Feed a value's fingerprint: a record by its digest, a part of a record that the same tuple holds by
        nothing more (the record's digest covers it), anything else by its contents."""
        record = self.by_object.get(id(value))
        if record is not None:
            hasher.update(b"R" + record.encode())
            return
        if isinstance(value, (list, tuple)):
            holds_record = any(id(item) in self.by_object for item in value)
            hasher.update(b"[")
            for item in value:
                self._feed(hasher, item, holds_record)
            hasher.update(b"]")
        elif isinstance(value, dict):
            hasher.update(b"{")
            for key in sorted(value, key=repr):
                hasher.update(repr(key).encode())
                self._feed(hasher, value[key])
            hasher.update(b"}")
        elif hasattr(value, "model_dump_json"):
            # Indexes pair each part with the record it belongs to, e.g. (study, cohort); a part on its own is
            # fingerprinted by its contents.
            hasher.update(b"P" if covered else value.model_dump_json().encode())
        else:
            hasher.update(repr(value).encode())


def _index_names(evidence_type: type) -> list[str]:
    return [name for klass in evidence_type.__mro__ for name, value in vars(klass).items()
            if isinstance(value, cached_property)]


class _TrackedIndex:
    """A derived index of the evidence, computed from the untracked evidence and read through a TrackedDict."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__.get(self.name)
        if value is None:
            with paused():
                raw = getattr(instance._untracked, self.name)
            value = TrackedDict(f"index:{self.name}", raw) if isinstance(raw, dict) else raw
            instance.__dict__[self.name] = value
        if not isinstance(value, TrackedDict):
            note((f"index:{self.name}", "all"))
        return value


@lru_cache(maxsize=None)
def _tracked_type(evidence_type: type) -> type:
    members = {name: _TrackedIndex(name) for name in _index_names(evidence_type)}
    return type(f"Tracked{evidence_type.__name__}", (evidence_type,), members)


def tracked_evidence(evidence: Any) -> Any:
    """A copy of the evidence whose record dicts, file paths and derived indexes record every read."""
    tracked = object.__new__(_tracked_type(type(evidence)))
    for item in fields(evidence):
        value = getattr(evidence, item.name)
        setattr(tracked, item.name, TrackedDict(item.name, value) if isinstance(value, dict) else value)
    tracked._untracked = evidence
    return tracked


class Memo:
    """Values computed once per build and shared by several units of work, each charged with their reads."""

    def __init__(self, limit: int = 64):
        self.limit = limit
        self._values: dict[Any, tuple[Any, set[Read]]] = {}

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        found = self._values.get(key)
        if found is None:
            with tracing() as trace:
                value = compute()
            if len(self._values) >= self.limit:
                self._values.pop(next(iter(self._values)))
            found = self._values[key] = (value, trace.reads)
        note_all(found[1])
        return found[0]


# ---------------------------------------------------------------- facts of a cohort, once per evidence

_COHORT_MEMOS: dict[int, tuple[Any, dict[Any, tuple]]] = {}


def _forget_evidence(key: int) -> None:
    _COHORT_MEMOS.pop(key, None)


def cohort_memo(function: Callable[[Any, Any, Any], Any]) -> Callable[[Any, Any, Any], Any]:
    """A derivation of (evidence, study, cohort) computed once per evidence object, study and cohort, under the
    active topic; each later call is charged with the reads the first one made, so traces stay exact.

    Records are frozen, so a study and a cohort object give the same answer for as long as they live; the memo
    holds them, so their ids are not reused, and is dropped with the evidence it belongs to.
    """
    @wraps(function)
    def memoized(evidence: Any, study: Any, cohort: Any) -> Any:
        if _PAUSED[-1]:  # reads would go unrecorded: compute without keeping anything
            return function(evidence, study, cohort)
        entry = _COHORT_MEMOS.get(id(evidence))
        if entry is None or entry[0]() is not evidence:
            entry = _COHORT_MEMOS[id(evidence)] = (weakref.ref(evidence), {})
            weakref.finalize(evidence, _forget_evidence, id(evidence))
        key = (function.__qualname__, id(study), id(cohort), id(active()))
        found = entry[1].get(key)
        if found is None or found[0] is not study or found[1] is not cohort:
            with tracing() as trace:
                value = function(evidence, study, cohort)
            found = entry[1][key] = (study, cohort, active(), value, frozenset(trace.reads))
        else:
            note_all(found[4])
        return found[3]
    return memoized


# ---------------------------------------------------------------- pieces of an aggregate, kept between builds

# Pieces a process makes before it writes them to the store together.
FRAGMENTS_PER_WRITE = 256


class Fragments:
    """Pieces of an aggregate (a record's rows of a download, say) kept between builds with what they read.

    A job that reruns because one record changed takes every other record's piece from the store, unchanged while
    its reads are, and is charged with its reads as if it had made it; only the changed record's piece is made.
    The store is read per piece, and what a process makes is written in batches, so no process holds them all.
    """

    def __init__(self, store: FragmentStore, digests: Digests):
        self.store, self.digests = store, digests
        self.pending: dict[str, tuple[tuple, str, Any]] = {}  # made, not yet written
        self.taken: list[str] = []  # taken, with a generation to refresh
        self.made: list[tuple[str, Any]] = []  # names and keys made in this process since last taken

    def get(self, name: str, key: Any, make: Callable[[], Any]) -> Any:
        identity = fragment_id(name, key)
        waiting = self.pending.get(identity)
        if waiting is not None:
            note_all(set(waiting[0]))
            return waiting[2]
        entry = self.store.get(identity)
        if entry is not None and self.digests.of_all(entry[0]) == entry[1]:
            note_all(entry[0])
            if entry[3] < self.store.generation - REFRESH_AFTER:
                self.taken.append(identity)
            return pickle.loads(entry[2])
        with tracing() as trace:
            value = make()
        reads = tuple(sorted(trace.reads, key=repr))
        self.pending[identity] = (reads, self.digests.of_all(reads), value)
        self.made.append((name, key))
        if len(self.pending) >= FRAGMENTS_PER_WRITE:
            self.flush()
        return value

    def flush(self) -> None:
        """Write what was made and refresh what was taken."""
        if self.pending or self.taken:
            self.store.write(self.pending, self.taken)
            self.pending, self.taken = {}, []

    def take_made(self) -> list[tuple[str, Any]]:
        """The names and keys of the pieces made since last asked, once they are written."""
        self.flush()
        made, self.made = self.made, []
        return made


_FRAGMENTS: list[Fragments] = []


@contextmanager
def keeping_fragments(fragments: Fragments) -> Iterator[Fragments]:
    """Inside the block, `fragment` keeps and reuses pieces in the given store."""
    _FRAGMENTS.append(fragments)
    try:
        yield fragments
    finally:
        _FRAGMENTS.pop()


def current_fragments() -> Fragments | None:
    return _FRAGMENTS[-1] if _FRAGMENTS else None


def fragment(name: str, key: Any, make: Callable[[], Any]) -> Any:
    """The piece `name` of `key` (whatever besides the traced reads it depends on): from the build's store when its
    reads are unchanged, else made; outside a build, or with reads paused, simply made."""
    if not _FRAGMENTS or _PAUSED[-1]:
        return make()
    return _FRAGMENTS[-1].get(name, key, make)
