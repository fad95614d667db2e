"""Read evidence YAML files into plain data, remembering the line and column of every key and item."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .problems import Problem, display_path
from .vocabulary import KIND_BY_FOLDER, RecordKind

Location = tuple[int, int]
FieldPath = tuple[Any, ...]

MAX_FILE_BYTES = 1_000_000


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
        path = tuple(field_path)
        while path:
            if path in self.locations:
                return self.locations[path]
            path = path[:-1]
        return self.locations.get((), (1, 1))

    def problem(self, field_path: FieldPath, message: str) -> Problem:
        line, column = self.locate(field_path)
        return Problem(self.shown_path, line, column, format_field(field_path), message)


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


def _mark(node: Node) -> Location:
    return node.start_mark.line + 1, node.start_mark.column + 1


_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


def _to_data(node: Node, path: FieldPath, locations: dict[FieldPath, Location],
             problems: list[tuple[FieldPath, Location, str]], loader: Any) -> Any:
    """Convert a composed node into plain Python data, recording the location of every path."""
    if not isinstance(node, ScalarNode) and node.tag not in _PLAIN_TAGS:
        problems.append((path, _mark(node), f"YAML tags such as {node.tag!r} are not allowed in evidence records"))
        return None
    if isinstance(node, MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _to_data(key_node, path, locations, problems, loader) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                problems.append((path, _mark(key_node), f"keys must be text, found {key!r}"))
                continue
            child = path + (key,)
            if key in result:
                problems.append((child, _mark(key_node),
                                 f"duplicate key '{key}' (first given on line {locations[child][0]})"))
                continue
            locations[child] = _mark(key_node)
            result[key] = _to_data(value_node, child, locations, problems, loader)
        return result
    if isinstance(node, SequenceNode):
        items = []
        for index, item_node in enumerate(node.value):
            child = path + (index,)
            locations[child] = _mark(item_node)
            items.append(_to_data(item_node, child, locations, problems, loader))
        return items
    assert isinstance(node, ScalarNode)
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError:
        problems.append((path, _mark(node), f"YAML tags such as {node.tag!r} are not allowed in evidence records"))
        return None


def _alias_problem(text: str, shown_path: str) -> Problem | None:
    """The first anchor or alias in the YAML's tokens (a '*' or '&' inside a string does not count)."""
    try:
        for token in yaml.scan(text, Loader=_SafeLoader):
            if isinstance(token, (yaml.AnchorToken, yaml.AliasToken)):
                return Problem(shown_path, token.start_mark.line + 1, token.start_mark.column + 1, "(yaml)",
                               f"invalid YAML: {ALIAS_MESSAGE}")
    except yaml.YAMLError:
        return None  # the parser reports the syntax error itself
    return None


def parse_yaml(text: str, shown_path: str) -> tuple[Any, dict[FieldPath, Location], list[Problem]]:
    """Parse one YAML document; return its data, field locations and any problems found."""
    # Aliases are refused before composing, so an alias bomb never expands; only text with & or * is scanned.
    if ("&" in text or "*" in text) and (problem := _alias_problem(text, shown_path)):
        return None, {}, [problem]
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(part for part in (error.context, error.problem) if part)
        return None, {}, [Problem(shown_path, line, column, "(yaml)", f"invalid YAML: {message}")]
    except yaml.YAMLError as error:
        return None, {}, [Problem(shown_path, 1, 1, "(yaml)", f"invalid YAML: {error}")]
    finally:
        loader.dispose()
    if node is None:
        return None, {}, [Problem(shown_path, 1, 1, "(record)", "the file is empty")]
    locations: dict[FieldPath, Location] = {(): _mark(node)}
    raw_problems: list[tuple[FieldPath, Location, str]] = []
    data = _to_data(node, (), locations, raw_problems, loader)
    problems = [Problem(shown_path, line, column, format_field(path), message)
                for path, (line, column), message in raw_problems]
    return data, locations, problems


def load_file(path: Path, kind: RecordKind) -> tuple[RawRecord | None, list[Problem]]:
    """Read one record file; the record is None when it cannot be read at all."""
    shown = display_path(path)
    raw_bytes = path.read_bytes()
    if len(raw_bytes) > MAX_FILE_BYTES:
        return None, [Problem(shown, 1, 1, "(file)",
                              f"the file is {len(raw_bytes):,} bytes; a record may be at most {MAX_FILE_BYTES:,}")]
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


@dataclass
class LoadedTree:
    """Every record that could be read, the problems found, and the (kind, id) of files that could not be read."""

    records: list[RawRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unreadable: set[tuple[str, str]] = field(default_factory=set)


def load_tree(evidence_dir: Path) -> LoadedTree:
    """Read every record under evidence_dir/<kind folder>/; report stray files as problems."""
    tree = LoadedTree()
    records, problems = tree.records, tree.problems
    if not evidence_dir.is_dir():
        problems.append(Problem(display_path(evidence_dir), 1, 1, "(folder)", "the evidence folder does not exist"))
        return tree
    for entry in sorted(evidence_dir.iterdir()):
        if entry.name.startswith(".") or (entry.is_file() and not entry.is_symlink()):
            continue  # ledgers and notes may sit beside the record folders
        if entry.is_symlink():
            problems.append(Problem(display_path(entry), 1, 1, "(folder)",
                                    "symbolic links are not allowed in the evidence folder"))
            continue
        kind = KIND_BY_FOLDER.get(entry.name)
        if kind is None:
            known = ", ".join(sorted(KIND_BY_FOLDER))
            problems.append(Problem(display_path(entry), 1, 1, "(folder)",
                                    f"unknown record folder '{entry.name}'; expected one of: {known}"))
            continue
        for path in sorted(entry.rglob("*")):
            if path.is_symlink():
                problems.append(Problem(display_path(path), 1, 1, "(file)",
                                        "symbolic links are not allowed in the evidence folder; commit the record itself"))
                continue
            if path.is_dir() or path.name.startswith("."):
                continue
            if path.suffix not in (".yaml", ".yml") or path.parent != entry:
                problems.append(Problem(display_path(path), 1, 1, "(file)",
                                        f"not a record: records are .yaml files directly inside {entry.name}/"))
                continue
            record, file_problems = load_file(path, kind)
            problems.extend(file_problems)
            if record is not None:
                records.append(record)
            else:
                tree.unreadable.add((kind.name, path.stem))
    return tree
