"""Rates from per-patient best responses (responses.py) and the exact intervals the charts give every count."""

from __future__ import annotations

from pathlib import Path

import pytest
from statsmodels.stats.proportion import proportion_confint

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.exact import clopper_pearson
from build_scripts.derive.responses import PatientDerivedOutcome, cohort_outcomes, derived_rates, rate_counts
from build_scripts.load.parts import Cohort
from build_scripts.render.export import outcome_rows
from build_scripts.render.forest_rows import cross_study_rows
from build_scripts.render.indexes import key_result
from build_scripts.render.members import measure_summary, members

ROOT = Path(__file__).resolve().parent.parent
SOURCE = {"publication": "fixture-2020-journal", "location": "Table 1"}
REGIMEN = "daratumumab-pomalidomide-dexamethasone"


def _patient(index: int, response: str, regimen: str = REGIMEN) -> dict:
    return {"id": f"p{index}", "label": f"Patient {index}", "source": SOURCE,
            "lines": [{"line": 2, "regimen": "lenalidomide-dexamethasone", "regimen_as_stated": "Rd",
                       "best_response": "cr"},
                      {"line": 3, "regimen": regimen, "regimen_as_stated": "DPd", "best_response": response}]}


def _cohort(responses: list[str] = (), outcomes: list[dict] = (), tally: list[tuple[str, int, int]] = (),
            n: int | None = None) -> Cohort:
    data = {"id": "all", "label": "All", "role": "overall", "regimen": REGIMEN,
            "outcomes": list(outcomes),
            "patients": [_patient(i + 1, r) for i, r in enumerate(responses)],
            "best_response": [{"category": c, "patients": k, "n": m, "source": SOURCE} for c, k, m in tally]}
    if n is not None:
        data["population"] = {"n": {"value": n, "source": SOURCE}}
    return Cohort.model_validate(data)


def _counts(cohort: Cohort) -> dict[str, tuple[int, int]]:
    return {name: (o.responders, o.n) for name, o in derived_rates(cohort).items()}


# ---------------------------------------------------------------- which responses count

def test_a_single_patient_in_stringent_cr_gives_one_of_one_for_every_rate():
    cohort = _cohort(["scr"])
    assert _counts(cohort) == {"orr": (1, 1), "vgpr_or_better": (1, 1), "cr_or_better": (1, 1)}
    added = cohort_outcomes(cohort)
    assert [o.measure for o in added] == ["orr", "vgpr_or_better", "cr_or_better"]
    for outcome in added:
        assert isinstance(outcome, PatientDerivedOutcome) and outcome.derived and outcome.value == 100
        assert outcome.source.location == "Table 1" and "computed by the atlas" in outcome.derivation
        assert "the source states no such rate" in outcome.derivation


def test_or_better_follows_the_vocabulary_order():
    cohort = _cohort(["vgpr", "pr", "mr", "mr_or_sd", "pd", "cr"])
    assert _counts(cohort) == {"orr": (3, 6), "vgpr_or_better": (2, 6), "cr_or_better": (1, 6)}


def test_not_evaluable_counts_in_n_and_not_reported_is_left_out():
    cohort = _cohort(["pr", "ne", "unknown", "pd"])
    assert _counts(cohort)["orr"] == (1, 3)
    derivation = derived_rates(cohort)["orr"].derivation
    assert "1 not evaluable counted in n as not responding" in derivation
    assert "n is every patient listed but the 1 whose response is not reported" in derivation


def test_a_count_by_best_response_keeps_its_own_denominator():
    # the source counts the patient whose response it does not report in its n of 4
    cohort = _cohort(tally=[("pr", 1, 4), ("pd", 1, 4), ("ne", 1, 4), ("unknown", 1, 4)])
    assert _counts(cohort)["orr"] == (1, 4)
    derivation = derived_rates(cohort)["orr"].derivation
    assert "n is the n of that count" in derivation and "1 not evaluable counted in n" in derivation
    assert "1 whose response is not reported counted in n, as the source counts them" in derivation


