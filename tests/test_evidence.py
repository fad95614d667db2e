"""The real evidence base: complete against its sources, every figure sourced, every record on the site."""

import csv
import re

import pytest

from build_scripts.checks import validate_tree
from build_scripts.evidence import evidence_type
from build_scripts.vocabulary import RECORD_KINDS

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
    assert len(rows) == sum(len(c.outcomes) for s in evidence.studies.values() for c in s.cohorts)
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


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the source documents (../shared/seeds) are not beside the checkout")
def test_every_figure_taken_from_a_source_document_is_printed_in_it(evidence):
    """A figure not marked derived must appear, as a number, in the text of the document it cites."""
    texts = {pid: (SEEDS / name).read_text(encoding="utf-8") for pid, name in SEED_OF_PUBLICATION.items()}
    missing, checked = [], 0
    for study in evidence.studies.values():
        for cohort in study.cohorts:
            for outcome in cohort.outcomes:
                text = texts.get(outcome.source.publication)
                if text is None or outcome.derived:
                    continue
                for name in ("value", "ci_low", "ci_high", "range_low", "range_high", "n", "responders"):
                    value = getattr(outcome, name)
                    if value is None:
                        continue
                    checked += 1
                    if not any(re.search(rf"(?<![\d.]){re.escape(form)}(?!\d)", text) for form in _printed_forms(value)):
                        missing.append(f"{study.id}/{cohort.id} {outcome.measure}.{name}={value} ({outcome.source.location})")
    assert checked > 100
    assert missing == []


def _sourced_numbers(study):
    """(publication, location, what, number) for every sourced number of a study other than outcomes."""
    from build_scripts.checks import walk_parts
    from build_scripts.model import AdverseEvent, PatientCount, Patient, PriorLines, Refractoriness, ResponseShare

    fields = {PatientCount: ("value",), PriorLines: ("median", "low", "high"),
              Refractoriness: ("percent", "patients", "n"), AdverseEvent: ("patients", "percent", "n"),
              ResponseShare: ("patients", "percent", "n")}
    for path, part in walk_parts(study):
        names = fields.get(type(part))
        if names and not part.derived:
            for name in names:
                value = getattr(part, name)
                if value is not None:
                    yield part.source, f"{'.'.join(map(str, path))}.{name}", value
        if isinstance(part, Patient) and not part.derived:
            for attribute in part.attributes:
                if isinstance(attribute.value, (int, float)) and not isinstance(attribute.value, bool):
                    yield part.source, f"{'.'.join(map(str, path))}.{attribute.name}", attribute.value
            for line in part.lines:
                if line.cycles is not None:
                    yield part.source, f"{'.'.join(map(str, path))}.line{line.line}.cycles", line.cycles


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the source documents (../shared/seeds) are not beside the checkout")
def test_every_population_safety_and_patient_number_is_printed_in_its_source(evidence):
    texts = {pid: (SEEDS / name).read_text(encoding="utf-8") for pid, name in SEED_OF_PUBLICATION.items()}
    missing, checked = [], 0
    for study in evidence.studies.values():
        for source, what, value in _sourced_numbers(study):
            text = texts.get(source.publication)
            if text is None:
                continue
            checked += 1
            if not any(re.search(rf"(?<![\d.]){re.escape(form)}(?!\d)", text) for form in _printed_forms(float(value))):
                missing.append(f"{study.id} {what}={value} ({source.location})")
    assert checked > 100
    assert missing == []
