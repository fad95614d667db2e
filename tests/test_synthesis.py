"""Exploratory synthesis: pooled figures against independent computations, and which cohorts may enter.

The fixture tree tests/fixtures/synthesis holds fictional studies, one behaviour each (see the comment at the top
of each file). In the stratum '+ IMiD; refractory to anti-CD38' seven cohorts enter the ORR analysis; every other
cohort is excluded for its own reason. '+ proteasome inhibitor; refractory' has two cohorts, 'anti-CD38 antibody alone;
refractory' (isatuximab after daratumumab, a switch) exactly three.
"""

import csv
import io
import math
from pathlib import Path
from statistics import NormalDist

import pytest

from build_scripts.checks import validate_tree
from build_scripts.export import SYNTHESIS_COLUMNS, data_files, datapackage_json
from build_scripts.synthesis import (
    CONTINUITY_CORRECTION, MIN_COHORTS, Stratum, cohorts_may_share_patients, logit_proportion, random_effects,
    synthesise,
)

from conftest import FIXTURES

SYNTHESIS = FIXTURES / "synthesis"
IMID_REFRACTORY = Stratum("imid", "refractory")
PI_REFRACTORY = Stratum("proteasome_inhibitor", "refractory")
SWITCH_REFRACTORY = Stratum("anti_cd38_monotherapy", "refractory")  # isatuximab after daratumumab

# The ORR counts that should enter the '+ IMiD; refractory' analysis, typed from the fixture files (not read from
# the synthesis): alpha, beta (whole cohort), gamma (2021 cut), delta (30% of 20), epsilon, eta, lambda (experimental).
IMID_USED = {"alpha/overall": (12, 40), "beta/overall": (20, 50), "gamma/report-2021": (9, 30),
             "delta/overall": (6, 20), "epsilon/overall": (0, 15), "eta/overall": (4, 4),
             "lambda/experimental": (11, 30)}
IMID_EXCLUDED = {
    "beta/older": "overlap",  # a subgroup of a cohort that is used
    "gamma/report-2019": "overlap",  # an earlier data cut of the same study
    "zeta/overall": "overlap",  # a study linked to alpha by related_studies
    "lambda/control": "control_arm",
    "lambda/trial": "not_reported",
    "omicron/overall": "no_patient_count",
    "rho/overall": "not_comparable",
}
SWITCH_USED = [(5, 20), (7, 25), (4, 18)]


@pytest.fixture(scope="module")
def evidence():
    return validate_tree(SYNTHESIS)


@pytest.fixture(scope="module")
def synthesis(evidence):
    return synthesise(evidence)


# ---------------------------------------------------------------- independent computations

def hand_logit(responders, n):
    """Logit and variance, with 0.5 added to both cells when no or every patient responded."""
    add = 0.5 if responders in (0, n) else 0.0
    a, b = responders + add, n - responders + add
    return math.log(a / b), 1 / a + 1 / b


def hand_dersimonian_laird(y, v):
    """DerSimonian-Laird random effects written out from the 1986 paper: (mean, se, tau2, Q, I2 in per cent)."""
    w = [1 / vi for vi in v]
    fixed = sum(wi * yi for wi, yi in zip(w, y)) / sum(w)
    q = sum(wi * (yi - fixed) ** 2 for wi, yi in zip(w, y))
    c = sum(w) - sum(wi * wi for wi in w) / sum(w)
    tau2 = max(0.0, (q - (len(y) - 1)) / c)
    w_star = [1 / (vi + tau2) for vi in v]
    mean = sum(wi * yi for wi, yi in zip(w_star, y)) / sum(w_star)
    i2 = max(0.0, (q - (len(y) - 1)) / q) * 100
    return mean, math.sqrt(1 / sum(w_star)), tau2, q, i2


