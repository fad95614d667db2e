"""Checks across records kept between runs: after any edit they report exactly what a full check reports, and they
run again only for the records whose references into or out of the edit changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.kept_links import KeptLinks
from build_scripts.derive.record_checks import RecordCache
from build_scripts.load.problems import EvidenceError

from conftest import BROKEN, broken_cases, evidence_tree

STUDY = "fixture-dpd-retreatment"


def outcome(evidence: Path, store: Path | None = None) -> tuple[list, list, list[tuple[str, str]]]:
    """(problems, warnings, records whose references were checked) of one run; with `store`, caches kept there."""
    records = RecordCache(store / "records.pickle") if store else None
    kept = KeptLinks(store / "links.pickle") if store else None
    try:
        found = validate_tree(evidence, cache=records, kept=kept)
        problems, warnings = [], found.warnings
    except EvidenceError as error:
        problems, warnings = error.problems, error.warnings
    finally:
        if store:
            records.save()
            kept.save()
    return problems, warnings, kept.checked if kept else []


def assert_kept_equals_full(evidence: Path, store: Path) -> list[tuple[str, str]]:
    """A run with the kept checks reports what a run from scratch does; gives the records it checked again."""
    problems, warnings, checked = outcome(evidence, store)
    assert (problems, warnings) == outcome(evidence)[:2]
    return checked


def lay_over(evidence: Path, case: str) -> list[Path]:
    """Copy a broken case's files over the tree; gives the files it added (the others it replaced)."""
    added = []
    for source in sorted((BROKEN / case).rglob("*")):
        if source.is_file() and source.name != "expected.txt":
            target = evidence / source.relative_to(BROKEN / case)
            if not target.exists():
                added.append(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return added


def test_every_broken_case_laid_over_a_kept_tree_and_taken_away_again_reports_what_a_full_check_does(tmp_path):
    # One store through every case in turn: each edit is checked against the checks kept from the one before.
    evidence, store = evidence_tree(tmp_path), tmp_path / "cache"
    valid = tmp_path / "valid"
    shutil.copytree(evidence, valid)
    assert assert_kept_equals_full(evidence, store) != []
    for case in broken_cases():
        added = lay_over(evidence, case)
        assert_kept_equals_full(evidence, store)
        for path in added:
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path)
        shutil.rmtree(evidence)
        shutil.copytree(valid, evidence)
        assert assert_kept_equals_full(evidence, store) is not None
    problems, _, checked = outcome(evidence, store)
    assert problems == [] and checked == []


def test_a_run_with_nothing_changed_checks_no_record_again(tmp_path):
    evidence, store = evidence_tree(tmp_path), tmp_path / "cache"
    first = assert_kept_equals_full(evidence, store)
    assert len(first) == 5  # three studies, one regimen, one review: the records with references to check
    assert assert_kept_equals_full(evidence, store) == []


def naming(evidence: Path, record_id: str) -> set[tuple[str, str]]:
    """The records with references to check whose file names `record_id` (found by text, independently of the code)."""
    kinds = {"studies": "study", "regimens": "regimen", "reviews": "review"}
    return {(kinds[folder.name], path.stem) for folder in evidence.iterdir() if folder.name in kinds
            for path in folder.glob("*.yaml") if record_id in path.read_text() and path.stem != record_id}


def test_an_edit_of_a_study_checks_that_study_and_the_records_naming_it_only(tmp_path):
    evidence, store = evidence_tree(tmp_path), tmp_path / "cache"
    assert_kept_equals_full(evidence, store)
    study = evidence / "studies" / f"{STUDY}.yaml"
    study.write_text(study.read_text().replace("title: Fixture study of DPd retreatment", "title: Edited title"))
    assert naming(evidence, STUDY) == {("review", "fixture-review")}
    assert set(assert_kept_equals_full(evidence, store)) == {("study", STUDY), ("review", "fixture-review")}


def test_an_edit_of_a_publication_checks_the_records_naming_it_only(tmp_path):
    evidence, store = evidence_tree(tmp_path), tmp_path / "cache"
    assert_kept_equals_full(evidence, store)
    publication = evidence / "publications" / "fixture-2021-abstract.yaml"
    publication.write_text(publication.read_text().replace("title: ", "title: Edited ", 1))
    expected = naming(evidence, "fixture-2021-abstract")
    assert expected and len(expected) < 5
    assert set(assert_kept_equals_full(evidence, store)) == expected


def test_removing_a_record_others_name_reports_the_broken_references_of_unchanged_records(tmp_path):
    evidence, store = evidence_tree(tmp_path), tmp_path / "cache"
    assert_kept_equals_full(evidence, store)
    (evidence / "publications" / "fixture-2021-abstract.yaml").unlink()
    problems, _, _ = outcome(evidence, store)
    assert any(f"{STUDY}.yaml" in problem.path and problem.field == "publications[1]"
               and "no publication record 'fixture-2021-abstract' exists" in problem.message for problem in problems)
    assert (problems, ) == (outcome(evidence)[0], )


