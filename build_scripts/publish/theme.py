"""The theme folder MkDocs renders with: the atlas's own theme files, and Material's partials with only the lines
templates/theme-patches.yaml changes, each patch checked to match the installed theme exactly."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import material
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from build_scripts.load.problems import Problem, display_path
from build_scripts.load.reader import FieldPath, Location, parse_yaml

PATCHES_FILE = "theme-patches.yaml"
OWN_THEME_FOLDER = "overrides"
MATERIAL_TEMPLATES = Path(material.__file__).resolve().parent / "templates"


class ThemePatchError(Exception):
    """The theme patches cannot be read, or one does not match the installed theme; the message says which."""


class Replacement(BaseModel):
    """One text of a Material partial and what the atlas puts in its place."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    old: str = Field(min_length=1)
    new: str
    count: int = Field(default=1, ge=1, description="How many times `old` occurs in the partial (each is replaced).")


class PartialPatch(BaseModel):
    """A Material partial the atlas changes: why, and the replacements."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    why: str = Field(min_length=1)
    replace: tuple[Replacement, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Patch:
    partial: str  # its path under Material's templates folder, e.g. partials/header.html
    patch: PartialPatch
    locations: dict[FieldPath, Location] = field(default_factory=dict, compare=False)  # of the patches file


def read_patches(path: Path) -> list[Patch]:
    """The patches of a theme-patches.yaml file, read as safely as records are (no duplicate keys, tags or aliases)
    and checked; each problem names the file, the line and column, the partial and the field."""
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ThemePatchError(f"{shown}: cannot be read: {error}") from error
    data, locations, problems = parse_yaml(text, shown)

    def problem(field_path: FieldPath, field_name: str, message: str) -> Problem:
        place = tuple(field_path)
        while place and place not in locations:
            place = place[:-1]
        return Problem(shown, *locations.get(place, (1, 1)), field_name, message)

    if not problems and not isinstance(data, dict):
        problems.append(problem((), "(file)", "must map each partial's path to its patch"))
    patches = []
    for partial, body in (data.items() if not problems else ()):
        if not isinstance(partial, str) or not partial.startswith("partials/") or ".." in partial.split("/"):
            problems.append(problem((partial,), repr(partial), "not a path under Material's partials/"))
            continue
        try:
            patches.append(Patch(partial, PartialPatch.model_validate(body), locations))
        except ValidationError as error:
            for item in error.errors():
                where = ".".join(str(part) for part in item["loc"])
                problems.append(problem((partial, *item["loc"]), partial, f"{where}: {item['msg']}"))
    if problems:
        raise ThemePatchError("\n".join(map(str, problems)))
    return patches


def patched(text: str, patch: Patch, theme_version: str) -> str:
    """A partial's text with each replacement made; every `old` must occur exactly `count` times."""
    for number, replacement in enumerate(patch.patch.replace):
        found = text.count(replacement.old)
        if found != replacement.count:
            first_line = replacement.old.strip().splitlines()[0]
            line, column = patch.locations.get((patch.partial, "replace", number), (1, 1))
            raise ThemePatchError(
                f"{PATCHES_FILE}:{line}:{column}: {patch.partial}: replace[{number}]: the text {first_line!r} occurs"
                f" {found} times in Material {theme_version}'s {patch.partial}, not {replacement.count}: update the"
                " patch to the theme's new text")
        text = text.replace(replacement.old, replacement.new)
    return text


def theme_files(templates: Path, material_templates: Path = MATERIAL_TEMPLATES) -> dict[str, bytes]:
    """Every file of the theme folder by its relative path: the atlas's own theme files, then the patched partials."""
    version = metadata.version("mkdocs-material")
    own = templates / OWN_THEME_FOLDER
    files = {path.relative_to(own).as_posix(): path.read_bytes() for path in sorted(own.rglob("*")) if path.is_file()}
    for patch in read_patches(templates / PATCHES_FILE):
        if patch.partial in files:
            raise ThemePatchError(f"{PATCHES_FILE}: {patch.partial}: the atlas has its own copy in"
                                  f" {OWN_THEME_FOLDER}/; keep only the patch")
        source = material_templates / patch.partial
        if not source.is_file():
            raise ThemePatchError(f"{PATCHES_FILE}: {patch.partial}: Material {version} has no such partial")
        files[patch.partial] = patched(source.read_text(encoding="utf-8"), patch, version).encode("utf-8")
    return files


def write_theme(files: dict[str, bytes], folder: Path) -> None:
    """Make `folder` hold exactly these files, rewriting only those whose bytes changed."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(folder.rglob("*"), reverse=True):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and relative not in files:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    for relative, data in files.items():
        target = folder / relative
        if not target.is_file() or target.read_bytes() != data:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