def hand_paule_mandel(y, v):
    """Paule-Mandel tau2 by bisection: the tau2 at which the generalised Q equals k-1 (zero if Q(0) < k-1)."""
    def generalised_q(tau2):
        w = [1 / (vi + tau2) for vi in v]
        mean = sum(wi * yi for wi, yi in zip(w, y)) / sum(w)
        return sum(wi * (yi - mean) ** 2 for wi, yi in zip(w, y))

    if generalised_q(0.0) <= len(y) - 1:
        return 0.0
    low, high = 0.0, 100.0
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if generalised_q(middle) > len(y) - 1 else (low, middle)
    return (low + high) / 2


def expit(x):
    return 100 / (1 + math.exp(-x))


Z95 = NormalDist().inv_cdf(0.975)
# Student t 97.5% quantiles by degrees of freedom, from a printed table (k-2 degrees of freedom).
T975 = {1: 12.7062047361747, 5: 2.57058183563631}


def test_the_pooled_orr_agrees_with_a_hand_written_dersimonian_laird(synthesis):
    analysis = synthesis.analysis(IMID_REFRACTORY, "orr")
    cells = [hand_logit(r, n) for r, n in IMID_USED.values()]
    mean, se, tau2, q, i2 = hand_dersimonian_laird([c[0] for c in cells], [c[1] for c in cells])
    dl = next(e for e in analysis.estimates if e.method == "dl")
    assert dl.k == 7 and dl.patients == sum(n for _, n in IMID_USED.values())
    assert dl.value == pytest.approx(expit(mean), abs=1e-9)
    assert (dl.ci_low, dl.ci_high) == pytest.approx((expit(mean - Z95 * se), expit(mean + Z95 * se)), abs=1e-9)
    assert dl.tau2 == pytest.approx(tau2, abs=1e-12) and tau2 > 0
    assert dl.q == pytest.approx(q, abs=1e-9) and dl.i2 == pytest.approx(i2, abs=1e-9)
    half = T975[5] * math.sqrt(tau2 + se * se)
    assert (dl.pi_low, dl.pi_high) == pytest.approx((expit(mean - half), expit(mean + half)), abs=1e-6)


def test_the_paule_mandel_estimate_agrees_with_a_hand_written_one(synthesis):
    analysis = synthesis.analysis(IMID_REFRACTORY, "orr")
    cells = [hand_logit(r, n) for r, n in IMID_USED.values()]
    y, v = [c[0] for c in cells], [c[1] for c in cells]
    tau2 = hand_paule_mandel(y, v)
    w = [1 / (vi + tau2) for vi in v]
    mean = sum(wi * yi for wi, yi in zip(w, y)) / sum(w)
    pm = next(e for e in analysis.estimates if e.method == "pm")
    assert [e.method for e in analysis.estimates] == ["dl", "pm"]
    assert pm.tau2 == pytest.approx(tau2, abs=1e-8)
    assert pm.value == pytest.approx(expit(mean), abs=1e-6)
    assert pm.i2 == next(e for e in analysis.estimates if e.method == "dl").i2  # I2 comes from Q, the same for both


# Kacker (2004), Metrologia 41:132-136, Table 1, first row: nine laboratories' means and variances, with tau by
# Paule-Mandel 0.8399 and by DerSimonian-Laird 0.5359. The full fits are R metafor's (rma, method "PM" and "DL"),
# as printed in statsmodels' test results for the same data (statsmodels/stats/tests/results/results_meta.py).
KACKER_EFFECTS = [61.00, 61.40, 62.21, 62.30, 62.34, 62.60, 62.70, 62.84, 65.90]
KACKER_VARIANCES = [0.2025, 1.2100, 0.0900, 0.2025, 0.3844, 0.5625, 0.0676, 0.0225, 1.8225]


