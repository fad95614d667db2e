"""Partner class: what an anti-CD38 retreatment is given with, derived from regimen agents and prior antibodies."""

import csv
import io

import pytest

from build_scripts.checks import validate_tree
from build_scripts.evidence import Evidence
from build_scripts.export import OUTCOME_COLUMNS, STUDY_COLUMNS, data_files
from build_scripts.facts import partner_class, partners, prior_antibodies, regimen_partner_class
from build_scripts.model import Agent, Regimen, Study
from build_scripts.pages import regimen_context, study_context
from build_scripts.vocabulary import PARTNER_CLASSES

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


def population(status="refractory", antibodies=None, refractory=None):
    data = {"prior_anti_cd38": {"status": status, "source": SOURCE}}
    if antibodies is not None:
        data["prior_anti_cd38"]["antibodies"] = antibodies
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
    return partner_class(evidence, built, built.cohorts[0])


# ------------------------------------------------------------ composition: one case or more for every class

COMPOSITION = [
    ("d", "anti_cd38_monotherapy"),
    ("dd", "anti_cd38_monotherapy"),  # a corticosteroid is never a partner
    ("dpd", "imid"),
    ("d-imid", "imid"),  # an unnamed IMiD still counts for its class
    ("dvd", "proteasome_inhibitor"),
    ("dvpd", "imid_and_pi"),
    ("d-tal", "bispecific"),
    ("d-cemi", "checkpoint_inhibitor"),
    ("d-atra", "retinoid"),
    ("d-doxo", "chemotherapy"),
    ("d-cyclo", "chemotherapy"),
    ("d-eto", "chemotherapy"),
    ("d-cis", "chemotherapy"),
    ("pom-pad-dara", "chemotherapy"),  # chemotherapy wins over an IMiD and a proteasome inhibitor
    ("d-tal-doxo", "chemotherapy"),  # and over any other partner
    ("d-ven-vd", "other"),  # a BCL-2 inhibitor beside the PI backbone names the regimen
    ("d-sel", "other"),
    ("d-based", "unspecified"),
    ("dpd-partly-named", "unspecified"),  # partners not all named: never read as the ones listed
    ("cd38-based", "unspecified"),
]


@pytest.mark.parametrize("regimen, expected", COMPOSITION)
def test_a_retreatments_partner_class_comes_from_its_regimens_agent_classes(evidence, regimen, expected):
    assert class_of(evidence, regimen) == expected
    assert regimen_partner_class(evidence, regimen).name == expected


def test_partners_not_specified_is_never_read_as_monotherapy(evidence):
    assert evidence.regimens["d-based"].agents == evidence.regimens["d"].agents
    assert class_of(evidence, "d") == "anti_cd38_monotherapy" and class_of(evidence, "d-based") == "unspecified"


# ------------------------------------------------------------ switch of antibody

def test_a_different_antibody_after_the_one_the_population_is_refractory_to_is_a_switch(evidence):
    refractory_to_dara = population("refractory", refractory=[("daratumumab", 100)])
    assert class_of(evidence, "isa", population=refractory_to_dara) == "switch"
    assert class_of(evidence, "isa-based", population=refractory_to_dara) == "switch"  # partners unknown, switch known
    assert class_of(evidence, "dpd", population=refractory_to_dara) == "imid"  # same antibody: retreatment


def test_antibodies_listed_by_the_source_decide_the_switch(evidence):
    after_felzartamab = population("refractory", antibodies=["felzartamab"])
    assert class_of(evidence, "pom-pad-dara", population=after_felzartamab) == "switch"
    built = study({"id": "c", "regimen": "pom-pad-dara", "population": after_felzartamab})
    found = partners(evidence, built, built.cohorts[0])
    assert "Daratumumab after Felzartamab" in found.reason and found.label == PARTNER_CLASSES["switch"]
    # the listed antibodies win over a refractory share that would say otherwise
    listed = population("exposed", antibodies=["isatuximab"], refractory=[("daratumumab", 100)])
    assert class_of(evidence, "dpd", population=listed) == "switch"


@pytest.mark.parametrize("case, regimen, pop", [
    ("the same antibody among those had before", "isa",
     population("exposed", antibodies=["daratumumab", "isatuximab"])),
    ("only some patients are known to have had the other antibody", "isa",
     population("exposed", refractory=[("daratumumab", 72)])),
    ("the prior antibody is not named", "isa", population("refractory", refractory=[("anti_cd38", 100)])),
    ("a placeholder antibody among those had before", "isa",
     population("exposed", antibodies=["daratumumab", "anti-cd38-ns"])),
    ("the antibody given is not named", "cd38-based", population("refractory", refractory=[("daratumumab", 100)])),
    ("an unnamed antibody beside the one given", "isa-or-unnamed",
     population("refractory", refractory=[("daratumumab", 100)])),
])
def test_no_switch_unless_both_antibodies_are_known_and_differ(evidence, case, regimen, pop):
    assert class_of(evidence, regimen, population=pop) != "switch", case


