"""The indexes filled from the records: the main retreatment cohort, the studies index's rows and data file, and
why each regimen is listed."""

from __future__ import annotations

import json
import re

import pytest

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.facts import main_question_cohort
from build_scripts.derive.question_count import question_count, question_count_note
from build_scripts.load.evidence import Evidence, patient_count, patient_count_value, study_regimens
from build_scripts.load.model import Agent, Publication, Regimen, Study
from build_scripts.load.parts import Patient
from build_scripts.render.index_pages import STUDY_INDEX_FIELDS, studies_index_json
from build_scripts.render.indexes import headline_outcome, key_result, regimen_uses, study_facts

from conftest import ROOT

SOURCE = {"publication": "p", "location": "Table 1"}


def cohort(cohort_id, role="overall", parent=None, n=None, regimen="dpd", refractory=100, outcomes=()):
    data = {"id": cohort_id, "label": f"Cohort {cohort_id}", "role": role, "regimen": regimen,
            "population": {"refractory": [{"to": "daratumumab", "percent": refractory, "source": SOURCE}]},
            "outcomes": [{"source": SOURCE, **o} for o in outcomes]}
    if parent:
        data["parent"] = parent
    if n is not None:
        data["population"]["n"] = {"value": n, "source": SOURCE}
    return data


def study(*cohorts, study_id="s", publications=("p",)):
    return Study.model_validate({"id": study_id, "title": study_id.upper(), "design": "retrospective_real_world",
                                 "publications": list(publications), "summary": "x", "cohorts": list(cohorts)})


ORR = {"measure": "orr", "value": 40, "unit": "percent"}
ORR_NOT_REPORTED = {"measure": "orr", "status": "not_reported"}


@pytest.fixture
def evidence():
    agents = [Agent.model_validate({"id": i, "name": i.title(), "class": k}) for i, k in
              (("daratumumab", "anti_cd38_antibody"), ("pom", "imid"), ("dex", "corticosteroid"),
               ("bor", "proteasome_inhibitor"))]
    regimens = [Regimen.model_validate({"id": i, "name": n, "agents": a}) for i, n, a in
                (("dpd", "DPd", ["daratumumab", "pom", "dex"]), ("pd", "Pd", ["pom", "dex"]),
                 ("vd", "Vd", ["bor", "dex"]), ("dvd", "DVd", ["daratumumab", "bor", "dex"]))]
    publications = [Publication.model_validate({"id": i, "type": "article", "title": i, "year": y})
                    for i, y in (("p", 2021), ("q", 2019), ("r", None))]
    return Evidence(agents={a.id: a for a in agents}, regimens={r.id: r for r in regimens},
                    publications={p.id: p for p in publications})


def main_id(evidence, built):
    found = main_question_cohort(evidence, built)
    return found.id if found else None


# ---------------------------------------------------------------- the main retreatment cohort


def test_a_cohort_with_a_reported_figure_comes_before_a_larger_one_without(evidence):
    built = study(cohort("all", n=50), cohort("sub", "subgroup", "all", n=10, outcomes=[ORR]))
    assert main_id(evidence, built) == "sub"
    # a figure marked not reported is no figure
    built = study(cohort("all", n=50, outcomes=[ORR_NOT_REPORTED]), cohort("sub", "subgroup", "all", n=10))
    assert main_id(evidence, built) == "all"


def test_among_cohorts_that_report_the_most_patients_win_and_an_unknown_count_comes_last(evidence):
    built = study(cohort("a", n=12, outcomes=[ORR]), cohort("b", n=40, outcomes=[ORR]), cohort("c", outcomes=[ORR]))
    assert main_id(evidence, built) == "b"
    built = study(cohort("all", outcomes=[ORR]), cohort("sub", "subgroup", "all", n=8, outcomes=[ORR]))
    assert main_id(evidence, built) == "sub"


def test_without_counts_the_highest_cohort_in_the_hierarchy_wins_then_record_order(evidence):
    built = study(cohort("sub", "subgroup", "all", outcomes=[ORR]), cohort("all", outcomes=[ORR]),
                  cohort("dose", "dose_level", outcomes=[ORR]))
    assert main_id(evidence, built) == "all"
    built = study(cohort("x", outcomes=[ORR]), cohort("y", outcomes=[ORR]))
    assert main_id(evidence, built) == "x"


