"""assets/atlas-pool.js in Chromium, under a strict script-src 'self', gives the build's numbers: the random-effects
figures of meta_analysis.py on random and hard sets of cohorts, exact.py's intervals, and scipy's t and normal quantiles."""

from __future__ import annotations

import math
import random
import re
import shutil

import pytest
from scipy import special, stats

from build_scripts.derive.exact import clopper_pearson
from build_scripts.derive.meta_analysis import logit_proportion, random_effects
from build_scripts.derive.synthesis_types import expit_percent
from tools.localsite import served

from conftest import ROOT

SCRIPT = ROOT / "templates" / "assets" / "atlas-pool.js"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self'">
<title>pool</title><script src="atlas-pool.js"></script></head><body></body></html>
"""
METHODS = ("dl", "pm")
# Logit-scale figures, and their percentages, agree to rounding (the issue asks 0.05 percentage points of the page).
TOLERANCES = {  # (absolute, relative)
    "mean": (1e-9, 0), "se": (1e-9, 0), "ci_low": (1e-9, 0), "ci_high": (1e-9, 0), "pi_low": (1e-9, 0),
    "pi_high": (1e-9, 0), "tau2": (1e-9, 1e-7), "q": (1e-9, 1e-9), "i2": (1e-7, 0), "value": (1e-8, 0),
    "ci_low_pct": (1e-8, 0), "ci_high_pct": (1e-8, 0), "pi_low_pct": (1e-8, 0), "pi_high_pct": (1e-8, 0),
}
JS_NAMES = {"ci_low": "ciLow", "ci_high": "ciHigh", "pi_low": "piLow", "pi_high": "piHigh", "ci_low_pct": "ciLowPct",
            "ci_high_pct": "ciHighPct", "pi_low_pct": "piLowPct", "pi_high_pct": "piHighPct"}

POOL_BOTH = """(sets) => sets.map(cohorts => ({
  dl: AtlasPool.randomEffects(cohorts, "dl"), pm: AtlasPool.randomEffects(cohorts, "pm"),
  cells: cohorts.map(c => AtlasPool.logitProportion(c.responders, c.n)),
}))"""


@pytest.fixture(scope="module")
def pool(browser, tmp_path_factory):
    """A blank page that loads atlas-pool.js under a policy allowing only scripts from its own origin."""
    folder = tmp_path_factory.mktemp("pool-page")
    (folder / "index.html").write_text(PAGE, encoding="utf-8")
    shutil.copyfile(SCRIPT, folder / "atlas-pool.js")
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    with served(folder) as url:
        page.goto(f"{url}/index.html", wait_until="load")
        assert page.evaluate("() => typeof window.AtlasPool") == "object"
        yield page
    assert problems == []
    context.close()


def python_pool(counts: list[tuple[int, int]], method: str) -> dict[str, float | None]:
    cells = [logit_proportion(r, n) for r, n in counts]
    fit = random_effects([c[0] for c in cells], [c[1] for c in cells], method)
    figures = {name: getattr(fit, name) for name in ("mean", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2",
                                                     "q", "i2")}
    for name in ("ci_low", "ci_high", "pi_low", "pi_high"):
        figures[f"{name}_pct"] = None if figures[name] is None else expit_percent(figures[name])
    figures["value"] = expit_percent(fit.mean)
    figures["k"] = fit.k
    return figures


def js_pool(page, sets: list[list[tuple[int, int]]]) -> list[dict]:
    return page.evaluate(POOL_BOTH, [[{"responders": r, "n": n} for r, n in counts] for counts in sets])


def differences(counts, js: dict) -> dict[str, float]:
    """Each figure's absolute difference between the script and the build, failing any beyond its tolerance."""
    found = {}
    for method in METHODS:
        expected, got = python_pool(counts, method), js[method]
        assert got["method"] == method and got["k"] == expected["k"] == len(counts)
        for name, (absolute, relative) in TOLERANCES.items():
            want, have = expected[name], got[JS_NAMES.get(name, name)]
            if want is None:
                assert have is None, (counts, method, name, have)
                continue
            gap = abs(have - want)
            assert gap <= max(absolute, relative * abs(want)), (counts, method, name, have, want)
            found[name] = max(found.get(name, 0.0), gap)
    for (r, n), cell in zip(counts, js["cells"]):
        y, v, corrected = logit_proportion(r, n)
        assert (cell["y"], cell["v"], cell["corrected"]) == (y, v, corrected)
    return found


