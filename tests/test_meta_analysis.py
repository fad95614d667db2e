"""Pooling methods (meta_analysis.py) against published results and independent computations on hard cases.

Published results are metafor's, from its own test suite (wviechtb/metafor, tests/testthat): the binomial-normal
model on the Nielweise 2007 catheter data as in Stijnen, Hamza and Ozdemir (2010) Table II
(test_analysis_example_stijnen2010.r, data from metafor's data/dat.nielweise2007.rda), DerSimonian-Laird and
Paule-Mandel on the CLASP trials as in DerSimonian and Kacker (2007) Tables 3 and 4
(test_analysis_example_dersimonian2007.r), and Kacker (2004) as printed in statsmodels' tests.
"""

import math

import numpy as np
import pytest

from build_scripts.derive.meta_analysis import (
    NotEstimable, binomial_normal, binomial_normal_loglik, paule_mandel_tau2, pool, random_effects,
)
from meta_reference import (
    Z95, binomial_normal_loglik as grid_loglik, expit, hand_binomial_normal, hand_dersimonian_laird,
    hand_paule_mandel, logit_cells, quad_cohort_likelihood, statsmodels_paule_mandel, t975, weighted,
)

# dat.nielweise2007 (metafor): catheter-related bloodstream infections, anti-infective catheters (ai of n1i) and
# standard catheters (ci of n2i), 18 trials.
NIELWEISE_AI = [0, 1, 2, 0, 5, 1, 1, 1, 1, 1, 0, 0, 3, 6, 0, 0, 1, 4]
NIELWEISE_N1I = [116, 44, 208, 130, 151, 98, 174, 74, 97, 113, 66, 70, 188, 187, 118, 252, 345, 64]
NIELWEISE_CI = [3, 3, 9, 7, 6, 4, 3, 2, 19, 2, 7, 1, 5, 11, 0, 1, 3, 1]
NIELWEISE_N2I = [117, 35, 195, 136, 157, 139, 177, 39, 103, 122, 64, 58, 175, 180, 105, 262, 362, 69]

# The set of issue 21: one large cohort beside three small ones, strongly heterogeneous.
LARGE_COHORT = [(101, 305), (6, 74), (14, 28), (5, 14)]
# Zero cells: two cohorts with no responder.
ZERO_CELLS = [(0, 32), (0, 18), (2, 44)]


def fitted(method, counts):
    return pool(method, [r for r, _ in counts], [n for _, n in counts])


def percent(fit):
    return expit(fit.mean), expit(fit.ci_low), expit(fit.ci_high)


def assert_agrees_with_independent_fit(counts, tolerance_pp=0.1):
    """Every method against its independent computation: the pooled value and both ends of the interval."""
    y, v = logit_cells(counts)
    dl_mean, dl_se, dl_tau2, _, _ = hand_dersimonian_laird(y, v)
    pm_tau2 = hand_paule_mandel(y, v)
    pm_mean, pm_se = weighted(y, v, pm_tau2)
    bn = hand_binomial_normal(counts)
    expected = {"dl": (dl_mean, dl_se, dl_tau2), "pm": (pm_mean, pm_se, pm_tau2),
                "bn": (bn["mean"], bn["se"], bn["tau2"])}
    for method, (mean, se, tau2) in expected.items():
        fit = fitted(method, counts)
        assert percent(fit) == pytest.approx(
            (expit(mean), expit(mean - Z95 * se), expit(mean + Z95 * se)), abs=tolerance_pp), (method, counts)
        assert fit.tau2 == pytest.approx(tau2, abs=2e-3, rel=2e-3), (method, counts)
    return expected


# ---------------------------------------------------------------- published results

@pytest.mark.parametrize("responders, n, mu, se, tau2, pred, low, high", [
    # Stijnen 2010 Table II, as metafor's tests check them (rounded as there)
    (NIELWEISE_CI, NIELWEISE_N2I, -3.50, 0.26, 0.81, 0.029, 0.018, 0.048),
    (NIELWEISE_AI, NIELWEISE_N1I, -4.81, 0.36, 0.83, 0.008, 0.004, 0.016),
])
def test_the_binomial_normal_model_gives_metafors_published_fit(responders, n, mu, se, tau2, pred, low, high):
    fit = binomial_normal(responders, n)
    assert (round(fit.mean, 2), round(fit.se, 2), round(fit.tau2, 2)) == (mu, se, tau2)
    assert tuple(round(x / 100, 3) for x in percent(fit)) == (pred, low, high)
    # and beyond the printed digits, the independent fit by direct integration
    independent = hand_binomial_normal(list(zip(responders, n)))
    assert fit.mean == pytest.approx(independent["mean"], abs=1e-5)
    assert fit.se == pytest.approx(independent["se"], abs=1e-4)
    assert fit.tau2 == pytest.approx(independent["tau2"], abs=1e-5)


