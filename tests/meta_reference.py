"""Independent computations of the pooled proportions, for the tests: written from the papers, not from meta_analysis.py.

The binomial-normal model is fitted here by direct numerical integration (a trapezoid sum on a fine even grid over
the logit, checked against scipy's adaptive quad) and Nelder-Mead on (mu, log tau), not by adaptive Gauss-Hermite
quadrature and BFGS as the build does; Paule-Mandel by bisection and by statsmodels' own iteration with its convergence checked.
"""

import math

import numpy as np
from scipy import integrate, optimize, special, stats

Z95 = stats.norm.ppf(0.975)


def expit(x):
    return 100 / (1 + math.exp(-x))


def t975(df):
    return stats.t.ppf(0.975, df)


def hand_logit(responders, n):
    """Logit and variance, with 0.5 added to both cells when no or every patient responded."""
    add = 0.5 if responders in (0, n) else 0.0
    a, b = responders + add, n - responders + add
    return math.log(a / b), 1 / a + 1 / b


def logit_cells(counts):
    cells = [hand_logit(r, n) for r, n in counts]
    return [c[0] for c in cells], [c[1] for c in cells]


def hand_dersimonian_laird(y, v):
    """DerSimonian-Laird random effects written out from the 1986 paper: (mean, se, tau2, Q, I2 in per cent)."""
    w = [1 / vi for vi in v]
    fixed = sum(wi * yi for wi, yi in zip(w, y)) / sum(w)
    q = sum(wi * (yi - fixed) ** 2 for wi, yi in zip(w, y))
    c = sum(w) - sum(wi * wi for wi in w) / sum(w)
    tau2 = max(0.0, (q - (len(y) - 1)) / c)
    w_star = [1 / (vi + tau2) for vi in v]
    mean = sum(wi * yi for wi, yi in zip(w_star, y)) / sum(w_star)
    i2 = max(0.0, (q - (len(y) - 1)) / q) * 100 if q > 0 else 0.0
    return mean, math.sqrt(1 / sum(w_star)), tau2, q, i2


def generalised_q(y, v, tau2):
    w = [1 / (vi + tau2) for vi in v]
    mean = sum(wi * yi for wi, yi in zip(w, y)) / sum(w)
    return sum(wi * (yi - mean) ** 2 for wi, yi in zip(w, y))


def hand_paule_mandel(y, v):
    """Paule-Mandel tau2 by bisection: the tau2 at which the generalised Q equals k-1 (zero if Q(0) <= k-1)."""
    if generalised_q(y, v, 0.0) <= len(y) - 1:
        return 0.0
    low, high = 0.0, 1.0
    while generalised_q(y, v, high) > len(y) - 1:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if generalised_q(y, v, middle) > len(y) - 1 else (low, middle)
    return (low + high) / 2


def statsmodels_paule_mandel(y, v):
    """statsmodels' Paule-Mandel iteration with its default tolerance; None unless it reports convergence."""
    from statsmodels.stats.meta_analysis import _fit_tau_iterative

    tau2, converged = _fit_tau_iterative(np.asarray(y, dtype=float), np.asarray(v, dtype=float))
    return float(tau2) if converged is True else None


def weighted(y, v, tau2):
    """Inverse-variance mean and its standard error with weights 1/(v + tau2)."""
    w = [1 / (vi + tau2) for vi in v]
    return sum(wi * yi for wi, yi in zip(w, y)) / sum(w), math.sqrt(1 / sum(w))


def binomial_normal_loglik(r, n, mu, tau):
    """Sum over cohorts of log of the integral over the logit eta of Binomial(r | n, expit eta) Normal(eta | mu, tau^2).

    The integral is a trapezoid sum on an even grid over mu +- 12 tau, at least five points per standard deviation of
    the narrowest factor (the normal density, or the binomial likelihood of the largest cohort); on such a grid the
    trapezoid rule is accurate to far below anything compared (checked against scipy's quad in the tests).
    """
    r, n = np.asarray(r, dtype=float), np.asarray(n, dtype=float)
    step = min(tau, 2 / math.sqrt(n.max())) / 5
    eta = np.linspace(mu - 12 * tau, mu + 12 * tau, int(math.ceil(24 * tau / step)) + 1)
    log_binomial = r[:, None] * eta[None, :] - n[:, None] * np.logaddexp(0, eta)[None, :]
    top = log_binomial.max(axis=1)
    weights = np.full(len(eta), eta[1] - eta[0])
    weights[[0, -1]] /= 2
    integral = (np.exp(log_binomial - top[:, None]) * stats.norm.pdf(eta, mu, tau)[None, :]) @ weights
    log_choose = special.gammaln(n + 1) - special.gammaln(r + 1) - special.gammaln(n - r + 1)
    return float(np.sum(log_choose + top + np.log(integral)))


def quad_cohort_likelihood(r, n, mu, tau):
    """One cohort's likelihood by scipy's adaptive quad over the proportion p, for checking the grid above."""
    def integrand(p):
        return math.exp(special.gammaln(n + 1) - special.gammaln(r + 1) - special.gammaln(n - r + 1)
                        + special.xlogy(r, p) + special.xlogy(n - r, 1 - p)) * stats.norm.pdf(
            math.log(p / (1 - p)), mu, tau) / (p * (1 - p))

    points = [x for x in (r / n, 1 / (1 + math.exp(-mu))) if 0 < x < 1]
    value, _ = integrate.quad(integrand, 0, 1, points=points, epsabs=0, epsrel=1e-12, limit=500)
    return value


def hand_binomial_normal(counts):
    """Maximum-likelihood fit of the binomial-normal model: {'mean', 'se', 'tau2'} on the logit scale."""
    r, n = np.array([c[0] for c in counts], dtype=float), np.array([c[1] for c in counts], dtype=float)
    # tau = 0: the fixed-effect binomial model, in closed form
    p_fixed = r.sum() / n.sum()
    fixed_mu = math.log(p_fixed / (1 - p_fixed))
    fixed_loglik = float(np.sum(special.gammaln(n + 1) - special.gammaln(r + 1) - special.gammaln(n - r + 1)
                                + special.xlogy(r, p_fixed) + special.xlogy(n - r, 1 - p_fixed)))
    y, v = logit_cells(counts)
    mean, _, tau2, _, _ = hand_dersimonian_laird(y, v)
    found = optimize.minimize(lambda x: -binomial_normal_loglik(r, n, x[0], math.exp(x[1])),
                              [mean, math.log(max(math.sqrt(tau2), 0.3))], method="Nelder-Mead",
                              options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 4000})
    assert found.success, found.message
    if fixed_loglik >= -found.fun - 1e-7:
        return {"mean": fixed_mu, "se": 1 / math.sqrt(float(np.sum(n * p_fixed * (1 - p_fixed)))), "tau2": 0.0,
                "loglik": fixed_loglik}
    mu, tau = float(found.x[0]), math.exp(float(found.x[1]))
    h = 1e-3

    def f(a, b):
        return -binomial_normal_loglik(r, n, a, b)

    h_mm = (f(mu + h, tau) - 2 * f(mu, tau) + f(mu - h, tau)) / h ** 2
    h_tt = (f(mu, tau + h) - 2 * f(mu, tau) + f(mu, tau - h)) / h ** 2
    h_mt = (f(mu + h, tau + h) - f(mu + h, tau - h) - f(mu - h, tau + h) + f(mu - h, tau - h)) / (4 * h * h)
    variance = h_tt / (h_mm * h_tt - h_mt * h_mt)
    return {"mean": mu, "se": math.sqrt(variance), "tau2": tau * tau, "loglik": -found.fun}
