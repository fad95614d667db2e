"""The three derived axes of a retreatment cohort: its partners (from its regimen's agents, none hidden behind another),
its antibody (the same again, or a switch) and its prior anti-CD38 status; no label says more than the records state."""

import csv
import io
import re

import pytest

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.facts import exposure_status
from build_scripts.derive.partners import (
    index_switch, partner_group_key, partner_group_label, partner_groups_in_order, partners, prior_index_agents,
    regimen_partner_class,
)
from build_scripts.load.evidence import Evidence
from build_scripts.load.model import Agent, Regimen, Study
from build_scripts.load.vocabulary import INDEX_AXIS, PARTNER_CLASSES, EXPOSURE_STATUSES
from build_scripts.render.export import data_files
from build_scripts.render.export_columns import OUTCOME_COLUMNS, STUDY_COLUMNS, partner_group_pattern
from build_scripts.render.record_pages import regimen_context, study_context

from conftest import VALID

SOURCE = {"publication": "p", "location": "Table 1"}

AGENTS = {
    "daratumumab": "anti_cd38_antibody", "isatuximab": "anti_cd38_antibody", "felzartamab": "anti_cd38_antibody",
    "pomalidomide": "imid", "bortezomib": "proteasome_inhibitor", "dexamethasone": "corticosteroid",
    "talquetamab": "bispecific_antibody", "cemiplimab": "checkpoint_inhibitor", "atra": "retinoid",
    "doxorubicin": "anthracycline", "cyclophosphamide": "alkylating_agent", "etoposide": "topoisomerase_inhibitor",
    "cisplatin": "platinum", "venetoclax": "bcl2_inhibitor", "selinexor": "xpo1_inhibitor",
}
PLACEHOLDERS = {"anti-cd38-ns": "anti_cd38_antibody", "imid-ns": "imid"}

# regimen id -> (agents, partners specified)
REGIMENS = {
    "d": (["daratumumab"], True),
    "dd": (["daratumumab", "dexamethasone"], True),
    "dpd": (["daratumumab", "pomalidomide", "dexamethasone"], True),
    "d-imid": (["daratumumab", "imid-ns"], True),
    "dvd": (["daratumumab", "bortezomib", "dexamethasone"], True),
    "dvpd": (["daratumumab", "pomalidomide", "bortezomib", "dexamethasone"], True),
    "d-tal": (["daratumumab", "talquetamab"], True),
    "d-cemi": (["daratumumab", "cemiplimab"], True),
    "d-atra": (["daratumumab", "atra"], True),
    "d-doxo": (["daratumumab", "doxorubicin"], True),
    "d-cyclo": (["daratumumab", "cyclophosphamide", "dexamethasone"], True),
    "d-eto": (["daratumumab", "etoposide"], True),
    "d-cis": (["daratumumab", "cisplatin"], True),
    "pom-pad-dara": (["daratumumab", "pomalidomide", "bortezomib", "doxorubicin", "dexamethasone"], True),
    "d-ven-vd": (["daratumumab", "venetoclax", "bortezomib", "dexamethasone"], True),
    "d-sel": (["daratumumab", "selinexor", "dexamethasone"], True),
    "d-tal-doxo": (["daratumumab", "talquetamab", "doxorubicin"], True),
    "d-based": (["daratumumab"], False),
    "dpd-partly-named": (["daratumumab", "pomalidomide"], False),
    "isa": (["isatuximab"], True),
    "isa-pd": (["isatuximab", "pomalidomide", "dexamethasone"], True),
    "isa-based": (["isatuximab"], False),
    "cd38-based": (["anti-cd38-ns"], False),
    "isa-or-unnamed": (["isatuximab", "anti-cd38-ns"], False),
    "pd": (["pomalidomide", "dexamethasone"], True),
}


@pytest.fixture(scope="module")
def evidence():
    agents = [Agent.model_validate({"id": i, "name": i.capitalize(), "class": k}) for i, k in AGENTS.items()]
    agents += [Agent.model_validate({"id": i, "name": i, "class": k, "placeholder": True})
               for i, k in PLACEHOLDERS.items()]
    regimens = [Regimen.model_validate({"id": i, "name": i.upper(), "agents": a, "partners_specified": specified})
                for i, (a, specified) in REGIMENS.items()]
    return Evidence(agents={a.id: a for a in agents}, regimens={r.id: r for r in regimens})


