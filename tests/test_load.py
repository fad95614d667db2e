"""The loader: line numbers of fields, YAML that evidence records must not use, and which files it reads."""

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from build_scripts.derive import ledger as urls
from build_scripts.derive.checks import validate_tree
from build_scripts.load.problems import EvidenceError
from build_scripts.load.reader import MAX_DEPTH, NON_RECORD_FILES, TOPIC_NAME, format_field, load_tree, parse_yaml

from conftest import ROOT, evidence_tree


def test_every_field_and_item_has_its_line_and_column():
    text = "id: x\ncohorts:\n  - id: a\n    outcomes:\n      - measure: orr\n"
    data, locations, problems = parse_yaml(text, "x.yaml")
    assert problems == []
    assert data["cohorts"][0]["outcomes"][0]["measure"] == "orr"
    assert locations[("id",)] == (1, 1)
    assert locations[("cohorts", 0)] == (3, 5)
    assert locations[("cohorts", 0, "outcomes", 0, "measure")] == (5, 9)


def test_duplicate_keys_are_errors_not_silently_overwritten():
    _, _, problems = parse_yaml("id: a\nname: one\nname: two\n", "a.yaml")
    assert [str(p) for p in problems] == ["a.yaml:3:1: name: duplicate key 'name' (first given on line 2)"]


def test_anchors_and_aliases_are_rejected_where_the_anchor_is():
    data, _, problems = parse_yaml("a: 1\nb: &x [1, 2]\nc: *x\n", "a.yaml")
    assert data is None
    assert (problems[0].line, problems[0].column) == (2, 4) and "aliases" in problems[0].message


def test_an_asterisk_in_text_is_not_an_alias():
    data, _, problems = parse_yaml("note: 'p < 0.05 *' \nother: a*b\n", "a.yaml")
    assert problems == [] and data == {"note": "p < 0.05 *", "other": "a*b"}


def test_alias_bomb_is_refused_at_once():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))
    data, _, problems = parse_yaml(bomb, "bomb.yaml")
    assert data is None and "aliases" in problems[0].message


def test_python_object_tags_are_rejected():
    _, _, problems = parse_yaml("a: !!python/object/apply:os.system ['true']\nb: !!python/name:os.system ''\n", "a.yaml")
    assert [(p.line, p.field) for p in problems] == [(1, "a"), (2, "b")]
    assert all("tags" in p.message for p in problems)


def test_empty_file_is_reported():
    _, _, problems = parse_yaml("", "empty.yaml")
    assert problems[0].message == "the file is empty"


def test_field_paths_read_like_the_yaml():
    assert format_field(("cohorts", 0, "outcomes", 2, "value")) == "cohorts[0].outcomes[2].value"
    assert format_field(()) == "(record)"


# Nesting depth: bounded while the data is built, never by the stack.

def _nested_lists(levels: int) -> str:
    return "a: " + "[" * levels + "]" * levels + "\n"


def test_deep_nesting_is_refused_where_it_passes_the_bound_not_with_a_recursion_error():
    text = _nested_lists(10_000)  # 20 KB, which used to raise RecursionError
    data, _, problems = parse_yaml(text, "deep.yaml")
    assert data is None
    assert [str(p) for p in problems] == [
        f"deep.yaml:1:{3 + MAX_DEPTH}: (yaml): invalid YAML: mappings and lists nest more than {MAX_DEPTH} levels deep"
        " here; evidence records need far fewer"]


def test_nesting_up_to_the_bound_is_read_and_one_level_more_is_refused():
    # The root mapping is the first level, so MAX_DEPTH - 1 lists fit inside it.
    data, _, problems = parse_yaml(_nested_lists(MAX_DEPTH - 1), "ok.yaml")
    assert problems == [] and data is not None
    data, _, problems = parse_yaml(_nested_lists(MAX_DEPTH), "deep.yaml")
    assert data is None and "nest more than" in problems[0].message


def test_deep_block_nesting_is_refused_too():
    text = "a:\n" + "".join("  " * level + "- b:\n" for level in range(MAX_DEPTH))
    data, _, problems = parse_yaml(text, "deep.yaml")
    assert data is None and problems[0].field == "(yaml)" and "nest more than" in problems[0].message


def test_nesting_that_crashes_libyamls_composer_is_refused_before_any_composing():
    # libyaml's composer recurses in C and kills the process on deep nesting; run it apart to survive that.
    script = ("from build_scripts.load.reader import parse_yaml; "
              f"print(parse_yaml('a: ' + '[' * 300_000, 'deep.yaml')[2][0].message)")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "nest more than" in result.stdout


# Numbers: every number in a record is finite, and a scalar that cannot be read is a located problem.

@pytest.mark.parametrize("written", [".inf", "-.inf", "+.inf", ".Inf", "-.Inf", ".INF", "-.INF",
                                     ".nan", ".NaN", ".NAN", "1.0e+999", "-1.5e+400"])
