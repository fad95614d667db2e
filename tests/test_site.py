"""End to end: build the fixture tree into a site and read the generated HTML."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from build_scripts.load.problems import EvidenceError
from build_scripts.publish.build import build_site

from conftest import ROOT, evidence_tree, fixture_layout, fixture_content


def page(site: Path, url: str) -> str:
    return (site / url / "index.html").read_text(encoding="utf-8")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_study_page_shows_every_figure_with_ci_n_and_source(fixture_site):
    html = page(fixture_site, "studies/fixture-dpd-retreatment")
    text = text_of(html)
    assert "3.1 months" in text and "95% CI 2.0–4.5" in text and "n = 30" in text
    assert "Fixture 2020 , Results, Survival" in text
    assert "95% CI 2.8–not estimable" in text
    assert "Not reached" in text and "Not reported" in text
    assert "derived: 2/30" in text
    # the regimen is linked, and so are the publications with their DOIs
    assert 'href="../../regimens/daratumumab-pomalidomide-dexamethasone/"' in html
    assert 'href="https://doi.org/10.9999/fixture.2020.1"' in html


def test_discrepancy_is_flagged_on_the_study_page(fixture_site):
    html = page(fixture_site, "studies/fixture-dpd-retreatment")
    assert 'id="discrepancy-orr-counts"' in html
    assert html.count('href="#discrepancy-orr-counts"') == 2
    assert "atlas-flag-banner" in html
    assert "ORR 33%" in text_of(html)


def test_every_outcome_row_names_a_source(fixture_site):
    html = page(fixture_site, "studies/fixture-dpd-retreatment")
    rows = re.findall(r'<tr class="atlas-status-[^"]+">(.*?)</tr>', html, re.S)
    assert len(rows) == 7
    assert all('class="atlas-source"' in row for row in rows)


def test_pages_link_each_other_both_ways(fixture_site):
    regimen = page(fixture_site, "regimens/daratumumab-pomalidomide-dexamethasone")
    assert 'href="../../studies/fixture-dpd-retreatment/"' in regimen
    assert "3.1 months" in text_of(regimen)
    agent = page(fixture_site, "agents/daratumumab")
    assert 'href="../../regimens/daratumumab-pomalidomide-dexamethasone/"' in agent
    publication = page(fixture_site, "publications/fixture-2021-abstract")
    assert 'href="../../studies/fixture-dpd-retreatment/"' in publication
    review = page(fixture_site, "reviews/fixture-review")
    assert 'href="../../studies/fixture-dpd-retreatment/"' in review
    study = page(fixture_site, "studies/fixture-dpd-retreatment")
    assert 'href="../../reviews/fixture-review/"' in study


def test_index_pages_list_records_and_the_nav_does_not(fixture_site):
    index = page(fixture_site, "studies")
    assert 'href="fixture-dpd-retreatment/"' in index
    home = (fixture_site / "index.html").read_text()
    assert "fixture-dpd-retreatment" not in home


def test_per_patient_lines_are_shown(fixture_site):
    text = text_of(page(fixture_site, "studies/fixture-dpd-retreatment"))
    assert "Patient 1" in text and "VRd" in text and "anti-CD38" in text


def loaded_resources(html: str) -> list[str]:
    """URLs a browser fetches while loading the page: scripts, styles, icons, images, frames."""
    urls = re.findall(r"<(?:script|img|iframe|source|audio|video)\b[^>]*?\bsrc=\"([^\"]+)\"", html)
    for tag in re.findall(r"<link\b[^>]*>", html):
        rel = re.search(r'rel="([^"]+)"', tag)
        href = re.search(r'href="([^"]+)"', tag)
        if rel and href and rel.group(1) not in ("canonical", "alternate", "prev", "next", "author", "license"):
            urls.append(href.group(1))
    return urls


def test_site_loads_nothing_from_outside(fixture_site):
    checked = 0
    for html_file in fixture_site.rglob("*.html"):
        html = html_file.read_text(encoding="utf-8")
        for url in loaded_resources(html):
            checked += 1
            assert not re.match(r"(https?:)?//", url), f"{html_file}: loads {url}"
        assert "fonts.googleapis" not in html and "fonts.gstatic" not in html
    assert checked > 0


def test_failed_build_writes_no_site(tmp_path):
    layout = fixture_layout(tmp_path, evidence_tree(tmp_path, "dangling-reference"))
    with pytest.raises(EvidenceError):
        build_site(layout)
    assert not layout.site.exists()
    assert not layout.staging_site.exists()


def test_failed_build_keeps_the_previous_complete_site(tmp_path):
    evidence = evidence_tree(tmp_path)
    layout = fixture_layout(tmp_path, evidence)
    build_site(layout)
    before = sorted(p.relative_to(layout.site) for p in layout.site.rglob("*"))
    (evidence / "agents" / "pomalidomide.yaml").write_text("id: pomalidomide\nname: P\nclass: nonsense\n")
    with pytest.raises(EvidenceError):
        build_site(layout)
    assert sorted(p.relative_to(layout.site) for p in layout.site.rglob("*")) == before


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "build_scripts", *args], cwd=cwd, capture_output=True, text=True)


def test_validate_command_reports_located_errors_and_fails(tmp_path):
    evidence = evidence_tree(tmp_path, "many-errors-at-once")
    result = run_cli("--evidence", str(evidence), "validate")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert any(re.match(r".*agents/lenalidomide\.yaml:4:1: brand: unknown field", line) for line in lines)
    assert any(re.match(r".*publications/typo\.yaml:4:1: year: ", line) for line in lines)
    assert lines[-1] == "3 problems found in the evidence records."


def test_validate_command_writes_github_annotations_in_actions(tmp_path):
    evidence = evidence_tree(tmp_path, "unknown-field")
    result = subprocess.run([sys.executable, "-m", "build_scripts", "--evidence", str(evidence), "validate"],
                            cwd=ROOT, capture_output=True, text=True, env={"GITHUB_ACTIONS": "true", "PATH": ""})
    assert result.returncode == 1
    assert re.search(r"^::error file=.*agents/pomalidomide\.yaml,line=3,col=1::clas: unknown field", result.stdout, re.M)


def test_build_command_fails_without_writing_a_site(tmp_path):
    evidence = evidence_tree(tmp_path, "impossible-numbers")
    result = run_cli("--evidence", str(evidence), "build", "--work", str(tmp_path / "b"), "--site", str(tmp_path / "s"))
    assert result.returncode == 1
    assert "studies/impossible.yaml:13:9" in result.stderr
    assert "The site was not built." in result.stderr
    assert not (tmp_path / "s").exists()


def test_mkdocs_strict_failure_stops_the_build(tmp_path):
    content = fixture_content(tmp_path)
    (content / "methods.md").write_text("# Methods\n\n[broken](no-such-page.md)\n")
    result = run_cli("--evidence", str(evidence_tree(tmp_path)), "build", "--content", str(content),
                     "--work", str(tmp_path / "b"), "--site", str(tmp_path / "s"))
    assert result.returncode == 1
    assert "no-such-page.md" in result.stderr
    assert not (tmp_path / "s").exists()


def test_randomised_trial_shows_its_arms_side_by_side_with_the_comparisons(fixture_site):
    html = page(fixture_site, "studies/fixture-randomised")
    arms = re.search(r'<table class="atlas-arms">(.*?)</table>', html, re.S).group(1)
    header = re.findall(r"<th scope=\"col\">(.*?)</th>", arms, re.S)
    assert len(header) == 3 and "Daratumumab + pomalidomide" in header[1] and "not anti-CD38 retreatment" in header[2]
    # the marks are derived: the DPd arm of exposed patients is a retreatment, the Pd control is not
    assert "not anti-CD38 retreatment" not in header[1]
    rows = {text_of(re.search(r'<th scope="row">(.*?)</th>', row, re.S).group(1)).strip(): row
            for row in re.findall(r"<tr><th scope=\"row\">.*?</tr>", arms, re.S)}
    assert [text_of(cell).split(" Fixture")[0].strip() for cell in re.findall(r"<td>(.*?)</td>", rows["Patients"], re.S)] \
        == ["24", "22"]
    vgpr = text_of(rows["≥VGPR"])
    assert "50%" in vgpr and "95% CI 29.1–70.9" in vgpr and "40.9%" in vgpr and "9/22" in vgpr
    comparisons = text_of(re.search(r'<table class="atlas-comparisons">(.*?)</table>', html, re.S).group(1))
    assert "Hazard ratio" in comparisons and "0.71 (95% CI 0.45–1.12)" in comparisons and "0.14" in comparisons
    assert "No statistic reported" in comparisons and "similar in both arms" in comparisons


def test_study_page_shows_status_eligibility_count_and_curation(fixture_site):
    text = text_of(page(fixture_site, "studies/fixture-randomised"))
    assert "Status Terminated (futility)" in text
    assert "Recruiting “currently enrolling” Fixture 2021 , Methods" in text
    assert "Inclusion criteria" in text and "Exclusion criteria" in text and "Refractory to pomalidomide" in text
    assert "Patients Not reported" in text
    html = page(fixture_site, "studies/fixture-randomised")
    curation = html.split('id="curation"', 1)[1]
    assert "A fictional <em>curation note</em>" in curation
    unspecified = text_of(page(fixture_site, "studies/fixture-unspecified-design"))
    assert "Real-world study, design not stated" in unspecified and "Patients Not reported ( All patients )" in unspecified


def test_review_lists_included_and_discussed_studies_apart(fixture_site):
    html = page(fixture_site, "reviews/fixture-review")
    included = html.split('id="included-studies"', 1)[1].split("<h2", 1)[0]
    discussed = html.split('id="discussed-not-included"', 1)[1].split("<h2", 1)[0]
    assert "fixture-dpd-retreatment/" in included and "fixture-randomised/" not in included
    assert "fixture-randomised/" in discussed and "fixture-dpd-retreatment/" not in discussed
    assert "Reported after the review" in discussed and "published after our cut-off" in discussed
    findings = text_of(html.split('id="figures-across-studies"', 1)[1].split("<h2", 1)[0])
    assert "30–33%" in findings and "3.5 months (95% CI 2.1–4.9)" in findings and "n = 40" in findings
    assert 'href="#discrepancy-orr-two-figures"' in html and 'id="discrepancy-orr-two-figures"' in html


def test_study_page_says_which_reviews_include_it_and_which_discuss_it(fixture_site):
    discussed = page(fixture_site, "studies/fixture-randomised")
    assert 'id="discussed-not-included-in"' in discussed and 'id="included-in"' not in discussed
    assert "Reported after the review" in discussed.split('id="discussed-not-included-in"', 1)[1]
    included = page(fixture_site, "studies/fixture-dpd-retreatment")
    assert 'id="included-in"' in included and 'id="discussed-not-included-in"' not in included


def test_publication_page_lists_studies_it_reports_apart_from_those_whose_figures_it_states(fixture_site):
    abstract = page(fixture_site, "publications/fixture-2021-abstract")
    assert "fixture-randomised/" in abstract.split('id="studies-reported"', 1)[1]
    review = page(fixture_site, "publications/fixture-2022-review")
    reports = review.split('id="studies-reported"', 1)[1].split("<h2", 1)[0]
    states = review.split('id="studies-whose-figures-it-states"', 1)[1].split("<h2", 1)[0]
    assert "fixture-randomised/" not in reports and "fixture-randomised/" in states


def test_study_page_says_per_cohort_its_prior_status_and_which_are_not_retreatment(fixture_site):
    html = page(fixture_site, "studies/fixture-dpd-retreatment")
    sections = dict(re.findall(r'<section class="atlas-cohort" id="cohort-([^"]+)">(.*?)</section>', html, re.S))
    context_only = "Not anti-CD38 retreatment; shown for context."
    assert context_only not in text_of(sections["refractory"]) and context_only in text_of(sections["naive"])
    assert context_only in text_of(sections["not-stated"]) and context_only not in text_of(sections["exposed-mixed"])
    assert "Prior anti-CD38: Refractory to anti-CD38 ." in text_of(sections["refractory"])
    assert "Prior anti-CD38: Exposed, 60% refractory ." in text_of(sections["exposed-mixed"])
    assert "Prior anti-CD38, as the source defines the patients" in text_of(html)


def test_a_cohort_population_description_is_shown(real_site):
    from build_scripts.derive.checks import validate_tree
    from conftest import ROOT

    evidence = validate_tree(ROOT / "evidence")
    described = [(s, c) for s in evidence.studies.values() for c in s.cohorts
                 if c.population is not None and c.population.description]
    assert described, "the evidence has no cohort population description to check"
    for study, cohort in described:
        html = (real_site / "studies" / study.id / "index.html").read_text(encoding="utf-8")
        section = html.split(f'id="cohort-{cohort.id}"', 1)[1].split("</section>", 1)[0]
        first_words = " ".join(cohort.population.description.split()[:4])
        assert first_words in section, (study.id, cohort.id)
