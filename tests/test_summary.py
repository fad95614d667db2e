"""The Evidence summary and the regimen tables as pure page contexts: rows, counts, ranges, patients counted once,
cohorts that did not report counted, the pooled estimate taken from the synthesis, and links to every cohort."""

import re
from html.parser import HTMLParser

import pytest

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.synthesis import synthesise
from build_scripts.derive.synthesis_types import Stratum
from build_scripts.load.evidence import Evidence
from build_scripts.load.model import Study
from build_scripts.render.evidence_map import MARK_MAX, MARK_MIN
from build_scripts.render.evidence_map import evidence_map, mark_size, review_views
from build_scripts.render.links import SUMMARY_DETAILS_URL
from build_scripts.render.long_lists import cohort_href
from build_scripts.render.members import measure_summary, members, patient_total
from build_scripts.render.regimen_tables import regimen_tables_context
from build_scripts.render.summary import summary_context, summary_rows, unsummarised
from build_scripts.render.templating import render_page, template_environment

from conftest import ROOT, VALID

PAGE = "summary/"
SOURCE = {"publication": "fixture-2020-journal", "location": "Table 1"}
IMID_REFRACTORY = Stratum("imid", "refractory")


@pytest.fixture(scope="module")
def fixture():
    return validate_tree(VALID)


def with_studies(base: Evidence, *studies: Study) -> Evidence:
    """The fixture's publications, regimens and agents with other studies: a tree built for one test."""
    return Evidence(publications=base.publications, regimens=base.regimens, agents=base.agents,
                    reviews={}, studies={s.id: s for s in studies})


def cohort(cohort_id, n=None, orr=None, pfs=None, role="overall", parent=None, status="refractory"):
    """A DPd cohort ('+ IMiD') of the given prior status; orr is (responders, n), pfs a median in months."""
    population = {"prior_exposure": {"status": status, "source": SOURCE}}
    if n is not None:
        population["n"] = {"value": n, "source": SOURCE}
    outcomes = []
    if orr is not None:
        responders, size = orr
        outcomes.append({"measure": "orr", "value": round(100 * responders / size, 1), "unit": "percent",
                         "responders": responders, "n": size, "source": SOURCE})
    if pfs is not None:
        outcomes.append({"measure": "pfs", "value": pfs, "unit": "months", "source": SOURCE})
    data = {"id": cohort_id, "label": f"Cohort {cohort_id}", "role": role, "population": population,
            "regimen": "daratumumab-pomalidomide-dexamethasone", "outcomes": outcomes}
    if parent:
        data["parent"] = parent
    return data


def study(study_id, *cohorts, design="retrospective_real_world", related=()):
    return Study.model_validate({
        "id": study_id, "title": f"Study {study_id}", "design": design, "publications": ["fixture-2020-journal"],
        "summary": "A study built by a test.", "cohorts": list(cohorts),
        "related_studies": [{"study": other, "relation": relation} for other, relation in related]})


def row_of(evidence, stratum=IMID_REFRACTORY, synthesis=None):
    return next(r for r in summary_rows(evidence, synthesis) if r.stratum == stratum)


def keys(items):
    return [item.member.key if hasattr(item, "member") else item.key for item in items]


# ---------------------------------------------------------------- rows of the fixture tree

def test_rows_hold_only_retreatment_cohorts_one_row_per_partner_class_and_status(fixture):
    rows = summary_rows(fixture, synthesise(fixture))
    everyone = members(fixture)
    retreated = [m for m in everyone if m.partner.name != "not_retreatment"]
    assert sorted(m.key for r in rows for m in r.members) == sorted(m.key for m in retreated)
    assert len({r.stratum for r in rows}) == len(rows) == len({m.stratum for m in retreated})
    assert all(r.stratum.partner_class != "not_retreatment" and r.stratum.poolable for r in rows)
    # the naive and partly naive cohorts of the fixture are not in any row
    assert "fixture-dpd-retreatment/naive" not in {m.key for r in rows for m in r.members}
    assert "fixture-dpd-retreatment/all-patients" not in {m.key for r in rows for m in r.members}