def test_an_edit_that_breaks_a_reference_into_an_unchanged_study_is_reported_there(tmp_path):
    # The agent a study lists as prior exposure stops being of the index class: the study's file is unchanged.
    evidence, store = evidence_tree(tmp_path), tmp_path / "cache"
    study = evidence / "studies" / "fixture-randomised.yaml"
    study.write_text(study.read_text().replace("prior_exposure: {status: exposed, as_stated:",
                                               "prior_exposure: {status: exposed, agents: [daratumumab], as_stated:"))
    assert outcome(evidence, store)[0] == []
    agent = evidence / "agents" / "daratumumab.yaml"
    agent.write_text(agent.read_text().replace("class: anti_cd38_antibody", "class: imid"))
    checked = assert_kept_equals_full(evidence, store)
    assert ("study", "fixture-randomised") in checked and ("regimen", "daratumumab-pomalidomide-dexamethasone") in checked
    assert ("study", "fixture-unspecified-design") not in checked  # it names neither the agent nor its regimen
    problems = outcome(evidence, store)[0]
    assert [(Path(p.path).name, p.field) for p in problems if "agent 'daratumumab' is not" in p.message] == [
        ("fixture-randomised.yaml", "population.prior_exposure.agents[0]")]


def test_a_duplicate_id_that_comes_first_moves_the_references_to_the_new_file(tmp_path):
    # A copy of a study under a name listed before it: the copy is now the study every reference reaches, and
    # the original file is the duplicate.
    evidence, store = evidence_tree(tmp_path), tmp_path / "cache"
    assert_kept_equals_full(evidence, store)
    shutil.copyfile(evidence / "studies" / f"{STUDY}.yaml", evidence / "studies" / "a-copy.yaml")
    problems, _, checked = outcome(evidence, store)
    assert any(problem.message.startswith(f"study id '{STUDY}' is also used by") for problem in problems)
    assert problems == outcome(evidence)[0]
    assert ("review", "fixture-review") in checked  # it names the study, now read from another file
    (evidence / "studies" / "a-copy.yaml").unlink()
    assert assert_kept_equals_full(evidence, store) != []
    assert outcome(evidence, store)[0] == []


@pytest.mark.parametrize("case", ["dangling-reference", "source-not-cited-by-study", "study-included-and-discussed",
                                  "trial-status-out-of-order", "prior-antibody-not-an-antibody"])
def test_kept_checks_of_a_broken_tree_equal_a_full_check_run_after_run(tmp_path, case):
    evidence, store = evidence_tree(tmp_path, case), tmp_path / "cache"
    for _ in range(2):
        assert_kept_equals_full(evidence, store)
    assert outcome(evidence)[0] != []


def test_a_code_change_checks_every_record_again(tmp_path, monkeypatch):
    evidence, store = evidence_tree(tmp_path), tmp_path / "cache"
    assert_kept_equals_full(evidence, store)
    monkeypatch.setattr("build_scripts.derive.kept_links.code_version", lambda: "other code")
    assert len(assert_kept_equals_full(evidence, store)) == 5


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def test_a_sequence_of_edits_of_every_kind_reports_at_each_step_what_a_full_check_does(tmp_path):
    evidence, store = evidence_tree(tmp_path), tmp_path / "cache"
    studies, publications = evidence / "studies", evidence / "publications"
    randomised, review = studies / "fixture-randomised.yaml", evidence / "reviews" / "fixture-review.yaml"
    steps = [
        # A study's own edit breaks a reference out of it.
        lambda: edit(randomised, "publications: [fixture-2021-abstract]",
                     "publications: [fixture-2021-abstract, no-such-publication]"),
        # A publication's edit breaks the order of an unchanged study's trial statuses.
        lambda: edit(publications / "fixture-2022-review.yaml", "year: 2022", "year: 2019"),
        # A registry id given twice, and two studies each a subgroup of the other.
        lambda: edit(randomised, "design: randomised", "registry_ids: [NCT00000001]\ndesign: randomised"),
        lambda: edit(randomised, "design: randomised",
                     "related_studies:\n  - {study: fixture-dpd-retreatment, relation: subgroup_of}\ndesign: randomised"),
        lambda: edit(studies / f"{STUDY}.yaml", "registry_ids: [NCT00000001]",
                     "registry_ids: [NCT00000001]\nrelated_studies:\n  - {study: fixture-randomised, relation: subgroup_of}"),
        # The review that includes a study and is its cited source goes, then comes back.
        lambda: review.rename(tmp_path / "review.yaml"),
        lambda: (tmp_path / "review.yaml").rename(review),
        # A record others name goes, then its file comes back broken, then whole.
        lambda: (publications / "fixture-2021-abstract.yaml").rename(tmp_path / "abstract.yaml"),
        lambda: (publications / "fixture-2021-abstract.yaml").write_text("id: fixture-2021-abstract\n"),
        lambda: (tmp_path / "abstract.yaml").rename(publications / "fixture-2021-abstract.yaml"),
    ]
    assert_kept_equals_full(evidence, store)
    reported = []
    for step in steps:
        step()
        assert_kept_equals_full(evidence, store)
        reported.append(len(outcome(evidence)[0]))
    assert reported[0] > 0 and reported[1] > reported[0] and len(set(reported)) > 3


class _Node:
    pass


def _make_cycles(count: int) -> None:
    for _ in range(count):
        node = _Node()
        node.itself = node  # unreachable once the loop moves on, collectable only by the cyclic collector


def _frozen_after_block(collect: bool) -> int:
    import gc

    from build_scripts.derive.checks import collection_paused

    gc.collect()
    gc.unfreeze()
    with collection_paused(set_aside=True, collect_first=lambda: collect):
        _make_cycles(5000)
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    return frozen


def test_garbage_made_while_collection_was_paused_is_not_set_aside_with_the_records_when_asked():
    # 5,000 nodes that each refer to themselves, which only a collection frees.
    assert _frozen_after_block(collect=False) - _frozen_after_block(collect=True) >= 4500
