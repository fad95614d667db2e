"""The Explore page's data file and page (render/explore.py, templates/explore.md.j2): every cohort with the figures,
axes, eligibility and overlaps the build derives for every other page, the build's own estimates, the page's
skeleton for its script, and, without JavaScript, the build's questions and answers.

The page's script (assets/atlas-explore.js) and the pooling in the browser are tested on the JavaScript side."""

from __future__ import annotations

import json
import re
import shutil
from html import unescape
from pathlib import Path

import pytest
import yaml

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.entries import cohorts_may_share_patients, rate_entry
from build_scripts.derive.exact import clopper_pearson
from build_scripts.derive.facts import exposure_status, question_fit
from build_scripts.derive.guide import validate_with_guide
from build_scripts.derive.partners import index_switch, partners
from build_scripts.derive.questions import AXES
from build_scripts.derive.synthesis import synthesise
from build_scripts.derive.synthesis_types import MIN_COHORTS, Entry
from build_scripts.load.evidence import evidence_type, first_publication_year
from build_scripts.load.release import read_release
from build_scripts.load.vocabulary import POOLED_MEASURES
from build_scripts.render import jobs
from build_scripts.render.explore import EXPLORE_DATA, INTERVAL_DECIMALS, explore_json
from build_scripts.render.templating import template_environment
from conftest import ROOT, VALID, fixture_content
from hostile import SHAPES

SKELETON_IDS = ("explore-form", "explore-result", "explore-forest", "explore-table", "explore-held", "explore-csv",
                "explore-cite", "explore-citation", "explore-static", "explore-live")
FORM_NAMES = ("measure", "index_switch", "partner_group", "prior_status", "design", "evidence_type", "q", "year_min",
              "year_max", "n_min")


def unpack(data: dict) -> dict[str, dict]:
    """The rows of data/explore.json by key, each a dict with the contract's fields, decoded as the script does."""
    studies = [dict(zip(data["study_fields"], study)) for study in data["studies"]]
    texts, publications = data["texts"], data["publications"]
    rows = [dict(zip(data["fields"], row)) for row in data["rows"]]
    keys = [f"{studies[row['study']]['id']}/{row['cohort']}" for row in rows]
    out = {}
    for key, row in zip(keys, rows):
        study = studies[row["study"]]
        figures = {}
        for measure, found in zip(data["measures"], row["figures"]):
            if isinstance(found, int):
                figures[measure] = {"why": texts[found]}
            else:
                figure = dict(zip(data["figure_fields"], found))
                figure["publication"] = publications[figure["publication"]]
                figure["location"] = texts[figure["location"]]
                figures[measure] = figure
        out[key] = {**row, "key": key, "study": study["id"], "title": study["title"], "year": study["year"],
                    "design": study["design"], "evidence_type": study["evidence_type"],
                    "href": f"../{data['urls']['study']}{study['id']}/#cohort-{row['cohort']}",
                    "why_not": texts[row["why_not"]] if row["why_not"] is not None else None,
                    "figures": figures, "overlaps": [keys[number] for number in row["overlaps"]]}
    return out


@pytest.fixture(scope="module")
def real():
    """The real evidence, its guide and the synthesis, computed here independently of the build."""
    evidence, guide = validate_with_guide(ROOT / "evidence", ROOT / "content")
    return evidence, guide, synthesise(evidence, guide.questions.items)