def test_a_row_counts_its_studies_cohorts_and_the_cohorts_that_did_not_report(fixture):
    row = row_of(fixture)
    assert keys(row.members) == ["fixture-dpd-retreatment/refractory", "fixture-dpd-retreatment/refractory-early"]
    assert [s.id for s in row.studies] == ["fixture-dpd-retreatment"]
    orr = row.measures["orr"]
    # the refractory cohort reports 30% in the article and 33% in the abstract: the study's first own figure
    assert [f.value for f in orr.figures] == [30] and keys(orr.missing) == ["fixture-dpd-retreatment/refractory-early"]
    assert orr.missing_text == "1 of 2 cohorts did not report ORR"
    assert row.measures["pfs"].low.value == 3.1
    # a median not reached is reported, never a number and never 'did not report'
    assert keys(row.measures["os"].not_reached) == ["fixture-dpd-retreatment/refractory"]
    assert row.measures["os"].figures == () and len(row.measures["os"].missing) == 1
    assert row.measures["orr"].low.href == "../studies/fixture-dpd-retreatment/#cohort-refractory"


def test_a_subgroup_without_its_own_count_is_counted_within_its_parent(fixture):
    row = row_of(fixture)
    assert (row.patients.value, row.patients.exact, row.patients.text) == (30, True, "30")
    assert keys(row.patients.unreported) == ["fixture-dpd-retreatment/refractory-early"]
    assert "1 cohort nested in another cohort of the row" in row.caveats
    assert "one retrospective real-world study" in row.caveats


# ---------------------------------------------------------------- patients, each counted once

def test_a_subgroup_and_its_parent_are_never_added_together(fixture):
    evidence = with_studies(fixture, study("s", cohort("all", n=40, orr=(12, 40)),
                                           cohort("sub", n=10, orr=(9, 10), role="subgroup", parent="all")))
    row = row_of(evidence)
    assert (row.patients.value, row.patients.exact) == (40, True)
    orr = row.measures["orr"]
    # the subgroup's 90% does not widen its own trial's range; it is counted apart, never dropped
    assert [f.value for f in orr.figures] == [30]
    assert [(f.member.cohort.id, kept.member.cohort.id) for f, kept in orr.overlapping] == [("sub", "all")]
    assert orr.overlapping_text == "1 more from overlapping cohorts" and orr.missing == ()


def test_data_cuts_and_overlapping_studies_give_a_lower_bound_never_a_sum(fixture):
    evidence = with_studies(
        fixture,
        study("cuts", cohort("cut-2019", n=20), cohort("cut-2021", n=25)),
        study("a", cohort("all", n=30), related=[("b", "overlapping_patients")]),
        study("b", cohort("all", n=35)))
    total = patient_total(evidence, members(evidence))
    assert (total.value, total.exact, total.text) == (25 + 35, False, "at least 60")
    assert sorted(m.key for m in total.counted) == ["b/all", "cuts/cut-2021"]


def test_randomised_arms_hold_different_patients_and_are_added(fixture):
    evidence = with_studies(fixture, study("rct", cohort("arm-a", n=10, role="arm"), cohort("arm-b", n=12, role="arm"),
                                           design="randomised"))
    assert (patient_total(evidence, members(evidence)).value, patient_total(evidence, members(evidence)).exact) == (22, True)


def test_a_count_not_reported_is_never_a_zero(fixture):
    evidence = with_studies(fixture, study("s", cohort("all")), study("t", cohort("all", n=7)))
    total = patient_total(evidence, members(evidence))
    assert total.text == "at least 7" and keys(total.unreported) == ["s/all"]
    alone = patient_total(evidence, [m for m in members(evidence) if m.study.id == "s"])
    assert alone.text == "Not reported" and alone.value == 0 and not alone.counted


# ---------------------------------------------------------------- ranges and what they leave out

def test_a_range_links_both_ends_to_their_cohorts_and_counts_the_cohorts_without_the_measure(fixture):
    evidence = with_studies(fixture, study("low", cohort("c", n=20, orr=(2, 20), pfs=2.5)),
                            study("high", cohort("c", n=10, orr=(6, 10))),
                            study("mid", cohort("c", n=30, orr=(9, 30), pfs=4.0)),
                            study("none", cohort("c", n=5)))
    orr = measure_summary(evidence, members(evidence), "orr", PAGE)
    assert (orr.low.value, orr.high.value) == (10, 60)
    assert (orr.low.href, orr.high.href) == (cohort_href(PAGE, "low", "c"), cohort_href(PAGE, "high", "c"))
    assert orr.low.href == "../studies/low/#cohort-c"
    assert orr.missing_text == "1 of 4 cohorts did not report ORR"
    pfs = measure_summary(evidence, members(evidence), "pfs", PAGE)
    assert (pfs.low.value, pfs.high.value, len(pfs.missing)) == (2.5, 4.0, 2)
    nothing = measure_summary(evidence, members(evidence), "cr_or_better", PAGE)
    assert nothing.figures == () and nothing.missing_text == "by its 4 cohorts"