def test_a_published_worked_example_kacker_2004_with_metafor_fits():
    dl = random_effects(KACKER_EFFECTS, KACKER_VARIANCES, "dl")
    pm = random_effects(KACKER_EFFECTS, KACKER_VARIANCES, "pm")
    assert math.sqrt(pm.tau2) == pytest.approx(0.8399, abs=6e-5)
    assert math.sqrt(dl.tau2) == pytest.approx(0.5359, abs=1e-3)  # the table agrees to 1e-3 only, as statsmodels notes too
    assert dl.mean == pytest.approx(62.3901386044504, abs=1e-10)
    assert dl.se == pytest.approx(0.245749668040304, abs=1e-10)
    assert (dl.ci_low, dl.ci_high) == pytest.approx((61.9084781058787, 62.8717991030221), abs=1e-9)
    assert dl.tau2 == pytest.approx(0.288049246973751, abs=1e-10)
    assert dl.q == pytest.approx(24.801897741835, abs=1e-9)
    assert dl.i2 == pytest.approx(67.744403741711, abs=1e-8)
    assert pm.tau2 == pytest.approx(0.705395309224248, abs=1e-8)
    assert pm.mean == pytest.approx(62.4076199113286, abs=1e-8)
    assert (pm.ci_low, pm.ci_high) == pytest.approx((61.7450921043947, 63.0701477182625), abs=1e-8)


def test_a_negative_dersimonian_laird_tau2_is_truncated_to_the_fixed_effect_estimate():
    # Three equal-variance cohorts closer together than chance allows: Q < k-1.
    effects, variances = [0.10, 0.12, 0.11], [0.5, 0.5, 0.5]
    fit = random_effects(effects, variances, "dl")
    assert fit.tau2 == 0.0 and fit.i2 == 0.0
    assert fit.mean == pytest.approx(0.11, abs=1e-12) and fit.se == pytest.approx(math.sqrt(0.5 / 3), abs=1e-12)
    half = T975[1] * math.sqrt(0.5 / 3)
    assert (fit.pi_low, fit.pi_high) == pytest.approx((0.11 - half, 0.11 + half), abs=1e-9)


def test_the_continuity_correction_is_added_only_when_no_or_every_patient_responds():
    assert CONTINUITY_CORRECTION == 0.5
    assert logit_proportion(0, 15) == pytest.approx((math.log(0.5 / 15.5), 1 / 0.5 + 1 / 15.5, True))
    assert logit_proportion(4, 4) == pytest.approx((math.log(4.5 / 0.5), 1 / 4.5 + 1 / 0.5, True))
    assert logit_proportion(12, 40) == pytest.approx((math.log(12 / 28), 1 / 12 + 1 / 28, False))


# ---------------------------------------------------------------- which cohorts enter, and why the others do not

def test_exactly_the_eligible_cohorts_enter_and_every_other_cohort_is_listed_with_its_reason(evidence, synthesis):
    analysis = synthesis.analysis(IMID_REFRACTORY, "orr")
    assert {e.key: (e.responders, e.n) for e in analysis.used} == IMID_USED
    assert {x.key: x.reason for x in analysis.excluded} == IMID_EXCLUDED
    overlaps = {x.key: x.overlaps for x in analysis.excluded if x.reason == "overlap"}
    assert overlaps == {"beta/older": "beta/overall", "gamma/report-2019": "gamma/report-2021",
                        "zeta/overall": "alpha/overall"}
    assert all(x.detail and x.label for x in analysis.excluded)


def test_every_cohort_appears_once_in_every_analysis_of_its_stratum(evidence, synthesis):
    every = {f"{s.id}/{c.id}" for s in evidence.studies.values() for c in s.cohorts}
    for stratum in synthesis.strata:
        keys = [(a.measure, a.sensitivity) for a in synthesis.analyses if a.stratum == stratum]
        members = None
        for measure, sensitivity in keys:
            analysis = synthesis.analysis(stratum, measure, sensitivity)
            shown = [e.key for e in analysis.used] + [x.key for x in analysis.excluded]
            assert len(shown) == len(set(shown)), (stratum, measure)
            members = members or set(shown)
            assert set(shown) == members
        every -= members
    assert not every  # no cohort of the evidence is missing from the strata


def test_derived_counts_and_corrections_are_marked(synthesis):
    used = {e.key: e for e in synthesis.analysis(IMID_REFRACTORY, "orr").used}
    assert used["delta/overall"].responders_derived and not used["alpha/overall"].responders_derived
    assert {key for key, e in used.items() if e.corrected} == {"epsilon/overall", "eta/overall"}


