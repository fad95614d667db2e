"""Random-effects pooling of proportions: the binomial-normal model by maximum likelihood, DerSimonian-Laird, Paule-Mandel.

Pure numbers in, frozen results out; synthesis.py decides which cohorts enter. Every method works on the logit scale.

- `binomial_normal` (the primary method): responders_i ~ Binomial(n_i, expit(mu + u_i)), u_i ~ Normal(0, tau2),
  fitted by maximum likelihood (Stijnen, Hamza and Ozdemir 2010; metafor's rma.glmm, model "UM.FS" for one group).
  Each cohort's likelihood integrates u_i out by adaptive Gauss-Hermite quadrature (nodes centred on the mode of the
  integrand and scaled by its curvature, as lme4's nAGQ does). It uses the exact binomial likelihood, so a cohort
  with no or every patient responding needs no continuity correction.
- `random_effects` with 'dl' or 'pm' (sensitivity analyses): inverse-variance pooling of continuity-corrected logits
  with tau2 by DerSimonian-Laird (closed form, truncated at 0) or Paule-Mandel (the root of the generalised Q
  statistic Q(tau2) = k - 1, found by a bracketing root finder; 0 when Q(0) <= k - 1).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Sequence

from build_scripts.derive.kept import Kept

if TYPE_CHECKING:
    import numpy as np

# numpy and scipy are imported inside the functions: importing numpy starts OpenBLAS's threads, and a build forks
# its job processes only from a single-threaded process (docs._single_threaded).

CONFIDENCE = 0.95
CONTINUITY_CORRECTION = 0.5
# Nodes of the adaptive quadrature per cohort; centred and scaled, the integrand is close to a normal density, and
# 25 nodes (lme4's largest nAGQ) agree with direct integration to far better than anything printed.
QUADRATURE_NODES = 25
# A fitted |tau| beyond this (a logit standard deviation of 12) or |mu| beyond this means the maximisation ran off
# towards no finite maximum (cohorts at or near 0% and 100%: the data cannot tell the spread from the mean).
_TAU_LIMIT = 12.0
_MU_LIMIT = 25.0
# Below this tau the fit is the boundary tau2 = 0 (the fixed-effect binomial model).
_TAU_ZERO = 1e-4


@dataclass(frozen=True)
class RandomEffects:
    """A random-effects pooled estimate on the logit scale, with its heterogeneity figures."""

    method: str  # a key of vocabulary.POOLING_METHODS
    k: int
    mean: float
    se: float
    ci_low: float
    ci_high: float
    tau2: float
    q: float  # Cochran's Q of the continuity-corrected logits (the same for every method)
    i2: float  # per cent, from q (Higgins and Thompson)
    pi_low: float | None  # 95% prediction interval; None when k < 3
    pi_high: float | None


@dataclass(frozen=True)
class NotEstimable:
    """A method that gives no estimate for the data, and why (in words, for pages and synthesis.csv)."""

    method: str
    reason: str


def logit_proportion(responders: int, n: int) -> tuple[float, float, bool]:
    """The logit of responders/n, its variance 1/a + 1/b, and whether the continuity correction was added."""
    corrected = responders == 0 or responders == n
    add = CONTINUITY_CORRECTION if corrected else 0.0
    a, b = responders + add, n - responders + add
    return math.log(a / b), 1 / a + 1 / b, corrected


def _z() -> float:
    from scipy import stats

    return float(stats.norm.isf((1 - CONFIDENCE) / 2))


def cochran_q(effects: Sequence[float], variances: Sequence[float]) -> tuple[float, float]:
    """Cochran's Q about the fixed-effect mean, and I-squared from it (Higgins and Thompson 2002), per cent."""
    import numpy as np

    y, w = np.asarray(effects, dtype=float), 1 / np.asarray(variances, dtype=float)
    q = float(np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2))
    k = len(y)
    return q, 100 * max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0


def _finish(method: str, k: int, mean: float, se: float, tau2: float, q: float, i2: float) -> RandomEffects:
    """Wald interval (normal) and the prediction interval (t with k-2 degrees of freedom, Higgins et al. 2009)."""
    from scipy import stats

    z = _z()
    pi_low = pi_high = None
    if k >= 3:
        half = float(stats.t.isf((1 - CONFIDENCE) / 2, k - 2)) * math.sqrt(tau2 + se * se)
        pi_low, pi_high = mean - half, mean + half
    return RandomEffects(method=method, k=k, mean=mean, se=se, ci_low=mean - z * se, ci_high=mean + z * se,
                         tau2=tau2, q=q, i2=i2, pi_low=pi_low, pi_high=pi_high)


