"""Successive lines in the same patients, a study's retreated patients, and cohorts that only group others."""

from __future__ import annotations

import re

import pytest
from jinja2 import Environment, FileSystemLoader

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.entries import cohorts_may_share_patients
from build_scripts.derive.lines import in_one_line, is_grouping, line_number, lines_of_patients
from build_scripts.derive.question_count import question_count, question_count_note
from build_scripts.load.model import Study
from build_scripts.render.forest import cross_study_chart
from build_scripts.render.members import measure_summary, members
from build_scripts.render.svg import forest_svg

from conftest import ROOT, VALID

PUB = "fixture-2020-journal"
DPD = "daratumumab-pomalidomide-dexamethasone"


def source(location="Table 1"):
    return {"publication": PUB, "location": location}


def count(n):
    return {"n": {"value": n, "source": source()}}


def status(name, **more):
    return {"prior_exposure": {"status": name, "source": source()}, **more}


def orr(responders, n):
    return [{"measure": "orr", "value": round(100 * responders / n, 1), "unit": "percent", "responders": responders,
             "n": n, "source": source()}]


def cohort(cohort_id, role="subgroup", **fields):
    return {"id": cohort_id, "label": cohort_id.replace("-", " ").capitalize(), "role": role, **fields}


def study(cohorts, study_id="s", population=None):
    return Study.model_validate({"id": study_id, "title": "S", "design": "retrospective_real_world",
                                 "publications": [PUB], "summary": "x", "cohorts": cohorts,
                                 **({"population": population} if population else {})})


@pytest.fixture()
def evidence():
    return validate_tree(VALID)


def with_study(evidence, record):
    evidence.studies[record.id] = record
    return evidence


# ---------------------------------------------------------------- successive lines

# Part A (first use) and part B (the same patients, retreated at the next line), as the Dara-ATRA trial has them.
TWO_PARTS = [
    cohort("part-a", role="part", regimen=DPD, population={**count(63), **status("partly_naive")}),
    cohort("part-a-exposed", parent="part-a", regimen=DPD, population={**count(3), **status("exposed")}),
    cohort("part-b", role="part", follows="part-a", regimen=DPD, population={**count(50), **status("refractory")}),
    cohort("part-b-rp2d", role="part", parent="part-b", regimen=DPD, population=count(44), outcomes=orr(2, 44)),
]


def test_two_parts_are_disjoint_until_one_follows_the_other(evidence):
    unlinked = study([{k: v for k, v in c.items() if k != "follows"} for c in TWO_PARTS])
    assert not cohorts_may_share_patients(evidence, unlinked, "part-a", unlinked, "part-b")
    linked = study(TWO_PARTS)
    assert cohorts_may_share_patients(evidence, linked, "part-a", linked, "part-b")
    # through nesting on either side: a subgroup of the first line and a part of the second
    assert cohorts_may_share_patients(evidence, linked, "part-a-exposed", linked, "part-b-rp2d")
    assert in_one_line(linked, "part-b-rp2d", "part-a-exposed") and not in_one_line(linked, "part-a", "part-a-exposed")


def test_a_later_line_of_a_nested_cohort_shares_patients_with_what_contains_it(evidence):
    record = study([cohort("all", role="overall"), cohort("first", parent="all"), cohort("second", follows="first")])
    assert cohorts_may_share_patients(evidence, record, "all", record, "second")


def test_siblings_told_apart_by_prior_status_share_no_patient_unless_one_follows_the_other(evidence):
    siblings = [cohort("all", role="overall", regimen=DPD, population=status("partly_naive")),
                cohort("refractory", parent="all", regimen=DPD, population=status("refractory")),
                cohort("not-refractory", parent="all", regimen=DPD, population=status("exposed_not_refractory")),
                cohort("unknown", parent="all", regimen=DPD)]
    record = study(siblings)
    assert not cohorts_may_share_patients(evidence, record, "refractory", record, "not-refractory")
    assert cohorts_may_share_patients(evidence, record, "refractory", record, "unknown")
    siblings[1] = {**siblings[1], "follows": "not-refractory"}  # the same patients, refractory at a later line
    record = study(siblings)
    assert cohorts_may_share_patients(evidence, record, "refractory", record, "not-refractory")


def test_lines_are_listed_in_order_and_numbered():
    record = study([cohort("second", follows="first"), cohort("first"), cohort("third", follows="second"),
                    cohort("other-third", follows="second"), cohort("alone")])
    assert [[c.id for c in line] for line in lines_of_patients(record)] == [
        ["first", "second", "third"], ["first", "second", "other-third"]]
    numbers = {c.id: line_number(record, c) for c in record.cohorts}
    assert numbers == {"first": 1, "second": 2, "third": 3, "other-third": 3, "alone": None}