def test_only_the_line_of_the_cohorts_regimen_counts():
    # each patient's earlier lenalidomide line is a CR; only the DPd line is the cohort's
    assert _counts(_cohort(["pd", "pd"]))["cr_or_better"] == (0, 2)


def test_nothing_is_derived_when_a_patient_has_no_line_of_the_regimen():
    data = _cohort(["pr"]).model_dump()
    data["patients"].append(_patient(2, "pr", regimen="lenalidomide-dexamethasone"))
    assert derived_rates(Cohort.model_validate(data)) == {}


def test_nothing_is_derived_when_the_patients_listed_are_not_the_whole_cohort():
    assert derived_rates(_cohort(["pr", "pd"], n=5)) == {}


def test_nothing_is_derived_when_a_figure_of_the_cohort_counts_more_patients_than_are_listed():
    pfs = {"measure": "pfs", "value": 8.4, "unit": "months", "n": 10, "source": SOURCE}
    assert derived_rates(_cohort(["pr"], outcomes=[pfs])) == {}


def test_a_complete_best_response_tally_counts_and_an_incomplete_one_does_not():
    complete = _cohort(tally=[("vgpr", 1, 4), ("mr", 2, 4), ("pd", 1, 4)])
    assert _counts(complete) == {"orr": (1, 4), "vgpr_or_better": (1, 4), "cr_or_better": (0, 4)}
    # 2 of 44 in VGPR says nothing about the other 42
    assert derived_rates(_cohort(tally=[("vgpr", 2, 44)])) == {}


# ---------------------------------------------------------------- reported figures come first

def test_a_reported_figure_that_agrees_keeps_its_place_alone():
    orr = {"measure": "orr", "value": 50, "unit": "percent", "responders": 1, "n": 2, "source": SOURCE}
    outcomes = cohort_outcomes(_cohort(["pr", "pd"], outcomes=[orr]))
    assert [(o.measure, type(o).__name__) for o in outcomes] == [
        ("orr", "Outcome"), ("vgpr_or_better", "PatientDerivedOutcome"), ("cr_or_better", "PatientDerivedOutcome")]


def test_a_reported_figure_that_disagrees_is_shown_with_the_computed_one_both_flagged():
    orr = {"measure": "orr", "value": 0, "unit": "percent", "responders": 0, "n": 2, "source": SOURCE,
           "discrepancy": "orr-differs"}
    outcomes = [o for o in cohort_outcomes(_cohort(["pr", "pd"], outcomes=[orr])) if o.measure == "orr"]
    assert [(o.responders, o.n, o.derived, o.discrepancy) for o in outcomes] == [
        (0, 2, False, "orr-differs"), (1, 2, True, "orr-differs")]
    assert "differs from the rate the source reports" in outcomes[1].derivation


def test_a_not_reported_figure_does_not_hide_the_patients_responses():
    orr = {"measure": "orr", "status": "not_reported", "source": SOURCE}
    outcomes = [o for o in cohort_outcomes(_cohort(["pr"], outcomes=[orr])) if o.measure == "orr"]
    assert [o.status for o in outcomes] == ["not_reported", "reported"] and outcomes[1].derived


# ---------------------------------------------------------------- the real evidence

@pytest.fixture(scope="module")
def evidence():
    return validate_tree(ROOT / "evidence")


def test_the_mor202_case_has_a_derived_orr_on_the_index_and_in_the_downloads(evidence):
    study = evidence.studies["pom-pad-dara-after-mor202-case"]
    key = key_result(evidence, study)
    assert key.orr is not None and key.orr.derived and (key.orr.responders, key.orr.n) == (1, 1)
    rows = [r for r in outcome_rows(evidence) if r["study_id"] == study.id and r["measure"] == "orr"]
    assert len(rows) == 1 and rows[0]["derived"] is True and rows[0]["responders"] == 1
    assert "computed by the atlas" in rows[0]["derivation"]