# CLASP: six trials of aspirin in pregnancy (DerSimonian and Kacker 2007), as log odds ratios.
CLASP = {"n1i": [156, 303, 565, 1570, 103, 4659], "n2i": [74, 303, 477, 1565, 105, 4650],
         "ai": [5, 5, 12, 69, 9, 313], "ci": [8, 17, 9, 94, 11, 352]}


def test_dersimonian_laird_and_paule_mandel_give_metafors_published_fits_clasp():
    y = [math.log(a * (n2 - c) / ((n1 - a) * c)) for a, n1, c, n2 in zip(CLASP["ai"], CLASP["n1i"], CLASP["ci"],
                                                                            CLASP["n2i"])]
    v = [1 / a + 1 / (n1 - a) + 1 / c + 1 / (n2 - c) for a, n1, c, n2 in zip(CLASP["ai"], CLASP["n1i"], CLASP["ci"],
                                                                               CLASP["n2i"])]
    for method, tau, mu, se in (("pm", 0.3681, -0.3811, 0.2060), ("dl", 0.2323, -0.3240, 0.1540)):
        fit = random_effects(y, v, method)
        assert (math.sqrt(fit.tau2), fit.mean, fit.se) == pytest.approx((tau, mu, se), abs=6e-5), method


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


# ---------------------------------------------------------------- hard cases

def test_paule_mandel_is_solved_on_strongly_heterogeneous_data_with_one_large_cohort():
    y, v = logit_cells(LARGE_COHORT)
    fit = fitted("pm", LARGE_COHORT)
    # statsmodels' iteration with the tolerance the build once passed to it stops at 0 here
    from statsmodels.stats.meta_analysis import _fit_tau_iterative
    assert _fit_tau_iterative(np.array(y), np.array(v), atol=1e-10, maxiter=1000) == (0, 0)
    assert fit.tau2 == pytest.approx(hand_paule_mandel(y, v), abs=1e-9)
    assert fit.tau2 == pytest.approx(statsmodels_paule_mandel(y, v), abs=1e-4)
    assert round(fit.tau2, 2) == 0.92
    assert tuple(round(x, 1) for x in percent(fit)) == (28.5, 12.6, 52.4)


def test_the_binomial_normal_model_is_accurate_with_one_large_cohort():
    fit = fitted("bn", LARGE_COHORT)
    assert round(expit(fit.mean), 1) == 27.9 and round(fit.tau2, 2) == 0.68
    assert_agrees_with_independent_fit(LARGE_COHORT, tolerance_pp=0.01)


# Near a fit the quadrature is exact to rounding; far from any fit (a spread of 2-3 on the logit scale) a cohort
# with no responder makes the integrand skewed, and 25 nodes still agree to a few millionths of a log-likelihood unit.
@pytest.mark.parametrize("mu, tau, tolerance", [(-0.95, 0.83, 1e-9), (-3.0, 0.01, 1e-9), (0.5, 3.0, 1e-5),
                                                (-6.0, 2.0, 1e-5)])
def test_the_adaptive_quadrature_matches_direct_integration(mu, tau, tolerance):
    # one cohort of 305 beside small ones: the case where fixed Gauss-Hermite nodes miss the peak
    responders, n = [101, 6, 14, 5, 0], [305, 74, 28, 14, 32]
    assert binomial_normal_loglik(responders, n, mu, tau) == pytest.approx(grid_loglik(responders, n, mu, tau),
                                                                          abs=tolerance)
    # the test's own integration agrees with scipy's adaptive quad
    assert grid_loglik(responders[:1], n[:1], mu, tau) == pytest.approx(
        math.log(quad_cohort_likelihood(responders[0], n[0], mu, tau)), abs=1e-9)