def population(status="refractory", agents=None, refractory=None):
    data = {"prior_exposure": {"status": status, "source": SOURCE}} if status else {}
    if agents is not None:
        data["prior_exposure"]["agents"] = agents
    if refractory is not None:
        data["refractory"] = [{"to": to, "percent": share, "source": SOURCE} for to, share in refractory]
    return data


def study(*cohorts, study_population=None):
    data = {"id": "s", "title": "S", "design": "single_arm", "publications": ["p"], "summary": "x",
            "cohorts": [{"label": c["id"], "role": "overall", "population": population(), **c} for c in cohorts]}
    if study_population is not None:
        data["population"] = study_population
    return Study.model_validate(data)


def class_of(evidence, regimen, **cohort):
    built = study({"id": "c", "regimen": regimen, **cohort})
    return partners(evidence, built, built.cohorts[0]).name


def antibody_of(evidence, regimen, **cohort):
    built = study({"id": "c", "regimen": regimen, **cohort})
    return index_switch(evidence, built, built.cohorts[0])


# ------------------------------------------------------------ partners: every class present names the group

COMPOSITION = [
    ("d", "anti_cd38_monotherapy"),
    ("dd", "anti_cd38_monotherapy"),  # a corticosteroid is never a partner
    ("dpd", "imid"),
    ("d-imid", "imid"),  # an unnamed IMiD still counts for its class
    ("dvd", "proteasome_inhibitor"),
    ("dvpd", "imid+proteasome_inhibitor"),
    ("d-tal", "bispecific"),
    ("d-cemi", "checkpoint_inhibitor"),
    ("d-atra", "retinoid"),
    ("d-doxo", "chemotherapy"),
    ("d-cyclo", "chemotherapy"),
    ("d-eto", "chemotherapy"),
    ("d-cis", "chemotherapy"),
    ("pom-pad-dara", "imid+proteasome_inhibitor+chemotherapy"),  # chemotherapy hides neither the IMiD nor the PI
    ("d-tal-doxo", "bispecific+chemotherapy"),
    ("d-ven-vd", "proteasome_inhibitor+other"),  # a BCL-2 inhibitor beside the PI: both named
    ("d-sel", "other"),
    ("d-based", "unspecified"),
    ("dpd-partly-named", "unspecified"),  # partners not all named: never read as the ones listed
    ("cd38-based", "unspecified"),
]


@pytest.mark.parametrize("regimen, expected", COMPOSITION)
def test_a_retreatments_partners_come_from_its_regimens_agent_classes(evidence, regimen, expected):
    assert class_of(evidence, regimen) == expected
    assert regimen_partner_class(evidence, regimen).name == expected
    assert re.fullmatch(partner_group_pattern(), expected)


def test_a_group_names_every_class_in_order_and_lists_its_drugs(evidence):
    found = regimen_partner_class(evidence, "pom-pad-dara")
    assert found.label == "+ IMiD, proteasome inhibitor and chemotherapy"
    assert [drug.name for drug in found.drugs] == ["Pomalidomide", "Bortezomib", "Doxorubicin"]
    assert partner_group_key(["chemotherapy", "imid"]) == "imid+chemotherapy"
    assert partner_group_label("imid") == "+ IMiD"
    assert partner_groups_in_order(["unspecified", "imid+chemotherapy", "chemotherapy", "imid",
                                    "anti_cd38_monotherapy", "imid"]) == \
        ["anti_cd38_monotherapy", "imid", "imid+chemotherapy", "chemotherapy", "unspecified"]


def test_partners_not_specified_is_never_read_as_monotherapy(evidence):
    assert evidence.regimens["d-based"].agents == evidence.regimens["d"].agents
    assert class_of(evidence, "d") == "anti_cd38_monotherapy" and class_of(evidence, "d-based") == "unspecified"


