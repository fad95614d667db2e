"""The reader's guide in content/: the clinical questions and the bottom line, read and checked with the records.

Both are curators' files outside the evidence tree, so they are checked here, after the records: their own problems
(syntax, unknown axes, typed numbers) are reported together with the records' problems, and the problems only the
evidence can show (a reference to no cohort, a measure a cohort does not give) once the records are valid.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from build_scripts.derive.bottom_line import BOTTOM_LINE_FILE, Statement, read_bottom_line, resolve
from build_scripts.derive.checks import use_topic, validate_tree
from build_scripts.derive.questions import NO_QUESTIONS, QUESTIONS_FILE, Questions, evidence_problems, read_questions
from build_scripts.derive.synthesis import answer
from build_scripts.load.cache import note
from build_scripts.load.evidence import Evidence
from build_scripts.load.problems import EvidenceError, Problem

# Files of content/ that the build reads as data; they are not pages and are not published as they stand.
GUIDE_FILES: tuple[str, ...] = (QUESTIONS_FILE, BOTTOM_LINE_FILE)


@dataclass(frozen=True)
class Guide:
    """The questions and the bottom line's statements, with a digest of both files (for incremental builds)."""

    questions: Questions
    bottom_line_path: str
    statements: tuple[Statement, ...]
    digest: str


NO_GUIDE = Guide(NO_QUESTIONS, "", (), "")


class TrackedGuide:
    """The guide, every use of it noted as a read of its files, so that an edit to them re-runs the jobs using it."""

    def __init__(self, guide: Guide):
        self._guide = guide

    def __getattr__(self, name: str):  # noqa: ANN204
        note(("guide", "item", "files"))
        return getattr(self._guide, name)


def read_guide(content_dir: Path) -> tuple[Guide, list[Problem]]:
    """The guide's files as read and checked on their own, and every problem with them."""
    questions, problems = read_questions(content_dir)
    shown, statements, more = read_bottom_line(content_dir)
    digest = hashlib.sha256()
    for name in GUIDE_FILES:
        path = content_dir / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    return Guide(questions, shown, statements, digest.hexdigest()), problems + more


def guide_problems(guide: Guide, evidence: Evidence) -> list[Problem]:
    """What only the records can show to be wrong in the guide."""
    problems = evidence_problems(guide.questions, evidence)
    by_id = guide.questions.by_id()
    answered: dict[str, object] = {}

    def answer_of(question_id: str):  # noqa: ANN202 - synthesis_types.Answer | None
        if question_id not in answered and question_id in by_id:
            answered[question_id] = answer(evidence, by_id[question_id])
        return answered.get(question_id)

    _, more = resolve(guide.statements, guide.bottom_line_path, evidence, answer_of, guide.questions)
    return problems + more


def validate_with_guide(evidence_dir: Path, content_dir: Path, cache=None, kept=None) -> tuple[Evidence, Guide]:  # noqa: ANN001
    """The records and the guide, checked together: raises EvidenceError listing every problem of both.

    `cache` and `kept` are validate_tree's: what record files give on their own, and their checks across records."""
    topic = use_topic(evidence_dir)
    guide, problems = read_guide(content_dir)
    try:
        evidence = validate_tree(evidence_dir, cache=cache, topic=topic, kept=kept)
    except EvidenceError as error:
        raise EvidenceError(error.problems + problems, error.warnings) from None
    if not problems:
        problems = guide_problems(guide, evidence)
    if problems:
        raise EvidenceError(problems, evidence.warnings)
    return evidence, guide