def test_zero_cells_dersimonian_laird_with_correction_and_the_exact_binomial_model():
    dl = fitted("dl", ZERO_CELLS)
    assert dl.tau2 == 0.0 and dl.i2 == 0.0
    assert tuple(round(x, 1) for x in percent(dl)) == (3.4, 1.1, 10.2)
    bn = fitted("bn", ZERO_CELLS)
    # no correction: with tau2 at 0 the model is the fixed-effect binomial one, 2 of 94 patients
    assert bn.tau2 == 0.0 and expit(bn.mean) == pytest.approx(100 * 2 / 94, abs=1e-9)
    assert_agrees_with_independent_fit(ZERO_CELLS)


def test_the_binomial_normal_model_handles_the_nielweise_zero_cells():
    # 7 of 18 trials with no infection at all
    assert_agrees_with_independent_fit(list(zip(NIELWEISE_AI, NIELWEISE_N1I)))


def test_tau2_at_the_boundary_zero_gives_the_fixed_effect_estimates():
    counts = [(10, 40), (11, 41), (9, 39), (10, 38)]
    y, v = logit_cells(counts)
    for method in ("dl", "pm", "bn"):
        assert fitted(method, counts).tau2 == 0.0, method
    assert fitted("pm", counts).mean == pytest.approx(weighted(y, v, 0.0)[0], abs=1e-12)
    bn = fitted("bn", counts)
    assert expit(bn.mean) == pytest.approx(100 * 40 / 158, abs=1e-9)
    assert bn.se == pytest.approx(1 / math.sqrt(158 * (40 / 158) * (118 / 158)), rel=1e-5)


def test_a_negative_dersimonian_laird_tau2_is_truncated_to_the_fixed_effect_estimate():
    # Three equal-variance cohorts closer together than chance allows: Q < k-1.
    effects, variances = [0.10, 0.12, 0.11], [0.5, 0.5, 0.5]
    fit = random_effects(effects, variances, "dl")
    assert fit.tau2 == 0.0 and fit.i2 == 0.0
    assert fit.mean == pytest.approx(0.11, abs=1e-12) and fit.se == pytest.approx(math.sqrt(0.5 / 3), abs=1e-12)
    half = t975(1) * math.sqrt(0.5 / 3)
    assert (fit.pi_low, fit.pi_high) == pytest.approx((0.11 - half, 0.11 + half), abs=1e-9)


@pytest.mark.parametrize("counts, what", [
    ([(0, 10), (0, 25), (0, 7)], "no patient responded in any cohort"),
    ([(10, 10), (25, 25), (7, 7)], "every patient responded in every cohort"),
    ([(0, 10), (25, 25), (0, 7)], "every cohort lies at 0% or 100%"),
])
def test_all_zero_or_all_full_cohorts_give_no_binomial_normal_estimate_and_say_why(counts, what):
    fit = fitted("bn", counts)
    assert isinstance(fit, NotEstimable) and what in fit.reason
    # the corrected-logit methods still compute (the synthesis does not pool without the primary estimate)
    assert math.isfinite(fitted("dl", counts).mean)


def test_the_prediction_interval_uses_t_with_k_minus_2_degrees_of_freedom():
    bn = fitted("bn", LARGE_COHORT)
    half = t975(2) * math.sqrt(bn.tau2 + bn.se ** 2)
    assert (bn.pi_low, bn.pi_high) == pytest.approx((bn.mean - half, bn.mean + half), abs=1e-12)
    assert fitted("bn", LARGE_COHORT[:2]).pi_low is None  # none from two cohorts


@pytest.mark.parametrize("seed", range(6))
def test_every_method_agrees_with_its_independent_computation_on_heterogeneous_sets(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 15))
    n = rng.integers(4, 400, k)
    p = 1 / (1 + np.exp(-rng.normal(rng.normal(-0.5, 1.0), 1.5, k)))
    counts = list(zip((int(x) for x in rng.binomial(n, p)), (int(x) for x in n)))
    expected = assert_agrees_with_independent_fit(counts)
    y, v = logit_cells(counts)
    assert statsmodels_paule_mandel(y, v) is None or abs(statsmodels_paule_mandel(y, v) - expected["pm"][2]) < 1e-3


def test_paule_mandel_is_zero_when_the_generalised_q_is_below_its_expectation():
    y, v = [0.1, 0.2, 0.15], [0.3, 0.4, 0.5]
    assert paule_mandel_tau2(y, v) == 0.0 == hand_paule_mandel(y, v)
