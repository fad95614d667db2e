"""CSV cells any spreadsheet opens safely: formulas neutralised (OWASP 'CSV injection'), quoting, numbers and lists."""

from __future__ import annotations

import functools
import math
import re
import sys
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable

from build_scripts.derive.kept import Kept


LIST_SEPARATOR = ";"


@dataclass(frozen=True)
class Column:
    """One column of a CSV download."""

    name: str
    type: str  # Frictionless field type: string, number, integer, boolean
    description: str
    required: bool = False
    enum: tuple[str, ...] | None = None
    pattern: str | None = None  # a regular expression every value matches (Frictionless' pattern constraint)


def csv_number(value: float | int | None) -> str:
    """A number as its record wrote it (21.0 stays '21.0', as on the pages: numbers.PrintedFloat); any other number
    in the shortest text that reads back as the same number, whole numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    decimals = getattr(value, "decimals", None)
    if decimals is not None:
        return f"{value:.{decimals}f}"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


# A spreadsheet evaluates a cell that begins with one of these (OWASP's list, plus NUL from OWASP ASVS 1.2.10),
# with the names the data dictionary gives them.
FORMULA_CHARACTER_NAMES = {"=": "=", "+": "+", "-": "-", "@": "@", "\t": "tab", "\r": "carriage return", "\0": "NUL"}


FORMULA_CHARACTERS = tuple(FORMULA_CHARACTER_NAMES)


FORMULA_GUARD = "'"


# A spreadsheet that guesses another separator (';' in many locales, tab, a line break) starts a cell after it.
IN_CELL_SEPARATORS = ",;\t\r\n"


def _character_class(code_points: Iterable[int]) -> str:
    points = sorted(set(code_points))
    ranges: list[list[int]] = []
    for point in points:
        if ranges and point == ranges[-1][1] + 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


@functools.cache
def _formula_start() -> re.Pattern[str]:
    """Where a guard goes: the start of the cell, or just after an in-cell separator, when what follows opens a formula.

    Conservative on purpose: whitespace and invisible format characters before the formula character are skipped,
    and compatibility forms that NFKC folds into a formula character (full-width ＝, small ﹢, ...) count as one.
    """
    # Reading all of Unicode takes a second or two, so the pattern is kept between builds like a computed figure.
    return re.compile(PATTERNS.get(("formula start", unicodedata.unidata_version), _formula_start_pattern))


PATTERNS = Kept("patterns")


def _formula_start_pattern() -> str:
    formula, invisible = [], []
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        if unicodedata.normalize("NFKC", ch)[:1] in FORMULA_CHARACTERS:
            formula.append(cp)
        elif unicodedata.category(ch) == "Cf" or (ch.isspace() and ch not in IN_CELL_SEPARATORS):
            invisible.append(cp)
    return (f"(?:^|(?<=[{re.escape(IN_CELL_SEPARATORS)}]))"
            f"(?=[{_character_class(invisible)}]*[{_character_class(formula)}])")


def neutralise(text: str) -> str:
    """Text a spreadsheet shows as text: a guard quote before every place a formula could start (OWASP rule)."""
    return _formula_start().sub(FORMULA_GUARD, text)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def csv_cell(column: Column, value: Any) -> str:
    """One cell as CSV text, safe by construction: numbers only from numbers, all other text neutralised and quoted."""
    if value is None:
        return ""
    if column.type == "boolean":
        if not isinstance(value, bool):
            raise TypeError(f"column {column.name} is boolean; got {value!r}")
        return csv_number(value)
    if column.type in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise TypeError(f"column {column.name} is a {column.type}; got {value!r}")
        if column.type == "integer" and not float(value).is_integer():
            raise TypeError(f"column {column.name} is an integer; got {value!r}")
        # Written from a real number, so a leading '-' is a sign, never a formula.
        return csv_number(value)
    # The list separator ';' is one of the in-cell separators, so every list item is guarded too.
    text = LIST_SEPARATOR.join(str(item) for item in value) if isinstance(value, (list, tuple)) else str(value)
    return _quoted(neutralise(text)) if text else ""


def to_csv(columns: tuple[Column, ...], rows: Iterable[dict[str, Any]]) -> str:
    """The one CSV writer of the site: a header row, then one line per row, every cell through csv_cell."""
    return csv_text(columns, (csv_line(columns, row) for row in rows))


def csv_line(columns: tuple[Column, ...], row: dict[str, Any]) -> str:
    """One row's line, every cell through csv_cell."""
    return ",".join(csv_cell(column, row.get(column.name)) for column in columns)


def csv_text(columns: tuple[Column, ...], lines: Iterable[str]) -> str:
    """A CSV file: the header row, then the lines csv_line made."""
    header = ",".join(_quoted(neutralise(column.name)) for column in columns)
    return "\n".join([header, *lines]) + "\n"
