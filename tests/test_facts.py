"""Derived facts: each cohort's prior anti-CD38 status along its chain of populations, and the retreatment flag."""

import pytest

from build_scripts.derive.facts import (
    PriorStatus, index_refractory_share, cohort_regimens, is_in_question, exposure_status,
    question_fit,
)
from build_scripts.load.evidence import Evidence
from build_scripts.load.model import Agent, Regimen, Study
from build_scripts.load.parts import Population
from build_scripts.load.vocabulary import EXPOSURE_STATUSES

SOURCE = {"publication": "p", "location": "Table 1"}


def population(status=None, share=None, to="daratumumab"):
    """A population defined as `status` (or not) with `share` per cent refractory to `to` (or none recorded)."""
    data = {}
    if status is not None:
        data["prior_exposure"] = {"status": status, "source": SOURCE}
    if share is not None:
        data["refractory"] = [{"to": to, "percent": share, "source": SOURCE}]
    return data


def study(*cohorts, study_population=None):
    """A study of the given cohorts (dicts with at least an id), each given DPd unless it says otherwise."""
    data = {"id": "s", "title": "S", "design": "retrospective_real_world", "publications": ["p"], "summary": "x",
            "cohorts": [{"label": c["id"], "role": "subgroup", "regimen": "dpd", **c} for c in cohorts]}
    if study_population is not None:
        data["population"] = study_population
    return Study.model_validate(data)


def status_of(built: Study, cohort_id: str) -> PriorStatus:
    return exposure_status(built, next(c for c in built.cohorts if c.id == cohort_id))


@pytest.fixture
def evidence():
    agents = [Agent.model_validate({"id": i, "name": i, "class": k}) for i, k in
              (("dara", "anti_cd38_antibody"), ("pom", "imid"), ("dex", "corticosteroid"))]
    regimens = [Regimen.model_validate({"id": i, "name": n, "agents": a}) for i, n, a in
                (("dpd", "DPd", ["dara", "pom", "dex"]), ("pd", "Pd", ["pom", "dex"]))]
    return Evidence(agents={a.id: a for a in agents}, regimens={r.id: r for r in regimens})


# ------------------------------------------------------------ a population's own status

@pytest.mark.parametrize("share, expected", [(100, "refractory"), (0, "exposed_not_refractory"),
                                             (40, "exposed_partly_refractory"),
                                             (None, "exposed_refractoriness_not_stated")])
def test_exposed_is_resolved_by_the_same_populations_refractory_share(share, expected):
    found = status_of(study({"id": "c", "population": population("exposed", share)}), "c")
    assert (found.status, found.refractory_share) == (expected, share)


@pytest.mark.parametrize("status", ["refractory", "exposed_not_refractory", "partly_naive", "naive"])
def test_a_defined_status_wins_over_the_share(status):
    # a definition is taken as the source gives it, whatever the share
    assert status_of(study({"id": "c", "population": population(status, 50)}), "c").status == status


@pytest.mark.parametrize("share, expected", [(100, "refractory"), (72, "not_stated"), (0, "not_stated"),
                                             (None, "not_stated")])
def test_without_a_definition_only_a_whole_population_refractory_says_anything(share, expected):
    # 72% refractory says nothing of the other 28%'s exposure: no status claims they had an antibody
    assert status_of(study({"id": "c", "population": population(None, share)}), "c").status == expected


def test_the_share_counts_only_anti_cd38_classes_and_reported_figures():
    def share(items):
        return index_refractory_share(Population.model_validate({"refractory": items}))

    assert share([{"to": "triple_class", "percent": 100, "source": SOURCE}]) is None
    assert share([{"to": "anti_cd38", "status": "not_reported", "source": SOURCE},
                  {"to": "isatuximab", "patients": 1, "n": 4, "source": SOURCE}]) == 25


# ------------------------------------------------------------ the chain: cohort, parents, study

def test_a_cohorts_own_status_wins_over_its_parents():
    built = study({"id": "parent", "population": population("partly_naive")},
                  {"id": "child", "parent": "parent", "population": population("refractory")})
    assert status_of(built, "child").status == "refractory"


@pytest.mark.parametrize("status", ["refractory", "exposed_not_refractory", "naive"])
def test_a_subgroup_inherits_a_status_that_holds_for_every_subset(status):
    built = study({"id": "parent", "population": population(status)}, {"id": "child", "parent": "parent"})
    found = status_of(built, "child")
    assert found.status == status and "cohort 'parent'" in found.basis


def test_a_subgroup_of_a_population_defined_as_exposed_is_exposed_with_its_share_not_stated():
    built = study({"id": "parent", "population": population("exposed", 40)}, {"id": "child", "parent": "parent"})
    assert (status_of(built, "child").status, status_of(built, "child").refractory_share) == (
        "exposed_refractoriness_not_stated", None)


def test_a_subgroup_learns_nothing_from_a_partly_naive_population_nor_from_a_share_alone():
    built = study({"id": "partly", "population": population("partly_naive")},
                  {"id": "mixed-share", "population": population(None, 40)},
                  {"id": "a", "parent": "partly"}, {"id": "b", "parent": "mixed-share"})
    assert status_of(built, "a").status == "not_stated" and status_of(built, "b").status == "not_stated"


