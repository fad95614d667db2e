"""Exact (Clopper-Pearson) confidence intervals of a proportion, from the regularized incomplete beta function."""

from __future__ import annotations

import math

from build_scripts.derive.kept import Kept


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1, a - 1
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1 - x) / b


def _bisect(function, target: float) -> float:
    """The p in (0, 1) where an increasing function reaches target (Illinois false position: few evaluations)."""
    low, high = 0.0, 1.0
    f_low, f_high = function(low) - target, function(high) - target
    side = 0
    for _ in range(100):
        middle = (low * f_high - high * f_low) / (f_high - f_low)
        f_middle = function(middle) - target
        if abs(f_middle) < 1e-13 or high - low < 1e-13:
            return middle
        if f_middle < 0:
            low, f_low = middle, f_middle
            if side == -1:
                f_high /= 2
            side = -1
        else:
            high, f_high = middle, f_middle
            if side == 1:
                f_low /= 2
            side = 1
    return middle


def clopper_pearson(successes: int, n: int, level: float = 95.0) -> tuple[float, float]:
    """Exact (Clopper-Pearson) confidence interval of a proportion, in per cent."""
    return INTERVALS.get((int(successes), int(n), float(level)), lambda: _clopper_pearson(successes, n, level))


INTERVALS = Kept("exact intervals")


def _clopper_pearson(successes: int, n: int, level: float) -> tuple[float, float]:
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes}/{n}")
    tail = (1 - level / 100) / 2
    # P(X >= k | p) = I_p(k, n-k+1) rises with p; P(X <= k | p) = 1 - I_p(k+1, n-k) falls with p.
    lower = 0.0 if successes == 0 else _bisect(lambda p: regularized_beta(p, successes, n - successes + 1), tail)
    upper = 1.0 if successes == n else _bisect(lambda p: regularized_beta(p, successes + 1, n - successes), 1 - tail)
    return 100 * lower, 100 * upper