def test_a_partner_the_patients_were_refractory_to_says_so_and_only_then(evidence):
    pom_refractory = population("refractory", refractory=[("daratumumab", 100), ("pomalidomide", 100)])
    built = study({"id": "c", "regimen": "dpd", "population": pom_refractory})
    (drug,) = partners(evidence, built, built.cohorts[0]).drugs
    assert drug.history == "refractory" and drug.text == "Pomalidomide (refractory to it before)"
    partly = population("refractory", refractory=[("daratumumab", 100), ("pomalidomide", 60)])
    built = study({"id": "c", "regimen": "dpd", "population": partly})
    assert partners(evidence, built, built.cohorts[0]).drugs[0].history == "not_stated"
    # a class says neither which of its drugs nor that it was the one given now
    for refractory_class in ("imid", "double_class", "triple_class", "penta"):
        by_class = population("refractory", refractory=[("daratumumab", 100), (refractory_class, 100)])
        built = study({"id": "c", "regimen": "dpd", "population": by_class})
        assert partners(evidence, built, built.cohorts[0]).drugs[0].history == "not_stated", refractory_class
    both = population("refractory", refractory=[("daratumumab_and_pomalidomide", 100)])
    built = study({"id": "c", "regimen": "dpd", "population": both})
    assert partners(evidence, built, built.cohorts[0]).drugs[0].history == "refractory"


def test_a_refractory_share_in_doubt_marks_no_partner(evidence):
    data = population("refractory", refractory=[("daratumumab", 100), ("pomalidomide", 100)])
    data["refractory"][1]["discrepancy"] = "penta-share"
    built = Study.model_validate({
        "id": "s", "title": "S", "design": "single_arm", "publications": ["p"], "summary": "x",
        "discrepancies": [{"id": "penta-share", "title": "Share", "summary": "Two figures.",
                           "claims": [{"source": SOURCE, "says": "100%"}, {"source": SOURCE, "says": "7%"}]}],
        "cohorts": [{"id": "c", "label": "c", "role": "overall", "regimen": "dpd", "population": data}]})
    assert partners(evidence, built, built.cohorts[0]).drugs[0].history == "not_stated"


# ------------------------------------------------------------ antibody: the same again, or a switch

def test_a_different_antibody_after_the_one_the_population_is_refractory_to_is_a_switch(evidence):
    refractory_to_dara = population("refractory", refractory=[("daratumumab", 100)])
    assert antibody_of(evidence, "isa", population=refractory_to_dara).name == "switch"
    assert antibody_of(evidence, "isa-based", population=refractory_to_dara).name == "switch"  # partners unknown
    assert antibody_of(evidence, "dpd", population=refractory_to_dara).name == "same"


def test_a_switch_with_an_imid_partner_is_on_both_axes(evidence):
    refractory_to_dara = population("refractory", refractory=[("daratumumab", 100)])
    assert class_of(evidence, "isa-pd", population=refractory_to_dara) == "imid"
    found = antibody_of(evidence, "isa-pd", population=refractory_to_dara)
    assert found.name == "switch" and found.text == "Switch: Isatuximab after Daratumumab"


def test_antibodies_listed_by_the_source_decide_the_switch(evidence):
    after_felzartamab = population("refractory", agents=["felzartamab"])
    found = antibody_of(evidence, "pom-pad-dara", population=after_felzartamab)
    assert found.name == "switch" and "Daratumumab after Felzartamab" in found.reason
    assert class_of(evidence, "pom-pad-dara", population=after_felzartamab) == "imid+proteasome_inhibitor+chemotherapy"
    # the listed antibodies win over a refractory share that would say otherwise
    listed = population("exposed", agents=["isatuximab"], refractory=[("daratumumab", 100)])
    assert antibody_of(evidence, "dpd", population=listed).name == "switch"


@pytest.mark.parametrize("case, regimen, pop", [
    ("only some patients are known to have had the other antibody", "isa",
     population("exposed", refractory=[("daratumumab", 72)])),
    ("the prior antibody is not named", "isa", population("refractory", refractory=[("anti_cd38", 100)])),
    ("a placeholder antibody among those had before", "isa",
     population("exposed", agents=["daratumumab", "anti-cd38-ns"])),
    ("the antibody given is not named", "cd38-based", population("refractory", refractory=[("daratumumab", 100)])),
    ("an unnamed antibody beside the one given", "isa-or-unnamed",
     population("refractory", refractory=[("daratumumab", 100)])),
])
def test_the_antibody_is_not_stated_unless_both_antibodies_are_known(evidence, case, regimen, pop):
    assert antibody_of(evidence, regimen, population=pop).name == "not_stated", case


