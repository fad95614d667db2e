"""Page families are registered in one place (render/jobs.py): each gives one job per key, job names are unique and
stable (the build's caches are keyed by them), and a new family is one decorated function."""

from __future__ import annotations

import pytest

from build_scripts.derive.checks import validate_tree
from build_scripts.render import jobs
from build_scripts.render.pages import Page
from build_scripts.render.templating import template_environment
from conftest import ROOT, VALID


@pytest.fixture(scope="module")
def evidence():
    return validate_tree(VALID)


def names(evidence, charts=None):
    return [job.name for job in jobs.page_jobs(evidence, template_environment(ROOT / "templates"), charts)]


def test_every_family_gives_its_jobs_with_unique_names(evidence):
    found = names(evidence, {"charts/orr/": []})
    assert len(found) == len(set(found))
    families = {name.split(":")[0] for name in found}
    assert families == {f.name for f in jobs.FAMILIES}
    assert found.count("summary") == 1 and f"study:{sorted(evidence.studies)[0]}" in found
    assert len([n for n in found if n.startswith("study:")]) == len(evidence.studies)


def test_families_that_need_charts_give_no_job_without_them(evidence):
    found = names(evidence)
    assert "charts-index" not in found and not any(n.startswith("chart:") for n in found)


def test_a_new_family_is_one_registered_function_and_runs_in_its_place(evidence, monkeypatch):
    monkeypatch.setattr(jobs, "FAMILIES", list(jobs.FAMILIES))

    @jobs.family("colophon", keys=lambda site: ["a", "b"])
    def colophon(site, key):
        return [Page(f"colophon/{key}.md", f"{key}: {len(site.evidence.studies)} studies")]

    made = [job for job in jobs.page_jobs(evidence, template_environment(ROOT / "templates")) if
            job.name.startswith("colophon")]
    assert [job.name for job in made] == ["colophon:a", "colophon:b"]
    assert made[1].make()[0].text == f"b: {len(evidence.studies)} studies"
    with pytest.raises(ValueError, match="registered twice"):
        jobs.family("colophon")(colophon)
