"""The field reference: every field of every record kind and of every part they hold, in curator terms."""

from __future__ import annotations

import datetime as dt
import re
import types
from dataclasses import dataclass
from typing import Annotated, Any, Iterable, Literal, Union, get_args, get_origin

import annotated_types
import yaml
from markdown.extensions.toc import slugify
from pydantic import BaseModel, StringConstraints
from pydantic.fields import FieldInfo

from build_scripts.load.choices import Choice
from build_scripts.load.fields import (
    DOI_PATTERN, PMCID_PATTERN, PMID_PATTERN, REGISTRY_PATTERN, SLUG_PATTERN, TextField,
)
from build_scripts.load.model import RECORD_MODELS
from build_scripts.load.topic_model import active
from build_scripts.load.vocabulary import RECORD_KINDS, RecordKind, worded

# What a curator calls each kind of value: (one, several).
TEXT_TERMS = {"one_line": ("one line of text", "one-line texts"), "markdown": ("Markdown text", "Markdown texts")}
PATTERN_TERMS = {
    SLUG_PATTERN: ("id", "ids"),
    DOI_PATTERN: ("DOI", "DOIs"),
    PMID_PATTERN: ("PubMed id", "PubMed ids"),
    PMCID_PATTERN: ("PubMed Central id", "PubMed Central ids"),
    REGISTRY_PATTERN: ("trial registry id", "trial registry ids"),
}
CHOICE_TERMS = ("one of the allowed values", "values, each one of the allowed values")


@dataclass(frozen=True)
class Option:
    """An allowed value and, where the vocabulary has one, its label."""

    value: str
    label: str | None


@dataclass(frozen=True)
class PartLink:
    """The section of the reference that describes a part."""

    title: str
    anchor: str


@dataclass(frozen=True)
class TypeView:
    """A field's type in curator terms: words, the part it holds (if any) and its allowed values."""

    text: str
    plural: str
    part: PartLink | None = None
    options: tuple[Option, ...] = ()
    limits: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldView:
    """One field as the reference shows it; examples and default are written as YAML."""

    name: str
    anchor: str
    type: TypeView
    required: bool
    default: str | None
    description: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Use:
    """A field that holds a part: where the part can appear."""

    section: str
    field: str
    anchor: str


@dataclass(frozen=True)
class SectionView:
    """A record kind or a part, with its fields."""

    anchor: str
    title: str
    summary: str
    kind: RecordKind | None
    fields: tuple[FieldView, ...]
    used_in: tuple[Use, ...] = ()


def yaml_text(value: Any) -> str:
    """A value as a curator writes it in a record, on one line."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6, sort_keys=False)
    return text.removesuffix("\n").removesuffix("\n...")


def unwrap(annotation: Any, metadata: Iterable[Any] = ()) -> tuple[Any, list[Any]]:
    """The type under any Annotated layers, with every constraint and marker they carry."""
    found = list(metadata)
    while get_origin(annotation) is Annotated:
        annotation, *extra = get_args(annotation)
        found.extend(extra)
    flat: list[Any] = []
    for item in found:
        # Field(ge=1) inside Annotated arrives as a FieldInfo holding the constraints.
        flat.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    return annotation, flat


def model_parts(annotation: Any) -> list[type[BaseModel]]:
    """The model classes a field's type holds (Population | None, list[Outcome], ...)."""
    base, _ = unwrap(annotation)
    if isinstance(base, type) and issubclass(base, BaseModel):
        return [base]
    return [part for argument in get_args(base) for part in model_parts(argument)]


def reachable_parts(models: Iterable[type[BaseModel]]) -> list[type[BaseModel]]:
    """Every model reachable through the fields of the given ones, depth first in field order, the given excluded."""
    roots = list(models)
    seen: list[type[BaseModel]] = []

    def visit(model: type[BaseModel]) -> None:
        for info in model.model_fields.values():
            for part in model_parts(info.annotation):
                if part not in seen and part not in roots:
                    seen.append(part)
                    visit(part)

    for root in roots:
        visit(root)
    return seen


