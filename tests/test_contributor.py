"""A curator's path: `new` writes templates that fail until filled in, then validate, join the ledger and build."""

import subprocess
import sys

import pytest

from build_scripts.derive.checks import validate_tree
from build_scripts.load.problems import EvidenceError
from build_scripts.publish.build import build_site

from conftest import ROOT, evidence_tree, fixture_layout

FILLED = {
    "publication": {
        "TODO-type": "article", '"TODO: the title exactly as printed"': "A new retreatment study",
        '"TODO: Surname AB"': "Smith AB", '"TODO: journal name"': "Journal of Examples",
        "year: TODO": "year: 2024", "TODO-doi": "10.9999/smith.2024.1",
    },
    "regimen": {
        '"TODO: e.g. Daratumumab + pomalidomide + dexamethasone"': "Daratumumab + dexamethasone",
        "TODO-agent-id": "daratumumab\n  - dexamethasone", '"TODO: e.g. DPd"': "Dd",
    },
    "agent": {'"TODO: e.g. Daratumumab"': "Carfilzomib", "TODO-class": "proteasome_inhibitor",
              '"TODO: brand or code names, e.g. Darzalex"': "Kyprolis"},
    "study": {
        '"TODO: a descriptive title in your own words"': "Smith 2024 retreatment cohort",
        "TODO-design": "retrospective_real_world", "TODO-publication-id": "smith-2024-example",
        "TODO-prior-status": "refractory",
        "TODO: two to five sentences in your own words: who was treated, with what, and what was found.":
            "Twenty patients were retreated with daratumumab and dexamethasone.",
        "value: TODO                   # number of patients": "value: 20",
        '"TODO: e.g. Table 1"': "Table 1", '"TODO: e.g. All patients"': "All patients",
        "TODO-regimen-id": "daratumumab-dexamethasone",
        "value: TODO               # the figure as printed": "value: 25\n        responders: 5\n        n: 20",
        '"TODO: e.g. Table 2"': "Table 2",
    },
}
IDS = {"publication": "smith-2024-example", "regimen": "daratumumab-dexamethasone", "agent": "carfilzomib",
       "study": "smith-2024-retreatment"}


def run(*args):
    return subprocess.run([sys.executable, "-m", "build_scripts", *args], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.parametrize("kind", ["publication", "regimen", "agent", "study"])
def test_new_template_is_rejected_until_every_todo_is_filled(tmp_path, kind):
    evidence = evidence_tree(tmp_path)
    result = run("--evidence", str(evidence), "new", kind, IDS[kind])
    assert result.returncode == 0, result.stderr
    path = next(evidence.glob(f"*/{IDS[kind]}.yaml"))
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    assert all("placeholder" in p.message for p in caught.value.problems if p.path.endswith(path.name))
    assert any(p.path.endswith(path.name) for p in caught.value.problems)


def test_a_filled_in_study_validates_joins_the_ledger_and_appears_on_the_site(tmp_path):
    evidence = evidence_tree(tmp_path)
    for kind in ("publication", "regimen", "study"):
        assert run("--evidence", str(evidence), "new", kind, IDS[kind]).returncode == 0
        path = next(evidence.glob(f"*/{IDS[kind]}.yaml"))
        text = path.read_text()
        for placeholder, value in FILLED[kind].items():
            assert placeholder in text, (kind, placeholder)
            text = text.replace(placeholder, value)
        path.write_text(text)
    result = run("--evidence", str(evidence), "validate")
    assert result.returncode == 0, result.stderr
    assert run("--evidence", str(evidence), "urls").returncode == 1
    assert run("--evidence", str(evidence), "urls", "--update").returncode == 0
    assert run("--evidence", str(evidence), "urls").returncode == 0
    layout = fixture_layout(tmp_path, evidence)
    build_site(layout)
    page = (layout.site / "studies" / "smith-2024-retreatment" / "index.html").read_text()
    assert "Smith 2024 retreatment cohort" in page and "5/20" in page
    assert not (layout.site / "new").exists()  # the records `new` starts are content, not pages


def test_new_refuses_a_bad_id_and_an_existing_record(tmp_path):
    evidence = evidence_tree(tmp_path)
    assert run("--evidence", str(evidence), "new", "study", "Bad_Id").returncode == 2
    assert run("--evidence", str(evidence), "new", "study", "fixture-dpd-retreatment").returncode == 2
