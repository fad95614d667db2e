"""Located problems in evidence records, and the exception that carries all of a run's problems."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Characters a report must never print raw: C0 and C1 controls and DEL (a newline would start a forged line,
# an escape sequence would drive the terminal), line and paragraph separators, bidirectional marks, embeddings,
# overrides and isolates (which reorder what a reader sees), and lone surrogates (from file names that are
# not UTF-8, which cannot be printed at all).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_character(match: re.Match[str]) -> str:
    character = match.group()
    code = ord(character)
    return _NAMED_ESCAPES.get(character) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(text: str) -> str:
    """Text with each control, separator and bidirectional character written as a visible escape (\\n, \\u202e)."""
    return _UNPRINTABLE.sub(_escape_character, text)


WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a record, at a place a curator can find.

    Path, field and message echo contributed text (file names, keys, values), so they are made printable
    when the problem is made: every report of it is then one line, and cannot forge another.
    """

    path: str
    line: int
    column: int
    field: str
    message: str
    # An error stops validation and the build; a warning is reported and neither fails nor stops anything.
    severity: str = "error"

    def __post_init__(self) -> None:
        path = printable(self.path)
        if path.lstrip().startswith((":", "#")):  # a report line starting '::' or '##[' is a CI workflow command
            path = "./" + path
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "field", printable(self.field))
        object.__setattr__(self, "message", printable(self.message))

    def __str__(self) -> str:
        shown = "warning: " if self.severity == WARNING else ""
        return f"{self.path}:{self.line}:{self.column}: {shown}{self.field}: {self.message}"

    def github_annotation(self) -> str:
        """The same problem as a GitHub Actions workflow command, its values encoded as GitHub decodes them."""
        command = "warning" if self.severity == WARNING else "error"
        return (f"::{command} file={_command_property(self.path)},line={self.line},col={self.column}"
                f"::{_command_data(f'{self.field}: {self.message}')}")


def _command_data(text: str) -> str:
    """A workflow command's message: '%', CR and LF percent-encoded, so it cannot end the command line."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _command_property(text: str) -> str:
    """A workflow command's property value: as its message, and ':' and ',' too, so it cannot end the property."""
    return _command_data(text).replace(":", "%3A").replace(",", "%2C")


def warnings_report(warnings: list[Problem]) -> str:
    """Every warning, one a line, and how many; '' when there is none."""
    if not warnings:
        return ""
    count = len(warnings)
    lines = [str(problem) for problem in sorted(set(warnings))]
    lines.append(f"{count} warning{'s' if count != 1 else ''} about the evidence records (they do not stop the build).")
    return "\n".join(lines)


class EvidenceError(Exception):
    """Raised when records are invalid; carries every problem found in the run."""

    def __init__(self, problems: list[Problem], warnings: list[Problem] = ()):
        self.problems = sorted(set(problems))
        self.warnings = sorted(set(warnings))  # found in the same run; reported beside the problems
        super().__init__(self.report())

    def report(self) -> str:
        count = len(self.problems)
        lines = [str(problem) for problem in self.problems]
        lines.append(f"{count} problem{'s' if count != 1 else ''} found in the evidence records.")
        return "\n".join(lines)


def display_path(path: Path) -> str:
    """A path as a curator would type it: relative to the working directory when it lies below it.

    Only the folder is resolved: a symbolic link is shown under its own name, never as the file it points to.
    """
    try:
        return (path.absolute().parent.resolve() / path.name).relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()
