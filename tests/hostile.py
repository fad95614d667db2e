"""Test tooling, not product: hostile evidence trees in which every text field of every record holds attack shapes.

The text fields are found by introspection of the record models (a str whose metadata holds fields.TextField), so a
new text field is attacked without editing this file. The fixture tree is extended by a small scaffold (an adverse
event, a related study, a cohort population...) so that every text field has a place to sit; the test fails, naming
the field, when one has none.
"""

from __future__ import annotations

import copy
import functools
import types
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Iterator, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, TypeAdapter

from build_scripts.load import fields, model
from build_scripts.load.vocabulary import RECORD_KINDS

LIST = "[]"  # stands for any index in a field pattern
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# ---------------------------------------------------------------- text fields, by introspection


@dataclass(frozen=True)
class TextFieldSpec:
    """A text field of a record kind: where it sits (LIST for any list index), its TextField kind and length limit."""

    record: str
    pattern: tuple[str, ...]
    kind: str
    max_length: int | None

    @property
    def name(self) -> str:
        return f"{self.record}:{field_name(self.pattern)}"


def field_name(path: tuple[Any, ...]) -> str:
    """A field path as the validator reports it: cohorts[0].outcomes[2].note (cohorts[].label for a pattern)."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == LIST:
            text += "[]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(record)"


def text_fields() -> list[TextFieldSpec]:
    """Every text field of every record kind."""
    found: list[TextFieldSpec] = []
    for record, record_model in model.RECORD_MODELS.items():
        for path, metadata in _str_fields(record_model):
            marks = [m for m in metadata if isinstance(m, fields.TextField)]
            if marks:
                found.append(TextFieldSpec(record, path, marks[0].kind, _max_length(metadata)))
    return found


def unmarked_free_text() -> list[str]:
    """str fields that take free text (a sentence passes their type) but carry no TextField mark."""
    unmarked = []
    for record, record_model in model.RECORD_MODELS.items():
        for path, metadata in _str_fields(record_model):
            if any(isinstance(m, fields.TextField) for m in metadata):
                continue
            try:
                TypeAdapter(Annotated[(str, *metadata)] if metadata else str).validate_python("Free text, in a sentence.")
            except Exception:  # noqa: BLE001 - a pattern, a vocabulary or any other rule: not free text
                continue
            unmarked.append(f"{record}:{field_name(path)}")
    return unmarked


def _str_fields(root: type[BaseModel]) -> Iterator[tuple[tuple[str, ...], list[Any]]]:
    """(pattern, metadata) of every str inside a model: through Optional, unions, lists and nested models."""

    def walk(annotation: Any, metadata: list[Any], path: tuple[str, ...], seen: tuple[type, ...]):
        origin = get_origin(annotation)
        if origin is Annotated:
            base, *extra = get_args(annotation)
            yield from walk(base, [*metadata, *extra], path, seen)
        elif origin in (Union, types.UnionType):
            for argument in get_args(annotation):
                if argument is not type(None):
                    yield from walk(argument, metadata, path, seen)
        elif origin in (list, tuple, set, frozenset):
            # The list's own metadata (its max_length) does not describe its items.
            for argument in get_args(annotation):
                if argument is not Ellipsis:
                    yield from walk(argument, [], path + (LIST,), seen)
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation in seen:
                return
            for name, info in annotation.model_fields.items():
                yield from walk(info.annotation, list(info.metadata), path + (info.alias or name,), seen + (annotation,))
        elif annotation is str:
            yield path, metadata

    yield from walk(root, [], (), ())


def _max_length(metadata: list[Any]) -> int | None:
    limits = [m.max_length for m in metadata if isinstance(getattr(m, "max_length", None), int)]
    return min(limits) if limits else None


# ---------------------------------------------------------------- injection shapes


@dataclass(frozen=True)
class Shape:
    """One injection shape. '{n}' in the template becomes a number naming the slot and the shape (n = slot*100+shape),
    so an alert, a handler or a link found in the output says which field and which shape let it through."""

    name: str
    family: str
    template: str
    lead: bool = False  # it only bites at the start of a value (a formula, a Markdown block at the start of a line)
    tail: bool = False  # it only bites at the end of a value (a name ending in initials is split into two parts)

    def text(self, n: int) -> str:
        return self.template.replace("{n}", str(n))


SHAPES: tuple[Shape, ...] = (
    Shape("script", "markup", "<script>alert({n})</script>"),
    Shape("img-onerror", "markup", "<img src=x{n} onerror=alert({n})>"),
    Shape("svg-onload", "markup", "<svg onload=alert({n})>"),
    Shape("close-title-space", "markup", "</title ><script>alert({n})</script>"),
    Shape("close-title-slash", "markup", "</title/><script>alert({n})</script>"),
    # Runs even where a Markdown backslash escape lands before each '<' and '>': the backslash ends up in a comment.
    Shape("close-title-img", "markup", "</title/><img src=x{n} onerror=alert({n})//>"),
    Shape("close-textarea", "markup", "</textarea><script>alert({n})</script>"),
    Shape("close-style", "markup", "</style><script>alert({n})</script>"),
    Shape("comment", "markup", "<!-- --><script>alert({n})</script>"),
    Shape("html-js-link", "markup", '<a href="javascript:alert({n})">x</a>'),
    Shape("html-data-link", "markup", '<a href="data:text/html,<script>alert({n})</script>">x</a>'),
    Shape("dq-breakout", "attribute", '" onmouseover=alert({n}) x="'),
    Shape("sq-breakout", "attribute", "' autofocus onfocus=alert({n}) '"),
    Shape("nl-heading-attrs", "markdown-newline", "x\n# {: autofocus onfocus=alert({n}) }"),
    Shape("nl-js-link", "markdown-newline", "x\n[x](javascript:alert({n}))"),
    Shape("nl-script", "markdown-newline", "x\n<script>alert({n})</script>"),
    Shape("nl-snippet", "markdown-newline", "x\n--8<-- /etc/passwd"),
    Shape("heading-attrs", "markdown-inline", "# {: autofocus onfocus=alert({n}) }", lead=True),
    Shape("snippet", "markdown-inline", "--8<-- /etc/passwd", lead=True),
    Shape("js-link", "markdown-inline", "[x](javascript:alert({n}))"),
    Shape("data-image", "markdown-inline", "![x](data:image/svg+xml,<svg onload=alert({n})>)"),
    Shape("jinja-expression", "template", "{{ 7*7 }}"),
    Shape("jinja-raw", "template", "{% raw %}"),
    Shape("js-template", "template", "${7*7}"),
    Shape("block-placeholder", "template", "<!--atlas-block:0-->"),
    Shape("hyperlink", "formula", '=HYPERLINK("http://evil.example/{n}","x")', lead=True),
    Shape("dde", "formula", "+cmd|' /C calc'!A0", lead=True),
    Shape("minus", "formula", "-2+3", lead=True),
    Shape("at", "formula", "@SUM(1)", lead=True),
    Shape("close-brace", "bibtex", "}"),
    Shape("new-entry", "bibtex", "@misc{x{n},"),
    Shape("and", "bibtex", "Smith and Jones"),
    Shape("close-field", "bibtex", "x}, title = {pwned{n}"),
    Shape("and-initials", "bibtex", "Smith and Jones AB", tail=True),
    Shape("latex", "bibtex", "\\input{/etc/passwd} 100% & $x$ #1 _a ~b ^c \\"),
    Shape("ris-forge", "ris", "x\nER  - \nTY  - JOUR"),
    Shape("ris-crlf", "ris", "x\r\nTI  - forged"),
    Shape("ris-tag", "ris", "ER  - {n}", lead=True),
    Shape("nul", "control", "a\x00b"),
    Shape("escape", "control", "a\x1b[31mb"),
    Shape("delete", "control", "a\x7fb"),
    Shape("next-line", "control", "a\x85b"),
    Shape("line-separator", "control", "a\u2028b"),
    Shape("tab", "control", "a\tb"),
    Shape("carriage-return", "control", "a\rb"),
    Shape("tab-formula", "control", "\t=1+{n}", lead=True),
    Shape("rlo", "bidi", "abc\u202edef"),
    Shape("lri", "bidi", "abc\u2066def\u2069"),
    Shape("close-script", "jsonld", "</script><script>alert({n})</script>"),
    Shape("cdata-end", "cdata", "]]>"),
    Shape("cdata", "cdata", "<![CDATA[x]]>"),
    Shape("entities", "entity", "&amp; &lt; &#0; &#x1b; &bogus;"),
    Shape("long", "long", "<script>alert({n})</script>"),        # filled to the field's length limit
    Shape("too-long", "too-long", "<script>alert({n})</script>"),  # one character over it
)
SHAPE_INDEX = {shape.name: index for index, shape in enumerate(SHAPES)}
NO_LIMIT_LENGTH = 5_000

# What a one-line field must refuse: anything that ends a line (what str.splitlines() splits on), every control
# character (Unicode category Cc, tab included) and the bidirectional embedding, override and isolate controls.
LINE_BREAKS = set("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def one_line_must_refuse(text: str) -> bool:
    return any(ch in LINE_BREAKS or ch in BIDI_CONTROLS or unicodedata.category(ch) == "Cc" for ch in text)


def any_text_must_refuse(text: str) -> bool:
    """Control characters other than tab and the ordinary line ends: no text field may hold them."""
    return any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in text)


def shape_value(shape: Shape, n: int, max_length: int | None) -> str:
    """The shape as a field value; the long shapes are repeated up to (or one past) the field's limit."""
    if shape.family in ("long", "too-long"):
        length = (max_length or NO_LIMIT_LENGTH) + (shape.family == "too-long")
        unit = shape.text(n)
        return (unit * (length // len(unit) + 1))[:length]
    return shape.text(n)


# ---------------------------------------------------------------- the tree and its slots


@dataclass(frozen=True)
class Slot:
    """One place in the tree that holds a text value: a file, the field path inside it, and its field spec."""

    index: int
    file: str          # relative to the evidence folder
    path: tuple[Any, ...]
    spec: TextFieldSpec
    filled: bool       # the fixture leaves it out; the hostile tree fills it in

    @property
    def field(self) -> str:
        return field_name(self.path)


COMPANION = "hostile-companion"


def _source(location: str, publication: str = "fixture-2020-journal") -> dict[str, str]:
    return {"publication": publication, "location": location}


def scaffold(files: dict[str, Any]) -> None:
    """Structure the valid fixture lacks, so that every text field has a place: all of it valid and plain."""
    study = files["studies/fixture-dpd-retreatment.yaml"]
    refractory = study["cohorts"][0]
    refractory["population"]["prior_lines"] = {"median": 4, "low": 1, "high": 9, "source": _source("Table 1")}
    refractory["population"]["refractory"] = [{"to": "daratumumab", "percent": 100, "source": _source("Table 1")}]
    refractory["adverse_events"] = [{"term": "Neutropenia", "grade": "3-4", "patients": 3, "n": 30,
                                     "source": _source("Table 4")}]
    refractory["best_response"] = [{"category": "pr", "patients": 5, "n": 30, "source": _source("Table 2")}]
    study["population"]["in_question"] = {"value": 30, "source": _source("Table 1")}
    study["response_criteria"] = {"criteria": "IMWG", "source": _source("Methods")}
    review = files["reviews/fixture-review.yaml"]
    review["appraisal"] = {"tool": "MMAT", "appraised": 1, "judgement": "Judged of sufficient quality.",
                           "source": {"publication": review["publication"], "location": "Section 3"}}
    study["related_studies"] = [{"study": COMPANION, "relation": "same_patients"}]
    files[f"studies/{COMPANION}.yaml"] = {
        "id": COMPANION, "title": "Companion study", "design": "retrospective_real_world",
        "publications": ["fixture-2021-abstract"], "summary": "A second fictional study, for related-study notes.",
        "cohorts": [{"id": "all", "label": "All patients", "role": "overall",
                     "regimen": "daratumumab-pomalidomide-dexamethasone",
                     # the retreated count beside the count of the cohort standing for the whole study
                     "population": {"in_question": {"status": "not_reported", "source": _source("Results",
                                                                                             "fixture-2021-abstract")}},
                     "outcomes": [{"measure": "orr", "value": 33, "unit": "percent", "n": 30,
                                   "source": _source("Results", "fixture-2021-abstract")}]}],
    }


def _instances(node: Any, pattern: tuple[str, ...], path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], bool]]:
    """(concrete path, filled) of every place a pattern matches; an optional text field left out is filled."""
    if not pattern:
        yield path, False
        return
    head, rest = pattern[0], pattern[1:]
    if head == LIST:
        if isinstance(node, list):
            for index, item in enumerate(node):
                yield from _instances(item, rest, path + (index,))
            if not node and not rest:
                yield path + (0,), True
    elif isinstance(node, dict):
        if head in node:
            yield from _instances(node[head], rest, path + (head,))
        elif not rest:
            yield path + (head,), True
        elif rest == (LIST,):
            yield path + (head, 0), True