def test_the_summary_no_longer_counts_the_mor202_case_as_not_reporting_orr(evidence):
    everyone = members(evidence)
    case = [m for m in everyone if m.study.id == "pom-pad-dara-after-mor202-case"]
    assert len(case) == 1
    found = measure_summary(evidence, everyone, "orr", "summary/")
    assert case[0].key not in {m.key for m in found.missing}
    assert found.status_of(case[0])[1].outcome.derived


# ---------------------------------------------------------------- exact intervals for every count

CASES = [(0, 18), (0, 32), (9, 10), (4, 12), (1, 1), (0, 1), (2, 44), (3, 6)]


@pytest.mark.parametrize("k, n", CASES)
def test_clopper_pearson_agrees_with_statsmodels(k, n):
    low, high = proportion_confint(k, n, alpha=0.05, method="beta")
    got = clopper_pearson(k, n)
    assert got[0] == pytest.approx(100 * low, abs=1e-6) and got[1] == pytest.approx(100 * high, abs=1e-6)


@pytest.mark.parametrize("measure, study_id, counts", [
    ("orr", "fusion-mm-005", (0, 18)),          # 0%, n only from the cohort
    ("orr", "mikhael-2021-isa", (0, 32)),       # zero responders
    ("orr", "zhou-2020-pom-pad-dara", (9, 10)),  # 90% of 10: responders from the rate
    ("orr", "nooka-2019-dpd", (4, 12)),         # 33% of 12, rounded
    ("orr", "pom-pad-dara-after-mor202-case", (1, 1)),  # every patient, derived from the patient's line
])
def test_every_charted_count_gets_an_exact_interval_marked_computed(evidence, measure, study_id, counts):
    rows = [r for r in cross_study_rows(evidence, measure, "charts/orr/")
            if r.study_id == study_id and r.value is not None and r.ci_computed]
    expected = proportion_confint(*counts, alpha=0.05, method="beta")
    matching = [r for r in rows if r.ci_low == pytest.approx(100 * expected[0], abs=1e-6)
                and r.ci_high == pytest.approx(100 * expected[1], abs=1e-6)]
    assert matching, [(r.label, r.ci_low, r.ci_high) for r in rows]
    assert "(exact, computed)" in matching[0].ci_text


def test_rate_counts_derive_responders_from_the_rate_only_when_unstated():
    cohort = _cohort(n=12)
    stated = {"measure": "orr", "value": 33, "unit": "percent", "source": SOURCE}
    from build_scripts.load.parts import Outcome
    counts = rate_counts(Outcome.model_validate(stated), cohort)
    assert (counts.responders, counts.n, counts.responders_derived, counts.n_from_cohort) == (4, 12, True, True)
    with_counts = Outcome.model_validate(stated | {"value": 25, "responders": 3, "n": 12})
    assert rate_counts(with_counts, cohort) == type(counts)(3, 12, False, False)
    assert rate_counts(Outcome.model_validate(stated), _cohort()) is None  # no n anywhere: no interval


def test_the_studies_index_says_a_key_result_is_computed_from_per_patient_responses(evidence):
    from build_scripts.render.index_pages import key_result_view
    case = key_result_view(key_result(evidence, evidence.studies["pom-pad-dara-after-mor202-case"]))
    assert case["orr"] == "100% (computed from per-patient responses)"
    reported = key_result_view(key_result(evidence, evidence.studies["uk-isapomdex-case-series"]))
    assert reported["orr"] == "20%"


def test_a_charts_source_column_says_the_rate_is_computed(evidence):
    [row] = [r for r in cross_study_rows(evidence, "orr", "charts/orr/") if r.study_id == "pom-pad-dara-after-mor202-case"]
    assert row.source.endswith("(computed from per-patient responses)")
