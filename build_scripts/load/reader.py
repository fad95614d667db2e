"""Read evidence YAML files into plain data, remembering the line and column of every key and item."""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (AliasEvent, CollectionEndEvent, CollectionStartEvent, DocumentEndEvent, Event,
                         MappingStartEvent, ScalarEvent, SequenceStartEvent, StreamEndEvent)
from yaml.nodes import ScalarNode

from build_scripts.load.numbers import printed
from build_scripts.load.problems import Problem, display_path
from build_scripts.load.vocabulary import KIND_BY_FOLDER, RecordKind

Location = tuple[int, int]
FieldPath = tuple[Any, ...]

MAX_FILE_BYTES = 1_000_000
RECORD_SUFFIXES = (".yaml", ".yml")
LEDGER_NAME = "published-urls.txt"
# The only files in evidence/ besides the record folders. Anything else found there is reported, never skipped,
# so that no record can be lost by being put in the wrong place.
TOPIC_NAME = "topic.yaml"
NON_RECORD_FILES = {LEDGER_NAME: "the ledger of every URL the site has published (build_scripts/derive/ledger.py)",
                    TOPIC_NAME: "the atlas's topic: its measures, classes, statuses and axes (build_scripts/load/topic.py)"}


@dataclass
class RawRecord:
    """A record as read from disk: its kind, file, data, and where each field sits in the file."""

    kind: RecordKind
    path: Path
    shown_path: str
    data: dict[str, Any]
    locations: dict[FieldPath, Location] = field(default_factory=dict)

    def locate(self, field_path: FieldPath) -> Location:
        """Line and column of a field, or of its nearest enclosing field that exists in the file."""
        return locate(self.locations, field_path)

    def problem(self, field_path: FieldPath, message: str) -> Problem:
        return located_problem(self.shown_path, self.locations, field_path, message)


def locate(locations: dict[FieldPath, Location], field_path: FieldPath) -> Location:
    """Line and column of a field, or of its nearest enclosing field that exists in the file."""
    path = tuple(field_path)
    while path:
        if path in locations:
            return locations[path]
        path = path[:-1]
    return locations.get((), (1, 1))


def located_problem(shown_path: str, locations: dict[FieldPath, Location], field_path: FieldPath,
                    message: str) -> Problem:
    """A problem of a YAML file, at the line and column of its field."""
    line, column = locate(locations, field_path)
    return Problem(shown_path, line, column, format_field(field_path), message)


def format_field(field_path: FieldPath) -> str:
    """A field path as a curator reads it: cohorts[0].outcomes[2].value."""
    text = ""
    for part in field_path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(record)"


# libyaml's parser when PyYAML was built with it (several times faster); the pure-Python one otherwise.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ALIAS_MESSAGE = "anchors and aliases (&name, *name) are not allowed in evidence records; write the value out"
# Records nest about 7 levels deep. The bound keeps every later step that walks the data recursively
# (placeholder and model checks, exports) far from the stack's limit.
MAX_DEPTH = 32


def _mark(event: Event) -> Location:
    return event.start_mark.line + 1, event.start_mark.column + 1


_PLAIN_TAGS = {MappingStartEvent: {None, "!", "tag:yaml.org,2002:map"},
               SequenceStartEvent: {None, "!", "tag:yaml.org,2002:seq"}}
_TEXT_TAG = "tag:yaml.org,2002:str"
_NO_KEY = object()  # a mapping waiting for its next key
_SKIP = object()  # a mapping whose next value is read but not kept (its key was refused)

RawProblems = list[tuple[FieldPath, Location, str]]


class _Refused(Exception):
    """A document refused as a whole, before any of it is kept."""

    def __init__(self, event: Event, message: str):
        super().__init__(message)
        self.location, self.message = _mark(event), f"invalid YAML: {message}"


class _Open:
    """A mapping or list being filled: its value (None when read but not kept), its path, its pending key."""

    __slots__ = ("value", "path", "key")

    def __init__(self, value: dict[str, Any] | list[Any] | None, path: FieldPath):
        self.value, self.path, self.key = value, path, _NO_KEY