def test_the_same_antibody_among_those_had_before_is_the_same(evidence):
    found = antibody_of(evidence, "isa", population=population("exposed", agents=["daratumumab", "isatuximab"]))
    assert found.name == "same" and found.text == "Same antibody again: Isatuximab"


def test_a_subgroup_takes_the_prior_antibodies_of_the_population_that_contains_it(evidence):
    built = study({"id": "all", "regimen": "isa-pd", "population": population("partly_naive", agents=["daratumumab"])},
                  {"id": "refractory", "role": "subgroup", "parent": "all", "regimen": "isa-pd",
                   "population": population("refractory")},
                  {"id": "naive", "role": "subgroup", "parent": "all", "regimen": "isa-pd",
                   "population": population("naive")})
    whole, refractory, naive = built.cohorts
    assert prior_index_agents(evidence, built, refractory) == (frozenset({"daratumumab"}), "cohort 'all', which contains it")
    assert index_switch(evidence, built, refractory).name == "switch"
    assert index_switch(evidence, built, whole).name == "not_retreatment"  # partly naive
    assert partners(evidence, built, naive).name == "not_retreatment"


# ------------------------------------------------------------ prior anti-CD38 status: one fixture per rule

def status_of(pop, parent=None, role="overall"):
    cohorts = [{"id": "c", "regimen": "dpd", "population": pop, "role": role}]
    if parent is not None:
        cohorts = [{"id": "p", "regimen": "dpd", "population": parent}] + [{**cohorts[0], "parent": "p"}]
    built = study(*cohorts)
    return exposure_status(built, built.cohorts[-1])


@pytest.mark.parametrize("case, pop, status, text", [
    ("exposed without a share", population("exposed"), "exposed_refractoriness_not_stated",
     "Exposed, refractoriness not stated"),
    ("exposed, 100% refractory", population("exposed", refractory=[("daratumumab", 100)]), "refractory",
     "Refractory to anti-CD38"),
    ("exposed, 0% refractory", population("exposed", refractory=[("daratumumab", 0)]), "exposed_not_refractory",
     "Exposed, not refractory"),
    ("exposed, 40% refractory", population("exposed", refractory=[("daratumumab", 40)]), "exposed_partly_refractory",
     "Exposed, 40% refractory"),
    ("partly naive", population("partly_naive", refractory=[("anti_cd38", 30)]), "partly_naive",
     "Includes anti-CD38-naive patients (30% refractory)"),
    ("naive", population("naive"), "naive", "Anti-CD38-naive"),
    ("not defined, 40% refractory: the others' exposure not stated", population(None, refractory=[("anti_cd38", 40)]),
     "not_stated", "Prior anti-CD38 not stated"),
    ("not defined, 100% refractory", population(None, refractory=[("anti_cd38", 100)]), "refractory",
     "Refractory to anti-CD38"),
    ("nothing recorded", population(None), "not_stated", "Prior anti-CD38 not stated"),
])
def test_each_prior_status_rule_states_only_what_the_records_do(case, pop, status, text):
    found = status_of(pop)
    assert (found.status, found.text) == (status, text), case
    assert "partly refractory" not in found.text or found.refractory_share is not None, case


@pytest.mark.parametrize("own, status", [(40, "exposed_partly_refractory"), (0, "exposed_not_refractory"),
                                         (100, "refractory")])
def test_a_subgroup_of_an_exposed_population_with_a_share_of_its_own_takes_it(own, status):
    parent = population("exposed", refractory=[("daratumumab", 60)])
    found = status_of(population(None, refractory=[("daratumumab", own)]), parent=parent, role="subgroup")
    assert (found.status, found.refractory_share) == (status, own)


def test_a_subgroup_of_an_exposed_population_has_its_own_share_not_stated():
    parent = population("exposed", refractory=[("daratumumab", 40)])
    found = status_of(population(None), parent=parent, role="subgroup")
    assert found.status == "exposed_refractoriness_not_stated" and found.refractory_share is None
    assert status_of(population(None), parent=parent, role="arm").status == "exposed_partly_refractory"
    assert status_of(population(None), parent=population("partly_naive"), role="subgroup").status == "not_stated"


def test_every_status_is_reached_and_only_exposed_ones_are_retreatment():
    assert [name for name, s in EXPOSURE_STATUSES.items() if s.in_question] == [
        "refractory", "exposed_partly_refractory", "exposed_refractoriness_not_stated", "exposed_not_refractory"]