def test_only_retreatment_cohorts_count(evidence):
    # the control arm (no anti-CD38 antibody) and the naive cohort are larger and report figures
    built = study(cohort("control", "arm", regimen="pd", n=100, outcomes=[ORR]),
                  cohort("naive", "arm", n=90, refractory=0, outcomes=[ORR]),
                  cohort("retreated", "arm", n=5))  # 0% refractory and nothing else said: status unknown
    assert main_id(evidence, built) == "retreated"
    assert main_question_cohort(evidence, study(cohort("control", regimen="pd", outcomes=[ORR]))) is None
    assert key_result(evidence, study(cohort("control", regimen="pd", outcomes=[ORR]))) is None


def test_the_headline_figure_prefers_a_value_then_no_variant_then_record_order(evidence):
    built = study(cohort("c", n=9, outcomes=[
        {"measure": "pfs", "status": "not_reported"},
        {"measure": "pfs", "value": 7.9, "unit": "months", "variant": "PFS-AB"},
        {"measure": "pfs", "value": 2.8, "unit": "months"},
        {"measure": "pfs", "value": 3.1, "unit": "months"},
        {"measure": "orr", "value": 33.3, "unit": "percent", "n": 3},
    ]))
    chosen = built.cohorts[0]
    assert headline_outcome(chosen, "pfs").value == 2.8
    assert headline_outcome(chosen, "os") is None
    key = key_result(evidence, built)
    assert (key.cohort.id, key.orr.value, key.pfs.value, key.n) == ("c", 33.3, 2.8, 9)  # n: the cohort's, not the figure's
    without_count = study(cohort("c", outcomes=[{"measure": "orr", "value": 33.3, "unit": "percent", "n": 3}]))
    assert key_result(evidence, without_count).n == 3


# ---------------------------------------------------------------- a study's row


def test_a_row_takes_regimens_classes_statuses_year_and_count_from_the_records(evidence):
    built = study(cohort("all", "overall", n=30, regimen="dpd", outcomes=[ORR]),
                  cohort("control", "arm", regimen="pd"), cohort("more", "arm", regimen="dpd"),
                  publications=("r", "p", "q"))
    evidence.studies["s"] = built
    facts = study_facts(evidence, built)
    assert facts.regimens == ("dpd", "pd") == tuple(study_regimens(built))
    assert facts.partner_classes == ("imid", "not_retreatment")
    assert facts.prior_statuses == ("refractory",)
    assert facts.year == 2019  # the earliest publication that gives a year
    assert facts.n == 30 and facts.key.cohort.id == "all"
    no_count = study(cohort("a"), cohort("b"))
    assert study_facts(evidence, no_count).n is None and patient_count(no_count) is None


def test_the_data_file_is_compact_stable_and_decodes_to_each_studys_row(evidence):
    evidence.studies.update({
        "b-study": study(cohort("all", n=12, outcomes=[ORR]), study_id="b-study"),
        "a-study": study(cohort("x", regimen="dvd"), cohort("y", regimen="pd"), study_id="a-study"),
    })
    text = studies_index_json(evidence)
    assert text == studies_index_json(evidence)
    assert "\n" not in text.rstrip("\n") and ": " not in text  # no indentation, no spaces
    data = json.loads(text)
    assert data["fields"] == list(STUDY_INDEX_FIELDS)
    rows = [dict(zip(data["fields"], row)) for row in data["rows"]]
    assert [row["id"] for row in rows] == ["a-study", "b-study"]
    regimens = [r[0] for r in data["regimens"]]
    agents = [a[0] for a in data["agents"]]
    for row in rows:
        facts = study_facts(evidence, evidence.studies[row["id"]])
        assert [regimens[i] for i in row["regimens"]] == list(facts.regimens)
        assert row["partner_classes"] == list(facts.partner_classes) and row["n"] == facts.n
    assert regimens == ["dpd", "dvd", "pd"]  # only the regimens some row uses, by name
    assert {agents[i] for r in data["regimens"] for i in r[2]} == {"daratumumab", "pom", "dex", "bor"}
    # each label once, however many rows carry it
    assert text.count('"Retrospective real-world study"') == 1 and text.count('"DPd"') == 1
    key = dict(zip(data["key_fields"], rows[1]["key"]))
    assert key == {"cohort": "all", "label": "Cohort all", "orr": "40%", "orr_value": 40, "pfs": None,
                   "pfs_value": None, "n": 12}
    assert rows[0]["key"][data["key_fields"].index("orr")] is None  # nothing recorded is no figure, not a zero