def _words(model: type[BaseModel]) -> list[str]:
    """'PriorExposure' -> ['Prior', 'Exposure']; a run of capitals (an acronym) stays one word: 'CIBound' -> ['CI',
    'Bound']."""
    return re.findall(r"[A-Z]+[0-9]*(?![a-z])|[A-Z][a-z0-9]*", model.__name__)


def part_title(model: type[BaseModel]) -> str:
    """'PriorLines' -> 'Prior lines'; acronyms keep their capitals ('CIBound' -> 'CI bound')."""
    words = _words(model)
    return " ".join([words[0]] + [w if w.isupper() else w.lower() for w in words[1:]])


def heading_anchor(title: str) -> str:
    """The id MkDocs gives a Markdown heading with this title (Python-Markdown's toc slugify)."""
    return slugify(title, "-")


def part_anchor(model: type[BaseModel]) -> str:
    """'PriorLines' -> 'prior-lines', 'PriorExposure' -> 'prior-exposure': the id of the part's heading."""
    return heading_anchor(part_title(model))


def record_anchor(kind: RecordKind) -> str:
    """'Systematic review' -> 'systematic-review': the id of the record kind's heading."""
    return heading_anchor(kind.label)


def _number(value: float) -> str:
    return f"{value:g}"


def _bounds(constraints: list[Any]) -> str:
    """' ≥ 0', ' from 1 to 50', ' > 0 and < 100' from annotated_types constraints."""
    signs = {annotated_types.Ge: ("≥", "ge"), annotated_types.Gt: (">", "gt"),
             annotated_types.Le: ("≤", "le"), annotated_types.Lt: ("<", "lt")}
    found = {signs[type(c)][0]: getattr(c, signs[type(c)][1]) for c in constraints if type(c) in signs}
    if set(found) == {"≥", "≤"}:
        return f" from {_number(found['≥'])} to {_number(found['≤'])}"
    return "".join(f" {'and ' if i else ''}{sign} {_number(value)}" for i, (sign, value) in enumerate(found.items()))


def _length_limits(constraints: list[Any], one: str, many: str, least: int) -> tuple[str, ...]:
    """'at least 1 entry', 'at most 500 characters' from length constraints; minimums below `least` go unsaid."""
    lengths = [c for c in constraints if isinstance(c, (annotated_types.MinLen, annotated_types.MaxLen, StringConstraints))]
    low = max((getattr(c, "min_length", None) or 0 for c in lengths), default=0)
    high = min((c.max_length for c in lengths if getattr(c, "max_length", None)), default=None)
    limits = []
    if low >= least:
        limits.append(f"at least {low:,} {one if low == 1 else many}")
    if high is not None:
        limits.append(f"at most {high:,} {one if high == 1 else many}")
    return tuple(limits)


def _join_or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def type_view(annotation: Any, metadata: Iterable[Any] = ()) -> TypeView:
    """A field's type in the words the reference uses for curators; raises TypeError for a type it has no words for."""
    base, constraints = unwrap(annotation, metadata)
    origin = get_origin(base)
    if origin in (Union, types.UnionType):
        members = [argument for argument in get_args(base) if argument is not type(None)]
        if len(members) == 1:
            return type_view(members[0], constraints)
        views = [type_view(member) for member in members]
        parts = [view.part for view in views if view.part is not None]
        return TypeView(_join_or([view.text for view in views]), _join_or([view.plural for view in views]),
                        parts[0] if parts else None, tuple(o for view in views for o in view.options))
    if origin is Literal:
        return TypeView(*CHOICE_TERMS, options=tuple(Option(str(value), None) for value in get_args(base)))
    if origin is list:
        (item,) = get_args(base)
        inner = type_view(item)
        # A part's name is its link, so "list of" stands alone in the words.
        return TypeView(f"list of {inner.plural}".strip(), f"lists of {inner.plural}".strip(), inner.part, inner.options,
                        _length_limits(constraints, "entry", "entries", least=1))
    if isinstance(base, type) and issubclass(base, BaseModel):
        link = PartLink(part_title(base), part_anchor(base))
        return TypeView("", "", link)
    if base is bool:
        return TypeView("yes/no (true or false)", "yes/no values")
    if base is int:
        return TypeView(f"whole number{_bounds(constraints)}", f"whole numbers{_bounds(constraints)}")
    if base is float:
        return TypeView(f"number{_bounds(constraints)}", f"numbers{_bounds(constraints)}")
    if base is dt.date:
        return TypeView("date (YYYY-MM-DD)", "dates (YYYY-MM-DD)")
    if base is str:
        choice = next((c for c in constraints if isinstance(c, Choice)), None)
        if choice is not None:
            return TypeView(*CHOICE_TERMS, options=tuple(Option(value, label) for value, label in choice.options))
        text = next((c for c in constraints if isinstance(c, TextField)), None)
        if text is not None:
            # Every text has at least one character: saying so would only be noise.
            return TypeView(*TEXT_TERMS[text.kind], limits=_length_limits(constraints, "character", "characters", least=2))
        pattern = next((c.pattern for c in constraints if isinstance(c, StringConstraints) and c.pattern), None)
        if pattern in PATTERN_TERMS:
            return TypeView(*PATTERN_TERMS[pattern])
    raise TypeError(f"the field reference has no curator term for {annotation!r}; add one in fieldref.type_view")


