"""The real evidence base: complete against its sources, every figure sourced, every record on the site."""

import csv
import datetime as dt
import json
import re

import pytest
from pydantic import BaseModel

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.facts import question_fit
from build_scripts.derive.responses import cohort_outcomes
from build_scripts.derive.question_count import question_count, question_count_note
from build_scripts.load.evidence import evidence_type, patient_count
from build_scripts.load.model import Review, Study
from build_scripts.load.parts import Source
from build_scripts.load.vocabulary import RECORD_KINDS

from conftest import ROOT

REVIEW_ID = "gay-2025-anti-cd38-retreatment-slr"
PRIMARY_STUDIES = {"frerichs-2021-dara-atra", "pom-pad-dara-after-mor202-case", "athens-dara-imid-readdition",
                   "uk-isapomdex-case-series"}


@pytest.fixture(scope="module")
def evidence():
    return validate_tree(ROOT / "evidence")


def test_review_includes_24_studies_6_trials_and_18_real_world(evidence):
    review = evidence.reviews[REVIEW_ID]
    studies = [evidence.studies[s] for s in review.included_studies]
    assert len(set(review.included_studies)) == 24
    kinds = [evidence_type(s) for s in studies]
    assert kinds.count("clinical_trial") == 6 and kinds.count("real_world") == 18


def test_review_discusses_lynx_without_including_it(evidence):
    review = evidence.reviews[REVIEW_ID]
    assert "lynx" not in review.included_studies
    assert [(d.study, d.source.publication) for d in review.discussed_studies] == [("lynx", "gay-2025-front-oncol")]
    assert "cut-off" in review.discussed_studies[0].reason
    assert [r.id for r in evidence.reviews_by_study.get("lynx", [])] == []
    assert [r.id for r, _ in evidence.discussing_reviews_by_study["lynx"]] == [REVIEW_ID]
    # the review's figures across studies are the review's, never one study's
    pooled = [f for f in review.findings if f.id.startswith("pfs-rwe-refractory")]
    assert [(f.value, f.n, len(f.studies)) for f in pooled] == [(3.3, 12, 4), (5.0, 35, 4)]


def test_lynx_arms_status_and_eligibility(evidence):
    lynx = evidence.studies["lynx"]
    assert lynx.design == "randomised" and "gay-2025-front-oncol" in lynx.cited_sources
    assert "gay-2025-front-oncol" not in lynx.publications
    arms = {c.id: c for c in lynx.cohorts if c.role == "arm"}
    assert set(arms) == {"dkd", "kd"}
    # every patient had daratumumab before, so the daratumumab arm is a retreatment and the control is not
    assert lynx.population.prior_exposure.status == "exposed"
    assert lynx.population.prior_exposure.source.publication == "gay-2025-front-oncol"
    assert question_fit(evidence, lynx, arms["dkd"]).value and not question_fit(evidence, lynx, arms["kd"]).value
    assert all(arm.answers_question is None for arm in arms.values())  # derived, never typed
    for arm in arms.values():
        assert {o.measure for o in arm.outcomes} == {"vgpr_or_better", "pfs"}
        assert arm.population.n.status == "not_reported" and arm.population.n.value is None
    assert [(s.status, s.source.publication) for s in lynx.trial_status] == [
        ("ongoing", "frerichs-2021-blood-adv"), ("terminated", "gay-2025-front-oncol")]
    assert lynx.trial_status[-1].reason == "futility" and lynx.eligibility
    assert {(c.measure, c.experimental, c.control, c.effect_measure) for c in lynx.comparisons} == {
        ("vgpr_or_better", "dkd", "kd", "not_reported"), ("pfs", "dkd", "kd", "not_reported")}


