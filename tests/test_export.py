"""The downloads: stable columns, one row per figure, every row sourced, and a valid data package."""

import csv
import json
import re
from html import unescape as html_unescape

import pytest
from frictionless import Package, validate

from build_scripts.derive.checks import validate_tree
from build_scripts.render.export import outcome_row, outcome_rows
from build_scripts.render.export_columns import OUTCOME_COLUMNS, STUDY_COLUMNS
from build_scripts.render.csv_cells import FORMULA_CHARACTER_NAMES, FORMULA_GUARD, csv_number
from build_scripts.load.vocabulary import EXPOSURE_STATUSES

from build_scripts.load.numbers import number

from conftest import VALID, evidence_tree

CONTRACT_STUDY_COLUMNS = ["study_id", "title", "design", "evidence_type", "registry_ids", "dois", "n_patients", "url"]
CONTRACT_OUTCOME_COLUMNS = ["study_id", "cohort_id", "regimen_id", "measure", "value", "unit", "ci_low", "ci_high",
                            "ci_level", "n", "responders", "status", "derived", "source_id", "source_doi",
                            "source_location", "discrepancy"]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_columns_keep_the_published_contract_first_and_in_order():
    assert [c.name for c in STUDY_COLUMNS][: len(CONTRACT_STUDY_COLUMNS)] == CONTRACT_STUDY_COLUMNS
    assert [c.name for c in OUTCOME_COLUMNS][: len(CONTRACT_OUTCOME_COLUMNS)] == CONTRACT_OUTCOME_COLUMNS


def test_outcomes_csv_has_one_row_per_figure_each_with_a_source(fixture_site):
    rows = read_csv(fixture_site / "data" / "outcomes.csv")
    evidence = validate_tree(VALID)
    expected = sum(len(c.outcomes) for s in evidence.studies.values() for c in s.cohorts)
    assert len(rows) == expected == 11
    assert all(row["source_id"] and row["source_location"] for row in rows)
    pfs = next(r for r in rows if r["measure"] == "pfs" and r["cohort_id"] == "refractory")
    assert (pfs["value"], pfs["ci_low"], pfs["ci_high"], pfs["ci_level"], pfs["unit"]) == ("3.1", "2.0", "4.5", "95", "months")
    assert pfs["source_doi"] == "10.9999/fixture.2020.1"
    not_reached = next(r for r in rows if r["measure"] == "os")
    assert not_reached["status"] == "not_reached" and not_reached["value"] == ""
    derived = next(r for r in rows if r["measure"] == "cr_or_better")
    assert derived["derived"] == "true" and derived["derivation"] == "2/30"
    flagged = [r for r in rows if r["discrepancy"]]
    assert {r["discrepancy"] for r in flagged} == {"orr-counts"} and len(flagged) == 2


def test_outcomes_csv_gives_the_derived_retreatment_flag_and_prior_status(fixture_site):
    rows = read_csv(fixture_site / "data" / "outcomes.csv")
    by_cohort = {r["cohort_id"]: (r["anti_cd38_retreatment"], r["prior_anti_cd38_status"],
                                  r["prior_anti_cd38_refractory_percent"]) for r in rows}
    # the naive cohort carries a typed flag that agrees; the refractory one carries none: both come from the facts.
    # The randomised trial's arms share its exposed population (share unknown); only the arm with an antibody is one.
    assert by_cohort == {"refractory": ("true", "refractory", ""), "naive": ("false", "naive", ""),
                         "dpd": ("true", "exposed_refractoriness_not_stated", ""),
                         "pd": ("false", "exposed_refractoriness_not_stated", "")}


def test_the_prior_status_column_is_described_with_every_status_and_its_label():
    column = next(c for c in OUTCOME_COLUMNS if c.name == "prior_anti_cd38_status")
    assert column.enum == tuple(EXPOSURE_STATUSES)
    assert all(f"{name} ({status.label})" in column.description for name, status in EXPOSURE_STATUSES.items())


def test_outcome_rows_read_the_facts_not_the_typed_field():
    evidence = validate_tree(VALID)
    study = evidence.studies["fixture-dpd-retreatment"]
    naive = next(c for c in study.cohorts if c.id == "naive")
    typed = naive.model_copy(update={"answers_question": True})
    row = outcome_row(evidence, study, typed, typed.outcomes[0])
    assert row["anti_cd38_retreatment"] is False and row["prior_anti_cd38_status"] == "naive"
    mixed = next(c for c in study.cohorts if c.id == "exposed-mixed")
    outcome = study.cohorts[0].outcomes[0]
    row = outcome_row(evidence, study, mixed, outcome)
    assert (row["anti_cd38_retreatment"], row["prior_anti_cd38_status"], row["prior_anti_cd38_refractory_percent"]) == (
        True, "exposed_partly_refractory", 60)