@pytest.mark.parametrize("key, status", [("theta/overall", "naive"), ("iota/overall", "partly_naive"),
                                         ("kappa/overall", "not_stated"), ("nu/kd", "refractory")])
def test_naive_partly_naive_unknown_and_control_cohorts_are_never_pooled(synthesis, key, status):
    holding = [a for a in synthesis.analyses if key in {e.key for e in a.used} | {x.key for x in a.excluded}]
    assert holding and all(a.stratum.prior_status == status for a in holding)
    for analysis in holding:
        assert key not in {e.key for e in analysis.used}
        assert not analysis.estimates and analysis.not_pooled == "not an anti-CD38 retreatment stratum"
        assert {x.key: x.reason for x in analysis.excluded}[key] == "not_retreatment"


def test_no_pooled_estimate_from_fewer_than_three_cohorts_and_one_from_exactly_three(synthesis):
    assert MIN_COHORTS == 3
    two = synthesis.analysis(PI_REFRACTORY, "orr")
    assert two.k == 2 and not two.estimates and "fewer than 3" in two.not_pooled
    three = synthesis.analysis(SWITCH_REFRACTORY, "orr")
    assert sorted((e.responders, e.n) for e in three.used) == sorted(SWITCH_USED) and len(three.estimates) == 2


def test_the_sensitivity_analysis_leaves_out_case_reports_and_case_series(synthesis):
    sensitivity = synthesis.analysis(IMID_REFRACTORY, "orr", sensitivity=True)
    assert {e.key for e in sensitivity.used} == set(IMID_USED) - {"eta/overall"}
    assert {x.key: x.reason for x in sensitivity.excluded}["eta/overall"] == "case_design"
    cells = [hand_logit(*IMID_USED[e.key]) for e in sensitivity.used]
    mean = hand_dersimonian_laird([c[0] for c in cells], [c[1] for c in cells])[0]
    assert sensitivity.estimates[0].value == pytest.approx(expit(mean), abs=1e-9)
    # Where no case report or case series is used, the sensitivity analysis would be the same, so there is none.
    assert synthesis.analysis(SWITCH_REFRACTORY, "orr", sensitivity=True) is None


def test_medians_are_given_as_ranges_over_independent_cohorts_never_pooled(synthesis):
    pfs = synthesis.median_range(IMID_REFRACTORY, "pfs")
    assert {e.key: e.value for e in pfs.used} == {"alpha/overall": 4.1, "beta/overall": 5.0}
    assert (pfs.low, pfs.high) == (4.1, 5.0)
    assert [e.key for e in pfs.not_reached] == ["delta/overall"]
    assert {x.key: x.reason for x in pfs.excluded}["beta/older"] == "overlap"
    assert not hasattr(pfs, "estimates")


# ---------------------------------------------------------------- the overlap rule on its own

def test_which_cohorts_may_share_patients(evidence):
    studies = evidence.studies

    def share(a, b):
        (sa, ca), (sb, cb) = a.split("/"), b.split("/")
        return cohorts_may_share_patients(evidence, studies[sa], ca, studies[sb], cb)

    assert share("beta/overall", "beta/older")  # a subgroup and its parent
    assert share("gamma/report-2019", "gamma/report-2021")  # two top-level reports of one study
    assert share("zeta/overall", "alpha/overall") and share("alpha/overall", "zeta/overall")  # related studies
    assert share("lambda/trial", "lambda/control")
    assert not share("lambda/experimental", "lambda/control")  # randomised arms
    assert not share("nu/dkd", "nu/kd")  # top-level arms
    assert not share("alpha/overall", "beta/overall")  # unrelated studies


