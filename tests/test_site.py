"""End to end: build the fixture tree into a site and read the generated HTML."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from build_scripts.build import build_site
from build_scripts.problems import EvidenceError

from conftest import ROOT, evidence_tree, fixture_layout


def page(site: Path, url: str) -> str:
    return (site / url / "index.html").read_text(encoding="utf-8")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_study_page_shows_every_figure_with_ci_n_and_source(fixture_site):
    html = page(fixture_site, "studies/fixture-dpd-retreatment")
    text = text_of(html)
    assert "3.1 months" in text and "95% CI 2–4.5" in text and "n = 30" in text
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
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    (content / "methods.md").write_text("# Methods\n\n[broken](no-such-page.md)\n")
    result = run_cli("--evidence", str(evidence_tree(tmp_path)), "build", "--content", str(content),
                     "--work", str(tmp_path / "b"), "--site", str(tmp_path / "s"))
    assert result.returncode == 1
    assert "no-such-page.md" in result.stderr
    assert not (tmp_path / "s").exists()


def test_study_page_says_per_cohort_its_prior_status_and_which_are_not_retreatment(fixture_site):
    html = page(fixture_site, "studies/fixture-dpd-retreatment")
    sections = dict(re.findall(r'<section class="atlas-cohort" id="cohort-([^"]+)">(.*?)</section>', html, re.S))
    context_only = "Not anti-CD38 retreatment; shown for context."
    assert context_only not in text_of(sections["refractory"]) and context_only in text_of(sections["naive"])
    assert context_only in text_of(sections["not-stated"]) and context_only not in text_of(sections["exposed-mixed"])
    assert "Prior anti-CD38: Refractory to anti-CD38 ." in text_of(sections["refractory"])
    assert "Prior anti-CD38: Exposed, partly refractory (60% refractory) ." in text_of(sections["exposed-mixed"])
    assert "Prior anti-CD38, as the source defines the patients" in text_of(html)