def test_non_finite_numbers_are_refused_with_their_line_and_field(written):
    data, _, problems = parse_yaml(f"id: x\ncohorts:\n  - value: {written}\n", "x.yaml")
    assert [(p.line, p.column, p.field) for p in problems] == [(3, 12, "cohorts[0].value")]
    assert problems[0].message == f"{written!r} is not a finite number; evidence records hold finite numbers only"
    assert data["cohorts"][0]["value"] is None


def test_the_text_inf_in_quotes_is_text_not_a_number():
    data, _, problems = parse_yaml("a: '.inf'\nb: 1.5\nc: 1e999\n", "x.yaml")
    assert problems == [] and data == {"a": ".inf", "b": 1.5, "c": "1e999"}


@pytest.mark.parametrize("written", ["2024-02-30", "2024-13-01", "1" + "0" * 5000])
def test_values_the_constructor_cannot_build_are_located_problems_not_crashes(written):
    data, _, problems = parse_yaml(f"id: x\nwhen: {written}\n", "x.yaml")
    assert [(p.line, p.column, p.field) for p in problems] == [(2, 7, "when")]
    assert "cannot be read as a" in problems[0].message and data == {"id": "x", "when": None}


# Shapes that are not records.

@pytest.mark.parametrize("text", ["~\n", "---\n", "null\n"])
def test_a_file_holding_only_null_is_reported_not_dropped(text):
    data, _, problems = parse_yaml(text, "null.yaml")
    assert data is None and [p.message for p in problems] == ["the file holds no record, only an empty value"]


def test_a_mapping_or_list_as_a_key_is_refused_and_its_value_not_kept():
    data, _, problems = parse_yaml("id: x\n? {a: 1}\n: v\n? [1]\n: w\n", "x.yaml")
    assert data == {"id": "x"}
    assert [(p.line, p.message) for p in problems] == [(2, "keys must be text, found a mapping"),
                                                      (4, "keys must be text, found a list")]


def test_two_documents_are_refused():
    data, _, problems = parse_yaml("id: a\n---\nid: b\n", "two.yaml")
    assert data is None and problems[0].line == 2 and "single document" in problems[0].message


def test_tagged_collections_are_refused_and_the_rest_is_kept():
    data, _, problems = parse_yaml("id: x\nbad: !!set {a, b}\nok: [1]\n", "x.yaml")
    assert data == {"id": "x", "bad": None, "ok": [1]}
    assert [(p.line, p.field) for p in problems] == [(2, "bad")] and "tags" in problems[0].message


# Files: only regular files are read under evidence/, and every file there is a record, a known
# non-record or a problem.

def _validate_without_blocking(evidence: Path, fifo: Path) -> list:
    """Validate in a thread, so that a loader that opens the pipe fails the test instead of hanging it."""
    outcome: list = []

    def run():
        try:
            validate_tree(evidence)
            outcome.append([])
        except EvidenceError as error:
            outcome.append(error.problems)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=20)
    if thread.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # releases a reader blocked on the pipe
        thread.join(timeout=5)
        pytest.fail(f"validation blocked on the named pipe {fifo}")
    return outcome[0]


def _problems(evidence: Path) -> list:
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    return caught.value.problems


def test_a_named_pipe_named_like_a_record_is_reported_and_never_opened(tmp_path):
    evidence = evidence_tree(tmp_path)
    fifo = evidence / "studies" / "waiting.yaml"
    os.mkfifo(fifo)
    problems = _validate_without_blocking(evidence, fifo)
    assert [(p.path.endswith("studies/waiting.yaml"), p.field, p.message) for p in problems] == [
        (True, "(file)", "this is a named pipe; only regular files are read in the evidence folder")]


def test_a_named_pipe_as_the_ledger_is_reported_and_never_opened(tmp_path):
    evidence = evidence_tree(tmp_path)
    ledger = evidence / "published-urls.txt"
    ledger.unlink()
    os.mkfifo(ledger)
    problems = _validate_without_blocking(evidence, ledger)
    assert [(p.path.endswith("published-urls.txt"), p.message) for p in problems] == [
        (True, "this is a named pipe; only regular files are read in the evidence folder")]


