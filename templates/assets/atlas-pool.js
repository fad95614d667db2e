// Pooling in the browser for the Explore page (issue 24): meta_analysis.py's random effects, exact.py's intervals.
(function () {
  "use strict";

  const CONFIDENCE = 0.95;
  const CONTINUITY_CORRECTION = 0.5;
  // Computed as meta_analysis.py computes it, so that the quantiles are taken at the very same probability.
  const TAIL = (1 - CONFIDENCE) / 2;

  // A running sum: numpy's pairwise sums differ from it only in the last bits, far below what a page shows.
  function sum(values) {
    let total = 0;
    for (let i = 0; i < values.length; i += 1) {
      total += values[i];
    }
    return total;
  }

  // ---------------------------------------------------------------- special functions

  // Stirling's series, from 15 up, is exact to rounding; a smaller x is carried there by Gamma(x + 1) = x Gamma(x).
  function logGamma(x) {
    let product = 1;
    while (x < 15) {
      product *= x;
      x += 1;
    }
    const inverse = 1 / x;
    const square = inverse * inverse;
    const series = inverse * (1 / 12 - square * (1 / 360 - square * (1 / 1260 - square * (1 / 1680
      - square * (1 / 1188 - square * 691 / 360360)))));
    return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + series - Math.log(product);
  }

  // The continued fraction of the incomplete beta function by the modified Lentz method, as exact.py's _betacf
  // (with more terms allowed: a t distribution with many degrees of freedom needs them).
  function betaFraction(a, b, x) {
    const tiny = 1e-300;
    const qab = a + b;
    const qap = a + 1;
    const qam = a - 1;
    let c = 1;
    let d = 1 - qab * x / qap;
    d = 1 / (Math.abs(d) > tiny ? d : tiny);
    let h = d;
    for (let m = 1; m < 1000; m += 1) {
      const m2 = 2 * m;
      let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
      d = 1 + aa * d;
      d = 1 / (Math.abs(d) > tiny ? d : tiny);
      c = 1 + aa / c;
      c = Math.abs(c) > tiny ? c : tiny;
      h *= d * c;
      aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
      d = 1 + aa * d;
      d = 1 / (Math.abs(d) > tiny ? d : tiny);
      c = 1 + aa / c;
      c = Math.abs(c) > tiny ? c : tiny;
      const delta = d * c;
      h *= delta;
      if (Math.abs(delta - 1) < 1e-15) {
        break;
      }
    }
    return h;
  }

  // The regularized incomplete beta function I_x(a, b) and its complement, as exact.py's regularized_beta. y is 1 - x,
  // given by a caller that has it more accurately (the t distribution far out, where x is within rounding of 1).
  function betaIntegral(x, a, b, y) {
    if (y === undefined) {
      y = 1 - x;
    }
    if (x <= 0) {
      return [0, 1];
    }
    if (y <= 0) {
      return [1, 0];
    }
    const logX = x > 0.5 ? Math.log1p(-y) : Math.log(x);
    const logY = y > 0.5 ? Math.log1p(-x) : Math.log(y);
    const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * logX + b * logY);
    if (x < (a + 1) / (a + b + 2)) {
      const lower = front * betaFraction(a, b, x) / a;
      return [lower, 1 - lower];
    }
    const upper = front * betaFraction(b, a, y) / b;
    return [1 - upper, upper];
  }

  // Wichura's algorithm AS 241 (PPND16, 1988): rational approximations good to about 1e-16.
  function normalQuantile(p) {
    if (!(p > 0 && p < 1)) {
      return p === 0 ? -Infinity : p === 1 ? Infinity : NaN;
    }
    const q = p - 0.5;
    if (Math.abs(q) <= 0.425) {
      const r = 0.180625 - q * q;
      return q * (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r
        + 45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r
        + 133.14166789178437745) * r + 3.387132872796366608)
        / (((((((5226.495278852854561 * r + 28729.085735721942674) * r + 39307.89580009271061) * r
        + 21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r
        + 42.313330701600911252) * r + 1);
    }
    let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
    let x;
    if (r <= 5) {
      r -= 1.6;
      x = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r
        + 1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r
        + 4.6303378461565452959) * r + 1.42343711074968357734)
        / (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r
        + 0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r
        + 2.05319162663775882187) * r + 1);
    } else {
      r -= 5;
      x = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r
        + 0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r
        + 5.4637849111641143699) * r + 6.6579046435011037772)
        / (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r
        + 7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r
        + 0.59983220655588793769) * r + 1);
    }
    return q < 0 ? -x : x;
  }

  // P(T > t) for t >= 0: half of I_x(df/2, 1/2) at x = df / (df + t^2), with 1 - x formed without cancelling.
  function tUpperTail(t, df) {
    const square = t * t;
    if (square === Infinity) {
      return 0;
    }
    return 0.5 * betaIntegral(df / (df + square), df / 2, 0.5, square / (df + square))[0];
  }

  // The p quantile of Student's t. Newton's method on the tail probability, from the normal quantile (which every t
  // quantile exceeds, so the steps climb to the root without overshooting), kept by bisection inside a bracket whose
  // top is the Cauchy quantile (the heaviest tail of any df >= 1); the tail is solved for directly, never 1 - tail.
  function studentTQuantile(p, df) {
    if (!(df > 0) || !(p >= 0 && p <= 1)) {
      return NaN;
    }
    if (p === 0 || p === 1 || p === 0.5) {
      return p === 0 ? -Infinity : p === 1 ? Infinity : 0;
    }
    if (df === Infinity) {
      return normalQuantile(p);
    }
    const tail = p < 0.5 ? p : 1 - p;
    const logScale = logGamma(df / 2 + 0.5) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI);
    let low = 0;
    let high = 1 / Math.tan(Math.PI * tail);
    while (tUpperTail(high, df) > tail) {
      low = high;
      high *= 2;
    }
    let t = Math.min(Math.max(-normalQuantile(tail), low), high);
    for (let i = 0; i < 300; i += 1) {
      const excess = tUpperTail(t, df) - tail;
      if (excess === 0) {
        break;
      }
      if (excess > 0) {
        low = t;
      } else {
        high = t;
      }
      let next = t + excess / Math.exp(logScale - (df + 1) / 2 * Math.log1p(t * t / df));
      if (!(next > low && next < high)) {
        next = (low + high) / 2;
      }
      const step = Math.abs(next - t);
      t = next;
      if (step <= 1e-15 * t) {
        break;
      }
    }
    return p < 0.5 ? -t : t;
  }

  // ---------------------------------------------------------------- exact intervals, as derive/exact.py

  // exact.py's _bisect: Illinois false position for the p in (0, 1) where an increasing function reaches target.
  function falsePosition(increasing, target) {
    let low = 0;
    let high = 1;
    let fLow = increasing(low) - target;
    let fHigh = increasing(high) - target;
    let side = 0;
    let middle = 0;
    for (let i = 0; i < 100; i += 1) {
      middle = (low * fHigh - high * fLow) / (fHigh - fLow);
      const fMiddle = increasing(middle) - target;
      if (Math.abs(fMiddle) < 1e-13 || high - low < 1e-13) {
        return middle;
      }
      if (fMiddle < 0) {
        low = middle;
        fLow = fMiddle;
        if (side === -1) {
          fHigh /= 2;
        }
        side = -1;
      } else {
        high = middle;
        fHigh = fMiddle;
        if (side === 1) {
          fLow /= 2;
        }
        side = 1;
      }
    }
    return middle;
  }

  function checkCounts(responders, n) {
    if (!Number.isInteger(responders) || !Number.isInteger(n) || n < 1 || responders < 0 || responders > n) {
      throw new RangeError("need whole numbers 0 <= responders <= n, n >= 1; got " + responders + "/" + n);
    }
  }

  // The exact (Clopper-Pearson) 95% interval of responders/n, in per cent: [low, high].
  function exactInterval(responders, n) {
    checkCounts(responders, n);
    // P(X >= r | p) = I_p(r, n-r+1) rises with p; P(X <= r | p) = 1 - I_p(r+1, n-r) falls with p.
    const low = responders === 0 ? 0 : falsePosition(function (p) {
      return betaIntegral(p, responders, n - responders + 1)[0];
    }, TAIL);
    const high = responders === n ? 1 : falsePosition(function (p) {
      return betaIntegral(p, responders + 1, n - responders)[0];
    }, 1 - TAIL);
    return [100 * low, 100 * high];
  }

  // ---------------------------------------------------------------- random effects, as derive/meta_analysis.py

  function logitProportion(responders, n) {
    checkCounts(responders, n);
    const corrected = responders === 0 || responders === n;
    const add = corrected ? CONTINUITY_CORRECTION : 0;
    const a = responders + add;
    const b = n - responders + add;
    return { y: Math.log(a / b), v: 1 / a + 1 / b, corrected: corrected };
  }

  // The mean of ys weighted by 1 / (v + tau2), the sum of those weights, and Q about that mean.
  function weighted(ys, vs, tau2) {
    const w = vs.map(function (v) {
      return 1 / (v + tau2);
    });
    const total = sum(w);
    const mean = sum(w.map(function (wi, i) {
      return wi * ys[i];
    })) / total;
    const q = sum(w.map(function (wi, i) {
      const deviation = ys[i] - mean;
      return wi * (deviation * deviation); // numpy's order of rounding
    }));
    return { mean: mean, total: total, q: q, w: w };
  }

  // Cochran's Q about the fixed-effect mean, and I-squared from it in per cent (Higgins and Thompson 2002).
  function cochranQ(ys, vs) {
    const q = weighted(ys, vs, 0).q;
    return { q: q, i2: q > 0 ? 100 * Math.max(0, (q - (ys.length - 1)) / q) : 0 };
  }

  // DerSimonian and Laird's (1986) moment estimate, truncated at zero.
  function tau2DL(ys, vs) {
    const fixed = weighted(ys, vs, 0);
    const c = fixed.total - sum(fixed.w.map(function (wi) {
      return wi * wi;
    })) / fixed.total;
    return c > 0 ? Math.max(0, (fixed.q - (ys.length - 1)) / c) : 0;
  }

  // Brent's method for the root of f between a and b, where f changes sign, to within 1e-14 + 1e-13 |root|
  // (meta_analysis.py's brentq tolerances): inverse quadratic or secant steps, bisection whenever they stall.
  function brentRoot(f, a, b) {
    let fa = f(a);
    let fb = f(b);
    let c = a;
    let fc = fa;
    let d = b - a;
    let e = d;
    for (let i = 0; i < 500; i += 1) {
      if ((fb > 0) === (fc > 0)) {
        c = a;
        fc = fa;
        d = b - a;
        e = d;
      }
      if (Math.abs(fc) < Math.abs(fb)) {
        a = b;
        b = c;
        c = a;
        fa = fb;
        fb = fc;
        fc = fa;
      }
      const tolerance = (1e-14 + 1e-13 * Math.abs(b)) / 2;
      const half = (c - b) / 2;
      if (fb === 0 || Math.abs(half) <= tolerance) {
        return b;
      }
      if (Math.abs(e) >= tolerance && Math.abs(fa) > Math.abs(fb)) {
        const s = fb / fa;
        let p;
        let q;
        if (a === c) {
          p = 2 * half * s;
          q = 1 - s;
        } else {
          const qa = fa / fc;
          const r = fb / fc;
          p = s * (2 * half * qa * (qa - r) - (b - a) * (r - 1));
          q = (qa - 1) * (r - 1) * (s - 1);
        }
        if (p > 0) {
          q = -q;
        } else {
          p = -p;
        }
        if (2 * p < Math.min(3 * half * q - Math.abs(tolerance * q), Math.abs(e * q))) {
          e = d;
          d = p / q;
        } else {
          d = half;
          e = d;
        }
      } else {
        d = half;
        e = d;
      }
      a = b;
      fa = fb;
      b += Math.abs(d) > tolerance ? d : half > 0 ? tolerance : -tolerance;
      fb = f(b);
    }
    return b;
  }

  // Paule and Mandel's (1982) estimate: the root of the generalised Q(tau2) = k - 1, or 0 when Q(0) <= k - 1.
  function tau2PM(ys, vs) {
    const target = ys.length - 1;
    if (weighted(ys, vs, 0).q <= target) {
      return 0;
    }
    // Q(tau2) < (max y - min y)^2 k / tau2, so the root lies below this; doubling only guards against rounding.
    const range = Math.max.apply(null, ys) - Math.min.apply(null, ys);
    let high = Math.max(range * range * ys.length / target, 1e-12);
    while (weighted(ys, vs, high).q > target) {
      high *= 2;
    }
    return brentRoot(function (tau2) {
      return weighted(ys, vs, tau2).q - target;
    }, 0, high);
  }

  const TAU2 = { dl: tau2DL, pm: tau2PM };

  function expitPercent(x) {
    return 100 / (1 + Math.exp(-x));
  }

  // Cohorts' {responders, n} pooled with tau2 by 'dl' or 'pm': a Wald 95% interval, and a 95% prediction interval
  // (t with k - 2 degrees of freedom, Higgins et al. 2009) when k >= 3; on the logit scale and in per cent.
  function randomEffects(cohorts, method) {
    if (!Object.prototype.hasOwnProperty.call(TAU2, method)) {
      throw new RangeError("method must be 'dl' or 'pm', not " + method);
    }
    if (!Array.isArray(cohorts) || cohorts.length === 0) {
      throw new RangeError("need at least one cohort");
    }
    const cells = cohorts.map(function (cohort) {
      return logitProportion(cohort.responders, cohort.n);
    });
    const ys = cells.map(function (cell) {
      return cell.y;
    });
    const vs = cells.map(function (cell) {
      return cell.v;
    });
    const k = cells.length;
    const tau2 = TAU2[method](ys, vs);
    const pooled = weighted(ys, vs, tau2);
    const se = Math.sqrt(1 / pooled.total);
    const heterogeneity = cochranQ(ys, vs);
    const z = -normalQuantile(TAIL);
    const half = k >= 3 ? -studentTQuantile(TAIL, k - 2) * Math.sqrt(tau2 + se * se) : null;
    const mean = pooled.mean;
    const result = {
      method: method, k: k, mean: mean, se: se, ciLow: mean - z * se, ciHigh: mean + z * se, tau2: tau2,
      q: heterogeneity.q, i2: heterogeneity.i2,
      piLow: half === null ? null : mean - half, piHigh: half === null ? null : mean + half,
    };
    result.value = expitPercent(result.mean);
    result.ciLowPct = expitPercent(result.ciLow);
    result.ciHighPct = expitPercent(result.ciHigh);
    result.piLowPct = half === null ? null : expitPercent(result.piLow);
    result.piHighPct = half === null ? null : expitPercent(result.piHigh);
    return result;
  }

  window.AtlasPool = Object.freeze({
    logitProportion: logitProportion,
    cochranQ: cochranQ,
    tau2DL: tau2DL,
    tau2PM: tau2PM,
    randomEffects: randomEffects,
    exactInterval: exactInterval,
    studentTQuantile: studentTQuantile,
    normalQuantile: normalQuantile,
  });
})();
