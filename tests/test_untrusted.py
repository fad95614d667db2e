"""Contributions are untrusted: no script, no path escape, bounded input, located errors, never a crash."""

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from build_scripts.build import build_site
from build_scripts.checks import validate_tree
from build_scripts.load import parse_yaml
from build_scripts.problems import EvidenceError

from conftest import VALID, evidence_tree, fixture_layout

STUDY = VALID / "studies" / "fixture-dpd-retreatment.yaml"


def test_script_and_javascript_links_in_a_summary_do_not_reach_the_page(tmp_path):
    evidence = evidence_tree(tmp_path)
    study = evidence / "studies" / "fixture-dpd-retreatment.yaml"
    # Links other than http(s) and '#' are refused by validation (test_model_rules.py) and dropped by the
    # renderer (test_pages.py), so this summary carries only the payloads that validation lets through.
    hostile = ('Summary <script>alert("x")</script> <img src=x onerror=alert(1)> '
               '<iframe src="https://evil.example/">')
    data = yaml.safe_load(study.read_text())
    data["summary"] = hostile
    data["cohorts"][0]["label"] = '<script>alert("label")</script>'
    study.write_text(yaml.safe_dump(data, sort_keys=False))
    layout = fixture_layout(tmp_path, evidence)
    build_site(layout)
    html = (layout.site / "studies" / "fixture-dpd-retreatment" / "index.html").read_text()
    assert 'alert("x")' not in html and "onerror" not in html and "javascript:alert" not in html
    assert "data:text/html" not in html and "evil.example" not in html
    assert "&lt;script&gt;alert(&#34;label&#34;)&lt;/script&gt;" in html or "&lt;script&gt;alert(&quot;label&quot;)" in html


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "studies/../x", "UPPER", "a" * 81, "x y", "x/../../y"])
def test_ids_that_could_name_paths_are_refused(tmp_path, bad_id):
    evidence = evidence_tree(tmp_path)
    (evidence / "agents" / "odd.yaml").write_text(yaml.safe_dump({"id": bad_id, "name": "Odd", "class": "imid"}))
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    assert any(p.field == "id" and p.path.endswith("agents/odd.yaml") for p in caught.value.problems)


def test_oversized_field_is_refused_with_its_line(tmp_path):
    evidence = evidence_tree(tmp_path)
    (evidence / "agents" / "big.yaml").write_text(f"id: big\nname: Big\nclass: imid\ndescription: {'x' * 25_000}\n")
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (4, "description") and "20000" in problem.message


def test_oversized_file_is_refused(tmp_path):
    evidence = evidence_tree(tmp_path)
    (evidence / "agents" / "huge.yaml").write_text("id: huge\nname: Huge\nclass: imid\n# " + "x" * 1_100_000 + "\n")
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    assert "at most 1,000,000" in caught.value.problems[0].message


def test_symbolic_links_are_refused(tmp_path):
    evidence = evidence_tree(tmp_path)
    outside = tmp_path / "outside.yaml"
    outside.write_text("id: outside\nname: Outside\nclass: imid\n")
    os.symlink(outside, evidence / "agents" / "outside.yaml")
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    assert "symbolic links" in caught.value.problems[0].message


def test_every_record_in_is_a_page_and_a_row_out(fixture_site):
    evidence = validate_tree(VALID)
    pages = {p.parent.relative_to(fixture_site).as_posix() for p in fixture_site.rglob("index.html")}
    for kind_folder, records in (("studies", evidence.studies), ("publications", evidence.publications),
                                 ("regimens", evidence.regimens), ("agents", evidence.agents),
                                 ("reviews", evidence.reviews)):
        for record_id in records:
            assert f"{kind_folder}/{record_id}" in pages


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_loader_never_crashes_on_any_text(text):
    data, locations, problems = parse_yaml(text, "fuzz.yaml")
    assert all(p.line >= 1 and p.column >= 1 for p in problems)
    if problems:
        return
    assert all(line >= 1 for line, _ in locations.values())


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, width=32),
                    st.text(max_size=30), st.just("<script>alert(1)</script>"), st.just("../../x"),
                    st.just("javascript:alert(1)"))


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


def _set(node, path, value):
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_records_are_accepted_or_rejected_with_located_errors(tmp_path_factory, data):
    base = tmp_path_factory.mktemp("mutant")
    evidence = evidence_tree(base)
    record = yaml.safe_load(STUDY.read_text())
    paths = [p for p in _paths(record) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        try:
            if action == "replace":
                _set(record, path, data.draw(SCALARS))
            elif action == "delete":
                parent = record
                for part in path[:-1]:
                    parent = parent[part]
                del parent[path[-1]]
            else:
                parent = record
                for part in path[:-1]:
                    parent = parent[part]
                if isinstance(parent, dict):
                    parent[data.draw(st.text(min_size=1, max_size=12))] = data.draw(SCALARS)
        except (KeyError, IndexError, TypeError):
            continue
    (evidence / "studies" / "fixture-dpd-retreatment.yaml").write_text(yaml.safe_dump(record, allow_unicode=True))
    try:
        validate_tree(evidence)
    except EvidenceError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.line >= 1 and problem.field and problem.message
            assert Path(problem.path).name.endswith((".yaml", ".txt")) or problem.path.endswith("/")
