"""Citable pages: meta tags and JSON-LD in the head, cite downloads in three formats, CITATION.cff, sitemap."""

import json
import re
from html.parser import HTMLParser

import bibtexparser
import jsonschema
import pytest
import rispy
import yaml
from citeproc.source.json import CiteProcJSON

from build_scripts.render.citations import doi_url, json_ld_text

from conftest import ROOT

STUDY = "studies/frerichs-2021-dara-atra"


class HeadParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.meta: list[tuple[str, str]] = []
        self.jsonld: list[str] = []
        self._in_jsonld = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "meta" and "name" in attributes:
            self.meta.append((attributes["name"], attributes.get("content", "")))
        if tag == "script" and attributes.get("type") == "application/ld+json":
            self._in_jsonld = True
            self.jsonld.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_jsonld = False

    def handle_data(self, data):
        if self._in_jsonld:
            self.jsonld[-1] += data


@pytest.fixture(scope="module")
def study_head(real_site):
    parser = HeadParser()
    parser.feed((real_site / STUDY / "index.html").read_text())
    return parser


def test_study_page_has_highwire_citation_tags(study_head):
    meta = dict(study_head.meta)
    assert meta["citation_title"].startswith("Daratumumab plus all-trans retinoic acid")
    assert meta["citation_publisher"] == "Anti-CD38 Retreatment Atlas"
    assert ("citation_author", "Anti-CD38 Retreatment Atlas contributors") in study_head.meta
    assert meta["citation_public_url"].endswith("/studies/frerichs-2021-dara-atra/")
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}", meta["citation_date"])
    assert any("10.1182/bloodadvances.2021005220" in c for n, c in study_head.meta if n == "citation_reference")


def test_study_page_json_ld_describes_the_page_the_trial_and_its_sources(study_head):
    assert len(study_head.jsonld) == 1
    data = json.loads(study_head.jsonld[0])
    assert data["@context"] == "https://schema.org"
    assert "WebPage" in data["@type"] and "Dataset" in data["@type"]
    assert data["about"]["@type"] == "MedicalTrial"
    assert data["about"]["code"][0]["codeValue"] == "NCT02751255"
    assert data["citation"][0]["sameAs"] == "https://doi.org/10.1182/bloodadvances.2021005220"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["dateModified"])
    assert data["url"].endswith("/studies/frerichs-2021-dara-atra/")


@pytest.mark.parametrize("page", [STUDY, "regimens/daratumumab-pomalidomide-dexamethasone",
                                  "reviews/gay-2025-anti-cd38-retreatment-slr"])
def test_cite_downloads_parse_in_each_format(real_site, page):
    folder = real_site / page
    bib = bibtexparser.parse_string((folder / "cite.bib").read_text())
    assert not bib.failed_blocks
    assert bib.entries[0]["url"].endswith(f"/{page}/")
    assert bib.entries[0].fields_dict["author"].value.strip("{}") == "Anti-CD38 Retreatment Atlas contributors"
    ris = rispy.loads((folder / "cite.ris").read_text())
    assert ris[0]["type_of_reference"] == "ELEC" and ris[0]["urls"][0].endswith(f"/{page}/")
    csl = json.loads((folder / "cite.json").read_text())
    source = CiteProcJSON(csl)
    assert len(source) == len(csl) == len(bib.entries) == len(ris) >= 2
    assert {entry.key for entry in bib.entries} == {item["id"] for item in csl}


def test_cite_downloads_carry_each_source_publication_with_its_doi(real_site):
    csl = json.loads((real_site / STUDY / "cite.json").read_text())
    article = next(item for item in csl if item["id"] == "frerichs-2021-blood-adv")
    assert article["DOI"] == "10.1182/bloodadvances.2021005220" and article["type"] == "article-journal"
    assert article["author"][0] == {"family": "Frerichs", "given": "KA"}
    assert article["issued"] == {"date-parts": [[2021]]}


def test_cite_this_page_shows_revision_and_history_link(real_site):
    html = (real_site / STUDY / "index.html").read_text()
    assert 'id="cite-this-page"' in html
    assert re.search(r"Record added \d{4}-\d{2}-\d{2}; last changed \d{4}-\d{2}-\d{2}\.", html)
    assert "/commits/main/evidence/studies/frerichs-2021-dara-atra.yaml" in html


def test_citation_cff_validates_against_the_cff_schema():
    schema = json.loads((ROOT / "tests" / "data" / "citation-file-format-1.2.0.schema.json").read_text())
    jsonschema.validate(yaml.safe_load((ROOT / "CITATION.cff").read_text()), schema)


def test_citation_cff_schema_check_is_not_vacuous():
    schema = json.loads((ROOT / "tests" / "data" / "citation-file-format-1.2.0.schema.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"cff-version": "1.2.0", "title": "x"}, schema)


def test_sitemap_lists_stable_urls(real_site):
    sitemap = (real_site / "sitemap.xml").read_text()
    assert "https://anti-cd38-atlas.github.io/atlas/studies/frerichs-2021-dara-atra/" in sitemap


def test_json_ld_cannot_end_its_script_element():
    hostile = {"name": "</script><script>alert(1)</script><!-- </SCRIPT > & \u2028\u2029 \"quoted\"",
               "about": {"alternateName": ["<![CDATA[", "]]>", "--><img src=x onerror=alert(1)>"]}}
    text = json_ld_text(hostile)
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(text) == hostile


def test_json_ld_in_the_page_is_one_script_that_parses(study_head):
    [block] = study_head.jsonld
    assert json.loads(block)["@context"] == "https://schema.org"


@pytest.mark.parametrize("doi, url", [("10.1182/bloodadvances.2021005220", "https://doi.org/10.1182/bloodadvances.2021005220"),
                                      ("10.1016/S0140-6736(20)30734-2", "https://doi.org/10.1016/S0140-6736(20)30734-2"),
                                      ("10.1/a#b?c d;e%", "https://doi.org/10.1/a%23b%3Fc%20d%3Be%25")])
def test_doi_urls_keep_the_whole_doi_in_the_path(doi, url):
    assert doi_url(doi) == url


def test_a_regimen_page_head_cites_the_sources_of_its_own_page_and_its_downloads_cite_all(monkeypatch, tmp_path):
    from build_scripts.derive.checks import validate_tree
    from build_scripts.load.settings import SiteSettings
    from build_scripts.render import paging, record_pages
    from tools.synthetic import generate

    generate(tmp_path / "evidence", 30, ROOT / "evidence")
    evidence = validate_tree(tmp_path / "evidence")
    regimen, uses = max(evidence.cohorts_by_regimen.items(), key=lambda item: len(item[1]))
    every = {p for study, _ in uses for p in study.publications}
    first = set(uses[0][0].publications)
    assert first < every  # the regimen is given in several studies with publications of their own
    settings = SiteSettings("Atlas", "https://example.org/")

    def cited(head):
        return {value for name, value in head["meta"] if name == "citation_reference"}

    _, files, whole = record_pages.citation_context(evidence, "regimen", regimen, settings, None)
    monkeypatch.setattr(paging, "TABLE_PAGE_SIZE", 1)  # only the first cohort is on the regimen's page
    _, files_paged, head = record_pages.citation_context(evidence, "regimen", regimen, settings, None)
    assert len(cited(whole)) == len(every) and len(cited(head)) == len(first)
    assert len(json.loads(head["jsonld"])["citation"]) == len(first)
    assert files_paged == files  # the downloads cite every source either way