def _node(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def set_value(data: Any, path: tuple[Any, ...], value: Any) -> None:
    """Set a value at a path, creating the list or the key that a filled slot needs."""
    node = data
    for part, following in zip(path[:-1], path[1:]):
        if isinstance(node, dict) and part not in node:
            node[part] = [] if isinstance(following, int) else {}
        node = node[part]
    last = path[-1]
    if isinstance(node, list) and last == len(node):
        node.append(value)
    else:
        node[last] = value


class HostileTree:
    """The valid fixture tree with its scaffold, its text slots, and writers of variants of it."""

    def __init__(self, fixture: Path, specs: list[TextFieldSpec]):
        self.files: dict[str, Any] = {}
        self.other_files: dict[str, bytes] = {}
        for path in sorted(fixture.rglob("*")):
            if path.is_file():
                relative = path.relative_to(fixture).as_posix()
                if path.suffix == ".yaml" and "/" in relative:  # a record; the topic file is copied as it is
                    self.files[relative] = yaml.safe_load(path.read_text(encoding="utf-8"))
                else:
                    self.other_files[relative] = path.read_bytes()
        scaffold(self.files)
        folders = {kind.folder: name for name, kind in RECORD_KINDS.items()}
        self.slots: list[Slot] = []
        for file, data in sorted(self.files.items()):
            record = folders[file.split("/")[0]]
            for spec in specs:
                if spec.record == record:
                    for path, filled in _instances(data, spec.pattern):
                        self.slots.append(Slot(len(self.slots), file, path, spec, filled))
                        if filled and path[-1] == "derivation":
                            # A derivation is only allowed on a figure marked derived: mark it, so the field is reached.
                            _node(data, path[:-1]).setdefault("derived", True)

    def data(self, values: dict[int, str]) -> dict[str, Any]:
        """Every record's data with the given slot values; filled slots without a value get plain text."""
        files = copy.deepcopy(self.files)
        for slot in self.slots:
            value = values.get(slot.index)
            if value is None and slot.filled:
                value = plain_value(slot)
            if value is not None:
                set_value(files[slot.file], slot.path, value)
        return files

    def write(self, evidence: Path, values: dict[int, str]) -> dict[str, str]:
        """Write the tree into an evidence folder; returns the YAML text of each record file."""
        texts = {}
        for file, data in self.data(values).items():
            text = yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=1_000_000)
            if yaml.load(text, Loader=_LOADER) != data:
                # PyYAML writes U+0085 raw and reads it back as a line break: escape everything outside ASCII then.
                text = yaml.dump(data, Dumper=_DUMPER, allow_unicode=False, sort_keys=False, width=1_000_000)
            # The generator must write what it means: the YAML reads back as the same data.
            assert yaml.load(text, Loader=_LOADER) == data, f"YAML writer changed {file}"
            texts[file] = text
            (evidence / file).parent.mkdir(parents=True, exist_ok=True)
            (evidence / file).write_text(text, encoding="utf-8")
        for file, data in self.other_files.items():
            (evidence / file).parent.mkdir(parents=True, exist_ok=True)
            (evidence / file).write_bytes(data)
        return texts