def _scalar(event: ScalarEvent, loader: Any) -> tuple[Any, str | None]:
    """A scalar's value as the safe loader constructs it, or None and why it cannot be read."""
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(ScalarNode, event.value, event.implicit)
    if tag == _TEXT_TAG:  # most scalars: what the constructor would return, without its cost
        return event.value, None
    try:
        value = loader.construct_object(ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style),
                                       deep=True)
    except yaml.constructor.ConstructorError:
        return None, f"YAML tags such as {tag!r} are not allowed in evidence records"
    except (ValueError, OverflowError) as error:  # a date such as 2024-02-30, an integer of 5,000 digits
        return None, f"{event.value[:40]!r} cannot be read as a {tag.rsplit(':', 1)[-1]}: {error}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return None, f"{event.value!r} is not a finite number; evidence records hold finite numbers only"
        return printed(value, event.value), None  # pages show it with the decimals it was written with
    return value, None


def _value(event: Event, path: FieldPath, loader: Any, stack: list[_Open], problems: RawProblems) -> Any:
    """The value a node starts: a scalar, or a new mapping or list opened on the stack to be filled."""
    if isinstance(event, ScalarEvent):
        value, why = _scalar(event, loader)
        if why:
            problems.append((path, _mark(event), why))
        return value
    if event.tag not in _PLAIN_TAGS[type(event)]:
        problems.append((path, _mark(event), f"YAML tags such as {event.tag!r} are not allowed in evidence records"))
        stack.append(_Open(None, path))
        return None
    value = {} if isinstance(event, MappingStartEvent) else []
    stack.append(_Open(value, path))
    return value


def _key(event: Event, mapping: _Open, loader: Any, locations: dict[FieldPath, Location], problems: RawProblems) -> Any:
    """The key a node gives its mapping, or _SKIP when the key is refused (and its value is then not kept)."""
    if not isinstance(event, ScalarEvent):
        kind = "a mapping" if isinstance(event, MappingStartEvent) else "a list"
        problems.append((mapping.path, _mark(event), f"keys must be text, found {kind}"))
        return _SKIP
    key, why = _scalar(event, loader)
    if why or not isinstance(key, str):
        problems.append((mapping.path, _mark(event), why or f"keys must be text, found {key!r}"))
        return _SKIP
    path = mapping.path + (key,)
    if path in locations:
        problems.append((path, _mark(event), f"duplicate key '{key}' (first given on line {locations[path][0]})"))
        return _SKIP
    locations[path] = _mark(event)
    return key


def _events_to_data(loader: Any) -> tuple[Any, dict[FieldPath, Location], RawProblems]:
    """Build plain data from the parser's events one at a time, recording the location of every path.

    Nothing here recurses and no node graph is composed (libyaml's composer recurses in C and crashes on
    deep nesting), so nesting is bounded by MAX_DEPTH alone; an anchor or alias is refused where it is met,
    before anything expands.
    """
    locations: dict[FieldPath, Location] = {}
    problems: RawProblems = []
    stack: list[_Open] = []
    root: Any = None
    loader.get_event()  # the stream's start
    if loader.check_event(StreamEndEvent):
        return None, locations, problems
    document = loader.get_event()
    while not isinstance(event := loader.get_event(), DocumentEndEvent):
        if isinstance(event, CollectionEndEvent):
            stack.pop()
            continue
        parent = stack[-1] if stack else None
        if isinstance(event, AliasEvent) or event.anchor is not None:
            raise _Refused(event, ALIAS_MESSAGE)
        if isinstance(event, CollectionStartEvent) and len(stack) >= MAX_DEPTH:
            raise _Refused(event, f"mappings and lists nest more than {MAX_DEPTH} levels deep here;"
                                  " evidence records need far fewer")
        if parent is None:
            locations[()] = _mark(event)
            root = _value(event, (), loader, stack, problems)
        elif parent.value is None or parent.key is _SKIP:  # read, not kept
            parent.key = _NO_KEY
            if isinstance(event, CollectionStartEvent):
                stack.append(_Open(None, parent.path))
        elif isinstance(parent.value, list):
            path = parent.path + (len(parent.value),)
            locations[path] = _mark(event)
            parent.value.append(_value(event, path, loader, stack, problems))
        elif parent.key is _NO_KEY:
            parent.key = _key(event, parent, loader, locations, problems)
            if isinstance(event, CollectionStartEvent):
                stack.append(_Open(None, parent.path))
        else:
            key, parent.key = parent.key, _NO_KEY
            parent.value[key] = _value(event, parent.path + (key,), loader, stack, problems)
    if not loader.check_event(StreamEndEvent):
        raise yaml.composer.ComposerError("expected a single document in the stream", document.start_mark,
                                          "but found another document", loader.get_event().start_mark)
    return root, locations, problems