# ---------------------------------------------------------------- inverse variance: DerSimonian-Laird, Paule-Mandel

def dersimonian_laird_tau2(effects: Sequence[float], variances: Sequence[float]) -> float:
    """DerSimonian and Laird's (1986) moment estimate of tau2, truncated at zero."""
    import numpy as np

    y, v = np.asarray(effects, dtype=float), np.asarray(variances, dtype=float)
    w = 1 / v
    q, _ = cochran_q(y, v)
    c = float(np.sum(w) - np.sum(w * w) / np.sum(w))
    return max(0.0, (q - (len(y) - 1)) / c) if c > 0 else 0.0


def generalised_q(effects: Sequence[float], variances: Sequence[float], tau2: float) -> float:
    """Q with weights 1/(v + tau2) about their own weighted mean; decreasing in tau2."""
    import numpy as np

    y, w = np.asarray(effects, dtype=float), 1 / (np.asarray(variances, dtype=float) + tau2)
    return float(np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2))


def paule_mandel_tau2(effects: Sequence[float], variances: Sequence[float]) -> float:
    """Paule and Mandel's (1982) tau2: the root of Q(tau2) = k - 1, bracketed and found by Brent's method.

    statsmodels' iteration is not used: it sets tau2 to 0 and stops whenever one of its updates overshoots, which
    gives the fixed-effect estimate on strongly heterogeneous data.
    """
    import numpy as np
    from scipy.optimize import brentq

    y, v = np.asarray(effects, dtype=float), np.asarray(variances, dtype=float)
    target = len(y) - 1
    if generalised_q(y, v, 0.0) <= target:
        return 0.0
    # Q(tau2) < sum((y - ybar_w)^2) / tau2 <= (max y - min y)^2 k / tau2, so the root is below `high`.
    high = max(float((y.max() - y.min()) ** 2 * len(y) / target), 1e-12)
    while generalised_q(y, v, high) > target:  # only guards against rounding in the bound above
        high *= 2
    return float(brentq(lambda t: generalised_q(y, v, t) - target, 0.0, high, xtol=1e-14, rtol=1e-13, maxiter=500))


def inverse_variance(effects: Sequence[float], variances: Sequence[float], tau2: float) -> tuple[float, float]:
    """The weighted mean with weights 1/(v + tau2), and its standard error."""
    import numpy as np

    y, w = np.asarray(effects, dtype=float), 1 / (np.asarray(variances, dtype=float) + tau2)
    return float(np.sum(w * y) / np.sum(w)), float(math.sqrt(1 / np.sum(w)))


def random_effects(effects: Sequence[float], variances: Sequence[float], method: str) -> RandomEffects:
    """Inverse-variance random-effects pooling with tau2 by 'dl' (DerSimonian-Laird) or 'pm' (Paule-Mandel)."""
    tau2 = {"dl": dersimonian_laird_tau2, "pm": paule_mandel_tau2}[method](effects, variances)
    mean, se = inverse_variance(effects, variances, tau2)
    q, i2 = cochran_q(effects, variances)
    return _finish(method, len(effects), mean, se, tau2, q, i2)


# ---------------------------------------------------------------- the binomial-normal model

@functools.cache
def _quadrature() -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes, and the log of weight * exp(x^2): the rule for a function not multiplied by exp(-x^2)."""
    import numpy as np

    nodes, weights = np.polynomial.hermite.hermgauss(QUADRATURE_NODES)
    return nodes, np.log(weights) + nodes ** 2


def _log_expit_parts(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log(1 + exp(eta)) and expit(eta), without overflow (one exp and one log1p: this is the fit's inner loop)."""
    import numpy as np

    small = np.exp(-np.abs(eta))
    log_one_plus = np.maximum(eta, 0.0) + np.log1p(small)
    return log_one_plus, np.where(eta >= 0, 1.0, small) / (1 + small)


