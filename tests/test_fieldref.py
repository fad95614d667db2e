"""The field reference: every model field described, shown on the generated page, with examples that validate."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, get_args

import pytest
import yaml
from markupsafe import escape
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from build_scripts.load.choices import _choice, DesignName
from build_scripts.load.fields import Count, LongText, NonNegative, OneLine, Slug
from build_scripts.load.model import RECORD_MODELS, Study
from build_scripts.load.topic_model import active
from build_scripts.load.vocabulary import DESIGNS, RECORD_KINDS, worded
from build_scripts.render.fieldref import field_reference, part_anchor, part_title, record_anchor, type_view, yaml_text

from conftest import ROOT


def every_model() -> list[type[BaseModel]]:
    """Every model reachable from the record models, walked here independently of fieldref."""
    found: list[type[BaseModel]] = []

    def inner(annotation: Any) -> list[type[BaseModel]]:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return [annotation]
        return [model for argument in get_args(annotation) for model in inner(argument)]

    def visit(model: type[BaseModel]) -> None:
        if model in found:
            return
        found.append(model)
        for info in model.model_fields.values():
            for part in inner(info.annotation):
                visit(part)

    for model in RECORD_MODELS.values():
        visit(model)
    return found


def anchor_of(model: type[BaseModel]) -> str:
    """The section anchor a model should have: its record kind's, or its part's."""
    kind = next((kind for kind, m in RECORD_MODELS.items() if m is model), None)
    return record_anchor(RECORD_KINDS[kind]) if kind else part_anchor(model)


def field_adapter(info) -> TypeAdapter:
    """Validates a value of one field as its model would: strictly, with the field's constraints."""
    if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
        return TypeAdapter(info.annotation)  # a part brings its own strict config
    annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(annotation, config=ConfigDict(strict=True))


def test_every_field_of_every_model_has_a_description():
    missing = [f"{model.__name__}.{name}" for model in every_model()
               for name, info in model.model_fields.items() if not (info.description or "").strip()]
    assert not missing, "fields without Field(description=...): " + ", ".join(missing)


def test_every_topic_word_a_description_or_summary_names_is_one_the_topic_gives():
    # worded() leaves a name it does not know in braces: a misspelt word would reach the page as '{index_agnet}'.
    unfilled = [f"{model.__name__}.{name}: {found}" for model in every_model()
                for name, text in [("(summary)", model.__doc__ or ""),
                                   *((name, info.description or "") for name, info in model.model_fields.items())]
                for found in re.findall(r"\{[a-z_]+\}", worded(text))]
    assert not unfilled, unfilled


def test_every_field_the_topic_gives_examples_for_is_a_field_of_a_model():
    # The reference looks the topic's examples up by 'Model.field': a key naming no field would be silently unused.
    fields = {f"{model.__name__}.{name}" for model in every_model() for name in model.model_fields}
    assert set(active().field_examples) - fields == set()


def test_the_walk_reaches_nested_parts():
    names = {model.__name__ for model in every_model()}
    # Outcome is two levels down (Study.cohorts -> Cohort.outcomes); TherapyLine four (-> patients -> lines).
    assert {"Study", "Cohort", "Outcome", "TherapyLine", "PatientAttribute", "Source"} <= names


def test_every_example_is_a_valid_value_of_its_field_as_written_in_yaml():
    reference = field_reference()
    views = {(section.anchor, f.name): f for section in reference["records"] + reference["parts"] for f in section.fields}
    checked = 0
    for model in every_model():
        anchor = anchor_of(model)
        for name, info in model.model_fields.items():
            for text in views[(anchor, info.alias or name)].examples:
                field_adapter(info).validate_python(yaml.safe_load(text))  # raises, naming the field's type, when it drifts
                checked += 1
    assert checked > 50


def test_an_example_that_does_not_fit_its_type_is_caught():
    class Part(BaseModel):
        phase: OneLine | None = Field(None, description="Phase.", examples=[3])

    info = Part.model_fields["phase"]
    with pytest.raises(ValueError):
        field_adapter(info).validate_python(yaml.safe_load(yaml_text(3)))


@pytest.mark.parametrize("annotation, words", [
    (OneLine, "one line of text"),
    (LongText | None, "Markdown text"),
    (Slug, "id"),
    (list[Slug], "list of ids"),
    (list[OneLine], "list of one-line texts"),
    (NonNegative, "number ≥ 0"),
    (Count | None, "whole number ≥ 0"),
    (Annotated[int, Field(ge=1, le=50)], "whole number from 1 to 50"),
    (Annotated[float, Field(gt=0, lt=100)], "number > 0 and < 100"),
    (dt.date, "date (YYYY-MM-DD)"),
    (bool, "yes/no (true or false)"),
    (DesignName, "one of the allowed values"),
    (dt.date | Literal["inception"], "date (YYYY-MM-DD) or one of the allowed values"),
])
def test_types_are_named_in_curator_terms(annotation, words):
    assert type_view(annotation).text == words