def test_studies_csv_lists_every_study_with_dois_and_url(fixture_site):
    rows = {row["study_id"]: row for row in read_csv(fixture_site / "data" / "studies.csv")}
    assert list(rows) == ["fixture-dpd-retreatment", "fixture-randomised", "fixture-unspecified-design"]
    row = rows["fixture-dpd-retreatment"]
    assert row["dois"] == "10.9999/fixture.2020.1;10.9999/fixture.2021.2"
    assert row["url"].endswith("/studies/fixture-dpd-retreatment/")
    assert row["n_patients"] == "40" and row["evidence_type"] == "real_world"


def test_studies_csv_keeps_including_and_discussing_reviews_apart(fixture_site):
    rows = {row["study_id"]: row for row in read_csv(fixture_site / "data" / "studies.csv")}
    included, discussed = rows["fixture-dpd-retreatment"], rows["fixture-randomised"]
    assert (included["review_ids"], included["discussing_review_ids"]) == ("fixture-review", "")
    assert (discussed["review_ids"], discussed["discussing_review_ids"]) == ("", "fixture-review")
    assert discussed["cited_source_ids"] == "fixture-2022-review" and discussed["publication_ids"] == "fixture-2021-abstract"
    assert discussed["trial_status"] == "terminated" and included["trial_status"] == ""


def test_a_count_not_reported_is_an_empty_cell_never_zero(fixture_site):
    rows = {row["study_id"]: row for row in read_csv(fixture_site / "data" / "studies.csv")}
    assert rows["fixture-randomised"]["n_patients"] == "" and rows["fixture-unspecified-design"]["n_patients"] == ""
    assert rows["fixture-unspecified-design"]["evidence_type"] == "real_world"


def test_control_arm_rows_are_marked_not_retreatment(fixture_site):
    rows = [r for r in read_csv(fixture_site / "data" / "outcomes.csv") if r["study_id"] == "fixture-randomised"]
    assert {(r["cohort_id"], r["anti_cd38_retreatment"]) for r in rows} == {("dpd", "true"), ("pd", "false")}


def test_evidence_json_holds_every_record(fixture_site):
    payload = json.loads((fixture_site / "data" / "evidence.json").read_text())
    assert {kind: len(records) for kind, records in payload.items()} == {
        "publications": 3, "studies": 3, "regimens": 1, "agents": 3, "reviews": 1}
    assert payload["agents"][0]["class"] in {"anti_cd38_antibody", "corticosteroid", "imid"}


def test_data_package_validates(fixture_site):
    report = validate(str(fixture_site / "data" / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    package = Package(str(fixture_site / "data" / "datapackage.json"))
    assert [r.name for r in package.resources] == ["studies", "outcomes", "synthesis"]


def test_data_package_catches_a_bad_row(fixture_site, tmp_path):
    for name in ("datapackage.json", "studies.csv", "outcomes.csv", "synthesis.csv"):
        (tmp_path / name).write_bytes((fixture_site / "data" / name).read_bytes())
    outcomes = (tmp_path / "outcomes.csv").read_text().splitlines()
    outcomes[1] = outcomes[1].replace(',"reported",', ',"guessed",', 1)
    assert "guessed" in outcomes[1]
    (tmp_path / "outcomes.csv").write_text("\n".join(outcomes) + "\n")
    assert not validate(str(tmp_path / "datapackage.json")).valid


@pytest.mark.parametrize("value, text", [(None, ""), (3, "3"), (3.0, "3"), (4.5, "4.5"), (0.1, "0.1"), (True, "true")])
def test_numbers_are_written_as_the_shortest_exact_text(value, text):
    assert csv_number(value) == text


def test_the_data_dictionary_states_the_formula_rule(fixture_site):
    html = (fixture_site / "downloads" / "index.html").read_text()
    rule = html_unescape(next(p for p in re.findall(r"<p>(.*?)</p>", html, re.S) if "OWASP" in p))
    for name in FORMULA_CHARACTER_NAMES.values():
        assert (f"<code>{name}</code>" if len(name) == 1 else name) in rule
    assert f"<code>{FORMULA_GUARD}</code>" in rule and "minus sign" in rule


@pytest.mark.parametrize("written", ["21.0", "21", "0.50", "33.30", "4.5"])
def test_outcomes_csv_keeps_the_decimals_the_record_wrote_as_the_page_does(tmp_path, written):
    evidence_dir = evidence_tree(tmp_path)
    study = evidence_dir / "studies" / "fixture-dpd-retreatment.yaml"
    text = study.read_text()
    assert "{measure: pfs, value: 3.1," in text
    study.write_text(text.replace("{measure: pfs, value: 3.1, unit: months, ci_low: 2.0, ci_high: 4.5,",
                                  f"{{measure: pfs, value: {written}, unit: months, ci_low: 0.1, ci_high: 90.0,", 1))
    evidence = validate_tree(evidence_dir)
    row = next(r for r in outcome_rows(evidence) if r["measure"] == "pfs" and r["cohort_id"] == "refractory")
    cell = csv_number(row["value"])
    assert cell == written and cell == number(row["value"])
    assert csv_number(row["ci_high"]) == number(row["ci_high"]) == "90.0"