def test_a_subgroup_takes_the_prior_antibodies_of_the_population_that_contains_it(evidence):
    built = study({"id": "all", "regimen": "isa-pd", "population": population("partly_naive", antibodies=["daratumumab"])},
                  {"id": "refractory", "role": "subgroup", "parent": "all", "regimen": "isa-pd",
                   "population": population("refractory")},
                  {"id": "naive", "role": "subgroup", "parent": "all", "regimen": "isa-pd",
                   "population": population("naive")})
    whole, refractory, naive = built.cohorts
    assert prior_antibodies(evidence, built, refractory) == (frozenset({"daratumumab"}), "cohort 'all', which contains it")
    assert partner_class(evidence, built, refractory) == "switch"
    assert partner_class(evidence, built, whole) == "not_retreatment"  # partly naive
    assert partner_class(evidence, built, naive) == "not_retreatment"


# ------------------------------------------------------------ not a retreatment, and several regimens

@pytest.mark.parametrize("regimen, pop", [
    ("pd", population("refractory")),  # a control arm: no anti-CD38 antibody
    ("dpd", population("naive")),
    ("dpd", population("partly_naive")),
    ("dpd", None),  # prior anti-CD38 therapy not stated: unknown
])
def test_a_cohort_that_is_not_a_retreatment_has_no_partner_class_of_its_own(evidence, regimen, pop):
    assert class_of(evidence, regimen, population=pop) == "not_retreatment"


def test_a_cohort_over_arms_of_different_partner_classes_is_unspecified_and_says_why(evidence):
    built = study({"id": "trial", "regimen": None},
                  {"id": "a", "role": "arm", "parent": "trial", "regimen": "dpd"},
                  {"id": "b", "role": "arm", "parent": "trial", "regimen": "dvd"})
    found = partners(evidence, built, built.cohorts[0])
    assert found.name == "unspecified" and "different partner classes" in found.reason
    assert [partner_class(evidence, built, c) for c in built.cohorts[1:]] == ["imid", "proteasome_inhibitor"]
    same = study({"id": "trial", "regimen": None},
                 {"id": "a", "role": "arm", "parent": "trial", "regimen": "dpd"},
                 {"id": "b", "role": "arm", "parent": "trial", "regimen": "d-imid"})
    assert partner_class(evidence, same, same.cohorts[0]) == "imid"


def test_every_partner_class_is_reached_by_some_case():
    reached = {expected for _, expected in COMPOSITION} | {"switch", "not_retreatment"}
    assert reached == set(PARTNER_CLASSES)


# ------------------------------------------------------------ downloads and pages

def test_outcomes_and_studies_downloads_carry_the_partner_class():
    evidence = validate_tree(VALID)
    files = data_files(evidence, "Atlas", "https://example.org/")
    outcomes = list(csv.DictReader(io.StringIO(files["outcomes.csv"])))
    by_cohort = {row["cohort_id"]: row["partner_class"] for row in outcomes}
    assert by_cohort["refractory"] == "imid"
    assert all(row["partner_class"] in PARTNER_CLASSES for row in outcomes)
    studies = {row["study_id"]: row["partner_classes"] for row in csv.DictReader(io.StringIO(files["studies.csv"]))}
    assert studies["fixture-dpd-retreatment"] == "imid;not_retreatment"
    assert "partner_class" in [c.name for c in OUTCOME_COLUMNS] and "partner_classes" in [c.name for c in STUDY_COLUMNS]
    assert '"name": "partner_class"' in files["datapackage.json"]


def test_study_and_regimen_pages_show_the_partner_class():
    evidence = validate_tree(VALID)
    study_page = study_context(evidence, evidence.studies["fixture-dpd-retreatment"])
    shown = {c["id"]: c["partner"].label for c in study_page["cohorts"]}
    assert shown["refractory"] == PARTNER_CLASSES["imid"] and shown["naive"] == PARTNER_CLASSES["not_retreatment"]
    regimen_page = regimen_context(evidence, "daratumumab-pomalidomide-dexamethasone")
    assert regimen_page["partner"].name == "imid"
    assert {row["partner"].name for row in regimen_page["rows"]} == {"imid", "not_retreatment"}
