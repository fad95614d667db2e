"""A population has one home: the study's patient count every page, download and chart shows comes from one function."""

from build_scripts.derive.checks import validate_tree
from build_scripts.load.evidence import count_cohort, patient_count, patient_count_value
from build_scripts.load.model import Study

from conftest import VALID

SOURCE = {"publication": "p", "location": "Table 1"}


def study(population=None, cohorts=()):
    return Study.model_validate({
        "id": "s", "title": "S", "design": "single_arm", "publications": ["p"], "summary": "x",
        **({"population": population} if population else {}),
        "cohorts": list(cohorts) or [{"id": "c", "label": "C", "role": "overall"}],
    })


def cohort(cohort_id, role="overall", n=None, parent=None):
    return {"id": cohort_id, "label": cohort_id, "role": role, **({"parent": parent} if parent else {}),
            **({"population": {"n": {"value": n, "source": SOURCE}}} if n is not None else {})}


def test_the_studys_own_count_comes_first():
    record = study({"n": {"value": 40, "source": SOURCE}}, [cohort("a", n=30)])
    count, origin = patient_count(record)
    assert (count.value, origin) == (40, None)


def test_without_its_own_count_a_study_takes_its_single_top_level_cohorts():
    record = study(cohorts=[cohort("all", role="part", n=51), cohort("sub", role="subgroup", n=20, parent="all")])
    count, origin = patient_count(record)
    assert (count.value, origin.id) == (51, "all")


def test_else_its_single_overall_cohorts_and_otherwise_none():
    overall = study(cohorts=[cohort("all", n=51), cohort("arm-a", role="arm", n=20), cohort("arm-b", role="arm", n=31)])
    assert patient_count_value(overall) == 51 and count_cohort(overall).id == "all"
    # two arms and no overall cohort: adding the arms up would be a figure the source did not print
    arms = study(cohorts=[cohort("arm-a", role="arm", n=20), cohort("arm-b", role="arm", n=31)])
    assert patient_count(arms) is None and count_cohort(arms) is None


def test_a_count_not_reported_has_no_value():
    record = study({"n": {"status": "not_reported", "source": SOURCE}})
    count, _ = patient_count(record)
    assert count.status == "not_reported" and count.value is None and patient_count_value(record) is None


def test_fixture_counts():
    evidence = validate_tree(VALID)
    assert {s.id: patient_count_value(s) for s in evidence.studies.values()} == {
        "fixture-dpd-retreatment": 40, "fixture-randomised": None, "fixture-unspecified-design": None}
    assert patient_count(evidence.studies["fixture-unspecified-design"])[1].id == "overall"
