"""Validation: the valid fixture passes; each broken fixture fails with exactly the located messages it expects."""

from pathlib import Path

import pytest

from build_scripts.derive.checks import validate_tree
from build_scripts.load.problems import EvidenceError

from conftest import BROKEN, VALID, broken_cases, evidence_tree


def test_valid_fixture_tree_validates():
    evidence = validate_tree(VALID)
    assert evidence.record_count() == 11
    assert set(evidence.studies) == {"fixture-dpd-retreatment", "fixture-randomised", "fixture-unspecified-design"}


def _relative_report(error: EvidenceError, evidence: Path) -> list[str]:
    lines = []
    for problem in error.problems:
        path = Path(problem.path)
        shown = path.resolve().relative_to(evidence.resolve()).as_posix() if path.is_absolute() else problem.path
        lines.append(f"{shown}:{problem.line}:{problem.column}: {problem.field}: {problem.message}")
    return lines


@pytest.mark.parametrize("case", broken_cases())
def test_broken_fixture_reports_every_expected_problem(tmp_path, case):
    evidence = evidence_tree(tmp_path, case)
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    report = _relative_report(caught.value, evidence)
    expected = [line for line in (BROKEN / case / "expected.txt").read_text().splitlines() if line.strip()]
    for prefix in expected:
        assert any(line.startswith(prefix) for line in report), f"missing {prefix!r} in:\n" + "\n".join(report)
    assert len(report) == len(expected), "unexpected extra problems:\n" + "\n".join(report)
