"""What a build computes once and shares (issue 25): a cohort's derived facts once per evidence, with each caller
charged with their reads; pooled fits and exact intervals kept between builds; and pieces of aggregates (a study's
lines of a download, its rows of the Explore data) kept between builds with what they read."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

import pytest

from build_scripts.derive import exact, kept, meta_analysis
from build_scripts.derive.checks import validate_tree
from build_scripts.derive.facts import question_fit
from build_scripts.derive.partners import index_switch, partners
from build_scripts.derive.synthesis_types import Stratum
from build_scripts.load import cache
from build_scripts.load.cache import Digests, Fragments, fragment, keeping_fragments, tracing, tracked_evidence
from build_scripts.load.fragment_store import FragmentStore

from build_scripts.publish.layout import Layout

from conftest import FIXTURES, VALID, fixture_layout
from test_incremental import assert_same_site, clean_build, rebuild

STUDY = "fixture-dpd-retreatment"


@pytest.mark.parametrize("fact", [question_fit, partners, index_switch])
def test_a_remembered_fact_charges_every_caller_with_the_reads_it_was_made_from(fact):
    evidence = tracked_evidence(validate_tree(VALID))
    study = evidence.studies[STUDY]
    for cohort in study.cohorts:
        with tracing() as first:
            made = fact(evidence, study, cohort)
        with tracing() as second:
            again = fact(evidence, study, cohort)
        assert again is made
        assert second.reads == first.reads and first.reads
        # the regimen records it looked at, which a trace that took the fact from the memo must also hold
        assert any(read[0] == "regimens" for read in second.reads)


def test_a_fact_is_not_remembered_past_its_evidence():
    evidence = tracked_evidence(validate_tree(VALID))
    study = evidence.studies[STUDY]
    question_fit(evidence, study, study.cohorts[0])
    key = id(evidence)
    assert cache._COHORT_MEMOS[key][0]() is evidence
    del evidence, study
    gc.collect()
    assert key not in cache._COHORT_MEMOS


def test_kept_results_are_made_once_and_handed_back_as_used():
    kept.take_used()
    first = meta_analysis.pool("bn", [3, 9, 14, 0], [20, 25, 30, 12])
    assert meta_analysis.pool("bn", [3, 9, 14, 0], [20, 25, 30, 12]) is first
    interval = exact.clopper_pearson(7, 19)
    used = kept.take_used()
    assert used["pooled fits"] == {("bn", (3, 9, 14, 0), (20, 25, 30, 12)): first}
    assert used["exact intervals"] == {(7, 19, 95.0): interval}
    assert not any(kept.take_used().values())
    # A kept fit holds Python numbers only, so reading it back needs no numpy, and it equals a fit made afresh.
    assert all(type(getattr(first, name)) in (float, type(None)) for name in ("mean", "se", "tau2", "pi_low"))
    assert first == meta_analysis._plain(meta_analysis._fit("bn", [3, 9, 14, 0], [20, 25, 30, 12]))


@pytest.fixture
def pooled_project(tmp_path: Path) -> Layout:
    """A build of the synthesis fixture tree, whose strata are pooled."""
    evidence = tmp_path / "evidence"
    shutil.copytree(FIXTURES / "synthesis", evidence)
    return fixture_layout(tmp_path, evidence, guide=False)


def test_a_build_makes_no_fit_or_interval_an_earlier_build_kept(pooled_project: Layout, tmp_path: Path, monkeypatch):
    project = pooled_project
    rebuild(project)
    stored = cache.load_store(project.cache / "kept.pickle", cache.code_version())
    assert len(stored["pooled fits"]) >= 6 and len(stored["exact intervals"]) >= 10
    # A new process knows nothing but the store: forget everything, and fail on any fit or interval made.
    for name in ("pooled fits", "exact intervals"):
        monkeypatch.setattr(kept._KEPT[name], "known", {})

    def refuse(*args):
        raise AssertionError(f"made again: {args}")

    monkeypatch.setattr(meta_analysis, "_fit", refuse)
    monkeypatch.setattr(exact, "_clopper_pearson", refuse)
    study = project.evidence / "studies" / "alpha.yaml"
    study.write_text(study.read_text().replace("title: ", "title: Edited ", 1))
    report = rebuild(project)
    assert {"summary", "explore-data", "download:synthesis.csv"} <= set(report.ran)
    monkeypatch.undo()
    assert_same_site(project.site, clean_build(project, tmp_path / "clean"))


def test_a_fragment_is_taken_while_its_reads_are_unchanged_and_charges_them_to_its_job():
    evidence = tracked_evidence(validate_tree(VALID))
    made = []

    def title_of(study_id):
        made.append(study_id)
        return evidence.studies[study_id].title

    def digests():
        return Digests(evidence, {("study", s): f"digest of {s}" for s in evidence.studies})

    store = Fragments(FragmentStore(None, "test"), digests())
    with keeping_fragments(store), tracing() as first:
        title = fragment("titles", STUDY, lambda: title_of(STUDY))
    assert made == [STUDY] and ("studies", "item", STUDY) in first.reads
    assert store.take_made() == [("titles", STUDY)]  # written to the store
    store = Fragments(store.store, digests())  # the next build, nothing changed
    with keeping_fragments(store), tracing() as second:
        assert fragment("titles", STUDY, lambda: title_of(STUDY)) == title
    assert made == [STUDY] and second.reads == first.reads and store.take_made() == []
    changed = digests()
    changed.records[("study", STUDY)] = "edited"
    store = Fragments(store.store, changed)
    with keeping_fragments(store):
        fragment("titles", STUDY, lambda: title_of(STUDY))
    assert made == [STUDY, STUDY] and list(store.take_made()) == [("titles", STUDY)]
    # outside a build, a fragment is simply made
    fragment("titles", STUDY, lambda: title_of(STUDY))
    assert len(made) == 3


def made_fragments(monkeypatch) -> list[tuple]:
    """The keys of the fragments the builds from now on make, in whichever process."""
    from build_scripts.publish import docs

    made: list[tuple] = []
    run_all = docs.JobRunner.run_all

    def spy(self, jobs, estimates):
        results, used, found = run_all(self, jobs, estimates)
        made.extend(found)  # the parent's and both job processes'
        return results, used, found

    monkeypatch.setattr(docs.JobRunner, "run_all", spy)
    return made


SYNTHESIS_FRAGMENTS = ("synthesis groups", "analysis", "sensitivity analysis", "median range")


def test_an_edit_makes_only_the_edited_studys_fragments_and_the_site_equals_a_clean_build(
        pooled_project: Layout, tmp_path: Path, monkeypatch):
    project = pooled_project
    first = rebuild(project)
    studies = len(list((project.evidence / "studies").glob("*.yaml")))
    # per study: its evidence.json text, studies.csv line, outcomes.csv lines, Explore rows and count of cohorts in the
    # question; per other record its text; the pages of derived axes and of the indexes
    assert first.fragments_made >= 5 * studies + 1
    made = made_fragments(monkeypatch)
    study = project.evidence / "studies" / "alpha.yaml"
    study.write_text(study.read_text().replace("title: ", "title: Edited ", 1))
    edited = rebuild(project)
    assert edited.fragments_made == len(made)
    # alpha's rows of each cross-study chart that shows it
    charts = [key for key in made if key[0] == "chart rows"]
    assert charts and all(key[1][2] == "alpha" for key in charts)
    # alpha's own, and zeta's Explore rows: zeta reports some of alpha's patients, which its rows say
    synthesis = [key for key in made if key[0] in SYNTHESIS_FRAGMENTS]
    # alpha's groups of cohorts, and the analyses of its one stratum (they read its record)
    assert {key[1][0] for key in synthesis if key[0] == "synthesis groups"} == {"alpha"}
    assert {key[1][0] for key in synthesis if key[0] != "synthesis groups"} == {Stratum("imid", "refractory")}
    assert sorted(key for key in made if key[0] not in ("page", "chart rows", *SYNTHESIS_FRAGMENTS)) == [
        ("cohorts in the question", "alpha"), ("evidence.json", ("study", "alpha")), ("explore rows", "alpha"),
        ("explore rows", "zeta"), ("outcomes.csv", "alpha"), ("studies.csv", ("alpha", first_url(project)))]
    # the pages that list alpha: its page of the studies index and of the derived axes; the regimen index's, which
    # counts the studies of each regimen
    assert sorted(key[1][0] for key in made if key[0] == "page") == [
        "derived-axes/index.md", "regimens/index.md", "studies/index.md"]
    assert_same_site(project.site, clean_build(project, tmp_path / "clean"))
    assert rebuild(project).fragments_made == 0


def first_url(project: Layout) -> str:
    from build_scripts.load.settings import SiteSettings

    return SiteSettings.read(project.root / "mkdocs.yml").url


def test_an_edit_renders_again_only_the_pages_of_long_lists_that_show_the_edited_study(
        pooled_project: Layout, tmp_path: Path, monkeypatch):
    from build_scripts.render import index_pages, paging, regimen_tables

    # small pages, so that every long list (studies index, regimen tables, derived axes) has several
    monkeypatch.setattr(paging, "TABLE_PAGE_SIZE", 2)
    monkeypatch.setattr(index_pages, "INDEX_PAGE_SIZE", 2)
    monkeypatch.setattr(regimen_tables, "REGIMEN_TABLES_LISTED_AT_MOST", 0)
    project = pooled_project
    rebuild(project)
    made = made_fragments(monkeypatch)
    study = project.evidence / "studies" / "alpha.yaml"
    study.write_text(study.read_text().replace("title: ", "title: Edited ", 1))
    rebuild(project)
    pages = sorted(key[1][0] for key in made if key[0] == "page")
    # the studies index page listing alpha; the page of derived axes listing it; the pages of each regimen table
    # (all cohorts, its partner group) that list one of its cohorts
    assert "studies/index.md" in pages and "derived-axes/index.md" in pages
    assert any(page.startswith("regimen-tables/all-regimens/") for page in pages)
    site_pages = [p for p in (project.work / "docs").rglob("index.md")]
    listed = [p for p in site_pages if p.relative_to(project.work / "docs").parts[0] in
              ("studies", "derived-axes", "regimen-tables") and len(p.relative_to(project.work / "docs").parts) > 2]
    assert len(pages) < len(listed) / 2, (pages, len(listed))
    assert_same_site(project.site, clean_build(project, tmp_path / "clean"))


def test_forest_charts_are_drawn_again_only_when_they_or_their_template_change(
        pooled_project: Layout, tmp_path: Path, monkeypatch):
    import dataclasses

    templates = tmp_path / "templates"  # a copy: this test edits one
    shutil.copytree(pooled_project.templates, templates)
    project = dataclasses.replace(pooled_project, templates=templates)
    first = rebuild(project)
    assert first.charts > 0
    made = made_fragments(monkeypatch)
    # xi, '+ proteasome inhibitor; refractory': 10/25 responders become 15/25, so its ORR marks change
    xi = project.evidence / "studies" / "xi.yaml"
    xi.write_text(xi.read_text().replace("value: 40, unit: percent, responders: 10", "value: 60, unit: percent, "
                                         "responders: 15"))
    rebuild(project)
    # only xi's regimen's chart and the ORR chart: every other forest chart is taken from the store
    assert {key[0] for name, key in made if name == "forest svgs"} == {"regimens/dkd/", "charts/orr/"}
    assert_same_site(project.site, clean_build(project, tmp_path / "edited"))
    made.clear()
    template = project.templates / "forest.svg.j2"
    template.write_text(template.read_text(encoding="utf-8").replace("</svg>", "<!-- edited --></svg>"),
                        encoding="utf-8")
    rebuild(project)
    # every forest chart, the pooled ones' pages and study pages' included
    again = {key[0] for name, key in made if name == "forest svgs"}
    assert {"regimens/dkd/", "charts/orr/", "charts/pfs/", "studies/beta/"} <= again and len(again) >= 10
    drawings = list((project.site / "charts" / "orr").glob("*.svg"))
    assert drawings and all("<!-- edited --></svg>" in path.read_text(encoding="utf-8") for path in drawings)
    assert_same_site(project.site, clean_build(project, tmp_path / "template"))