# ------------------------------------------------------------ not a retreatment, and several regimens

@pytest.mark.parametrize("regimen, pop", [
    ("pd", population("refractory")),  # a control arm: no anti-CD38 antibody
    ("dpd", population("naive")),
    ("dpd", population("partly_naive")),
    ("dpd", None),  # prior anti-CD38 therapy not stated
])
def test_a_cohort_that_is_not_a_retreatment_has_no_partners_or_antibody_of_its_own(evidence, regimen, pop):
    assert class_of(evidence, regimen, population=pop) == "not_retreatment"
    assert antibody_of(evidence, regimen, population=pop).name == "not_retreatment"


def test_a_cohort_over_arms_of_different_partner_groups_is_unspecified_and_says_why(evidence):
    built = study({"id": "trial", "regimen": None},
                  {"id": "a", "role": "arm", "parent": "trial", "regimen": "dpd"},
                  {"id": "b", "role": "arm", "parent": "trial", "regimen": "dvd"})
    found = partners(evidence, built, built.cohorts[0])
    assert found.name == "unspecified" and "different partner groups" in found.reason
    assert [partners(evidence, built, c).name for c in built.cohorts[1:]] == ["imid", "proteasome_inhibitor"]
    same = study({"id": "trial", "regimen": None},
                 {"id": "a", "role": "arm", "parent": "trial", "regimen": "dpd"},
                 {"id": "b", "role": "arm", "parent": "trial", "regimen": "d-imid"})
    assert partners(evidence, same, same.cohorts[0]).name == "imid"


def test_every_partner_class_is_reached_by_some_case():
    reached = {name for _, expected in COMPOSITION for name in expected.split("+")}
    assert set(PARTNER_CLASSES) <= reached


# ------------------------------------------------------------ downloads and pages

def test_outcomes_and_studies_downloads_carry_the_axes():
    evidence = validate_tree(VALID)
    files = data_files(evidence, "Atlas", "https://example.org/")
    outcomes = list(csv.DictReader(io.StringIO(files["outcomes.csv"])))
    by_cohort = {row["cohort_id"]: row for row in outcomes}
    assert by_cohort["refractory"]["partner_class"] == "imid"
    assert by_cohort["refractory"]["antibody"] in INDEX_AXIS
    assert all(re.fullmatch(partner_group_pattern(), row["partner_class"]) for row in outcomes)
    studies = {row["study_id"]: row["partner_classes"] for row in csv.DictReader(io.StringIO(files["studies.csv"]))}
    assert studies["fixture-dpd-retreatment"] == "imid;not_retreatment"
    names = [c.name for c in OUTCOME_COLUMNS]
    assert {"partner_class", "partner_drugs", "antibody", "prior_anti_cd38_status"} <= set(names)
    assert "partner_classes" in [c.name for c in STUDY_COLUMNS]
    assert '"name": "antibody"' in files["datapackage.json"]


def test_study_and_regimen_pages_show_the_axes():
    evidence = validate_tree(VALID)
    study_page = study_context(evidence, evidence.studies["fixture-dpd-retreatment"])
    shown = {c["id"]: c for c in study_page["cohorts"]}
    assert shown["refractory"]["partner"].label == "+ IMiD"
    assert shown["refractory"]["index_switch"].name in INDEX_AXIS
    assert shown["naive"]["partner"].name == "not_retreatment"
    regimen_page = regimen_context(evidence, "daratumumab-pomalidomide-dexamethasone")
    assert regimen_page["partner"].name == "imid"
    assert {row["partner"].name for row in regimen_page["rows"]} == {"imid", "not_retreatment"}


def test_the_tables_numeric_sort_of_partner_groups_keeps_their_order():
    from build_scripts.render.regimen_tables import partner_sort_number

    groups = ["unspecified", "imid+chemotherapy", "chemotherapy", "imid", "anti_cd38_monotherapy", "other",
              "imid+proteasome_inhibitor+chemotherapy", "proteasome_inhibitor", "not_retreatment",
              "imid+proteasome_inhibitor", "bispecific+chemotherapy", "proteasome_inhibitor+other"]
    assert sorted(groups, key=partner_sort_number) == partner_groups_in_order(groups)
    assert all(isinstance(partner_sort_number(g), int) and partner_sort_number(g) < 2 ** 53 for g in groups)