def field_view(section_anchor: str, name: str, info: FieldInfo, model_name: str = "") -> FieldView:
    """One field of a model: its type, whether it is required, its default, description (in the topic's words) and
    examples (the topic's, where it gives some for the field)."""
    key = info.alias or name
    examples = active().field_examples.get(f"{model_name}.{name}", info.examples or ())
    default = None
    if not info.is_required():
        value = info.get_default(call_default_factory=True)
        default = None if value is None or value == [] else yaml_text(value)
    return FieldView(
        name=key,
        anchor=f"{section_anchor}-{key}",
        type=type_view(info.annotation, info.metadata),
        required=info.is_required(),
        default=default,
        description=worded(info.description or ""),
        examples=tuple(yaml_text(example) for example in examples),
    )


def section_view(model: type[BaseModel], anchor: str, title: str, kind: RecordKind | None = None,
                 used_in: tuple[Use, ...] = ()) -> SectionView:
    # A part's docstring names the topic by its words, as descriptions do.
    summary = worded((model.__doc__ or "").strip().split("\n")[0])
    fields = tuple(field_view(anchor, name, info, model.__name__) for name, info in model.model_fields.items())
    return SectionView(anchor, title, summary, kind, fields, used_in)


def field_reference(models: dict[str, type[BaseModel]] = RECORD_MODELS,
                    kinds: dict[str, RecordKind] = RECORD_KINDS) -> dict[str, Any]:
    """The reference page's context: a section per record kind, then one per part, each with an anchor of its own."""
    records = [section_view(model, record_anchor(kinds[kind]), kinds[kind].label, kinds[kind])
               for kind, model in models.items()]
    parts = reachable_parts(models.values())
    titles = {model: section.title for model, section in zip(models.values(), records)}
    titles.update({part: part_title(part) for part in parts})
    anchors = {model: section.anchor for model, section in zip(models.values(), records)}
    anchors.update({part: part_anchor(part) for part in parts})
    uses: dict[type[BaseModel], list[Use]] = {part: [] for part in parts}
    for model in [*models.values(), *parts]:
        for name, info in model.model_fields.items():
            for part in model_parts(info.annotation):
                if part in uses:
                    key = info.alias or name
                    uses[part].append(Use(titles[model], key, f"{anchors[model]}-{key}"))
    sections = [*records, *(section_view(part, anchors[part], titles[part], used_in=tuple(uses[part])) for part in parts)]
    # Headings and field rows share one page: an id used twice would make a link land on the wrong one.
    ids = [s.anchor for s in sections] + [f.anchor for s in sections for f in s.fields]
    clashes = sorted({a for a in ids if ids.count(a) > 1})
    if clashes:
        raise ValueError(f"the field reference would use the ids {clashes} twice; rename a model or field")
    return {"records": sections[:len(records)], "parts": sections[len(records):]}