def test_second_hand_figures_cite_their_documents_without_becoming_publications(evidence):
    nooka, mikhael = evidence.studies["nooka-2019-dpd"], evidence.studies["mikhael-2021-isa"]
    assert nooka.cited_sources == ["athens-dara-imid-letter"] and "athens-dara-imid-letter" not in nooka.publications
    sizes = {c.id: c.population.n.value for c in nooka.cohorts if c.population and c.population.n}
    assert sizes == {"dpd-2016": 41, "dpd-2016-naive": 19, "dpd-2016-refractory-to-either": 10,
                     "dpd-2016-dara-pom-refractory": 12}
    assert mikhael.cited_sources == ["uk-isapomdex-case-series-article"]
    shares = [(b.category, b.patients, b.n) for c in mikhael.cohorts for b in c.best_response]
    assert shares == [("mr", 1, 32), ("sd", 17, 32)]


def test_review_studies_are_reported_in_34_publications(evidence):
    review = evidence.reviews[REVIEW_ID]
    publications = {p for s in review.included_studies for p in evidence.studies[s].publications}
    assert len(publications) == 34
    assert review.prisma.publications_included == 34 and review.prisma.studies_included == 24


def test_primary_documents_are_studies_with_per_patient_data_where_given(evidence):
    assert PRIMARY_STUDIES <= set(evidence.studies)
    for study_id in PRIMARY_STUDIES - {"frerichs-2021-dara-atra"}:
        patients = [p for c in evidence.studies[study_id].cohorts for p in c.patients]
        assert patients, f"{study_id} has no per-patient data"


def test_every_outcome_names_a_publication_and_a_location(evidence):
    for study in evidence.studies.values():
        for cohort in study.cohorts:
            for outcome in cohort.outcomes:
                assert outcome.source.publication in evidence.publications
                assert len(outcome.source.location) >= 3