def test_median_ranges_agree_with_the_synthesis(fixture):
    synthesis = synthesise(fixture)
    for row in summary_rows(fixture, synthesis):
        for measure in ("pfs", "os"):
            found = synthesis.median_range(row.stratum, measure)
            summary = row.measures[measure]
            assert (found.low, found.high) == (summary.low.value if summary.low else None,
                                               summary.high.value if summary.high else None)
            assert sorted(e.key for e in found.not_reached) == sorted(keys(summary.not_reached))


# ---------------------------------------------------------------- the pooled estimate

def pooled_tree(fixture):
    return with_studies(fixture,
                        study("a", cohort("c", n=20, orr=(5, 20))),
                        study("b", cohort("c", n=30, orr=(12, 30)), cohort("sub", n=8, orr=(7, 8), role="subgroup",
                                                                         parent="c")),
                        study("d", cohort("c", n=25, orr=(4, 25))),
                        study("e", cohort("c", n=5, orr=(1, 5)), design="case_series"))


def test_the_pooled_estimate_is_the_synthesis_one_with_its_cohorts_listed(fixture):
    evidence = pooled_tree(fixture)
    synthesis = synthesise(evidence)
    row = row_of(evidence, synthesis=synthesis)
    analysis = synthesis.analysis(IMID_REFRACTORY, "orr")
    assert analysis.estimates and row.pooled.estimate == analysis.estimates[0]
    assert keys(row.pooled.used) == [e.key for e in analysis.used]
    assert "b/sub" not in keys(row.pooled.used) and "b/sub" in keys(row.pooled.excluded)
    assert row.pooled.sensitivity is not None  # a case series is pooled, so the analysis without it is shown
    assert row.pooled.anchor == "pooled-imid-refractory"


def rendered_summary(evidence, synthesis, details=False):
    """The summary's HTML and heading ids; with `details`, those of its page of details."""
    environment = template_environment(ROOT / "templates")
    template, url = ("summary_details.md.j2", SUMMARY_DETAILS_URL) if details else ("summary.md.j2", "summary/")
    text, blocks = render_page(environment.get_template(template), charts=[], assets="../assets/",
                               **summary_context(evidence, synthesis, url))
    return "\n".join(blocks), set(re.findall(r"\{ #([\w-]+) \}", text))


class Cells(HTMLParser):
    """The text of each cell of the summary-of-findings table, with the text inside links left out."""

    def __init__(self):
        super().__init__()
        self.in_table = self.in_cell = False
        self.links = 0
        self.cells: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "table" and "atlas-sof" in (attrs.get("class") or "").split():
            self.in_table = True
        elif self.in_table and tag == "td":
            self.in_cell = True
            self.cells.append("")
        elif tag == "a":
            self.links += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self.in_table = False
        elif tag == "td":
            self.in_cell = False
        elif tag == "a":
            self.links -= 1

    def handle_data(self, data):
        if self.in_cell and not self.links:
            self.cells[-1] += data


def test_every_number_in_the_summary_table_is_a_link(fixture):
    evidence = pooled_tree(fixture)
    html, headings = rendered_summary(evidence, synthesise(evidence))
    parser = Cells()
    parser.feed(html)
    assert parser.cells
    for text in parser.cells:
        assert not re.search(r"\d", text), text
    # every fragment the page links to is on the page, or on its page of details
    details, detail_headings = rendered_summary(evidence, synthesise(evidence), details=True)
    detail_ids = Cells()
    detail_ids.feed(details)
    for fragment in re.findall(r'href="#([^"]+)"', html):
        assert fragment in parser.ids | headings, fragment
    for fragment in re.findall(r'href="details/#([^"]+)"', html):
        assert fragment in detail_ids.ids | detail_headings, fragment
    assert re.search(r'<a class="atlas-pooled" href="details/#pooled-imid-refractory">pooled \d', html)
    # the detail ends with its row's section (its table sits in a scroll box, a div of its own)
    detail = details.split('id="pooled-imid-refractory"', 1)[1].split("</section>", 1)[0]
    for key in ("a", "b", "d", "e"):
        assert f'href="../../studies/{key}/#cohort-c"' in detail
    assert "exploratory" in detail.lower()