@pytest.fixture(scope="module")
def data(real_site):
    return json.loads((real_site / EXPLORE_DATA).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rows(data):
    return unpack(data)


@pytest.fixture(scope="module")
def page(real_site):
    return (real_site / "explore" / "index.html").read_text(encoding="utf-8")


def cohorts(evidence):
    for study in sorted(evidence.studies.values(), key=lambda s: s.id):
        for order, cohort in enumerate(study.cohorts):
            yield study, order, cohort


def element(html: str, element_id: str) -> str:
    """The HTML of the element with this id, up to its closing tag (a <div> may hold <div>s)."""
    start = re.search(rf'<(\w+)\b[^>]*\bid="{element_id}"', html)
    assert start, f"no element with id {element_id}"
    tag, depth, at = start.group(1), 0, start.start()
    for found in re.finditer(rf"<(/?){tag}\b[^>]*>", html[at:]):
        depth += -1 if found.group(1) else 1
        if depth == 0:
            return html[at: at + found.end()]
    raise AssertionError(f"{element_id} is not closed")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


# ---------------------------------------------------------------- the data file


def test_the_data_file_has_one_row_per_cohort_of_every_study_in_order(real, data, rows):
    evidence, _, _ = real
    assert list(rows) == [f"{study.id}/{cohort.id}" for study, _, cohort in cohorts(evidence)]
    assert [s[0] for s in data["studies"]] == sorted(evidence.studies)
    for study, order, cohort in cohorts(evidence):
        row = rows[f"{study.id}/{cohort.id}"]
        assert (row["title"], row["label"], row["order"]) == (study.title, cohort.label, order)
        assert (row["year"], row["design"], row["evidence_type"]) == (
            first_publication_year(evidence, study), study.design, evidence_type(study))
        assert row["href"] == f"../studies/{study.id}/#cohort-{cohort.id}"


def test_each_figure_is_rate_entrys_with_its_exact_interval(real, rows):
    evidence, _, _ = real
    entries = 0
    for study, _, cohort in cohorts(evidence):
        for measure in POOLED_MEASURES:
            found, want = rows[f"{study.id}/{cohort.id}"]["figures"][measure], rate_entry(study, cohort, measure)
            if not isinstance(want, Entry):
                assert found == {"why": want.detail}
                continue
            entries += 1
            low, high = clopper_pearson(want.responders, want.n)
            assert found == {"r": want.responders, "n": want.n, "value": want.value,
                             "low": round(low, INTERVAL_DECIMALS), "high": round(high, INTERVAL_DECIMALS),
                             "r_derived": int(want.responders_derived), "n_from_cohort": int(want.n_from_cohort),
                             "publication": want.source.publication, "location": want.source.location}
    assert entries > 20


def test_in_question_and_why_not_are_question_fit(real, rows):
    evidence, _, _ = real
    for study, _, cohort in cohorts(evidence):
        fit, row = question_fit(evidence, study, cohort), rows[f"{study.id}/{cohort.id}"]
        assert (row["in_question"], row["why_not"]) == (fit.value, None if fit.value else fit.reason)
    assert {row["in_question"] for row in rows.values()} == {True, False}


def test_axes_patients_and_control_arms_are_the_derived_ones(real, rows):
    evidence, _, _ = real
    for study, _, cohort in cohorts(evidence):
        row = rows[f"{study.id}/{cohort.id}"]
        assert row["index_switch"] == index_switch(evidence, study, cohort).name
        assert row["partner_group"] == partners(evidence, study, cohort).name
        assert row["prior_status"] == exposure_status(study, cohort).status
        n = cohort.population.n if cohort.population is not None else None
        assert row["patients"] == (n.value if n is not None else None)
        assert row["control"] == (cohort.id in {c.control for c in study.comparisons})
    assert any(row["control"] for row in rows.values())


def test_overlaps_are_cohorts_that_may_share_patients_within_a_study_and_across_related_studies(real, rows):
    evidence, _, _ = real
    across = 0
    for study, _, cohort in cohorts(evidence):
        related = {other for other, _, _ in evidence.related_by_study.get(study.id, ())}
        want = []
        for other_study, _, other in cohorts(evidence):
            if (other_study.id, other.id) == (study.id, cohort.id):
                continue
            shares = cohorts_may_share_patients(evidence, study, cohort.id, other_study, other.id)
            if other_study.id != study.id and other_study.id not in related:
                assert not shares
            if shares:
                want.append(f"{other_study.id}/{other.id}")
                across += other_study.id != study.id
        assert sorted(rows[f"{study.id}/{cohort.id}"]["overlaps"]) == sorted(want)
    assert across > 0, "the real evidence links no studies: the test checks nothing across studies"


def test_known_estimates_are_the_synthesis_primary_estimates_and_used_sets(real, data):
    _, _, synthesis = real
    analyses = [*synthesis.analyses, *(a for answer in synthesis.answers for a in answer.analyses)]
    want = [(a.measure, sorted(e.key for e in a.used), a.primary) for a in analyses
            if not a.sensitivity and a.primary is not None]
    assert len(data["known"]) == len(want) > 0
    for found, (measure, keys, estimate) in zip(data["known"], want):
        assert (found["measure"], found["keys"]) == (measure, keys)
        assert len(keys) >= MIN_COHORTS
        for name in ("value", "ci_low", "ci_high", "pi_low", "pi_high", "tau2"):
            assert found[name] == pytest.approx(getattr(estimate, name), abs=1e-9), name


def test_the_header_gives_release_measures_and_facets_from_the_topic(data, rows):
    release = read_release(ROOT)
    assert (data["release"], data["built"], data["min_cohorts"]) == (release.version, release.date, MIN_COHORTS)
    assert list(data["measures"]) == list(POOLED_MEASURES)
    labels = {axis.derivation: axis.label for axis in AXES.values()}
    for name, facet in data["facets"].items():
        assert facet["label"] == labels[name]
        assert {row[name] for row in rows.values()} <= set(facet["values"]), name


def test_the_data_file_stays_compact(real_site, rows):
    # No field name, study title or long reason is repeated per cohort: at 25,000 cohorts the file stays a few MB.
    size = (real_site / EXPLORE_DATA).stat().st_size
    assert size / len(rows) < 500, f"{size} bytes for {len(rows)} cohorts"


# ---------------------------------------------------------------- the page


def test_the_page_has_the_skeleton_its_script_fills(page):
    for element_id in SKELETON_IDS:
        assert re.search(rf'\bid="{element_id}"', page), element_id
    form = element(page, "explore-form")
    for name in FORM_NAMES:
        assert re.search(rf'\bname="{name}"', form), name
    assert 'aria-live="polite"' in re.search(r'<div[^>]*id="explore-result"[^>]*>', page).group(0)
    table = re.search(r'<table[^>]*id="explore-table"[^>]*>', page).group(0)
    assert 'data-src="../data/explore.json"' in table and 'data-root="../"' in table
    assert re.search(r'<figure[^>]*id="explore-forest"[^>]*>\s*<figcaption>', page)


def test_the_page_loads_its_two_scripts_and_no_inline_script(page, real_site):
    others = set(re.findall(r'<script\b[^>]*\bsrc="([^"]+)"', (real_site / "studies" / "index.html").read_text()))
    own = [src for src in re.findall(r'<script\b[^>]*\bsrc="([^"]+)"', page) if src not in others]
    assert own == ["../assets/atlas-pool.js", "../assets/atlas-explore.js"]
    article = element(page, "explore-static")
    assert "<script" not in article
    assert not re.search(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>\s*\S",
                         element(page, "explore-live"))
    assert not re.search(r"\son[a-z]+=", page)


def test_without_javascript_the_page_shows_every_question_with_its_answer(page, real_site, real):
    _, guide, synthesis = real
    assert re.search(r'<div id="explore-live" hidden>', page)
    static = element(page, "explore-static")
    assert "hidden" not in re.search(r"<div[^>]*>", static).group(0)
    questions = text_of((real_site / "questions" / "index.html").read_text(encoding="utf-8"))
    assert synthesis.answers and len(synthesis.answers) == len(guide.questions.items)
    for answer in synthesis.answers:
        card = element(static, f"explore-answer-{answer.question.id}")
        assert f'href="../questions/{answer.question.id}/"' in card
        text = text_of(card)
        assert answer.question.question in text
        headline = text_of(re.search(r'<p class="atlas-answer-headline">(.*?)</p>', card, re.S).group(1))
        assert headline in questions  # the questions page's own answer
        analysis = answer.analysis(POOLED_MEASURES[0]) or answer.analyses[0]
        if analysis.primary is not None:
            assert f"pooled {analysis.primary.value:.1f}% (95% CI {analysis.primary.ci_low:.1f}" in text
            assert f"k = {analysis.k}, {analysis.patients} patients" in text
        else:
            assert "not pooled" in text.lower() or "no cohort gives" in text


def test_the_intro_names_what_never_enters_and_the_methods(page):
    text = text_of(page)
    for words in ("exploratory", "control arm", "subgroup with its parent", "DerSimonian-Laird", "Paule-Mandel",
                  "logit", "Clopper-Pearson", "prediction interval", "I²", "τ²", f"fewer than {MIN_COHORTS}"):
        assert words in text, words


def test_explore_is_in_the_navigation_after_the_studies(real_site):
    home = (real_site / "index.html").read_text(encoding="utf-8")
    tabs = re.findall(r'<a href="([^"]+)" class="md-tabs__link', home)
    assert "explore/" in tabs and tabs.index("explore/") == tabs.index("studies/") + 1


# ---------------------------------------------------------------- hostile text


def test_a_hostile_cohort_label_stays_data(tmp_path):
    names = ("script", "img-onerror", "dq-breakout", "close-script", "jinja-expression", "block-placeholder",
             "js-template", "entities")
    hostile = " ".join(s.text(1) for s in SHAPES if s.name in names)
    evidence_dir = tmp_path / "evidence"
    shutil.copytree(VALID, evidence_dir)
    path = evidence_dir / "studies" / "fixture-dpd-retreatment.yaml"
    record = yaml.safe_load(path.read_text(encoding="utf-8"))
    record["cohorts"][0]["label"] = hostile
    record["title"] = hostile
    path.write_text(yaml.safe_dump(record, allow_unicode=True, sort_keys=False), encoding="utf-8")
    evidence, guide = validate_with_guide(evidence_dir, fixture_content(tmp_path))
    synthesis = synthesise(evidence, guide.questions.items)

    data = json.loads(explore_json(evidence, synthesis, read_release(ROOT)))
    found = unpack(data)[f"fixture-dpd-retreatment/{record['cohorts'][0]['id']}"]
    assert found["label"] == hostile and found["title"] == hostile

    made = {job.name: job for job in jobs.page_jobs(evidence, template_environment(ROOT / "templates"),
                                                    synthesis=synthesis, guide=guide)}
    [explore_page] = made["explore"].make()
    html = explore_page.text + "".join(explore_page.blocks)
    assert not re.search(r'<(?:img|svg|iframe)\b|<script>|\son\w+=|href="(?:javascript|data):', html)