def plain_value(slot: Slot) -> str:
    return f"Plain text {slot.index}." if slot.spec.kind != "one_line" else f"Plain text {slot.index}"


@functools.lru_cache(maxsize=64)
def _composed(text: str) -> yaml.Node:
    return yaml.compose(text, Loader=_LOADER)


def yaml_line(text: str, path: tuple[Any, ...]) -> int:
    """Line (1-based) of a field's key, or of a list item, in YAML text: found by composing it, not by the loader."""
    node = _composed(text)
    line = node.start_mark.line
    for part in path:
        if isinstance(part, int):
            node = node.value[part]
            line = node.start_mark.line
        else:
            key, node = next((k, v) for k, v in node.value if k.value == part)
            line = key.start_mark.line
    return line + 1


# ---------------------------------------------------------------- which shapes go where


def numbered(slot: Slot, shape: Shape) -> str:
    return shape.text(slot.index * 100 + SHAPE_INDEX[shape.name])


def composite(slot: Slot, shapes: list[Shape], lead: Shape | None, tail: Shape | None, fill: Shape | None) -> str:
    """Several shapes in one value: a leading shape first, a trailing one last, padded to the limit when asked."""
    value = " ".join(numbered(slot, shape) for shape in [lead, *shapes, tail] if shape is not None)
    if fill is not None:
        limit = slot.spec.max_length or NO_LIMIT_LENGTH
        value = (value + " " + shape_value(fill, slot.index * 100 + SHAPE_INDEX[fill.name], limit))[:limit]
        value = value[:-1] + "x" if value[-1].isspace() else value  # the type would strip a trailing space
    return value


