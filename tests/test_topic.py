"""The topic file: read into a Topic, every problem located by line and column, and the vocabularies follow it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from build_scripts.derive.checks import validate_tree
from build_scripts.load.problems import EvidenceError
from build_scripts.load.topic import parse_topic, read_topic
from build_scripts.load.topic_model import activate, active
from build_scripts.load.vocabulary import (
    EXPOSURE_DEFINITIONS, MEASURES, POOLED_MEASURES, RESPONSE_CATEGORIES, upper_first, worded,
)
from build_scripts.render.templating import template_environment
from conftest import ROOT, VALID, evidence_tree

TOPIC_TEXT = (ROOT / "evidence" / "topic.yaml").read_text(encoding="utf-8")


def _line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def _problems(text: str) -> list[str]:
    topic, problems = parse_topic(text, "evidence/topic.yaml")
    assert topic is None
    return [f"{p.path}:{p.line}:{p.column}: {p.field}: {p.message}" for p in problems]


def test_the_real_topic_reads_without_a_problem_and_the_fixture_tree_shares_it():
    topic, problems = read_topic(ROOT / "evidence")
    assert problems == [] and topic is not None
    assert topic.digest and topic.index_class in topic.agent_classes
    # A definition without a label of its own reads as the status of the same name.
    assert topic.exposure_definitions["refractory"].label == topic.exposure_statuses["refractory"].label
    assert (VALID / "topic.yaml").read_bytes() == (ROOT / "evidence" / "topic.yaml").read_bytes()


def test_an_unknown_unit_is_reported_at_its_line_and_column():
    text = TOPIC_TEXT.replace("    unit: months\n", "    unit: weeks\n", 1)
    line = _line_of(text, "    unit: weeks")
    assert _problems(text) == [f"evidence/topic.yaml:{line}:5: measures.pfs.unit: 'weeks' is not a unit; use one"
                               " of: percent, months"]


def test_every_problem_of_the_file_is_reported_together():
    text = (TOPIC_TEXT.replace("    unit: months\n", "    unit: weeks\n", 1)
            .replace("  summary_pooled: orr\n", "  summary_pooled: pfs\n")
            .replace("index_class: anti_cd38_antibody\n", "index_class: no_such_class\n"))
    found = _problems(text)
    assert [problem.split(": ")[1] for problem in found] == [
        "measures.pfs.unit", "measure_roles.summary_pooled", "index_class"]
    assert f":{_line_of(text, 'index_class: no_such')}:1: index_class: 'no_such_class' is not an agent class" in found[2]
    assert "'pfs' is a time, and 'summary_pooled' takes only rates" in found[1]


def test_an_unknown_field_and_a_duplicate_key_name_their_line():
    unknown = TOPIC_TEXT.replace("measure_roles:\n", "measure_roles:\n  favourite: orr\n", 1)
    [problem] = _problems(unknown)
    assert problem.startswith(f"evidence/topic.yaml:{_line_of(unknown, '  favourite')}:")
    assert "measure_roles.favourite: unknown field" in problem
    duplicate = TOPIC_TEXT.replace("agent_classes:\n", "agent_classes:\n  imid: IMiD again\n", 1)
    [problem] = _problems(duplicate)
    first, again = _line_of(duplicate, "  imid: IMiD again"), _line_of(duplicate, "  imid: Immunomodulatory")
    assert problem == (f"evidence/topic.yaml:{again}:3: agent_classes.imid: duplicate key 'imid' (first given on line"
                       f" {first})")


def test_a_label_holding_a_line_break_or_a_control_character_is_refused():
    text = TOPIC_TEXT.replace("    label: Overall response rate\n", '    label: "Overall\\nresponse"\n', 1)
    [problem] = _problems(text)
    assert "measures.orr.label: contains a line break (U+000A)" in problem


def test_a_rate_counted_from_a_category_the_topic_lacks_is_refused():
    text = TOPIC_TEXT.replace("    at_least: vgpr\n", "    at_least: excellent\n", 1)
    [problem] = _problems(text)
    assert "measures.vgpr_or_better.at_least: 'excellent' is not a response category" in problem


def test_the_categories_the_schema_needs_are_required():
    start = TOPIC_TEXT.index("  unknown:\n    label: Not reported")
    end = TOPIC_TEXT.index("\n\n", start)
    [problem] = _problems(TOPIC_TEXT[:start] + TOPIC_TEXT[end + 1:])
    assert "response_categories: the response categories need 'unknown'" in problem


def test_a_tree_without_a_topic_file_or_with_a_broken_one_stops_validation(tmp_path):
    evidence = evidence_tree(tmp_path)
    (evidence / "topic.yaml").unlink()
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    [problem] = caught.value.problems
    assert problem.path.endswith("topic.yaml") and "every evidence folder has a topic file" in problem.message
    (evidence / "topic.yaml").write_text(TOPIC_TEXT.replace("family: rate", "family: ratio", 1), encoding="utf-8")
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    assert [p.field for p in caught.value.problems] == ["measures.orr.family"]


def test_the_vocabularies_follow_the_topic_of_the_run(tmp_path):
    text = (TOPIC_TEXT.replace("    label: Overall response rate\n", "    label: Response rate\n", 1)
            .replace("  pooled:\n  - orr\n  - vgpr_or_better\n", "  pooled:\n  - orr\n"))
    other, problems = parse_topic(text, "other/topic.yaml")
    assert problems == []
    before = (MEASURES["orr"].label, tuple(POOLED_MEASURES))
    activate(other)
    assert active() is other
    assert (MEASURES["orr"].label, tuple(POOLED_MEASURES)) == ("Response rate", ("orr", "cr_or_better"))
    assert list(RESPONSE_CATEGORIES) and EXPOSURE_DEFINITIONS["naive"].label
    evidence = evidence_tree(tmp_path)
    shutil.copyfile(ROOT / "evidence" / "topic.yaml", evidence / "topic.yaml")
    validate_tree(evidence)  # reading a tree makes its topic the topic of the run
    assert (MEASURES["orr"].label, tuple(POOLED_MEASURES)) == before


def test_a_record_value_outside_the_topic_vocabulary_is_refused_with_the_topic_options(tmp_path):
    evidence = evidence_tree(tmp_path)
    text = (evidence / "topic.yaml").read_text(encoding="utf-8")
    text = text.replace("  imid: Immunomodulatory drug (IMiD)\n", "").replace("  imid: imid\n", "")
    (evidence / "topic.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    messages = [p.message for p in caught.value.problems]
    assert any("'imid' is not a known agent class" in m for m in messages), messages


def test_the_topic_file_is_not_taken_for_a_stray_record(tmp_path):
    evidence = evidence_tree(tmp_path)
    assert validate_tree(evidence).record_count() > 0
    assert Path(evidence / "topic.yaml").is_file()


def test_the_topic_words_fill_descriptions_and_templates_by_name():
    assert worded("the {index_agent}'s {unknown} and {\"value\": 1}") == \
        "the anti-CD38 antibody's {unknown} and {\"value\": 1}"
    assert upper_first("anti-CD38 retreatment") == "Anti-CD38 retreatment" and upper_first("") == ""
    # A description may quote the index class's key as records spell it, and name examples of the topic's own.
    assert worded("'{index_class}', e.g. '{example_agent}-refractory'") == \
        "'anti_cd38_antibody', e.g. 'daratumumab-refractory'"
    environment = template_environment(ROOT / "templates")
    rendered = environment.from_string("{{ words.question_cohort | upper_first }} in {{ words.disease }}").render()
    assert rendered == "Anti-CD38 retreatment in multiple myeloma"


def test_a_hostile_topic_word_is_escaped_where_a_page_prints_it(tmp_path):
    text = TOPIC_TEXT.replace("  disease: multiple myeloma\n", "  disease: <script>alert(1)</script>\n")
    hostile, problems = parse_topic(text, "evidence/topic.yaml")
    assert problems == []
    activate(hostile)
    rendered = template_environment(ROOT / "templates").from_string("{{ words.disease }}").render()
    assert rendered == "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_a_partner_group_role_or_a_refractory_partner_naming_nothing_is_reported_at_its_line():
    text = (TOPIC_TEXT.replace("  alone: anti_cd38_monotherapy\n", "  alone: on_its_own\n", 1)
            .replace("  daratumumab_and_pomalidomide: pomalidomide\n", "  no_such_class: pomalidomide\n", 1))
    alone, partner = _line_of(text, "  alone: on_its_own"), _line_of(text, "  no_such_class: pomalidomide")
    found = _problems(text)
    assert found[0] == (f"evidence/topic.yaml:{alone}:3: partner_group_roles.alone: 'on_its_own' is not a partner"
                        " group of partner_groups_first or _last; use one of: anti_cd38_monotherapy, unspecified,"
                        " not_retreatment")
    assert found[1].startswith(f"evidence/topic.yaml:{partner}:3: refractory_class_partners.no_such_class:"
                               " 'no_such_class' is not a refractory class; use one of: anti_cd38, ")
    assert len(found) == 2


def test_a_status_renamed_without_its_rule_is_reported_at_both_ends():
    text = TOPIC_TEXT.replace("  partly_naive:\n    label: Includes", "  somewhat_naive:\n    label: Includes", 1)
    found = _problems(text)
    rule, status = _line_of(text, "  partly_naive: partly_naive"), _line_of(text, "  somewhat_naive:\n")
    assert (f"evidence/topic.yaml:{rule}:3: exposure_rules.partly_naive: 'partly_naive' is not an exposure status;"
            " use one of: refractory, ") in "\n".join(found)
    assert (f"evidence/topic.yaml:{status}:3: exposure_statuses.somewhat_naive: no rule gives 'somewhat_naive': a"
            " status is an exposure definition or a role of exposure_rules") in found


def test_a_rule_naming_no_status_or_a_derivation_given_twice_is_reported():
    text = (TOPIC_TEXT.replace("  every_subset: [refractory, exposed_not_refractory, naive]",
                               "  every_subset: [refractory, resistant, naive]", 1)
            .replace("  antibody: {derive: index_switch, label: Antibody}",
                     "  antibody: {derive: partner_group, label: Antibody}", 1)
            .replace("  design: {derive: design, label: Design}", "  design: {derive: guesswork, label: Design}", 1))
    found = _problems(text)
    assert found[0].startswith(f"evidence/topic.yaml:{_line_of(text, 'resistant, naive]')}:")
    assert "exposure_rules.every_subset[1]: 'resistant' is not an exposure status" in found[0]
    axes = [p for p in found if ": axes." in p]
    assert axes == [
        f"evidence/topic.yaml:{_line_of(text, '  partner_group: {derive')}:19: axes.partner_group.derive: axis"
        " 'antibody' already has this derivation",
        f"evidence/topic.yaml:{_line_of(text, '  design: {derive')}:12: axes.design.derive: 'guesswork' is not a"
        " derivation; use one of: prior_status, index_switch, index_given, partner_group, partner_classes,"
        " partner_novelty, design, evidence_type"]


def test_the_index_switch_values_and_the_search_filters_are_those_the_derivation_gives():
    text = TOPIC_TEXT.replace("  switch: Switch to another antibody\n", "  swap: Switch to another antibody\n", 1)
    [problem] = [p for p in _problems(text) if ": index_axis: " in p]
    assert problem.startswith(f"evidence/topic.yaml:{_line_of(text, 'index_axis:')}:1: index_axis:")
    assert problem.endswith("; missing: switch; not derived: swap")
    text = TOPIC_TEXT.replace("  index_switch: Antibody\n", "  antibody: Antibody\n", 1)
    [problem] = [p for p in _problems(text) if ": search_filters: " in p]
    assert problem.endswith("; missing: index_switch; not derived: antibody")