def test_successive_lines_are_never_pooled_together(evidence):
    """Three lines of the same patients in one stratum: only the largest enters, the others overlap it (as parts,
    they would otherwise be taken as partitions of the study)."""
    from build_scripts.derive.synthesis import analyse
    from build_scripts.derive.synthesis_types import Stratum
    lines = [cohort("first", role="part", regimen=DPD, population={**count(30), **status("refractory")}, outcomes=orr(9, 30)),
             cohort("second", role="part", follows="first", regimen=DPD, population={**count(20), **status("refractory")},
                    outcomes=orr(4, 20)),
             cohort("third", role="part", follows="second", regimen=DPD, population={**count(10), **status("refractory")},
                    outcomes=orr(1, 10))]
    record = study(lines)
    with_study(evidence, record)
    from build_scripts.derive.entries import stratum_of
    stratum = stratum_of(evidence, record, record.cohorts[0])
    assert all(stratum_of(evidence, record, c) == stratum for c in record.cohorts)
    analysis = analyse(evidence, stratum, [(record, c) for c in record.cohorts], "orr")
    assert [e.cohort_id for e in analysis.used] == ["first"]
    assert {x.cohort_id: x.reason for x in analysis.excluded} == {"second": "overlap", "third": "overlap"}
    assert isinstance(stratum, Stratum)


# ---------------------------------------------------------------- the retreated patients

def test_a_recorded_count_comes_first_with_its_source(evidence):
    record = study([cohort("all", role="overall", regimen=DPD, population=status("partly_naive"))],
                   population={**count(293), "in_question": {"value": 22, "source": source("Table 2")}})
    found = question_count(evidence, record)
    assert (found.value, found.derived, found.recorded.source.location) == (22, False, "Table 2")
    assert question_count_note(found, 293) == "22 retreated"


def test_derived_from_disjoint_retreatment_cohorts_nested_ones_counted_once(evidence):
    record = study([
        cohort("all", role="overall", regimen=DPD, population={**count(293), **status("partly_naive")}),
        cohort("refractory", parent="all", regimen=DPD, population={**count(56), **status("refractory")}),
        cohort("refractory-responders", parent="refractory", regimen=DPD, population=count(20)),
        cohort("not-refractory", parent="all", regimen=DPD, population={**count(22), **status("exposed_not_refractory")}),
        cohort("naive", parent="all", regimen=DPD, population={**count(215), **status("naive")}),
    ])
    found = question_count(evidence, record)
    assert (found.value, found.exact, found.derived) == (78, True, True)
    assert found.derivation == "56 + 22" and [c.id for c in found.cohorts] == ["refractory", "not-refractory"]
    assert question_count_note(found, 293) == "78 retreated (derived)"


@pytest.mark.parametrize("total, naive", [(None, 215), (293, None), (300, 215)])
def test_a_partly_naive_cohort_whose_parts_do_not_add_up_to_it_makes_the_count_a_lower_bound(evidence, total, naive):
    # Only when the cohorts within it account for every one of its stated patients is no retreated patient elsewhere.
    record = study([
        cohort("all", role="overall", regimen=DPD,
               population={**(count(total) if total else {}), **status("partly_naive")}),
        cohort("refractory", parent="all", regimen=DPD, population={**count(56), **status("refractory")}),
        cohort("not-refractory", parent="all", regimen=DPD, population={**count(22), **status("exposed_not_refractory")}),
        cohort("naive", parent="all", regimen=DPD, population={**(count(naive) if naive else {}), **status("naive")}),
    ])
    found = question_count(evidence, record)
    assert (found.value, found.exact, found.text) == (78, False, "at least 78")


def test_successive_lines_make_the_derived_count_a_lower_bound(evidence):
    found = question_count(evidence, study(TWO_PARTS, population=count(63)))
    assert (found.value, found.exact, found.text) == (50, False, "at least 50")
    assert "more patients may have been retreated" in found.derivation


def test_a_cohort_of_unknown_prior_status_given_an_antibody_makes_it_a_lower_bound(evidence):
    known = [cohort("exposed", regimen=DPD, population={**count(9), **status("exposed")})]
    assert question_count(evidence, study(known)).exact
    unknown = known + [cohort("given-dara-after", regimen=DPD, population=count(20))]
    assert question_count(evidence, study(unknown)).text == "at least 9"