def test_sibling_subgroups_are_taken_to_share_patients_but_parts_and_dose_levels_not(evidence):
    from build_scripts.model import Study

    built = Study.model_validate({
        "id": "s", "title": "S", "design": "single_arm", "publications": ["p"], "summary": "x",
        "cohorts": [{"id": "all", "label": "All", "role": "overall"},
                    {"id": "a", "label": "A", "role": "subgroup", "parent": "all"},
                    {"id": "b", "label": "B", "role": "subgroup", "parent": "all"},
                    {"id": "p1", "label": "P1", "role": "part", "parent": "all"},
                    {"id": "p2", "label": "P2", "role": "part", "parent": "all"},
                    {"id": "d1", "label": "D1", "role": "dose_level", "parent": "p2"},
                    {"id": "q", "label": "Q", "role": "part"},
                    {"id": "q1", "label": "Q1", "role": "dose_level", "parent": "q"}]})
    assert cohorts_may_share_patients(evidence, built, "a", built, "b")
    assert not cohorts_may_share_patients(evidence, built, "p1", built, "p2")
    assert not cohorts_may_share_patients(evidence, built, "p1", built, "d1")  # parts apart, whatever is inside
    assert cohorts_may_share_patients(evidence, built, "p2", built, "d1")
    assert cohorts_may_share_patients(evidence, built, "a", built, "p1")  # a subgroup may cut across parts
    assert cohorts_may_share_patients(evidence, built, "q", built, "q1")  # a top-level part holds its dose levels
    assert cohorts_may_share_patients(evidence, built, "q1", built, "p1")  # 'all' and 'q' both stand at the top


# ---------------------------------------------------------------- the download

def test_synthesis_csv_holds_each_analysis_with_its_cohorts_and_reasons(evidence):
    files = data_files(evidence, "Atlas", "https://example.org/")
    rows = list(csv.DictReader(io.StringIO(files["synthesis.csv"])))
    assert list(rows[0]) == [c.name for c in SYNTHESIS_COLUMNS]

    def row(partner, status, measure, method, analysis="primary"):
        return next(r for r in rows if (r["partner_class"], r["prior_anti_cd38_status"], r["measure"], r["method"],
                                        r["analysis"]) == (partner, status, measure, method, analysis))

    dl = row("imid", "refractory", "orr", "dl")
    cells = [hand_logit(r, n) for r, n in IMID_USED.values()]
    mean, se, tau2, _, i2 = hand_dersimonian_laird([c[0] for c in cells], [c[1] for c in cells])
    assert (int(dl["k"]), float(dl["value"]), float(dl["i2"])) == (7, round(expit(mean), 2), round(i2, 2))
    assert float(dl["tau2"]) == pytest.approx(tau2, abs=1e-6) and dl["ci_level"] == "95"
    assert set(dl["cohorts_used"].split(";")) == set(IMID_USED)
    assert "beta/older: overlap (beta/overall)" in dl["cohorts_excluded"].split(";")
    assert "lambda/control: control_arm" in dl["cohorts_excluded"].split(";")
    assert set(dl["continuity_corrected"].split(";")) == {"epsilon/overall", "eta/overall"}
    assert dl["responders_derived"] == "delta/overall"
    assert row("imid", "refractory", "orr", "pm")["value"] and row("imid", "refractory", "orr", "dl", "sensitivity")
    not_pooled = row("proteasome_inhibitor", "refractory", "orr", "not_pooled")
    assert not_pooled["value"] == "" and "fewer than 3" in not_pooled["note"] and not_pooled["k"] == "2"
    ranged = row("imid", "refractory", "pfs", "range")
    # as the records write them: beta.yaml gives 5.0
    assert (ranged["range_low"], ranged["range_high"], ranged["unit"]) == ("4.1", "5.0", "months")
    assert ranged["cohorts_not_reached"] == "delta/overall" and ranged["value"] == ""
    naive = row("not_retreatment", "naive", "orr", "not_pooled")
    assert naive["cohorts_used"] == "" and "theta/overall: not_retreatment" in naive["cohorts_excluded"]


def test_the_data_package_describes_synthesis_csv():
    package = datapackage_json("Atlas", "https://example.org/")
    assert '"name": "synthesis"' in package and '"path": "synthesis.csv"' in package
    assert all(column.description for column in SYNTHESIS_COLUMNS)
