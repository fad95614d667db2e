"""A second atlas, on a made-up topic unrelated to the first (EGFR tyrosine kinase inhibitor rechallenge in lung
cancer, tests/fixtures/second-atlas), builds from the same code into a complete site: a page for every record, the
summary, its questions, one chart per cross-study measure of its topic, a search index and downloads of its measures,
in its topic's words, and with none of the first topic's words on any page or in any download."""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import re

import pytest

from build_scripts.cli import _atlas_defaults
from build_scripts.cli import main as cli_main
from build_scripts.derive.guide import validate_with_guide
from build_scripts.load.topic_model import activate
from build_scripts.publish.pagefind import SEARCH_FOLDER
from build_scripts.publish.search_bundle import SIGNATURE
from tools.site_text import page_text

from second_atlas import SECOND, built_second_atlas, first_topic_words, leak_report, second_topic

STUDIES = {"fixture-osimertinib-rechallenge", "fixture-gefitinib-after-osimertinib",
           "fixture-erlotinib-rechallenge-series", "fixture-randomised-chemotherapy", "fixture-osimertinib-case"}
QUESTIONS = {"tki-alone-after-progression", "tki-with-chemotherapy"}
# Cohorts the atlas must leave out of its question: a chemotherapy control arm and a TKI-naive group.
CONTROL_ARM = "fixture-randomised-chemotherapy/chemotherapy"
NAIVE = "fixture-erlotinib-rechallenge-series/tki-naive"
# Folders of the site that are neither pages nor the atlas's data: the search index and the theme's files.
NOT_DATA = ("pagefind/", "assets/")
# What's new and its feed list the repository's commits that touched the evidence folder: their messages are the
# project's history, shared by both atlases in this repository, not the second atlas's content.
HISTORY = ("whats-new/", "feed.xml")
# A string literal of a script: "...", '...' or `...`.
JS_STRING = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`""")


@pytest.fixture(autouse=True)
def _fixture_topic():
    """Replaces conftest's: every test here runs with the second atlas's topic active."""
    activate(second_topic())


@pytest.fixture(scope="module")
def topic():
    return second_topic()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return built_second_atlas(tmp_path_factory)


@pytest.fixture(scope="module")
def checked():
    """The second atlas's records and guide, validated as the build validates them."""
    return validate_with_guide(SECOND / "evidence", SECOND / "content")


def text_of(site, path: str) -> str:
    return page_text((site / path / "index.html").read_text(encoding="utf-8"))


def rows(site, name: str) -> list[dict[str, str]]:
    with (site / "data" / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- the records --------------------------------------------------------------------------------------------------

def test_its_records_validate_and_every_one_is_plainly_a_fixture(checked):
    evidence, guide = checked
    assert set(evidence.studies) == STUDIES
    assert len(evidence.publications) >= 3 and len(evidence.regimens) >= 5 and len(evidence.agents) >= 5
    for kind in (evidence.studies, evidence.publications, evidence.regimens, evidence.agents):
        assert all(record_id.startswith("fixture-") for record_id in kind), sorted(kind)
    for record in (*evidence.studies.values(), *evidence.publications.values()):
        assert record.title.startswith("Fixture:"), record.title
    for publication in evidence.publications.values():
        assert publication.doi is None or publication.doi.startswith("10.5555/fixture."), publication.doi
        assert publication.pmid is None and publication.pmcid is None
    assert {question.id for question in guide.questions.items} == QUESTIONS
    assert len(guide.statements) == 3


def test_its_topic_is_its_own(topic):
    assert topic.index_class == "egfr_tki"
    assert topic.wording.disease == "EGFR-mutant non-small-cell lung cancer"
    assert set(topic.measure_roles.cross_study_charts) == {"orr", "dcr", "pfs", "os"}
    assert {"ne", "unknown"} <= set(topic.response_categories)


# --- the pages ------------------------------------------------------------------------------------------------------

def test_every_record_has_its_page(site, checked):
    evidence, _ = checked
    for folder, records in (("studies", evidence.studies), ("regimens", evidence.regimens),
                            ("agents", evidence.agents), ("publications", evidence.publications)):
        assert (site / folder / "index.html").is_file(), folder
        for record_id in records:
            assert (site / folder / record_id / "index.html").is_file(), f"{folder}/{record_id}/"
        assert {path.name for path in (site / folder).iterdir() if path.is_dir()} == set(records), folder


@pytest.mark.parametrize("path", ["", "summary/", "summary/details/", "questions/", "derived-axes/", "definitions/",
                                  "regimen-tables/", "charts/", "downloads/", "search/", "whats-new/", "methods/",
                                  "glossary/", "how-to-cite/", "contribute/", "contribute/fields/"])
def test_every_page_of_the_site_is_built(site, path):
    assert (site / path / "index.html").is_file(), f"/{path}"


def test_its_questions_are_answered_and_one_is_pooled(site):
    for question in QUESTIONS:
        assert (site / "questions" / question / "index.html").is_file(), question
    pooled = [row for row in rows(site, "synthesis.csv")
              if row["question"] == "tki-alone-after-progression" and row["measure"] == "orr"
              and row["analysis"] == "primary"]
    assert len(pooled) == 1 and int(pooled[0]["k"]) >= 3 and pooled[0]["value"], pooled
    answer = text_of(site, "questions/tki-alone-after-progression")
    assert "Objective response rate" in answer and "pooled" in answer


def test_the_control_arm_and_the_naive_cohort_are_never_counted(site):
    used = {cohort for row in rows(site, "synthesis.csv") for cohort in row["cohorts_used"].split(";") if cohort}
    assert used and CONTROL_ARM not in used and NAIVE not in used
    trial = text_of(site, "studies/fixture-randomised-chemotherapy")
    series = text_of(site, "studies/fixture-erlotinib-rechallenge-series")
    assert "Carboplatin + pemetrexed (control)" in trial and "EGFR-TKI-naive" in series


def test_the_summary_gives_the_bottom_line_the_questions_and_the_table(site, topic):
    summary = text_of(site, "summary")
    assert "rarely brings a response" in summary  # the bottom line, its figures rendered from the records
    assert "17.5% (7/40)" in summary and "6.1 months (n = 60)" in summary
    assert "After progression on an EGFR TKI, does an EGFR TKI given again on its own bring responses?" in summary
    for name in topic.measure_roles.summary_table:
        assert topic.measures[name].short in summary, name
    assert topic.partner_groups_first["tki_alone"] in summary  # "EGFR TKI alone"
    assert "+ chemotherapy" in summary and "+ anti-VEGF antibody" in summary


def test_one_chart_per_cross_study_measure_of_its_topic(site, topic):
    wanted = {name.replace("_", "-") for name in topic.measure_roles.cross_study_charts}
    assert {path.name for path in (site / "charts").iterdir() if path.is_dir()} == wanted
    index = text_of(site, "charts")
    for name in topic.measure_roles.cross_study_charts:
        folder = site / "charts" / name.replace("_", "-")
        spec = json.loads((folder / f"chart-{name.replace('_', '-')}.vl.json").read_text(encoding="utf-8"))
        label = topic.measures[name].label
        assert spec["description"].startswith(f"{label} across studies."), spec["description"]
        assert (folder / f"chart-{name.replace('_', '-')}.svg").stat().st_size > 0
        assert label in text_of(site, f"charts/{name.replace('_', '-')}") and label in index, label
    # the rate charts hold every retreatment cohort that reports the measure: four alone, one with chemotherapy,
    # one with an anti-VEGF antibody
    orr = text_of(site, "charts/orr")
    for label in ("FIXTURE-OSI-2", "FIXTURE-RCT-2", "Erlotinib after progression on gefitinib",
                  "Erlotinib with bevacizumab after stopping a TKI for side effects"):
        assert label in orr, label


def test_search_indexes_every_page_of_its_records(site, checked):
    evidence, _ = checked
    entry = json.loads((site / SEARCH_FOLDER / "pagefind-entry.json").read_text(encoding="utf-8"))
    assert entry["languages"]["en"]["page_count"] >= len(evidence.studies) + len(evidence.regimens)
    fragments = [json.loads(gzip.decompress(path.read_bytes())[len(SIGNATURE):])
                 for path in (site / SEARCH_FOLDER / "fragment").glob("*.pf_fragment")]
    urls = {fragment["url"] for fragment in fragments}
    for study_id, study in evidence.studies.items():
        assert f"/studies/{study_id}/" in urls, study_id
    titles = " ".join(fragment["meta"].get("title", "") for fragment in fragments)
    assert "Fixture: gefitinib after progression on osimertinib" in titles


def test_the_search_page_offers_its_topics_filters(site, topic):
    search = text_of(site, "search")
    for label in topic.search_filters.values():
        assert label in search, label
    for status in ("Progressed on an EGFR TKI", "EGFR-TKI-naive"):
        assert status in search, status


def test_downloads_carry_its_measures_and_records(site, topic, checked):
    evidence, _ = checked
    outcomes = rows(site, "outcomes.csv")
    measures = {row["measure"] for row in outcomes}
    assert {"orr", "dcr", "pfs", "os", "tki_free_interval", "follow_up"} <= measures <= set(topic.measures)
    assert {row["study_id"] for row in outcomes} == STUDIES
    assert {row["study_id"] for row in rows(site, "studies.csv")} == STUDIES
    package = json.loads((site / "data" / "datapackage.json").read_text(encoding="utf-8"))
    assert package["version"] == "0.0.1"  # the fixture's own data release (its CITATION.cff)
    downloads = (site / "downloads" / "index.html").read_text(encoding="utf-8")
    assert "outcomes.csv" in downloads and "synthesis.csv" in downloads


def test_its_topics_words_are_on_its_pages(site, topic):
    home = text_of(site, "")
    assert "Fixture EGFR-TKI Rechallenge Atlas" in home and "non-small-cell lung cancer" in home
    study = text_of(site, "studies/fixture-osimertinib-rechallenge")
    assert topic.exposure_statuses["progressed"].label in study  # "Progressed on an EGFR TKI"
    for name in ("orr", "dcr", "pfs", "os"):
        assert topic.measures[name].label in study, name
    definitions = text_of(site, "definitions")
    for measure in topic.measures.values():
        assert measure.label in definitions, measure.label
    for category in topic.response_categories.values():
        assert category.label in definitions, category.label
    axes = text_of(site, "derived-axes")
    for status in ("progressed", "stopped_without_progression", "naive"):  # the statuses its records give
        assert topic.exposure_statuses[status].label in axes, status
    assert topic.partner_groups_last["no_rechallenge"] in axes  # "Not an EGFR-TKI rechallenge"
    case = text_of(site, "studies/fixture-osimertinib-case")
    assert "Partial response" in case or "PR" in case


# --- none of the first topic's words --------------------------------------------------------------------------------

def test_no_page_shows_a_word_of_the_first_topic(site):
    """Every page's visible text (text nodes, alt, title and aria-label) is in the second topic's words only."""
    leaks = {}
    for path in sorted(site.rglob("*.html")):
        relative = path.relative_to(site).as_posix()
        if relative.startswith(NOT_DATA + HISTORY):
            continue
        found = first_topic_words(page_text(path.read_text(encoding="utf-8")))
        if found:
            leaks[relative] = found
    assert not leaks, leak_report(leaks)


def test_no_download_chart_or_citation_file_holds_a_word_of_the_first_topic(site):
    """The data files: downloads, chart specs and images, citation files, the feed and the sitemap."""
    leaks = {}
    for path in sorted(site.rglob("*")):
        relative = path.relative_to(site).as_posix()
        if (not path.is_file() or relative.startswith(NOT_DATA + HISTORY) or path.suffix in (".html", ".gz", ".png")):
            continue
        found = first_topic_words(path.read_text(encoding="utf-8"))
        if found:
            leaks[relative] = found
    assert not leaks, leak_report(leaks)


def test_the_atlas_scripts_the_site_ships_name_nothing_of_the_first_topic(site):
    """The atlas's own scripts (assets/atlas-*.js) write labels into pages: their strings are the topic's too."""
    leaks = {}
    for path in sorted((site / "assets").glob("atlas-*.js")):
        # its string literals: what it can write into a page (comments and names are not shown to readers)
        code = re.sub(r"/\*.*?\*/|(?<![:\"'\\])//[^\n]*", "", path.read_text(encoding="utf-8"), flags=re.S)
        strings = JS_STRING.findall(code)
        found = first_topic_words("\n".join(strings))
        if found:
            leaks[path.relative_to(site).as_posix()] = found
    assert not leaks, leak_report(leaks)


def test_the_command_line_takes_the_atlas_folder_and_finds_its_parts_there(capsys):
    assert cli_main(["--atlas", str(SECOND), "validate"]) == 0
    records = [path for path in (SECOND / "evidence").glob("*/*.yaml")]
    assert capsys.readouterr().out.strip() == f"{len(records)} records are valid."
    parsed = _atlas_defaults(argparse.Namespace(atlas=str(SECOND), command="build", evidence=None, content=None,
                                                work=None, site=None))
    assert (parsed.evidence, parsed.content, parsed.work, parsed.site) == tuple(
        str(SECOND / name) for name in ("evidence", "content", "build", "site"))
    given = _atlas_defaults(argparse.Namespace(atlas=str(SECOND), command="validate", evidence="elsewhere",
                                               content=None))
    assert (given.evidence, given.content) == ("elsewhere", None)  # validate: the content beside that evidence
