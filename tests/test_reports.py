"""Reports echo contributed text (file names, keys, values): they stay one line per problem and forge nothing."""

import os
import re

import pytest

from build_scripts.cli import main
from build_scripts.derive.checks import validate_tree
from build_scripts.load.problems import EvidenceError, Problem, display_path, printable

from conftest import evidence_tree

# What no report line may hold raw: controls (C0, DEL, C1), line separators, bidirectional controls.
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
FORGED = "::error file=a.yaml,line=1,col=1::forged"  # no '/', so that a file name can hold it


def parse_workflow_command(line: str) -> tuple[str, dict[str, str], str]:
    """A workflow command read as GitHub's runner reads it: command, decoded properties, decoded message."""
    assert line.startswith("::"), line
    end = line.index("::", 2)
    command, _, properties = line[2:end].partition(" ")
    decoded = {}
    for pair in filter(None, properties.split(",")):
        key, _, value = pair.partition("=")
        for encoded, character in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
            value = value.replace(encoded, character)
        decoded[key] = value
    message = line[end + 2:]
    for encoded, character in (("%0D", "\r"), ("%0A", "\n"), ("%25", "%")):
        message = message.replace(encoded, character)
    return command, decoded, message


@pytest.mark.parametrize(("character", "shown"), [
    ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"), ("\x00", "\\x00"), ("\x1b", "\\x1b"), ("\x7f", "\\x7f"),
    ("\x85", "\\x85"), ("\x9b", "\\x9b"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\u202a", "\\u202a"),
    ("\u202e", "\\u202e"), ("\u2066", "\\u2066"), ("\u2069", "\\u2069"), ("\u200f", "\\u200f"),
    ("\udce9", "\\udce9"),  # a byte of a file name that is not UTF-8, as os.listdir gives it
])
def test_every_part_of_a_problem_shows_controls_and_bidi_characters_as_escapes(character, shown):
    problem = Problem(f"a{character}.yaml", 1, 2, f"f{character}", f"m{character}")
    assert str(problem) == f"a{shown}.yaml:1:2: f{shown}: m{shown}"
    assert UNPRINTABLE.search(problem.github_annotation()) is None


def test_printable_text_is_left_alone():
    text = "Ölçüm – 45% (9/30); ≥ 1 line; 日本語; emoji 🙂; quotes \"'`; backslash \\"
    assert printable(text) == text


def test_a_path_that_would_start_a_workflow_command_is_shown_as_a_relative_path():
    assert str(Problem("::error::x.yaml", 1, 1, "id", "m")).startswith("./::error::x.yaml:1:1:")
    assert str(Problem(" ##[error]x.yaml", 1, 1, "id", "m")).startswith("./ ##[error]x.yaml:1:1:")


def test_annotations_encode_their_values_so_github_reads_back_exactly_the_problem():
    problem = Problem("evidence/studies/a,line=9::error::b%0A.yaml", 3, 4, "cohorts[0].label",
                      "value 'x%0A::warning::y, z: w' is odd")
    command, properties, message = parse_workflow_command(problem.github_annotation())
    assert command == "error"
    assert properties == {"file": problem.path, "line": "3", "col": "4"}
    assert message == f"{problem.field}: {problem.message}"


def _hostile_tree(tmp_path):
    """An evidence tree with a file name and keys holding newlines, CR, escapes, bidi overrides and forged lines."""
    evidence = evidence_tree(tmp_path)
    name = f"x\n{FORGED}\r\n1 problem found in the evidence records.\x1b[2J\u202e.yaml"
    key = f'"k\\n{FORGED}\\r\\u202e\\x1b[31m"'
    (evidence / "studies" / name).write_text(f"{key}: 1\n{key}: 2\n", encoding="utf-8")
    (evidence / "agents" / "pomalidomide.yaml").write_text(
        f"id: pomalidomide\nname: Pomalidomide\nclass: imid\n{key}: 3\n", encoding="utf-8")
    return evidence


def _assert_one_line_per_problem(report: str, problems: list[Problem]) -> None:
    lines = report.split("\n")
    assert len(lines) == len(problems) + 1
    assert lines[-1] == f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found in the evidence records."
    assert not any(line.lstrip().startswith(("::", "##")) for line in lines)
    assert not any(UNPRINTABLE.search(line) for line in lines)


def test_a_hostile_file_name_and_keys_cannot_forge_report_lines(tmp_path):
    evidence = _hostile_tree(tmp_path)
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    problems = caught.value.problems
    assert any("\\n::error file=" in p.path for p in problems)  # the file name is echoed, escaped
    assert any("duplicate key 'k\\n::error" in p.message for p in problems)  # and so is the key
    _assert_one_line_per_problem(caught.value.report(), problems)


def test_the_command_line_report_and_annotations_of_hostile_input(tmp_path, monkeypatch, capsys):
    evidence = _hostile_tree(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["--evidence", str(evidence), "validate"]) == 1
    out, err = capsys.readouterr()
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    problems = caught.value.problems
    _assert_one_line_per_problem(err.rstrip("\n"), problems)
    annotations = out.rstrip("\n").split("\n")
    assert len(annotations) == len(problems)
    for line, problem in zip(annotations, problems):
        command, properties, message = parse_workflow_command(line)
        assert (command, properties) == ("error", {"file": problem.path, "line": str(problem.line),
                                                   "col": str(problem.column)})
        assert message == f"{problem.field}: {problem.message}"


def test_a_symbolic_link_is_shown_under_its_own_name_not_its_target(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "target.yaml").write_text("id: x\n")
    (tmp_path / "evidence").mkdir()
    os.symlink(tmp_path / "target.yaml", tmp_path / "evidence" / "link.yaml")
    assert display_path(tmp_path / "evidence" / "link.yaml") == "evidence/link.yaml"


def test_a_file_name_that_is_not_utf8_is_reported_printably(tmp_path, capsys):
    evidence = evidence_tree(tmp_path)
    os.close(os.open(os.fsencode(evidence / "agents") + b"/caf\xe9\x1b.yaml", os.O_CREAT | os.O_WRONLY, 0o644))
    assert main(["--evidence", str(evidence), "validate"]) == 1
    err = capsys.readouterr().err
    err.encode("utf-8")  # printable: no lone surrogate reached the output
    assert "agents/caf\\udce9\\x1b.yaml:1:1: (record): the file is empty" in err