def parse_yaml(text: str, shown_path: str) -> tuple[Any, dict[FieldPath, Location], list[Problem]]:
    """Parse one YAML document; return its data, field locations and any problems found."""
    loader = _SafeLoader(text)
    try:
        data, locations, raw_problems = _events_to_data(loader)
    except _Refused as refusal:
        line, column = refusal.location
        return None, {}, [Problem(shown_path, line, column, "(yaml)", refusal.message)]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(part for part in (error.context, error.problem) if part)
        return None, {}, [Problem(shown_path, line, column, "(yaml)", f"invalid YAML: {message}")]
    except yaml.YAMLError as error:
        return None, {}, [Problem(shown_path, 1, 1, "(yaml)", f"invalid YAML: {error}")]
    finally:
        loader.dispose()
    if data is None and not raw_problems:  # no document, or a document that is only null: nothing to lose silently
        message = "the file holds no record, only an empty value" if locations else "the file is empty"
        return None, {}, [Problem(shown_path, 1, 1, "(record)", message)]
    problems = [Problem(shown_path, line, column, format_field(path), message)
                for path, (line, column), message in raw_problems]
    return data, locations, problems


# Opened without following a link and without waiting on a pipe, in case the file was swapped after it was checked.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
_FILE_TYPES = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"),
               (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))


def not_regular_problem(path: Path, mode: int) -> Problem:
    """A link, pipe, device or socket where only regular files may be: reported, never followed or opened."""
    if stat.S_ISLNK(mode):
        message = "symbolic links are not allowed in the evidence folder; commit the file itself"
    else:
        kind = next((name for is_kind, name in _FILE_TYPES if is_kind(mode)), "not a regular file")
        message = f"this is {kind}; only regular files are read in the evidence folder"
    return Problem(display_path(path), 1, 1, "(folder)" if stat.S_ISDIR(mode) else "(file)", message)


