"""The YAML in CONTRIBUTING.md validates against the schema, so the worked examples cannot drift from it.

Each ```yaml block follows a marker comment (invisible on GitHub):

    <!-- example record: evidence/studies/x.yaml -->     a whole record; all of them are validated together
    <!-- example fields: Cohort -->                     some fields of one model, each validated as that field
    <!-- example question: content/questions.yaml -->   a clinical question, read and answered from the evidence
"""

from __future__ import annotations

import re
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, TypeAdapter

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.guide import validate_with_guide
from build_scripts.derive.record_checks import walk_parts
from build_scripts.derive.synthesis import synthesise
from build_scripts.load import model as model_module
from build_scripts.load.problems import EvidenceError
from build_scripts.render.fieldref import field_reference

from conftest import ROOT

GUIDE = ROOT / "CONTRIBUTING.md"
REFERENCE_URL = "https://anti-cd38-atlas.github.io/atlas/contribute/fields/"
MARKER = re.compile(r"<!--\s*example (record|fields|question):\s*(\S+)\s*-->")
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")


@dataclass(frozen=True)
class Example:
    """One YAML block of the guide and what its marker says it is."""

    line: int
    kind: str | None         # "record", "fields", "question" or None when unmarked
    target: str | None       # a path under evidence/ for a record, a model name for fields, the questions file
    text: str


def examples(markdown: str) -> list[Example]:
    """Every ```yaml block of a Markdown text, with the marker on the line before it (if any)."""
    lines = markdown.split("\n")
    found, i = [], 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence or fence.group(2) == "":
            i += 1
            continue
        language = fence.group(2)
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        if language == "yaml":
            marker = MARKER.search(lines[i - 1]) if i > 0 else None
            body = textwrap.dedent("\n".join(lines[i + 1:end]))
            found.append(Example(i + 1, marker.group(1) if marker else None, marker.group(2) if marker else None, body))
        i = end + 1
    return found


GUIDE_EXAMPLES = examples(GUIDE.read_text(encoding="utf-8"))


def test_every_yaml_block_of_the_guide_is_a_checked_example():
    unmarked = [e.line for e in GUIDE_EXAMPLES if e.kind is None]
    assert not unmarked, f"CONTRIBUTING.md has ```yaml blocks without an example marker at lines {unmarked}"
    kinds = {e.kind for e in GUIDE_EXAMPLES}
    assert kinds == {"record", "fields", "question"}


@pytest.mark.parametrize("example", [e for e in GUIDE_EXAMPLES if e.kind == "question"], ids=lambda e: f"line-{e.line}")
def test_worked_example_questions_are_answered_from_the_real_evidence(example, tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    real = (ROOT / example.target).read_text(encoding="utf-8")
    header = real.split("\nquestions:\n", 1)[0]
    (content / "questions.yaml").write_text(header + "\nquestions:\n" + textwrap.indent(example.text, "  ") + "\n",
                                            encoding="utf-8")
    evidence, guide = validate_with_guide(ROOT / "evidence", content)
    [question] = guide.questions.items
    assert synthesise(evidence, [question]).answers[0].members


def test_the_extractor_finds_blocks_and_their_markers():
    text = ("<!-- example fields: Cohort -->\n   ```yaml\n   outcomes: []\n   ```\n\n```yaml\nid: x\n```\n"
            "```sh\nmake site\n```\n<!-- example record: evidence/studies/a.yaml -->\n```yaml\nid: a\n```\n")
    found = examples(text)
    assert [(e.kind, e.target) for e in found] == [
        ("fields", "Cohort"), (None, None), ("record", "evidence/studies/a.yaml")]
    assert found[0].text == "outcomes: []"


def test_worked_example_records_validate_together(tmp_path):
    records = [e for e in GUIDE_EXAMPLES if e.kind == "record"]
    evidence = tmp_path / "evidence"
    # The examples build on the atlas's real topic, agents and regimens, as a contributor's records would.
    for folder in ("agents", "regimens"):
        shutil.copytree(ROOT / "evidence" / folder, evidence / folder)
    shutil.copyfile(ROOT / "evidence" / "topic.yaml", evidence / "topic.yaml")
    for example in records:
        target = Path(example.target)
        assert target.parts[0] == "evidence" and target.suffix == ".yaml", example.target
        path = evidence.joinpath(*target.parts[1:])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(example.text, encoding="utf-8")
    try:
        evidence_base = validate_tree(evidence)
    except EvidenceError as error:
        # A problem's line within an example is that many lines below the example's fence in the guide.
        where = "\n".join(f"  {e.target}: line 1 is CONTRIBUTING.md line {e.line + 1}" for e in records)
        pytest.fail("worked examples in CONTRIBUTING.md fail validation:\n" + "\n".join(map(str, error.problems))
                    + "\n" + where)
    loaded = {path.resolve() for path in evidence_base.files.values()}
    assert all(evidence.joinpath(*Path(e.target).parts[1:]).resolve() in loaded for e in records)
    assert evidence_base.studies and evidence_base.reviews


@pytest.mark.parametrize("example", [e for e in GUIDE_EXAMPLES if e.kind == "fields"], ids=lambda e: f"line-{e.line}")
def test_worked_example_fields_validate_as_their_model_fields(example):
    model = getattr(model_module, example.target)
    data = yaml.safe_load(example.text)
    assert isinstance(data, dict) and data
    problems = []
    for key, value in data.items():
        name, info = next(((n, i) for n, i in model.model_fields.items() if (i.alias or n) == key), (None, None))
        assert info is not None, f"{example.target} has no field '{key}'"
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            adapter = TypeAdapter(info.annotation)
        else:
            annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
            adapter = TypeAdapter(annotation, config=ConfigDict(strict=True))
        parsed = adapter.validate_python(value)
        for part in parsed if isinstance(parsed, list) else [parsed]:
            if isinstance(part, BaseModel):
                problems += [(key, path, message) for path, sub in walk_parts(part) for _, message in sub.domain_problems()]
    assert not problems


@pytest.mark.parametrize("document", ["CONTRIBUTING.md", *sorted(p.relative_to(ROOT).as_posix()
                                                                  for p in (ROOT / "content" / "new").glob("*.yaml"))])
def test_links_to_the_field_reference_name_anchors_it_has(document):
    reference = field_reference()
    anchors = {s.anchor for s in reference["records"] + reference["parts"]}
    anchors |= {f.anchor for s in reference["records"] + reference["parts"] for f in s.fields}
    linked = re.findall(re.escape(REFERENCE_URL) + r"#([\w-]+)", (ROOT / document).read_text(encoding="utf-8"))
    assert linked, f"{document} links to no section of the field reference"
    assert sorted(set(linked) - anchors) == []
