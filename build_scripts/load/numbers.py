"""Numbers that keep the precision their source printed: a record's 21.0 is shown as '21.0', never as '21'."""

from __future__ import annotations

import re

# More decimals than any source prints: such a number is shown in the shortest form instead (number below).
MAX_DECIMALS = 10
# YAML 1.1 floats in their decimal form (the only float form the safe loader resolves besides .inf and .nan):
# digits with '_' separators, a point, the fraction, and an optional exponent.
_DECIMAL = re.compile(r"[-+]?[0-9_]*\.([0-9_]*)([eE][-+]?[0-9]+)?")


class PrintedFloat(float):
    """A float read from a record, with the number of decimals its text had (None when unknown)."""

    __slots__ = ("decimals",)

    def __new__(cls, value: float, decimals: int | None) -> "PrintedFloat":
        number = super().__new__(cls, value)
        number.decimals = decimals
        return number

    def __reduce__(self):  # noqa: ANN204 - copies and pickles keep the decimals
        return (PrintedFloat, (float(self), self.decimals))


def decimals_of(text: str) -> int | None:
    """How many decimals a YAML float was written with ('21.0' -> 1, '0.50' -> 2), or None for another form."""
    match = _DECIMAL.fullmatch(text.strip())
    if match is None or match.group(2):  # an exponent: the printed precision is not a count of decimals
        return None
    decimals = len(match.group(1).replace("_", ""))
    return decimals if decimals <= MAX_DECIMALS else None


def printed(value: float, text: str) -> float:
    """A float as read from its YAML text, carrying the decimals that text had."""
    decimals = decimals_of(text)
    return value if decimals is None else PrintedFloat(value, decimals)


def keep_printed(value: object, handler):  # noqa: ANN001, ANN201 - a pydantic wrap validator
    """Validate a float field, keeping the record's PrintedFloat (pydantic would return a plain float)."""
    result = handler(value)
    return value if isinstance(value, PrintedFloat) and result == value else result


def number(value: float | None) -> str:
    """A number as the source printed it: a record's value with the decimals it was written with (21.0 stays
    '21.0'), any other (computed, or of unknown precision) in its shortest form, with no trailing '.0'."""
    if value is None:
        return ""
    decimals = getattr(value, "decimals", None)
    if decimals is not None:
        return f"{value:.{decimals}f}" if abs(value) < 1e6 else f"{value:,.{decimals}f}"
    return f"{value:g}" if abs(value) < 1e6 else f"{value:,.0f}"