def test_without_a_retreatment_cohort_or_a_count_there_is_no_number(evidence):
    assert question_count(evidence, study([cohort("naive", role="overall", regimen=DPD, population=status("naive"))])) is None
    found = question_count(evidence, study([cohort("all", role="overall", regimen=DPD, population=status("refractory"))]))
    assert found.value is None and found.text == "Not reported" and question_count_note(found, None) is None


def test_the_whole_study_retreated_reads_all(evidence):
    record = study([cohort("all", role="overall", regimen=DPD, population={**count(18), **status("refractory")})])
    assert question_count_note(question_count(evidence, record), 18) == "all retreated (derived)"


# ---------------------------------------------------------------- cohorts that only group others

GROUPED = [
    cohort("retreated", role="overall", regimen=DPD, population=status("refractory")),
    cohort("early", parent="retreated", regimen=DPD, population=count(12), outcomes=orr(3, 12)),
    cohort("late", parent="retreated", regimen=DPD, population=count(10), outcomes=orr(1, 10)),
    cohort("silent", parent="retreated", regimen=DPD, population=count(5)),
]


def test_a_cohort_without_figures_whose_subgroups_have_them_is_a_grouping():
    record = study(GROUPED)
    by_id = {c.id: c for c in record.cohorts}
    assert is_grouping(record, by_id["retreated"])
    assert not is_grouping(record, by_id["silent"]) and not is_grouping(record, by_id["early"])
    lines = study([cohort("first"), cohort("second", follows="first", outcomes=orr(1, 4))])
    assert is_grouping(lines, lines.cohorts[0])


def test_the_summary_does_not_count_a_grouping_as_not_reporting(evidence):
    with_study(evidence, study(GROUPED, study_id="grouped"))
    group = [m for m in members(evidence) if m.study.id == "grouped"]
    summary = measure_summary(evidence, group, "orr", "summary/")
    assert [m.cohort.id for m in summary.missing] == ["silent"]
    assert summary.total == 3 and summary.missing_text == "1 of 3 cohorts did not report ORR"
    statuses = {m.cohort.id: summary.status_of(m)[0] for m in group}
    assert statuses["retreated"] == "grouping" and statuses["silent"] == "missing"


def test_a_grouping_is_a_bold_heading_in_the_live_chart_and_the_static_one(evidence):
    with_study(evidence, study(GROUPED, study_id="grouped"))
    chart = cross_study_chart(evidence, "orr", "charts/orr/")
    heading = next(r for r in chart.forest if r.study_id == "grouped" and r.cohort_id == "retreated")
    assert heading.kind == "heading" and heading.value is None
    weights = [layer["encoding"]["y"]["axis"].get("labelFontWeight")
               for unit in chart.spec["vconcat"] for layer in unit["layer"]
               if heading.label in unit["layer"][0]["encoding"]["y"]["scale"]["domain"]]
    assert weights and all(w["value"] == "normal" and w["condition"]["value"] == "bold"
                           and heading.label in w["condition"]["test"] for w in weights)
    cohort_labels = [r.label for r in chart.forest if r.study_id == "grouped" and r.kind != "heading"]
    assert all(label not in weights[0]["condition"]["test"] for label in cohort_labels)
    environment = Environment(loader=FileSystemLoader(ROOT / "templates"), autoescape=True)
    svg = forest_svg(chart, environment)
    bold = re.findall(r'<text class="row heading"[^>]*font-weight="bold"[^>]*>(.*?)</text>', svg, re.S)
    assert any("Retreated" in re.sub(r"<[^>]+>", "", text) for text in bold)
    assert not re.search(r'<text class="row in-question"[^>]*font-weight', svg)


# ---------------------------------------------------------------- the one walk up the parent chain

def test_the_parent_chain_is_nearest_first_and_stops_at_a_cycle_or_a_parent_that_names_no_cohort():
    from build_scripts.load.evidence import parent_chain
    nested = study([cohort("all", role="overall"), cohort("sub", parent="all"), cohort("subsub", parent="sub")])
    assert [c.id for c in parent_chain(nested, "subsub")] == ["sub", "all"]
    assert parent_chain(nested, "all") == [] and parent_chain(nested, "nobody") == []
    # a cycle and a dangling parent are validation errors; the walk still ends
    looped = study([cohort("a", parent="b"), cohort("b", parent="a"), cohort("c", parent="gone")])
    assert [c.id for c in parent_chain(looped, "a")] == ["b"]
    assert parent_chain(looped, "c") == []
