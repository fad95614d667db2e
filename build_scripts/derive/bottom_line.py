"""The bottom line of content/bottom-line.md: the curators' statements, each figure a reference the build resolves.

A statement is a list item in plain words. Every figure in it is a reference, never a typed number:

    [[orr smith-2021/all-patients]]              a cohort's figure of a measure (study id / cohort id)
    [[orr question:refractory-with-partner]]     a clinical question's answer (questions.yaml)

The build renders each with its value, its k and n and a link to where it comes from, by the synthesis's own rules
(entries.rate_entry and median_entry choose the same figure the analyses use); a reference that does not resolve,
or whose measure the cohort or question does not give, stops the build naming file, line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from build_scripts.derive.entries import median_entry, rate_entry
from build_scripts.derive.synthesis_types import POOLED_MEASURES, RANGE_MEASURES, Answer, Entry, Exclusion
from build_scripts.load.problems import Problem, display_path
from build_scripts.load.reader import read_regular_file
from build_scripts.load.vocabulary import MEASURES, SYNTHESIS_EXCLUSIONS, TopicList

if TYPE_CHECKING:
    from build_scripts.load.evidence import Evidence
    from build_scripts.derive.questions import Questions

BOTTOM_LINE_FILE = "bottom-line.md"  # in content/; read by the build, never published as it stands
MAX_BOTTOM_LINE_BYTES = 50_000
MIN_STATEMENTS, MAX_STATEMENTS = 3, 6
QUESTION_PREFIX = "question:"
REFERENCE = re.compile(r"\[\[\s*([^\]\n]*?)\s*\]\]")
# A number standing on its own (not part of a name such as a target or a drug's code): a figure typed instead of
# referenced.
TYPED_NUMBER = re.compile(r"(?<![A-Za-z0-9_-])\d+(?:[.,]\d+)?")
MEASURES_REFERABLE = TopicList(lambda: POOLED_MEASURES + RANGE_MEASURES)


@dataclass(frozen=True)
class Reference:
    """A figure a statement refers to: a measure of a cohort ('study/cohort') or of a question, where it is written."""

    measure: str
    target: str
    line: int
    column: int

    @property
    def question(self) -> str | None:
        return self.target[len(QUESTION_PREFIX):] if self.target.startswith(QUESTION_PREFIX) else None


@dataclass(frozen=True)
class Statement:
    """One statement: its parts in order, each plain text or a Reference."""

    parts: tuple[str | Reference, ...]
    line: int


def _statement_parts(text: str, starts: list[tuple[int, int, int]], shown: str,
                     problems: list[Problem]) -> tuple[str | Reference, ...]:
    """Split a statement's text (its lines joined by spaces) into text and references; `starts` maps each joined
    line's offset in `text` to its line and column in the file."""

    def where(offset: int) -> tuple[int, int]:
        line, column, base = next((l, c, b) for b, l, c in reversed(starts) if b <= offset)  # noqa: E741
        return line, column + offset - base

    parts: list[str | Reference] = []
    texts: list[tuple[int, str]] = []  # each plain-text piece with its offset in `text`
    position = 0
    for match in list(REFERENCE.finditer(text)) + [None]:
        end = match.start() if match is not None else len(text)
        texts.append((position, text[position:end]))
        parts.append(text[position:end])
        if match is None:
            break
        line, column = where(match.start())
        words = match.group(1).split()
        if len(words) != 2:
            problems.append(Problem(shown, line, column, "reference", f"{match.group(0)!r} is not a reference: write"
                                    " [[measure study-id/cohort-id]] or [[measure question:question-id]]"))
        else:
            parts.append(Reference(words[0], words[1], line, column))
        position = match.end()
    for offset, piece in texts:
        for typed in TYPED_NUMBER.finditer(piece):
            line, column = where(offset + typed.start())
            problems.append(Problem(shown, line, column, "statement", f"the number {typed.group()!r} is typed: every"
                                    " figure is a reference ([[measure study-id/cohort-id]]) that the build renders"
                                    " from the records; spell out other numbers in words"))
    return tuple(p for p in parts if p != "")


def parse_bottom_line(text: str, shown: str) -> tuple[tuple[Statement, ...], list[Problem]]:
    """The statements of a bottom-line file: list items ('- ' at the start of a line, continued by indented lines);
    lines starting with '#' and blank lines are comments and gaps."""
    problems: list[Problem] = []
    items: list[tuple[int, list[tuple[int, int, str]]]] = []  # (line, [(line, column, text)])
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if raw.startswith("- "):
            items.append((number, [(number, 3, raw[2:].strip())]))
        elif raw[:1] in (" ", "\t") and items:
            indent = len(raw) - len(raw.lstrip())
            items[-1][1].append((number, indent + 1, stripped))
        else:
            problems.append(Problem(shown, number, 1, "statement", "a statement starts with '- ' at the start of a"
                                    " line and goes on over indented lines; '#' starts a comment"))
    statements = []
    for line, pieces in items:
        text_parts, starts, offset = [], [], 0
        for piece_line, column, piece in pieces:
            starts.append((offset, piece_line, column))
            text_parts.append(piece)
            offset += len(piece) + 1
        statements.append(Statement(_statement_parts(" ".join(text_parts), starts, shown, problems), line))
    if not problems and not MIN_STATEMENTS <= len(statements) <= MAX_STATEMENTS:
        problems.append(Problem(shown, 1, 1, "statements", f"the bottom line has {len(statements)} statements; give"
                                f" {MIN_STATEMENTS} to {MAX_STATEMENTS}"))
    return tuple(statements), problems