def random_sets(count: int = 320, seed: int = 24) -> list[list[tuple[int, int]]]:
    """Sets of 1 to 40 cohorts of 1 to 500 patients, of ten kinds in turn: any counts; no responders anywhere; every
    patient responding everywhere; mostly none; mostly all; each cohort at 0% or 100% (in half of these sets the same
    cohort over and over, Q = 0); one cohort of 500 among cohorts of 1 to 6; far-apart proportions; near-equal ones
    (Q about k - 1, where DL and PM truncate at 0); cohorts of 1 to 3 patients."""
    rng = random.Random(seed)
    sets = []
    for index in range(count):
        kind, k = index % 10, rng.randint(1, 40)
        repeated = (rng.randint(1, 500), rng.choice((0, 1))) if index % 20 == 5 else None
        cohorts = []
        for position in range(k):
            n = rng.randint(1, 500)
            if kind == 0:
                r = rng.randint(0, n)
            elif kind in (1, 2):
                r = 0 if kind == 1 else n
            elif kind == 3:
                r = 0 if rng.random() < 0.7 else rng.randint(0, max(1, n // 5))
            elif kind == 4:
                r = n if rng.random() < 0.7 else n - rng.randint(0, max(1, n // 5))
            elif kind == 5:
                if repeated:
                    n, r = repeated[0], repeated[0] * repeated[1]
                else:
                    r = rng.choice((0, n))
            elif kind == 6:
                n = 500 if position == 0 else rng.randint(1, 6)
                r = rng.randint(0, n)
            elif kind == 7:
                r = round(rng.choice((0.02, 0.3, 0.7, 0.98)) * n)
            elif kind == 8:
                n = rng.randint(40, 500)
                r = sum(rng.random() < 0.35 for _ in range(n))
            else:
                n = rng.randint(1, 3)
                r = rng.randint(0, n)
            cohorts.append((r, n))
        sets.append(cohorts)
    return sets


def test_random_sets_pool_as_the_build_does(pool):
    sets = random_sets()
    assert sum(all(r == 0 for r, _ in s) for s in sets) >= 10 and sum(all(r == n for r, n in s) for s in sets) >= 10
    assert sum(len(s) == 1 for s in sets) >= 3 and sum(len(s) == 2 for s in sets) >= 3
    worst: dict[str, float] = {}
    for counts, js in zip(sets, js_pool(pool, sets)):
        for name, gap in differences(counts, js).items():
            worst[name] = max(worst.get(name, 0.0), gap)
    # PM's root was found at Q = k - 1 in many sets, not only at the boundary
    assert sum(js["pm"]["tau2"] > 0 for js in js_pool(pool, sets[:40])) >= 10
    assert set(worst) == set(TOLERANCES)


ZERO_CELLS = [(0, 32), (0, 18), (2, 44)]
HARD = {
    "zero cells": ZERO_CELLS,
    "one cohort": [(7, 19)],
    "one cohort with none responding": [(0, 12)],
    "two cohorts": [(3, 20), (15, 22)],
    "two cohorts all responding": [(9, 9), (4, 4)],
    "one large cohort": [(1900, 5000), (0, 2), (1, 3), (3, 4), (2, 2)],
    "high heterogeneity": [(1, 50), (45, 50), (10, 50), (40, 50)],
    "every cohort at none": [(0, 10), (0, 20), (0, 5)],
    "every cohort at all": [(10, 10), (20, 20), (5, 5)],
    "a large cohort beside small ones": [(101, 305), (6, 74), (14, 28), (5, 14), (0, 32)],
}


def test_hard_sets_pool_as_the_build_does(pool):
    results = dict(zip(HARD, js_pool(pool, list(HARD.values()))))
    for name, counts in HARD.items():
        differences(counts, results[name])
    dl = results["zero cells"]["dl"]
    assert [round(x, 1) for x in (dl["value"], dl["ciLowPct"], dl["ciHighPct"])] == [3.4, 1.1, 10.2]
    assert dl["tau2"] == 0 and dl["i2"] == 0
    for name in ("one cohort", "one cohort with none responding", "two cohorts", "two cohorts all responding"):
        for method in METHODS:
            assert results[name][method]["piLow"] is None and results[name][method]["piHighPct"] is None
    assert all(results[name][m]["tau2"] == 0 and results[name][m]["q"] == 0
               for name in ("one cohort", "one cohort with none responding") for m in METHODS)
    heterogeneous = results["high heterogeneity"]
    assert heterogeneous["dl"]["i2"] > 90 and heterogeneous["pm"]["tau2"] > heterogeneous["dl"]["tau2"] > 1
    assert results["every cohort at none"]["dl"]["value"] < 5
    assert all(c["corrected"] for c in results["every cohort at all"]["cells"])


def test_the_heterogeneity_functions_match_the_build_on_the_same_logits(pool):
    from build_scripts.derive.meta_analysis import cochran_q, dersimonian_laird_tau2, paule_mandel_tau2

    sets = [[logit_proportion(r, n)[:2] for r, n in counts] for counts in list(HARD.values()) + random_sets(40, 7)]
    got = pool.evaluate("""(sets) => sets.map(cells => {
      const ys = cells.map(c => c[0]), vs = cells.map(c => c[1]);
      return [AtlasPool.cochranQ(ys, vs), AtlasPool.tau2DL(ys, vs), AtlasPool.tau2PM(ys, vs)];
    })""", sets)
    for cells, (heterogeneity, dl, pm) in zip(sets, got):
        ys, vs = [c[0] for c in cells], [c[1] for c in cells]
        q, i2 = cochran_q(ys, vs)
        assert heterogeneity["q"] == pytest.approx(q, rel=1e-9, abs=1e-9)
        assert heterogeneity["i2"] == pytest.approx(i2, abs=1e-7)
        assert dl == pytest.approx(dersimonian_laird_tau2(ys, vs), rel=1e-7, abs=1e-9)
        assert pm == pytest.approx(paule_mandel_tau2(ys, vs), rel=1e-7, abs=1e-9)


def test_bad_input_is_refused(pool):
    refused = pool.evaluate("""() => [
      () => AtlasPool.randomEffects([{responders: 1, n: 2}], "bn"),
      () => AtlasPool.randomEffects([], "dl"),
      () => AtlasPool.logitProportion(3, 2),
      () => AtlasPool.exactInterval(1.5, 4),
      () => AtlasPool.exactInterval(0, 0),
    ].map(call => { try { call(); return null; } catch (error) { return error.name; } })""")
    assert refused == ["RangeError"] * 5


def test_exact_intervals_are_the_build_s(pool):
    rng = random.Random(38)
    counts = [(r, n) for n in range(1, 41) for r in range(n + 1)]
    counts += [(r, n) for n in (100, 250, 499, 500, 1000, 2000) for r in (0, 1, 2, n // 3, n // 2, n - 1, n)]
    counts += [(r, n) for n in (rng.randint(1, 2000) for _ in range(300)) for r in (rng.randint(0, n),)]
    got = pool.evaluate("(counts) => counts.map(c => AtlasPool.exactInterval(c[0], c[1]))", counts)
    for (r, n), (low, high) in zip(counts, got):
        want = clopper_pearson(r, n)
        assert low == pytest.approx(want[0], abs=1e-9) and high == pytest.approx(want[1], abs=1e-9), (r, n)
        assert (low == 0) == (r == 0) and (high == 100) == (r == n)


T_PROBABILITIES = (1e-10, 1e-6, 0.0005, 0.025, 0.1, 0.25, 0.45, 0.55, 0.6, 0.9, 0.975, 0.995, 0.9999)
T_DEGREES = list(range(1, 201)) + [250, 365, 500, 1000, 2500, 5000, 10000]


def test_t_quantiles_are_scipy_s(pool):
    tail = (1 - 0.95) / 2  # the probability meta_analysis.py asks for
    got = pool.evaluate("""([ps, dfs, tail]) => dfs.map(df => [ps.map(p => AtlasPool.studentTQuantile(p, df)),
                                                              AtlasPool.studentTQuantile(tail, df)])""",
                        [list(T_PROBABILITIES), T_DEGREES, tail])
    for df, (quantiles, lower) in zip(T_DEGREES, got):
        assert lower == pytest.approx(-float(stats.t.isf(tail, df)), rel=1e-10), df
        for p, quantile in zip(T_PROBABILITIES, quantiles):
            assert quantile == pytest.approx(float(stats.t.ppf(p, df)), rel=1e-10), (p, df)
    edges = pool.evaluate("() => [AtlasPool.studentTQuantile(0.5, 3), AtlasPool.studentTQuantile(0.975, Infinity),"
                          " AtlasPool.studentTQuantile(0, 3), AtlasPool.studentTQuantile(1, 3)]")
    assert edges[:2] == [0, pytest.approx(1.959963984540054, abs=1e-15)]
    assert edges[2:] == [-math.inf, math.inf]


def test_normal_quantiles_are_scipy_s(pool):
    ps = [1e-300, 1e-100, 1e-20, 1e-11, 1e-5, 0.001, 0.025, (1 - 0.95) / 2, 0.07, 0.2, 0.425, 0.5, 0.575, 0.8,
          0.925, 0.975, 0.999, 1 - 1e-10]
    got = pool.evaluate("(ps) => ps.map(p => AtlasPool.normalQuantile(p))", ps)
    for p, quantile in zip(ps, got):
        assert quantile == pytest.approx(float(special.ndtri(p)), rel=1e-14, abs=1e-15), p
    assert -got[ps.index((1 - 0.95) / 2)] == pytest.approx(float(stats.norm.isf((1 - 0.95) / 2)), abs=1e-15)


def test_the_script_runs_no_strings_as_code_and_writes_no_markup():
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", SCRIPT.read_text(encoding="utf-8"), flags=re.S)
    for forbidden in (r"\beval\b", r"\bnew\s+Function\b", r"\bFunction\s*\(", r"\binnerHTML\b", r"\bouterHTML\b",
                      r"insertAdjacentHTML", r"document\.write", r"\bsetTimeout\b", r"\bsetInterval\b", r"\bimport\b",
                      r"https?:"):
        assert not re.search(forbidden, code), forbidden
    first = SCRIPT.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("// ") and len(first) <= 120