def test_the_evidence_map_marks_grow_with_the_patients_they_stand_for(fixture):
    assert mark_size(0, 100) == MARK_MIN and mark_size(100, 100) == MARK_MAX
    assert MARK_MIN < mark_size(25, 100) < mark_size(50, 100) < MARK_MAX
    evidence = pooled_tree(fixture)
    rows = evidence_map(evidence)
    assert [partner for partner, _ in rows] == ["imid"]
    cells = {cell.evidence_type: cell for cell in rows[0][1] if cell is not None}
    assert set(cells) == {"real_world"}
    assert cells["real_world"].studies == 4 and cells["real_world"].patients.value == 20 + 30 + 25 + 5


# ---------------------------------------------------------------- what the table leaves out, and the review

def test_cohorts_not_summarised_are_listed_with_their_reason(fixture):
    groups = unsummarised(fixture)
    uncertain = {u.member.key: u for u in groups["uncertain"]}
    assert "fixture-dpd-retreatment/all-patients" in uncertain
    assert uncertain["fixture-dpd-retreatment/all-patients"].as_stated.startswith("30 daratumumab-refractory")
    assert "Includes anti-CD38-naive patients" in uncertain["fixture-dpd-retreatment/all-patients"].reason
    assert keys(groups["naive"]) == ["fixture-dpd-retreatment/naive"]
    assert "fixture-randomised/pd" in keys(groups["other"])
    listed = {u.member.key for group in groups.values() for u in group}
    assert listed == {m.key for m in members(fixture) if m.partner.name == "not_retreatment"}


def test_review_findings_and_conclusions_sit_beside_the_atlas_figures_of_their_measure(fixture):
    [view] = review_views(fixture)
    [group] = view["findings"]
    assert (group["measure"].name, group["scope"]) == ("orr", "Real-world studies")
    assert [item["finding"].id for item in group["items"]] == ["orr-range"]
    assert [f.value for f in group["atlas"].figures] == [30]  # the real-world retreatment cohorts' ORR
    [conclusion] = view["conclusions"]
    assert conclusion["conclusion"].id == "some-benefit"
    by_status = {b["label"]: b["atlas"] for b in conclusion["by_status"]}
    assert by_status["Refractory to anti-CD38"].low.value == 3.1
    assert [s["study"].id for s in conclusion["studies"]] == ["fixture-dpd-retreatment"]


# ---------------------------------------------------------------- the regimen tables

def test_regimen_tables_list_every_cohort_once_and_per_partner_class(fixture):
    context = regimen_tables_context(fixture)
    everyone = [m.key for m in members(fixture)]
    assert [r["member"].key for r in context["all_rows"]] == everyone
    assert sorted(r["member"].key for s in context["sections"] for r in s["rows"]) == sorted(everyone)
    refractory = next(r for r in context["all_rows"] if r["member"].key == "fixture-dpd-retreatment/refractory")
    orr, pfs, os_ = refractory["cells"]
    assert (orr.text, orr.sort, orr.counts) == ("30%", 30, "9/30")
    assert orr.source.href == "../publications/fixture-2020-journal/" and orr.source.location == "Table 2"
    assert (os_.text, os_.sort) == ("Not reached", None)
    naive = next(r for r in context["all_rows"] if r["member"].key == "fixture-dpd-retreatment/naive")
    assert (naive["cells"][0].text, naive["cells"][0].sort) == ("not recorded", None)
    assert naive["patients_text"] == "not recorded"


def test_randomised_arms_are_side_by_side_with_the_comparisons_the_source_gives(fixture):
    [trial] = regimen_tables_context(fixture)["randomised"]
    assert trial["study"].id == "fixture-randomised" and trial["href"] == "../studies/fixture-randomised/"
    assert [c["anchor"] for c in trial["arms"]["columns"]] == ["cohort-dpd", "cohort-pd"]
    assert [c["measure"].name for c in trial["comparisons"]] == ["ttp", "vgpr_or_better"]
    environment = template_environment(ROOT / "templates")
    _, blocks = render_page(environment.get_template("regimen_tables.md.j2"), charts=[], assets="../assets/",
                            **regimen_tables_context(fixture))
    html = "\n".join(blocks)
    # the arms link to their sections on the study page, not to this page
    assert 'href="../studies/fixture-randomised/#cohort-dpd"' in html and 'href="#cohort-dpd"' not in html
    assert html.count('class="atlas-regimen-table atlas-sortable"') == 1 + len(regimen_tables_context(fixture)["sections"])
    assert '<script src="../assets/atlas-sort.js"></script>' in html