def schedule(slots: list[Slot], accepted: dict[int, list[Shape]], max_builds: int = 3) -> list[dict[int, str]]:
    """Values for as few builds as can hold them, so that over the builds every slot meets every shape it accepts."""
    for builds in range(1, max_builds + 1):
        try:
            return _schedule(slots, accepted, builds)
        except _DoesNotFit as error:
            last = error
    raise AssertionError(str(last))


class _DoesNotFit(Exception):
    pass


def _schedule(slots: list[Slot], accepted: dict[int, list[Shape]], builds: int) -> list[dict[int, str]]:
    """A leading shape (formula, line-start Markdown) opens each value, a different one per build and per slot; a
    trailing one ends it, except in the last build, where the long shape fills the value to its limit; the other
    accepted shapes are dealt over the builds."""
    plans: list[dict[int, str]] = [{} for _ in range(builds)]
    for slot in slots:
        shapes = accepted.get(slot.index, [])
        leads = [s for s in shapes if s.lead]
        tails = [s for s in shapes if s.tail]
        fill = next((s for s in shapes if s.family == "long"), None)
        limit = slot.spec.max_length or NO_LIMIT_LENGTH
        opening = [leads[(slot.index + b) % len(leads)] if leads else None for b in range(builds)]
        closing = [tails[(slot.index + b) % len(tails)] if tails and b < builds - 1 else None for b in range(builds)]
        # Leads and tails that open or close no value go into the body, where they are still tested as text.
        pending = [s for s in shapes if s.family != "long" and s not in opening + closing]
        for b in range(builds):
            share = pending[: -(-len(pending) // (builds - b))]
            chosen: list[Shape] = []
            for shape in share:
                if len(composite(slot, chosen + [shape], opening[b], closing[b], None)) <= limit:
                    chosen.append(shape)
            pending = [s for s in pending if s not in chosen]
            plans[b][slot.index] = composite(slot, chosen, opening[b], closing[b], fill if b == builds - 1 else None)
        if pending:
            raise _DoesNotFit(f"{slot.spec.name} at {slot.file}:{slot.field}: shapes {[s.name for s in pending]} do not"
                              f" fit in {builds} builds of {limit} characters")
    return plans


def shapes_in(value: str, slot: Slot) -> set[str]:
    """Which shapes a scheduled value holds (each shape's text is numbered for its slot)."""
    return {shape.name for shape in SHAPES if shape.family not in ("long", "too-long") and numbered(slot, shape) in value} | (
        {"long"} if len(value) == (slot.spec.max_length or NO_LIMIT_LENGTH) else set())


def decode_alert(number: int, slots: dict[int, Slot]) -> str:
    """Name the field and the shape behind an alert(n) or a handler found in the output."""
    slot = slots.get(number // 100)
    shape = SHAPES[number % 100].name if number % 100 < len(SHAPES) else "?"
    return f"{slot.spec.name} ({slot.file}:{slot.field}) via shape '{shape}'" if slot else f"unknown number {number}"