def read_regular_file(path: Path, limit: int, holder: str) -> tuple[bytes | None, Problem | None]:
    """The bytes of a regular file of at most `limit` bytes, or why it is not read (`holder` names what it holds)."""
    try:
        mode = os.lstat(path).st_mode
        if not stat.S_ISREG(mode):
            return None, not_regular_problem(path, mode)
        with os.fdopen(os.open(path, _OPEN_FLAGS), "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                return None, not_regular_problem(path, info.st_mode)
            data = file.read(limit + 1) if info.st_size <= limit else b""
    except OSError as error:
        return None, Problem(display_path(path), 1, 1, "(file)", f"the file cannot be read: {error.strerror or error}")
    size = max(info.st_size, len(data))
    if size > limit:
        return None, Problem(display_path(path), 1, 1, "(file)",
                             f"the file is {size:,} bytes; {holder} may be at most {limit:,}")
    return data, None


def load_file(path: Path, kind: RecordKind) -> tuple[RawRecord | None, list[Problem]]:
    """Read one record file; the record is None when it cannot be read at all."""
    raw_bytes, problem = read_record_bytes(path)
    if raw_bytes is None:
        return None, [problem]
    return parse_record(path, kind, raw_bytes)


def read_record_bytes(path: Path) -> tuple[bytes | None, Problem | None]:
    """The bytes of a record file, or why it cannot be read."""
    return read_regular_file(path, MAX_FILE_BYTES, "a record")


def parse_record(path: Path, kind: RecordKind, raw_bytes: bytes) -> tuple[RawRecord | None, list[Problem]]:
    """A record file's bytes as a raw record with the location of every field; None when they hold no record."""
    shown = display_path(path)
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw_bytes[: error.start].count(b"\n") + 1
        return None, [Problem(shown, line, 1, "(file)",
                              f"the file is not UTF-8 text (byte 0x{raw_bytes[error.start]:02x} at offset {error.start}); "
                              "save it as UTF-8")]
    data, locations, problems = parse_yaml(text, shown)
    if data is None:
        return None, problems
    if not isinstance(data, dict):
        return None, problems + [Problem(shown, 1, 1, "(record)",
                                         f"a record must be a mapping of field names to values, found {type(data).__name__}")]
    return RawRecord(kind, path, shown, data, locations), problems


class DeferredRaw:
    """A record file known by its kind and path whose fields are located only when a problem needs them.

    Validation caches what a file gives on its own; the checks across records still name file, line and column,
    and they read the file again for that, which happens only in a run that reports problems.
    """

    def __init__(self, kind: RecordKind, path: Path):
        self.kind, self.path = kind, path
        self._raw: RawRecord | None = None

    @property
    def shown_path(self) -> str:
        return display_path(self.path)

    def problem(self, field_path: FieldPath, message: str) -> Problem:
        if self._raw is None:
            self._raw = load_file(self.path, self.kind)[0]
        if self._raw is None:
            return Problem(self.shown_path, 1, 1, format_field(field_path), message)
        return self._raw.problem(field_path, message)


@dataclass
class LoadedTree:
    """Every record that could be read, the problems found, and the (kind, id) of files that could not be read."""

    records: list[RawRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unreadable: set[tuple[str, str]] = field(default_factory=set)


HIDDEN_MESSAGE = ("names starting with '.' are not allowed in the evidence folder (such files are easily missed);"
                  " rename or remove it")


def _entries(folder: Path, problems: list[Problem]) -> list[tuple[Path, int]]:
    """A folder's entries in name order, each with its mode as lstat gives it (a link is not followed)."""
    try:
        return [(folder / name, os.lstat(folder / name).st_mode) for name in sorted(os.listdir(folder))]
    except OSError as error:
        problems.append(Problem(display_path(folder), 1, 1, "(folder)",
                                f"the folder cannot be read: {error.strerror or error}"))
        return []


def _stray_problem(path: Path, mode: int) -> Problem | None:
    """Why an entry directly in evidence/ is neither a record folder nor a known non-record file, if it is not."""
    field_name = "(folder)" if stat.S_ISDIR(mode) else "(file)"
    folders = ", ".join(f"{name}/" for name in sorted(KIND_BY_FOLDER))
    if path.name.startswith("."):
        return Problem(display_path(path), 1, 1, field_name, HIDDEN_MESSAGE)
    if stat.S_ISDIR(mode):
        if path.name in KIND_BY_FOLDER:
            return None
        return Problem(display_path(path), 1, 1, field_name,
                       f"unknown record folder '{path.name}'; expected one of: {', '.join(sorted(KIND_BY_FOLDER))}")
    if not stat.S_ISREG(mode):
        return not_regular_problem(path, mode)
    if path.name in NON_RECORD_FILES:
        return None
    if path.suffix in RECORD_SUFFIXES:
        return Problem(display_path(path), 1, 1, field_name,
                       f"a record must be in the folder of its kind ({folders}), not directly in the evidence folder")
    known = ", ".join(sorted(NON_RECORD_FILES))
    return Problem(display_path(path), 1, 1, field_name,
                   f"unknown file: the evidence folder holds only the record folders ({folders}) and {known}")


def load_tree(evidence_dir: Path) -> LoadedTree:
    """Read every record under evidence_dir/<kind folder>/; every other file is a known non-record or a problem."""
    tree = LoadedTree()
    for path, kind in record_files(evidence_dir, tree.problems):
        record, file_problems = load_file(path, kind)
        tree.problems.extend(file_problems)
        if record is not None:
            tree.records.append(record)
        else:
            tree.unreadable.add((kind.name, path.stem))
    return tree


def record_files(evidence_dir: Path, problems: list[Problem]) -> list[tuple[Path, RecordKind]]:
    """Every record file under evidence_dir/<kind folder>/, with its kind; anything else found is a problem."""
    found: list[tuple[Path, RecordKind]] = []
    if not evidence_dir.is_dir():
        problems.append(Problem(display_path(evidence_dir), 1, 1, "(folder)", "the evidence folder does not exist"))
        return found
    for entry, mode in _entries(evidence_dir, problems):
        if problem := _stray_problem(entry, mode):
            problems.append(problem)
        elif stat.S_ISDIR(mode):
            _record_folder(entry, KIND_BY_FOLDER[entry.name], problems, found)
    return found


def _record_folder(folder: Path, kind: RecordKind, problems: list[Problem],
                   found: list[tuple[Path, RecordKind]]) -> None:
    """The record files of one kind folder; whatever else is in it, however deep, is reported."""
    pending = [folder]
    while pending:  # a loop, not recursion: folders may nest deeper than the stack allows
        current = pending.pop()
        for path, mode in _entries(current, problems):
            if path.name.startswith("."):
                problems.append(Problem(display_path(path), 1, 1,
                                        "(folder)" if stat.S_ISDIR(mode) else "(file)", HIDDEN_MESSAGE))
            elif stat.S_ISDIR(mode):
                pending.append(path)
            elif not stat.S_ISREG(mode):
                problems.append(not_regular_problem(path, mode))
            elif path.suffix not in RECORD_SUFFIXES or current != folder:
                problems.append(Problem(display_path(path), 1, 1, "(file)",
                                        f"not a record: records are .yaml files directly inside {folder.name}/"))
            else:
                found.append((path, kind))