def test_vocabulary_choices_list_every_value_with_its_label():
    options = type_view(DesignName).options
    assert [(o.value, o.label) for o in options] == [(name, design.label) for name, design in DESIGNS.items()]


def test_a_vocabulary_without_labels_lists_its_values_alone():
    # Some vocabularies map a code to something other than a label (e.g. a unit's singular and plural).
    options = type_view(_choice("unit", {"months": ("month", "months")})).options
    assert [(o.value, o.label) for o in options] == [("months", None)]


def test_literal_choices_list_their_values():
    assert [o.value for o in type_view(Literal["reported", "not_reported"] | None).options] == ["reported", "not_reported"]


def test_parts_and_lists_of_parts_link_to_their_section():
    cohorts = type_view(Study.model_fields["cohorts"].annotation, Study.model_fields["cohorts"].metadata)
    assert cohorts.text == "list of" and cohorts.part.anchor == "cohort" and "at least 1 entry" in cohorts.limits


def test_part_titles_and_anchors_keep_acronyms_whole():
    class PriorAntiCD38(BaseModel):
        pass

    class PriorLines(BaseModel):
        pass

    assert (part_title(PriorAntiCD38), part_anchor(PriorAntiCD38)) == ("Prior anti CD38", "prior-anti-cd38")
    assert (part_title(PriorLines), part_anchor(PriorLines)) == ("Prior lines", "prior-lines")


def test_a_type_without_curator_words_is_an_error_not_a_silent_gap():
    with pytest.raises(TypeError, match="no curator term"):
        type_view(dict[str, str])


def test_reference_has_one_section_with_its_own_anchor_per_record_kind_and_part():
    reference = field_reference()
    assert [s.title for s in reference["records"]] == [RECORD_KINDS[k].label for k in RECORD_MODELS]
    assert [s.anchor for s in reference["records"]] == ["publication", "study", "regimen", "agent", "systematic-review"]
    parts = {part_anchor(m) for m in every_model() if m not in RECORD_MODELS.values()}
    assert {s.anchor for s in reference["parts"]} == parts
    ids = [s.anchor for s in reference["records"] + reference["parts"]]
    ids += [f.anchor for s in reference["records"] + reference["parts"] for f in s.fields]
    assert len(ids) == len(set(ids))


def test_two_models_that_would_share_an_anchor_are_refused():
    class Cohort(BaseModel):
        other: "Study" = Field(description="x")

    with pytest.raises(ValueError, match="twice"):
        field_reference({"study": Study, "cohort-twin": Cohort}, {**RECORD_KINDS, "cohort-twin": RECORD_KINDS["study"]})


def test_required_defaults_and_uses_are_read_from_the_model():
    reference = field_reference()
    sections = {s.anchor: s for s in reference["records"] + reference["parts"]}
    outcome = {f.name: f for f in sections["outcome"].fields}
    assert outcome["measure"].required and not outcome["value"].required
    assert outcome["status"].default == "reported" and outcome["cross_study"].default == "true"
    assert outcome["value"].default is None
    agent = {f.name: f for f in sections["agent"].fields}
    assert "class" in agent  # the YAML key, not the Python attribute name
    assert ("Cohort", "outcomes") in {(u.section, u.field) for u in sections["outcome"].used_in}


def test_generated_page_lists_every_field_of_every_model_with_its_description(fixture_site):
    html = (fixture_site / "contribute" / "fields" / "index.html").read_text(encoding="utf-8")
    for model in every_model():
        anchor = anchor_of(model)
        assert f'id="{anchor}"' in html, f"no section for {model.__name__}"
        for name, info in model.model_fields.items():
            key = info.alias or name
            row = re.search(rf'<tr id="{re.escape(anchor)}-{re.escape(key)}">(.*?)</tr>', html, re.S)
            assert row, f"{model.__name__}.{key} is missing from the field reference page"
            assert f"<code>{key}</code>" in row.group(1)
            described = str(escape(worded(info.description)))  # as the topic's words fill it in
            assert described in row.group(1), f"{model.__name__}.{key}: description not shown"


def test_contribute_page_and_contributing_guide_link_to_the_field_reference(fixture_site):
    contribute = (fixture_site / "contribute" / "index.html").read_text(encoding="utf-8")
    assert 'href="fields/"' in contribute
    assert "/contribute/fields/" in (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
