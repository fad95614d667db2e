"""Warnings: a publication nothing cites is reported, with its file and line, by validate and build; nothing fails."""

from pathlib import Path

import pytest

from build_scripts.cli import main
from build_scripts.derive.checks import validate_tree
from build_scripts.load.problems import WARNING, EvidenceError

from conftest import VALID, evidence_tree, fixture_layout

UNCITED = """# A publication no record names.
id: fixture-uncited
type: article
title: A fictional article nothing cites
year: 2021
"""


def _with_uncited(tmp_path: Path, case: str | None = None) -> Path:
    evidence = evidence_tree(tmp_path, case)
    (evidence / "publications" / "fixture-uncited.yaml").write_text(UNCITED)
    return evidence


def test_every_publication_of_the_valid_fixture_is_cited():
    assert validate_tree(VALID).warnings == []


def test_an_uncited_publication_is_a_warning_naming_file_and_line_not_an_error(tmp_path):
    evidence = validate_tree(_with_uncited(tmp_path))
    assert "fixture-uncited" in evidence.publications  # still valid: on the site like any other
    [warning] = evidence.warnings
    assert warning.severity == WARNING and warning.path.endswith("publications/fixture-uncited.yaml")
    assert (warning.line, warning.column, warning.field) == (2, 1, "id")
    assert "no study or review cites publication 'fixture-uncited'" in warning.message
    assert ": warning: id: no study or review cites" in str(warning)


def test_validate_prints_the_warning_and_annotates_it_in_actions_and_succeeds(tmp_path, monkeypatch, capsys):
    evidence = _with_uncited(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["--evidence", str(evidence), "validate"]) == 0
    out, err = capsys.readouterr()
    assert "publications/fixture-uncited.yaml:2:1: warning: id: no study or review cites" in err
    assert "1 warning about the evidence records" in err
    assert any(line.startswith("::warning file=") and "fixture-uncited.yaml,line=2,col=1::id: no study" in line
               for line in out.splitlines())
    assert "12 records are valid." in out


def test_a_failing_run_reports_its_warnings_too_but_counts_only_its_errors(tmp_path, capsys):
    evidence = _with_uncited(tmp_path, "rate-disagrees-with-counts")
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    assert len(caught.value.problems) == 1 and len(caught.value.warnings) == 1
    assert main(["--evidence", str(evidence), "validate"]) == 1
    err = capsys.readouterr().err
    assert "fixture-uncited.yaml:2:1: warning: id:" in err and err.rstrip().endswith("1 problem found in the evidence records.")


def test_build_prints_the_warning_and_still_builds_the_site(tmp_path, capsys):
    evidence = _with_uncited(tmp_path)
    layout = fixture_layout(tmp_path, evidence)
    assert main(["--evidence", str(evidence), "build", "--content", str(layout.content), "--work", str(layout.work),
                 "--site", str(layout.site)]) == 0
    err = capsys.readouterr().err
    assert "publications/fixture-uncited.yaml:2:1: warning: id: no study or review cites" in err
    assert (layout.site / "publications" / "fixture-uncited" / "index.html").is_file()