def _modes(r: np.ndarray, n: np.ndarray, mu: float, tau: float,
           start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each cohort's mode z of log f(z) = r eta - n log(1 + e^eta) - z^2/2 (eta = mu + tau z), and -f'' there.

    f is strictly concave (f'' <= -1), and its root of f' lies between tau(r - n) and tau r, so Newton's steps are
    kept inside that bracket (a step leaving it is replaced by bisection). `start` (the modes at nearby parameters)
    saves steps during a fit.
    """
    import numpy as np

    low, high = np.minimum(tau * (r - n), tau * r), np.maximum(tau * (r - n), tau * r)
    z = np.clip(np.zeros_like(r) if start is None else start, low, high)
    for _ in range(100):
        _, p = _log_expit_parts(mu + tau * z)
        slope = tau * (r - n * p) - z
        curvature = tau * tau * n * p * (1 - p) + 1
        low, high = np.where(slope > 0, z, low), np.where(slope < 0, z, high)
        step = z + slope / curvature
        z_next = np.where((step >= low) & (step <= high), step, (low + high) / 2)
        if np.all(np.abs(z_next - z) <= 1e-12 * (1 + np.abs(z))):
            z = z_next
            break
        z = z_next
    _, p = _log_expit_parts(mu + tau * z)
    return z, tau * tau * n * p * (1 - p) + 1


def binomial_normal_loglik(responders: Sequence[int], n: Sequence[int], mu: float, tau: float) -> float:
    """The marginal log-likelihood of the binomial-normal model at (mu, tau), by adaptive Gauss-Hermite quadrature.

    The likelihood is the same for tau and -tau (u = tau z, z standard normal), so tau may take any sign.
    """
    import numpy as np

    return _loglik(np.asarray(responders, dtype=float), np.asarray(n, dtype=float), mu, tau)[0]


def _loglik(r: np.ndarray, m: np.ndarray, mu: float, tau: float,
            start: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """The log-likelihood, its gradient in (mu, tau), and the modes the quadrature was centred on.

    The gradient is the posterior mean of the complete-data score (Louis 1982), (r - n p) for mu and (r - n p) z for
    tau, averaged over the same quadrature nodes, weighted by their share of each cohort's integral.
    """
    import numpy as np
    from scipy.special import gammaln

    nodes, log_weights = _quadrature()
    mode, curvature = _modes(r, m, mu, tau, start)
    scale = 1 / np.sqrt(curvature)
    z = mode[:, None] + math.sqrt(2) * scale[:, None] * nodes[None, :]
    eta = mu + tau * z
    log_one_plus, p = _log_expit_parts(eta)
    terms = r[:, None] * eta - m[:, None] * log_one_plus - z * z / 2 + log_weights[None, :]
    top = terms.max(axis=1)
    weights = np.exp(terms - top[:, None])
    total = weights.sum(axis=1)
    log_integral = np.log(scale) + 0.5 * math.log(2) - 0.5 * math.log(2 * math.pi) + top + np.log(total)
    log_choose = gammaln(m + 1) - gammaln(r + 1) - gammaln(m - r + 1)
    score = (r[:, None] - m[:, None] * p) * weights / total[:, None]
    gradient = np.array([score.sum(), (score * z).sum()])
    return float(np.sum(log_integral + log_choose)), gradient, mode


def _jacobian_differences(gradient, x: np.ndarray, step: float = 1e-5) -> np.ndarray:  # noqa: ANN001
    """The Hessian as central differences of an analytic gradient, symmetrised."""
    import numpy as np

    columns = [(gradient(x + step * unit) - gradient(x - step * unit)) / (2 * step) for unit in np.eye(len(x))]
    hessian = np.array(columns).T
    return (hessian + hessian.T) / 2


def binomial_normal(responders: Sequence[int], n: Sequence[int]) -> RandomEffects | NotEstimable:
    """The binomial-normal random-effects model fitted by maximum likelihood, or why it cannot be.

    mu and tau are found by BFGS from the DerSimonian-Laird estimates; the fit at tau = 0 (the fixed-effect binomial
    model, whose mu is the logit of all responders over all patients) is taken when it is at least as likely.
    The standard error of mu is from the observed information (the inverse of the Hessian of the log-likelihood in
    mu and tau, by differences of its gradient); intervals are Wald intervals on the logit scale.
    """
    import numpy as np
    from scipy.optimize import minimize

    r, m = np.asarray(responders, dtype=float), np.asarray(n, dtype=float)
    k = len(r)
    cells = [logit_proportion(int(a), int(b)) for a, b in zip(r, m)]
    y, v = [c[0] for c in cells], [c[1] for c in cells]
    q, i2 = cochran_q(y, v)
    if not np.any(r > 0) or not np.any(r < m):
        where = "no patient responded in any cohort" if not np.any(r > 0) else "every patient responded in every cohort"
        return NotEstimable("bn", f"{where}, so the likelihood has no maximum at a finite logit")
    if np.all((r == 0) | (r == m)):
        return NotEstimable("bn", "every cohort lies at 0% or 100%, so the likelihood keeps increasing as tau2"
                                  " grows and has no maximum")
    modes: list[np.ndarray | None] = [None]

    def minus_loglik(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient, modes[0] = _loglik(r, m, float(x[0]), float(x[1]), modes[0])
        return -value, -gradient

    tau2_dl = dersimonian_laird_tau2(y, v)
    start = np.array([inverse_variance(y, v, tau2_dl)[0], max(math.sqrt(tau2_dl), 0.3)])
    fitted = minimize(minus_loglik, start, jac=True, method="BFGS", options={"gtol": 1e-8, "maxiter": 500})
    mu, tau = float(fitted.x[0]), abs(float(fitted.x[1]))
    fixed_mu = math.log(r.sum() / (m - r).sum())
    if minus_loglik(np.array([fixed_mu, 0.0]))[0] <= fitted.fun + 1e-9 or tau < _TAU_ZERO:
        mu, tau = fixed_mu, 0.0
    elif tau > _TAU_LIMIT or abs(mu) > _MU_LIMIT or not math.isfinite(mu):
        return NotEstimable("bn", "the likelihood has no finite maximum (every cohort lies at or near 0% or 100%)")
    # BFGS may stop short of its (strict) gradient tolerance through rounding; a gradient this small is a maximum
    elif not fitted.success and float(np.max(np.abs(fitted.jac))) > 1e-5:
        return NotEstimable("bn", f"the maximisation of the likelihood did not converge ({fitted.message})")
    information = _jacobian_differences(lambda x: minus_loglik(x)[1], np.array([mu, tau]))
    if tau == 0.0:
        # At the boundary the information about tau is zero (its first derivative vanishes by symmetry), and so is
        # the cross term: mu's variance is that of the fixed-effect model.
        variance = 1 / information[0, 0]
    else:
        variance = float(np.linalg.inv(information)[0, 0])
    if not variance > 0 or not math.isfinite(variance):
        return NotEstimable("bn", "the information matrix at the maximum is singular")
    return _finish("bn", k, mu, math.sqrt(variance), tau * tau, q, i2)


def pool(method: str, responders: Sequence[int], n: Sequence[int]) -> RandomEffects | NotEstimable:
    """Cohorts' responders out of n pooled by `method`: 'bn' (binomial-normal), 'dl' or 'pm' (corrected logits).

    A fit depends on nothing but its numbers, so each is made once: FITS keeps it (derive/kept.py).
    """
    key = (method, tuple(int(r) for r in responders), tuple(int(m) for m in n))
    return FITS.get(key, lambda: _plain(_fit(method, responders, n)))


def _fit(method: str, responders: Sequence[int], n: Sequence[int]) -> RandomEffects | NotEstimable:
    if method == "bn":
        return binomial_normal(responders, n)
    cells = [logit_proportion(r, m) for r, m in zip(responders, n)]
    return random_effects([c[0] for c in cells], [c[1] for c in cells], method)


def _plain(fit: RandomEffects | NotEstimable) -> RandomEffects | NotEstimable:
    """The fit with Python numbers only (numpy's are equal in value), so that a kept fit is read back without numpy."""
    if isinstance(fit, NotEstimable):
        return fit
    return replace(fit, k=int(fit.k), **{name: None if getattr(fit, name) is None else float(getattr(fit, name))
                                         for name in ("mean", "se", "ci_low", "ci_high", "tau2", "q", "i2",
                                                      "pi_low", "pi_high")})


FITS = Kept("pooled fits")