# ---------------------------------------------------------------- regimens


def test_a_regimen_no_cohort_was_given_says_where_it_appears(evidence):
    evidence.studies["s"] = study(cohort("all", regimen="dvd"), cohort("ctl", "arm", regimen="pd"))
    evidence.studies["s"].cohorts[0].patients.append(Patient.model_validate(
        {"id": "pt", "label": "Patient", "source": SOURCE,
         "lines": [{"line": 1, "regimen": "vd", "regimen_as_stated": "Vd"}]}))
    vd = regimen_uses(evidence, "vd")
    assert (vd.studies, vd.line_studies, vd.within) == (0, ("s",), ("dvd",))
    pd = regimen_uses(evidence, "pd")
    assert (pd.studies, pd.question_studies, pd.context_studies) == (1, (), ("s",))
    dvd = regimen_uses(evidence, "dvd")
    assert (dvd.studies, dvd.question_studies, dvd.within) == (1, ("s",), ())


# ---------------------------------------------------------------- at the real evidence


@pytest.fixture(scope="module")
def real_evidence():
    return validate_tree(ROOT / "evidence")


def index_rows(site):
    html = "".join(path.read_text() for path in (site / "studies").glob("**/index.html")
                   if path.parent == site / "studies" or path.parent.parent.name == "page")
    body = html.split('id="studies-table"', 1)[1].split("</table>", 1)[0]
    return {m.group(1): m.group(0) for m in re.finditer(r'<tr><td><a href="([^"/]+)/">.*?</tr>', body, re.S)}


def cells(row):
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_the_index_shows_every_reported_count_and_every_recorded_regimen(real_evidence, real_site):
    rows = index_rows(real_site)
    assert set(rows) == set(real_evidence.studies) and len(rows) >= 27
    counts = regimens = notes = 0
    for study in real_evidence.studies.values():
        shown = cells(rows[study.id])
        found = patient_count(study)
        # under the count, how many were retreated (retreated.question_count_note), when it says something
        note = question_count_note(question_count(real_evidence, study), patient_count_value(study))
        count_cell = re.sub(r"<br>.*", "", re.search(r'<td class="atlas-n">(.*?)</td>', rows[study.id], re.S).group(1))
        assert shown[8] == count_cell + (note or ""), study.id
        if found is not None and found[0].value is not None:
            assert count_cell == str(found[0].value), study.id
            counts += 1
        else:
            assert count_cell == "Not reported", study.id
        notes += note is not None
        names = [real_evidence.regimens[r].name for r in study_regimens(study)]
        assert shown[4] == "; ".join(names), study.id
        regimens += bool(names)
        assert shown[5] and shown[6] and shown[7], study.id  # partners, antibodies, prior statuses: never empty
        assert shown[9], study.id
    assert counts >= 7 and regimens == len(real_evidence.studies) and notes >= 5


def test_each_key_result_links_to_its_cohort(real_evidence, real_site):
    rows = index_rows(real_site)
    with_figure = 0
    for study in real_evidence.studies.values():
        key = key_result(real_evidence, study)
        if key is None:
            assert "No cohort is an anti-CD38 retreatment" in rows[study.id]
            continue
        links = re.findall(r'<a href="([^"]+)">([^<]*)</a>', cells_html(rows[study.id])[9])
        assert links and all(href == f"{study.id}/#cohort-{key.cohort.id}" for href, _ in links), study.id
        page = (real_site / "studies" / study.id / "index.html").read_text()
        assert f'id="cohort-{key.cohort.id}"' in page
        with_figure += key.orr is not None and key.orr.value is not None
    assert with_figure >= 10


def cells_html(row):
    return re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)


def test_no_regimen_is_listed_with_a_bare_zero(real_evidence, real_site):
    html = (real_site / "regimens" / "index.html").read_text()
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    assert len(rows) == len(real_evidence.regimens)
    unused = 0
    for row in rows:
        studies = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cells_html(row)[3])).strip()
        assert studies and not studies.startswith("0"), row
        if studies.startswith("No cohort was given it."):
            unused += 1
            assert "lines of therapy name it" in studies or "Part of" in studies, row
    assert unused >= 5
    for regimen_id in real_evidence.regimens:
        uses = regimen_uses(real_evidence, regimen_id)
        if uses.studies == 0:
            page = (real_site / "regimens" / regimen_id / "index.html").read_text()
            assert "No cohort was given it." in page and "No study record uses this regimen" not in page
