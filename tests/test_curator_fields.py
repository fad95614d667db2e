"""What the curators could not see: a title they do not know (not one the document lacks), a figure not available
to them (not one the source does not report)."""

from __future__ import annotations

from pathlib import Path

import pytest

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.entries import rate_entry
from build_scripts.load.model import Publication
from build_scripts.load.parts import Outcome
from build_scripts.load.vocabulary import STATUSES
from build_scripts.render.citations import publication_item
from build_scripts.render.export import outcome_rows
from build_scripts.render.links import cited_title, publication_title, short_citation
from build_scripts.render.members import measure_summary, members
from build_scripts.render.pages import figure_text
from build_scripts.render.record_pages import publication_context

ROOT = Path(__file__).resolve().parent.parent
SOURCE = {"publication": "x", "location": "Figure 2C (image; value not stated in the text)"}


@pytest.fixture(scope="module")
def evidence():
    return validate_tree(ROOT / "evidence")


# ---------------------------------------------------------------- titles

@pytest.mark.parametrize("status, shown, cited", [
    ("given", "Daratumumab after daratumumab", "Daratumumab after daratumumab"),
    ("supplied", "[Daratumumab after daratumumab]", "[Daratumumab after daratumumab]"),
    ("not_known", "[Daratumumab after daratumumab]",
     "[Daratumumab after daratumumab] (published title not known to the curators)"),
])
def test_a_title_says_whose_words_it_is(status, shown, cited):
    publication = Publication(id="x", type="letter", title="Daratumumab after daratumumab", title_status=status)
    assert publication_title(publication) == shown == short_citation(publication)
    assert cited_title(publication) == cited == publication_item(publication).title


def test_a_title_status_outside_the_vocabulary_is_refused():
    with pytest.raises(ValueError, match="not a known title status"):
        Publication(id="x", type="letter", title="T", title_status="guessed")


@pytest.mark.parametrize("publication_id", ["athens-dara-imid-letter", "pom-pad-dara-after-mor202-case-report",
                                            "uk-isapomdex-case-series-article"])
def test_the_sources_whose_extracted_text_lacks_the_title_are_marked_not_known(evidence, publication_id):
    publication = evidence.publications[publication_id]
    assert publication.title_status == "not_known"
    context = publication_context(evidence, publication_id)
    assert context["title_status"].label.startswith("Not known to the curators")
    assert context["heading"].startswith("[")


def test_a_given_title_has_no_status_row(evidence):
    assert publication_context(evidence, "frerichs-2021-blood-adv")["title_status"] is None


# ---------------------------------------------------------------- figures not available to the curators

def test_not_available_has_no_value_like_not_reported():
    outcome = Outcome(measure="orr", status="not_available", value=10.0, unit="percent", source=SOURCE)
    assert any(field == "value" for field, _ in outcome.domain_problems())
    empty = Outcome(measure="orr", status="not_available", source=SOURCE)
    assert list(empty.domain_problems()) == [] and figure_text(empty) == "Not available to the curators"
    assert STATUSES["not_available"].label != STATUSES["not_reported"].label


def test_a_figure_only_in_a_chart_image_is_not_available_not_unreported(evidence):
    study = evidence.studies["kikuchi-2023-isa-after-dara"]
    orr = next(o for o in study.cohorts[0].outcomes if o.measure == "orr")
    assert orr.status == "not_available" and "image" in orr.source.location
    row = next(r for r in outcome_rows(evidence) if r["study_id"] == study.id and r["measure"] == "orr")
    assert row["status"] == "not_available" and row["value"] is None


def test_the_summary_counts_not_available_apart_from_did_not_report(evidence):
    everyone = members(evidence)
    found = measure_summary(evidence, everyone, "orr", "summary/")
    kikuchi = next(m for m in everyone if m.study.id == "kikuchi-2023-isa-after-dara")
    assert kikuchi.key in {m.key for m in found.unavailable}
    assert kikuchi.key not in {m.key for m in found.missing}
    assert found.status_of(kikuchi)[0] == "unavailable"
    assert f"of {len(found.unavailable)} of {found.total} cohorts not available to the curators" in found.unavailable_text
    assert f"{len(found.missing)} of {found.total} cohorts did not report ORR" == found.missing_text


def test_the_pooling_gives_not_available_as_its_own_reason(evidence):
    study = evidence.studies["kikuchi-2023-isa-after-dara"]
    assert rate_entry(study, study.cohorts[0], "orr").reason == "not_available"