def test_every_record_has_a_page_and_every_figure_a_row(evidence, real_site):
    for kind in RECORD_KINDS:
        for record_id in evidence.by_kind(kind):
            assert (real_site / RECORD_KINDS[kind].url(record_id) / "index.html").is_file(), (kind, record_id)
    with open(real_site / "data" / "outcomes.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # every recorded figure, and every rate the atlas computed from per-patient responses (marked derived)
    computed = sum(len(cohort_outcomes(c)) - len(c.outcomes) for s in evidence.studies.values() for c in s.cohorts)
    assert len(rows) == sum(len(c.outcomes) for s in evidence.studies.values() for c in s.cohorts) + computed
    assert computed == sum("computed by the atlas" in row["derivation"] and row["derived"] == "true" for row in rows)
    with open(real_site / "data" / "studies.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == len(evidence.studies)


def test_every_discrepancy_is_flagged_on_its_study_page(evidence, real_site):
    flagged = 0
    for study in evidence.studies.values():
        html = (real_site / "studies" / study.id / "index.html").read_text()
        for discrepancy in study.discrepancies:
            assert f'id="discrepancy-{discrepancy.id}"' in html
            flagged += 1
        if study.discrepancies:
            assert "atlas-flag-banner" in html
    assert flagged >= 5


def test_frerichs_trial_page_shows_outcomes_with_ci_n_and_location(real_site):
    html = (real_site / "studies" / "frerichs-2021-dara-atra" / "index.html").read_text()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "2.8 months" in text and "95% CI 1.6–4" in text
    assert "2/44" in text
    assert "Results, Efficacy of daratumumab combined with ATRA at the RP2D" in text


SEEDS = ROOT.parent / "shared" / "seeds"
SEED_OF_PUBLICATION = {
    "pom-pad-dara-after-mor202-case-report": "000_670e965c3f2dafd1.txt",
    "athens-dara-imid-letter": "001_2be15b03738635b5.txt",
    "frerichs-2021-blood-adv": "002_beb4431eb04a7b58.txt",
    "uk-isapomdex-case-series-article": "003_e06e30f41ba83325.txt",
    "gay-2025-front-oncol": "004_7272eeb604d5c4fc.txt",
}


_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
         "seventeen eighteen nineteen".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


def _in_words(number: int) -> str | None:
    if 0 <= number < 20:
        return _UNITS[number]
    if 20 <= number < 100:
        tens, units = divmod(number, 10)
        return _TENS[tens - 2] + (f"-{_UNITS[units]}" if units else "")
    return None


def _printed_forms(value: float) -> list[str]:
    """How a number may appear in a source: as digits (with or without a trailing .0) or, if small, in words."""
    text = f"{value:g}"
    forms = [text, f"{value:.1f}"] if "." not in text else [text, text + "0"]
    words = _in_words(int(value)) if float(value).is_integer() else None
    return forms + ([words, words.capitalize()] if words else [])


def _is_printed(text: str, value: float) -> bool:
    """Whether a number appears in a text as a whole number (not part of 144 or 1.44, 'four' not of 'fourteen')."""
    return any(re.search(rf"(?<![\w.]){re.escape(form)}(?![\w]|\.\d)" if form[0].isalpha() else
                         rf"(?<![\d.]){re.escape(form)}(?!\d)", text) for form in _printed_forms(float(value)))


def sourced_numbers(part: BaseModel, path: tuple = (), source: Source | None = None):
    """(source, field path, number) for every number in a record, with the nearest source that covers it.

    It walks the model generically, so a numeric field added to any record part later is checked without
    a change here. Parts without a source of their own (a patient's attributes and lines of therapy) are
    covered by the source of the part that holds them; a part marked derived is left out with all it holds.
    """
    if isinstance(getattr(part, "source", None), Source):
        source = part.source
    if getattr(part, "derived", False) is True:
        return
    for name, info in type(part).model_fields.items():
        value, key = getattr(part, name), info.alias or name
        items = list(enumerate(value)) if isinstance(value, (list, tuple)) else [(None, value)]
        for index, item in items:
            item_path = path + ((key,) if index is None else (key, index))
            if isinstance(item, BaseModel):
                yield from sourced_numbers(item, item_path, source)
            elif isinstance(item, (int, float)) and not isinstance(item, bool) and source is not None:
                yield source, item_path, item


def test_sourced_numbers_reaches_nested_parts_and_leaves_out_derived_ones():
    source = {"publication": "p", "location": "Table 1"}
    study = Study.model_validate({
        "id": "s", "title": "S", "design": "case_series", "publications": ["p"], "summary": "x",
        "population": {"n": {"value": 12, "source": source}},
        "cohorts": [{
            "id": "c", "label": "C", "role": "overall",
            "outcomes": [
                {"measure": "orr", "value": 40, "unit": "percent", "responders": 2, "n": 5, "source": source},
                {"measure": "orr", "value": 33.3, "unit": "percent", "derived": True, "derivation": "1/3",
                 "source": source},
            ],
            "adverse_events": [{"term": "Anaemia", "grade": "2", "patients": 7, "source": source}],
            "patients": [{"id": "p1", "label": "P1", "source": {"publication": "q", "location": "Table 2"},
                          "attributes": [{"name": "Age", "value": 61}, {"name": "Sex", "value": "F"},
                                         {"name": "ASCT", "value": True}],
                          "lines": [{"line": 2, "regimen_as_stated": "Dd", "cycles": 4}]}],
        }],
    })
    found = {(".".join(map(str, path)), value, src.publication) for src, path, value in sourced_numbers(study)}
    assert found == {
        ("population.n.value", 12, "p"),
        ("cohorts.0.outcomes.0.value", 40, "p"), ("cohorts.0.outcomes.0.responders", 2, "p"),
        ("cohorts.0.outcomes.0.n", 5, "p"), ("cohorts.0.adverse_events.0.patients", 7, "p"),
        ("cohorts.0.patients.0.attributes.0.value", 61, "q"),
        ("cohorts.0.patients.0.lines.0.line", 2, "q"), ("cohorts.0.patients.0.lines.0.cycles", 4, "q"),
    }


def test_sourced_numbers_reaches_review_findings_and_between_arm_comparisons():
    source = {"publication": "r", "location": "Section 3"}
    review = Review.model_validate({
        "id": "r", "title": "R", "publication": "r", "question": "q", "summary": "s", "eligibility": ["e"],
        "search": {"databases": ["Medline"], "start": "inception", "end": dt.date(2022, 1, 1), "source": source},
        "prisma": {"studies_included": 1, "source": source}, "included_studies": ["s"],
        "findings": [{"id": "f", "topic": "PFS", "evidence_type": "all", "statistic": "value", "value": 3.3,
                      "ci_low": 0.5, "ci_high": 6.9, "ci_level": 95, "n": 12, "unit": "months", "source": source}],
    })
    found = {".".join(map(str, path)): value for _, path, value in sourced_numbers(review)}
    assert {key: value for key, value in found.items() if key.startswith("findings")} == {
        "findings.0.value": 3.3, "findings.0.ci_low": 0.5, "findings.0.ci_high": 6.9, "findings.0.ci_level": 95,
        "findings.0.n": 12}
    study = Study.model_validate({
        "id": "s", "title": "S", "design": "randomised", "publications": ["p"], "summary": "x",
        "cohorts": [{"id": "a", "label": "A", "role": "arm"}, {"id": "b", "label": "B", "role": "arm"}],
        "comparisons": [{"measure": "pfs", "experimental": "a", "control": "b", "effect_measure": "hazard_ratio",
                         "value": 0.63, "ci_low": 0.4, "ci_high": 0.9, "ci_level": 95, "source": source}],
    })
    assert {".".join(map(str, path)): value for _, path, value in sourced_numbers(study)} == {
        "comparisons.0.value": 0.63, "comparisons.0.ci_low": 0.4, "comparisons.0.ci_high": 0.9,
        "comparisons.0.ci_level": 95}


def test_printed_forms_accept_digits_and_small_numbers_in_words_only():
    text = "Fourteen patients; ORR 5% (2/44); median 2.80 months; 1.5 mg"
    assert _is_printed(text, 14) and _is_printed(text, 5) and _is_printed(text, 44) and _is_printed(text, 2.8)
    assert not _is_printed(text, 4) and not _is_printed(text, 15) and not _is_printed(text, 0.5)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the source documents (../shared/seeds) are not beside the checkout")
def test_every_number_taken_from_a_source_document_is_printed_in_it(evidence):
    """Every number of every record that cites a source document, unless marked derived, appears in its text."""
    texts = {pid: (SEEDS / name).read_text(encoding="utf-8") for pid, name in SEED_OF_PUBLICATION.items()}
    missing, checked, reached = [], 0, set()
    for kind in RECORD_KINDS:
        for record in evidence.by_kind(kind).values():
            for source, path, value in sourced_numbers(record):
                text = texts.get(source.publication)
                if text is None:
                    continue
                checked += 1
                reached.add((kind, path[0]))
                if not _is_printed(text, value):
                    missing.append(f"{kind} {record.id} {'.'.join(map(str, path))}={value} ({source.location})")
    assert checked > 700
    # every kind of part that holds sourced numbers is reached, the review's findings among them
    assert {("study", "cohorts"), ("study", "population"), ("review", "findings"), ("review", "prisma")} <= reached
    assert missing == []


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_downloads_and_pages_agree_on_every_count(evidence, real_site):
    """studies.csv, outcomes.csv, the study pages and the studies index show the same patient counts."""
    studies = {row["study_id"]: row for row in _read_csv(real_site / "data" / "studies.csv")}
    index = "".join(path.read_text() for path in (real_site / "studies").glob("**/index.html")
                    if path.parent == real_site / "studies" or path.parent.parent.name == "page")
    checked = 0
    for study in evidence.studies.values():
        found = patient_count(study)
        shown = "" if found is None else (str(found[0].value) if found[0].value is not None else "Not reported")
        assert studies[study.id]["n_patients"] == ("" if found is None or found[0].value is None else shown), study.id
        html = (real_site / "studies" / study.id / "index.html").read_text()
        facts = re.search(r"<dt>Patients</dt>\s*<dd>([^<;(]*)", html)
        assert (facts.group(1).strip() if facts else "") == shown, study.id
        row = re.search(rf'<tr><td><a href="{re.escape(study.id)}/">.*?</tr>', index, re.S).group(0)
        # The index never leaves the cell empty: a count not recorded is not reported by the sources.
        cell = re.search(r'<td class="atlas-n">(.*?)</td>', row, re.S).group(1)
        assert re.sub(r"<br>.*", "", cell, flags=re.S) == (shown or "Not reported"), study.id
        # the retreated patients: the same figure in studies.csv, on the study page and under the index's count
        found_retreated = question_count(evidence, study)
        value = "" if found_retreated is None or found_retreated.value is None else str(found_retreated.value)
        assert studies[study.id]["n_retreated"] == value, study.id
        if found_retreated is not None:
            page = re.search(r"<dt>Retreated with an anti-CD38 antibody</dt>\s*<dd>([^<;]*)", html)
            assert page.group(1).strip() == found_retreated.text, study.id
        note = question_count_note(found_retreated, found[0].value if found is not None else None)
        assert (note in cell) if note else "<br>" not in cell, study.id
        checked += found is not None
    assert checked >= 5
    rows = 0
    for row in _read_csv(real_site / "data" / "outcomes.csv"):
        if not row["n"]:
            continue
        html = (real_site / "studies" / row["study_id"] / "index.html").read_text()
        section = html.split(f'id="cohort-{row["cohort_id"]}"', 1)[1].split("</section>", 1)[0]
        counts = f'{row["responders"]}/{row["n"]}' if row["responders"] else f'n = {row["n"]}'
        assert counts in section, (row["study_id"], row["cohort_id"], row["measure"], counts)
        rows += 1
    assert rows >= 20


def test_review_page_lists_24_included_studies_and_lynx_as_discussed(evidence, real_site):
    html = (real_site / "reviews" / REVIEW_ID / "index.html").read_text()
    included = html.split('id="included-studies"', 1)[1].split("<h2", 1)[0]
    discussed = html.split('id="discussed-not-included"', 1)[1].split("<h2", 1)[0]
    assert len(set(re.findall(r'href="\.\./\.\./studies/([^/]+)/"', included))) == 24
    assert "studies/lynx/" not in included and "studies/lynx/" in discussed
    assert "search cut-off" in discussed
    lynx = (real_site / "studies" / "lynx" / "index.html").read_text()
    assert f'href="../../reviews/{REVIEW_ID}/"' in lynx.split('id="discussed-not-included-in"', 1)[1]
    assert 'id="included-in"' not in lynx


def test_lynx_page_shows_both_arms_with_vgpr_pfs_status_and_eligibility(real_site):
    html = (real_site / "studies" / "lynx" / "index.html").read_text()
    arms = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.search(r'<table class="atlas-arms">(.*?)</table>', html, re.S).group(1)))
    for figure in ("48.8%", "95% CI 35.1–62.6", "46.2%", "95% CI 32.3–60.4", "10.7 months", "10.6 months"):
        assert figure in arms
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Status Terminated (futility)" in text and "Ongoing (recruitment not stated)" in text
    assert "1 to 3 prior lines of therapy, one of which contained daratumumab" in text
    assert "not notably different between the arms" in text


def test_no_control_arm_is_charted_or_exported_as_retreatment(evidence, real_site):
    outcomes = _read_csv(real_site / "data" / "outcomes.csv")
    assert {row["anti_cd38_retreatment"] for row in outcomes if (row["study_id"], row["cohort_id"]) == ("lynx", "kd")} \
        == {"false"}
    # on the charts, the control arm appears only as a marked control beside its experimental arm
    for chart_file in (real_site / "charts").glob("*/*.vl.json"):
        spec = json.loads(chart_file.read_text())
        for record in (r for unit in spec.get("vconcat", [spec]) for r in unit["data"]["values"]):
            if record["href"].endswith("studies/lynx/#cohort-kd"):
                assert record["kind"] == "control" and "control arm, not retreatment" in record["label"], chart_file
    assert "studies/lynx/#cohort-dkd" in (real_site / "charts" / "pfs" / "chart-pfs.vl.json").read_text()