def test_a_subgroup_skips_a_parent_that_tells_nothing_and_takes_the_next_level():
    built = study({"id": "grandparent", "population": population("refractory")},
                  {"id": "parent", "parent": "grandparent", "population": population("partly_naive")},
                  {"id": "child", "parent": "parent"})
    assert status_of(built, "child").status == "refractory"


@pytest.mark.parametrize("role", ["overall", "arm"])
def test_an_overall_cohort_or_an_arm_takes_the_enclosing_make_up_as_it_is(role):
    built = study({"id": "trial", "population": population("partly_naive", 77)},
                  {"id": "c", "role": role, "parent": "trial"})
    assert (status_of(built, "c").status, status_of(built, "c").refractory_share) == ("partly_naive", 77)
    built = study({"id": "c", "role": role}, study_population=population("exposed", 28))
    assert (status_of(built, "c").status, status_of(built, "c").refractory_share) == ("exposed_partly_refractory", 28)


def test_the_nearest_level_wins_and_the_study_population_comes_last():
    built = study({"id": "parent", "population": population("naive")}, {"id": "child", "parent": "parent"},
                  {"id": "alone"}, study_population=population("refractory"))
    assert status_of(built, "child").status == "naive"
    assert status_of(built, "alone").status == "refractory" and "study population" in status_of(built, "alone").basis


def test_nothing_stated_anywhere_is_not_stated():
    assert status_of(study({"id": "c"}), "c").status == "not_stated"


# ------------------------------------------------------------ regimens and the retreatment flag

def test_a_cohort_without_a_regimen_takes_its_arms_when_every_arm_has_one():
    built = study({"id": "trial", "role": "overall", "regimen": None},
                  {"id": "a", "role": "arm", "parent": "trial"}, {"id": "b", "role": "arm", "parent": "trial",
                                                                   "regimen": "pd"},
                  {"id": "sub", "parent": "trial"})
    assert cohort_regimens(built, built.cohorts[0]) == ("dpd", "pd")
    built = study({"id": "trial", "role": "overall", "regimen": None},
                  {"id": "a", "role": "arm", "parent": "trial", "regimen": None})
    assert cohort_regimens(built, built.cohorts[0]) == ()
    built = study({"id": "trial", "role": "overall", "regimen": None}, {"id": "sub", "parent": "trial"})
    assert cohort_regimens(built, built.cohorts[0]) == ()  # subgroups need not make up the whole


@pytest.mark.parametrize("status", list(EXPOSURE_STATUSES))
def test_only_cohorts_every_patient_of_which_had_an_antibody_are_retreatment(evidence, status):
    definitions = {"refractory": ("refractory", None), "exposed_partly_refractory": ("exposed", 40),
                   "exposed_refractoriness_not_stated": ("exposed", None),
                   "exposed_not_refractory": ("exposed_not_refractory", None),
                   "partly_naive": ("partly_naive", None), "naive": ("naive", None), "not_stated": (None, None)}
    built = study({"id": "c", "population": population(*definitions[status])})
    found = question_fit(evidence, built, built.cohorts[0])
    assert found.prior.status == status
    assert found.value is EXPOSURE_STATUSES[status].in_question
    assert found.value is (status in ("refractory", "exposed_partly_refractory", "exposed_refractoriness_not_stated",
                                      "exposed_not_refractory"))


def test_a_control_arm_or_a_cohort_without_a_regimen_record_is_never_retreatment(evidence):
    built = study({"id": "control", "role": "arm", "regimen": "pd"}, {"id": "words", "regimen": None,
                                                                      "regimen_as_stated": "Dara-based therapy"},
                  study_population=population("refractory"))
    control, words = built.cohorts
    assert not is_in_question(evidence, built, control)
    assert "holds no anti-CD38 antibody" in question_fit(evidence, built, control).reason
    assert not is_in_question(evidence, built, words)
    assert "no regimen record" in question_fit(evidence, built, words).reason


def test_a_trial_is_retreatment_as_a_whole_only_when_every_arm_holds_an_anti_cd38_antibody(evidence):
    both = study({"id": "trial", "role": "overall", "regimen": None},
                 {"id": "a", "role": "arm", "parent": "trial"}, {"id": "b", "role": "arm", "parent": "trial"},
                 study_population=population("refractory"))
    assert is_in_question(evidence, both, both.cohorts[0])
    with_control = study({"id": "trial", "role": "overall", "regimen": None},
                         {"id": "a", "role": "arm", "parent": "trial"},
                         {"id": "b", "role": "arm", "parent": "trial", "regimen": "pd"},
                         study_population=population("refractory"))
    assert not is_in_question(evidence, with_control, with_control.cohorts[0])


def test_the_status_text_gives_the_share_and_never_claims_a_split_it_does_not_know():
    assert PriorStatus("exposed_partly_refractory", 72, "").text == "Exposed, 72% refractory"
    assert PriorStatus("exposed_refractoriness_not_stated", None, "").text == "Exposed, refractoriness not stated"
    assert PriorStatus("refractory", 100, "").text == "Refractory to anti-CD38"