def test_a_symlinked_ledger_is_refused_and_its_target_never_read(tmp_path):
    evidence = evidence_tree(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-TOKEN-LINE\n")
    (evidence / "published-urls.txt").unlink()
    (evidence / "published-urls.txt").symlink_to(secret)
    problems = _problems(evidence)
    assert [(p.path.endswith("evidence/published-urls.txt"), p.message) for p in problems] == [
        (True, "symbolic links are not allowed in the evidence folder; commit the file itself")]
    assert "SECRET" not in "\n".join(str(p) for p in problems)


def test_a_ledger_above_its_size_limit_is_refused_unread(tmp_path, monkeypatch):
    evidence = evidence_tree(tmp_path)
    ledger = evidence / "published-urls.txt"
    monkeypatch.setattr(urls, "MAX_LEDGER_BYTES", ledger.stat().st_size - 1)
    [problem] = _problems(evidence)
    assert problem.path.endswith("published-urls.txt")
    size, limit = ledger.stat().st_size, urls.MAX_LEDGER_BYTES
    assert problem.message == f"the file is {size:,} bytes; the ledger may be at most {limit:,}"


def test_a_ledger_that_is_not_utf8_is_a_located_problem(tmp_path):
    evidence = evidence_tree(tmp_path)
    ledger = evidence / "published-urls.txt"
    ledger.write_bytes(ledger.read_bytes() + b"studies/caf\xe9/\n")
    [problem] = _problems(evidence)
    assert problem.line == len(ledger.read_bytes().splitlines()) and "not UTF-8" in problem.message


def test_ledger_lines_are_numbered_as_editors_number_them(tmp_path):
    ledger = tmp_path / "published-urls.txt"
    ledger.write_text("# header\nstudies/a/\x0cstill-line-two\nstudies/b/\n")
    assert urls.read_ledger(ledger) == [(2, "studies/a/\x0cstill-line-two"), (3, "studies/b/")]


def test_the_non_record_files_are_named_once_and_the_ledger_is_one_of_them():
    assert set(NON_RECORD_FILES) == {urls.LEDGER_NAME, TOPIC_NAME}
    assert all(NON_RECORD_FILES.values())


@pytest.mark.parametrize("relative", ["studies/.fixture-hidden.yaml", "studies/.notes", ".hidden.yaml",
                                      ".git/config", "studies/.drafts/draft.yaml"])
def test_names_starting_with_a_dot_are_reported_not_skipped(tmp_path, relative):
    evidence = evidence_tree(tmp_path)
    target = evidence / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("id: fixture-hidden\n")
    [problem] = _problems(evidence)
    reported = relative.split("/")[0] if relative.startswith(".") else "/".join(relative.split("/")[:2])
    assert problem.path.endswith(reported) and problem.message.startswith("names starting with '.' are not allowed")


@pytest.mark.parametrize(("name", "message"), [
    ("stray.yaml", "a record must be in the folder of its kind"),
    ("stray.yml", "a record must be in the folder of its kind"),
    ("README.md", "unknown file: the evidence folder holds only the record folders"),
])
def test_files_directly_in_the_evidence_folder_are_records_misplaced_or_unknown(tmp_path, name, message):
    evidence = evidence_tree(tmp_path)
    (evidence / name).write_text("id: stray\nname: Stray\nclass: imid\n")
    [problem] = _problems(evidence)
    assert problem.path.endswith(f"evidence/{name}") and problem.message.startswith(message)


def test_a_symlinked_folder_inside_a_kind_folder_is_refused_and_not_followed(tmp_path):
    evidence = evidence_tree(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.yaml").write_text("id: [unclosed\n")
    (evidence / "agents" / "more").symlink_to(outside, target_is_directory=True)
    [problem] = _problems(evidence)
    assert problem.path.endswith("agents/more") and "symbolic links" in problem.message


def test_files_in_nested_folders_are_refused(tmp_path):
    evidence = evidence_tree(tmp_path)
    nested = evidence / "agents" / "a" / "b"
    nested.mkdir(parents=True)
    (nested / "deep.yaml").write_text("id: deep\nname: Deep\nclass: imid\n")
    [problem] = _problems(evidence)
    assert problem.path.endswith("agents/a/b/deep.yaml") and "directly inside agents/" in problem.message


def test_a_record_above_the_size_limit_is_refused_before_it_is_read(tmp_path):
    evidence = evidence_tree(tmp_path)
    big = evidence / "agents" / "big.yaml"
    with big.open("wb") as file:  # a sparse file, larger than memory: reading it whole would fail
        file.truncate(10**11)
    tree = load_tree(evidence)
    [problem] = tree.problems
    assert problem.message == "the file is 100,000,000,000 bytes; a record may be at most 1,000,000"
    assert ("agent", "big") in tree.unreadable


def test_only_regular_files_are_opened(tmp_path, monkeypatch):
    """Every open under evidence/ is of a file that lstat calls regular."""
    evidence = evidence_tree(tmp_path)
    os.mkfifo(evidence / "agents" / "pipe.yaml")
    (evidence / "studies" / "link.yaml").symlink_to(evidence / "agents" / "pomalidomide.yaml")
    opened = []
    real_open = os.open

    def recording_open(path, flags, *args, **kwargs):
        opened.append(Path(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", recording_open)
    tree = load_tree(evidence)
    assert {Path(p.path).name for p in tree.problems} == {"pipe.yaml", "link.yaml"}
    assert opened and all(stat.S_ISREG(os.lstat(path).st_mode) for path in opened)