def read_bottom_line(content_dir: Path) -> tuple[str, tuple[Statement, ...], list[Problem]]:
    """The statements of content/bottom-line.md (none when it is absent), its shown path, and every problem."""
    path = content_dir / BOTTOM_LINE_FILE
    shown = display_path(path)
    if not path.exists() and not path.is_symlink():
        return shown, (), []
    raw, problem = read_regular_file(path, MAX_BOTTOM_LINE_BYTES, "the bottom line")
    if raw is None:
        return shown, (), [problem]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return shown, (), [Problem(shown, 1, 1, "(file)", f"the file is not UTF-8: {error.reason}")]
    statements, problems = parse_bottom_line(text, shown)
    return shown, statements, problems


# ---------------------------------------------------------------- resolving references

@dataclass(frozen=True)
class CohortFigure:
    """A reference to a cohort resolved: the figure the synthesis's rules choose for it."""

    reference: Reference
    study_id: str
    cohort_id: str
    entry: Entry

    @property
    def measure(self):  # noqa: ANN201 - vocabulary.Measure
        return MEASURES[self.reference.measure]


@dataclass(frozen=True)
class QuestionFigure:
    """A reference to a question resolved: its answer, whose analysis or range of the measure gives the figure."""

    reference: Reference
    answer: Answer

    @property
    def measure(self):  # noqa: ANN201 - vocabulary.Measure
        return MEASURES[self.reference.measure]

    @property
    def analysis(self):  # noqa: ANN201 - synthesis_types.Analysis or MedianRange
        if self.reference.measure in POOLED_MEASURES:
            return self.answer.analysis(self.reference.measure)
        return self.answer.median_range(self.reference.measure)


Resolved = CohortFigure | QuestionFigure


def resolve(statements: tuple[Statement, ...], shown: str, evidence: Evidence,
            answers: Callable[[str], Answer | None], questions: Questions) -> tuple[
        tuple[tuple[str | Resolved, ...], ...], list[Problem]]:
    """Every statement with its references resolved, and a problem for each that cannot be."""
    problems: list[Problem] = []
    known_questions = questions.by_id()
    out = []

    def problem(reference: Reference, message: str) -> None:
        problems.append(Problem(shown, reference.line, reference.column, "reference", message))

    for statement in statements:
        parts: list[str | Resolved] = []
        for part in statement.parts:
            if isinstance(part, str):
                parts.append(part)
                continue
            if part.measure not in MEASURES_REFERABLE:
                problem(part, f"{part.measure!r} is not a measure a reference can give; use one of"
                              f" {', '.join(MEASURES_REFERABLE)}")
                continue
            short = MEASURES[part.measure].short
            if part.question is not None:
                answer = answers(part.question) if part.question in known_questions else None
                if answer is None:
                    problem(part, f"no question {part.question!r} in the questions file")
                    continue
                figure = QuestionFigure(part, answer)
                if not figure.analysis.used:
                    problem(part, f"no cohort of question {part.question!r} gives {short}")
                    continue
                parts.append(figure)
                continue
            study_id, _, cohort_id = part.target.partition("/")
            study = evidence.studies.get(study_id)
            cohort = next((c for c in study.cohorts if c.id == cohort_id), None) if study is not None else None
            if cohort is None:
                moved = next((s.id for s in evidence.studies.values() if study_id in s.moved_from), None)
                if study is None and moved is not None:  # a renamed study: say its new id, never follow silently
                    problem(part, f"{part.target!r} names no cohort: study {study_id!r} is now {moved!r}; write"
                                  f" {moved}/{cohort_id or 'cohort-id'}")
                else:
                    problem(part, f"{part.target!r} names no cohort: write study-id/cohort-id as the study record"
                                  " spells them" if study is None or cohort_id else
                                  f"{part.target!r} names a study, not a cohort: add '/' and the cohort's id")
                continue
            found = (rate_entry if part.measure in POOLED_MEASURES else median_entry)(study, cohort, part.measure)
            if isinstance(found, Exclusion):
                problem(part, f"cohort {part.target!r} gives no usable {short}: {found.detail}"
                              f" ({SYNTHESIS_EXCLUSIONS[found.reason]})")
                continue
            parts.append(CohortFigure(part, study_id, cohort_id, found))
        out.append(tuple(parts))
    return tuple(out), problems
