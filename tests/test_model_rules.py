"""Model rules: the two text types, finite numbers, ASCII identifiers, nesting cycles, dates and links."""

import datetime as dt
import math
import typing
from html.parser import HTMLParser

import pytest
import yaml
from pydantic import BaseModel, StringConstraints, TypeAdapter, ValidationError

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.record_checks import _parent_cycles
from build_scripts.load import fields, model
from build_scripts.load.fields import LongText, OneLine, TextField, markdown_links
from build_scripts.load.model import RECORD_MODELS, Agent, Study, validation_messages
from build_scripts.load.parts import Outcome, PatientAttribute
from build_scripts.load.problems import EvidenceError
from build_scripts.load.study_parts import SearchWindow

from conftest import VALID, evidence_tree

ONE_LINE = TypeAdapter(OneLine)
MARKDOWN = TypeAdapter(LongText)


def _refusal(adapter: TypeAdapter, text: str) -> str:
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python(text)
    [(_, message)] = validation_messages(caught.value)
    return message


# --- text types -------------------------------------------------------------------------------------------------

LINE_BREAKS = ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
CONTROLS = ["\x00", "\x01", "\x07", "\x08", "\x1b", "\x1f", "\x7f", "\x80", "\x9b", "\x9f"]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize("char", LINE_BREAKS)
def test_one_line_text_refuses_every_line_break_by_code_point(char):
    message = _refusal(ONE_LINE, f"Title{char}# heading")
    assert message.startswith(f"contains a line break (U+{ord(char):04X}); this field is one line of text")


def test_a_trailing_line_break_is_refused_not_stripped_away():
    assert "U+000A" in _refusal(ONE_LINE, "Title\n")


@pytest.mark.parametrize("char", CONTROLS + ["\t"])
def test_one_line_text_refuses_control_characters_tab_and_nul_included(char):
    assert f"(U+{ord(char):04X})" in _refusal(ONE_LINE, f"a{char}b")


@pytest.mark.parametrize("char", BIDI)
def test_both_text_types_refuse_bidirectional_overrides_and_isolates(char):
    for adapter in (ONE_LINE, MARKDOWN):
        assert f"bidirectional formatting character (U+{ord(char):04X})" in _refusal(adapter, f"abc{char}def")


@pytest.mark.parametrize("text", ["Daratumumab–pomalidomide", "Ünïcödé ≥ 3 lines, 日本語, 😀",
                                  "<script>alert(1)</script>", "  padded  ", "\u200bzero width (not a control)"])
def test_ordinary_one_line_text_passes(text):
    assert ONE_LINE.validate_python(text) == text.strip()


def test_markdown_keeps_line_ends_and_tabs_but_refuses_other_controls():
    text = "First line\r\nsecond\tline\n\n- item\n"
    assert MARKDOWN.validate_python(text) == text
    for char in CONTROLS + ["\u2028", "\u2029"]:
        assert f"(U+{ord(char):04X})" in _refusal(MARKDOWN, f"text {char} here")


def _all_models() -> list[type[BaseModel]]:
    found, pending = [], list(RECORD_MODELS.values())
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.append(current)
        for info in current.model_fields.values():
            pending.extend(_models_in(info.annotation))
    return found


def _models_in(annotation) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for argument in typing.get_args(annotation) for m in _models_in(argument)]


def _string_kinds(annotation, metadata=()) -> list[str]:
    """How each str inside an annotation is constrained: a text kind, 'pattern', 'choice' or 'plain'."""
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        return _string_kinds(base, tuple(metadata) + tuple(extra))
    if annotation is str:
        for item in metadata:
            if isinstance(item, TextField):
                return [item.kind]
        if any(isinstance(item, StringConstraints) and item.pattern for item in metadata):
            return ["pattern"]
        if any("_choice" in getattr(getattr(item, "func", None), "__qualname__", "") for item in metadata):
            return ["choice"]
        return ["plain"]
    if typing.get_origin(annotation) is typing.Literal:
        return []
    return [kind for argument in typing.get_args(annotation) for kind in _string_kinds(argument)]


def _field_kinds() -> dict[str, set[str]]:
    return {f"{m.__name__}.{name}": set(_string_kinds(info.annotation, info.metadata))
            for m in _all_models() for name, info in m.model_fields.items()}


def test_every_str_field_of_every_model_is_a_text_type_an_identifier_or_a_vocabulary_choice():
    plain = [name for name, kinds in _field_kinds().items() if "plain" in kinds]
    assert plain == [], f"str fields without a text type, pattern or vocabulary: {plain}"


@pytest.mark.parametrize("field, kind", [
    ("Study.title", "one_line"), ("Publication.authors", "one_line"), ("Cohort.label", "one_line"),
    ("Source.location", "one_line"), ("Outcome.variant", "one_line"), ("Outcome.p_value", "one_line"),
    ("DiscrepancyClaim.says", "one_line"), ("PatientAttribute.value", "one_line"), ("Publication.curators", "one_line"),
    ("Study.summary", "markdown"), ("Outcome.note", "markdown"), ("Review.eligibility", "markdown"),
    ("Study.registry_ids", "pattern"), ("Publication.doi", "pattern"), ("Study.id", "pattern"),
])
def test_text_fields_carry_the_marker_of_their_kind(field, kind):
    assert _field_kinds()[field] == {kind}


def test_a_free_text_patient_attribute_is_one_line_text_and_other_values_keep_their_type():
    assert PatientAttribute.model_validate({"name": "Age", "value": 64}).value == 64
    assert PatientAttribute.model_validate({"name": "ISS", "value": "III"}).value == "III"
    with pytest.raises(ValidationError) as caught:
        PatientAttribute.model_validate({"name": "Note", "value": "x\n# y"})
    # One message for the one value, not one per type it could have been.
    assert [message for _, message in validation_messages(caught.value)] == [
        "contains a line break (U+000A); this field is one line of text (character 2)"]


# --- numbers ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
def test_non_finite_numbers_are_refused(number):
    with pytest.raises(ValidationError, match="finite number"):
        Outcome.model_validate({"measure": "pfs", "value": number, "unit": "months",
                                "source": {"publication": "p", "location": "Table 1"}})
    with pytest.raises(ValidationError, match="finite number"):
        PatientAttribute.model_validate({"name": "Age", "value": number})


def test_every_model_refuses_non_finite_numbers():
    assert all(m.model_config.get("allow_inf_nan") is False for m in _all_models())


# --- identifiers ------------------------------------------------------------------------------------------------

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize("type_, good", [
    (fields.Doi, "10.1182/bloodadvances.2021005220"), (fields.Pmid, "34625791"), (fields.Pmcid, "PMC9153006"),
    (fields.RegistryId, "NCT02751255"), (fields.RegistryId, "2016-001234-56"), (fields.RegistryId, "ISRCTN12345678"),
])
def test_identifiers_take_ascii_digits_only(type_, good):
    adapter = TypeAdapter(type_)
    assert adapter.validate_python(good) == good
    for table in (ARABIC_INDIC, FULL_WIDTH):
        # Every digit on its own, so no part of a pattern may still match any Unicode digit.
        for i in [i for i, char in enumerate(good) if char.isdigit()]:
            with pytest.raises(ValidationError, match="should match pattern"):
                adapter.validate_python(good[:i] + good[i].translate(table) + good[i + 1:])


@pytest.mark.parametrize("doi", ["10.1000/a\x00b", "10.1000/a\u202eb", "10.1000/a b", "10.1000/é"])
def test_a_doi_holds_printable_ascii_only(doi):
    with pytest.raises(ValidationError):
        TypeAdapter(fields.Doi).validate_python(doi)


def test_a_registry_id_in_other_digits_cannot_dodge_the_duplicate_check(tmp_path):
    evidence = evidence_tree(tmp_path)
    (evidence / "studies" / "again.yaml").write_text(yaml.safe_dump({
        "id": "again", "title": "Again", "design": "single_arm", "publications": ["fixture-2020-journal"],
        "registry_ids": ["NCT00000001".translate(ARABIC_INDIC)], "summary": "Same trial.",
        "cohorts": [{"id": "all", "label": "All", "role": "overall"}]}, allow_unicode=True))
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    assert [p.field for p in caught.value.problems] == ["registry_ids[0]"]


def test_a_doi_given_twice_in_different_case_is_one_doi(tmp_path):
    evidence = evidence_tree(tmp_path)
    (evidence / "publications" / "copy.yaml").write_text(
        "id: copy\ntype: article\ntitle: Copy\ndoi: 10.9999/FIXTURE.2020.1\n")
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    [problem] = caught.value.problems
    assert problem.field == "doi" and "is also given by publication" in problem.message


# --- cohort and study nesting -----------------------------------------------------------------------------------

def _study(parents: dict[str, str | None]) -> Study:
    cohorts = [{"id": cid, "label": cid, "role": "subgroup", **({"parent": p} if p else {})}
               for cid, p in parents.items()]
    return Study.model_validate({"id": "s", "title": "S", "design": "single_arm", "publications": ["p"],
                                 "summary": "S.", "cohorts": cohorts})


def test_cohort_parent_cycles_are_found_once_each_from_their_first_cohort():
    assert _parent_cycles(_study({"all": None, "a": "all", "b": "a"})) == []
    assert _parent_cycles(_study({"a": "b", "b": "a"})) == [(0, ["a", "b", "a"])]
    # A cohort hanging off a cycle is not on it; the cycle is named from its first cohort in the file.
    study = _study({"tail": "y", "x": "z", "y": "x", "z": "y", "self": "self"})
    assert _parent_cycles(study) == [(1, ["x", "z", "y", "x"])]


def _write_study(evidence, study_id, links):
    (evidence / "studies" / f"{study_id}.yaml").write_text(yaml.safe_dump({
        "id": study_id, "title": study_id, "design": "single_arm", "publications": ["fixture-2020-journal"],
        "summary": "A study.", "cohorts": [{"id": "all", "label": "All", "role": "overall"}],
        "related_studies": [{"study": other, "relation": relation} for other, relation in links]}, sort_keys=False))


def test_consistent_subgroup_links_in_both_directions_pass(tmp_path):
    evidence = evidence_tree(tmp_path)
    _write_study(evidence, "whole", [("part", "parent_of")])
    _write_study(evidence, "part", [("whole", "subgroup_of")])
    validate_tree(evidence)


@pytest.mark.parametrize("links, cycle", [
    ({"a": [("b", "subgroup_of")], "b": [("a", "subgroup_of")]}, "a -> b -> a"),
    ({"a": [("b", "subgroup_of"), ("b", "parent_of")], "b": []}, "a -> b -> a"),
    ({"a": [("b", "parent_of")], "b": [("c", "parent_of")], "c": [("a", "parent_of")]}, "a -> c -> b -> a"),
])
def test_studies_that_are_subgroups_of_themselves_are_refused(tmp_path, links, cycle):
    evidence = evidence_tree(tmp_path)
    for study_id, study_links in links.items():
        _write_study(evidence, study_id, study_links)
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    [problem] = caught.value.problems
    assert f"({cycle}," in problem.message and problem.field.endswith(".relation") and problem.line > 1


# --- dates ------------------------------------------------------------------------------------------------------

def test_dates_after_the_injected_today_are_refused_and_today_itself_is_not(tmp_path):
    # The valid tree's latest date is the review's search end, 2022-01-31; its latest year 2022.
    validate_tree(VALID, today=dt.date(2022, 1, 31))
    with pytest.raises(EvidenceError) as caught:
        validate_tree(VALID, today=dt.date(2022, 1, 30))
    assert [(p.field, p.message.split(";")[0]) for p in caught.value.problems] == [
        ("search.end", "search date 2022-01-31 is in the future")]
    with pytest.raises(EvidenceError) as caught:
        validate_tree(VALID, today=dt.date(2021, 12, 31))
    assert sorted(p.field for p in caught.value.problems) == ["search.end", "year"]


def test_a_search_cannot_end_before_it_starts():
    base = {"databases": ["Medline"], "source": {"publication": "p", "location": "Methods"}}
    window = SearchWindow.model_validate({**base, "start": dt.date(2022, 6, 1), "end": dt.date(2022, 1, 31)})
    assert list(window.domain_problems()) == [("end", "the search ends (2022-01-31) before it starts (2022-06-01)")]
    for start in (dt.date(2022, 1, 31), "inception"):
        assert list(SearchWindow.model_validate({**base, "start": start, "end": dt.date(2022, 1, 31)})
                    .domain_problems()) == []


# --- links in Markdown ------------------------------------------------------------------------------------------

ALLOWED = [
    "[a](https://example.org/x?y=1#z)", "[a](http://example.org)", "<https://example.org/>", "[a](#section)",
    "[a][r]\n\n[r]: https://example.org/", "`[not a link](../x)`", "    [indented code](../x)",
    "[a](HTTPS://EXAMPLE.ORG)", "plain https://example.org and ../relative text",
]
REFUSED = [
    ("[a](../methods.md)", "../methods.md"), ("[a](studies/x/)", "studies/x/"), ("[a](/abs/path)", "/abs/path"),
    ("[a][r]\n\n[r]: ../ref", "../ref"), ("<a href='x.html'>x</a>", "x.html"),
    ("[a](//evil.example/)", "//evil.example/"),
    ("[a](javascript:alert(1))", "javascript:alert(1)"), ("<mailto:a@b.example>", None),
    ("[a](https:evil.example)", "https:evil.example"), ("[a](&#106;avascript:x)", "javascript:x"),
    ("[a](data:text/html;base64,PHNjcmlwdD4=)", "data:text/html;base64,PHNjcmlwdD4="),
]


@pytest.mark.parametrize("text", ALLOWED)
def test_absolute_http_links_and_fragments_are_allowed(text):
    assert MARKDOWN.validate_python(text) == text


@pytest.mark.parametrize("text, link", REFUSED)
def test_every_other_link_is_refused_naming_it(text, link):
    message = _refusal(MARKDOWN, text)
    assert message.startswith("link ") and "absolute http(s) URLs" in message
    if link is not None:
        assert repr(link) in message


def test_a_relative_link_is_reported_with_its_record_field_and_line(tmp_path):
    evidence = evidence_tree(tmp_path)
    (evidence / "agents" / "linked.yaml").write_text(
        "id: linked\nname: Linked\nclass: imid\ndescription: |\n  See [methods](../../methods/).\n")
    with pytest.raises(EvidenceError) as caught:
        validate_tree(evidence)
    [problem] = caught.value.problems
    assert (problem.path.endswith("agents/linked.yaml"), problem.line, problem.field) == (True, 4, "description")


class _Hrefs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        self.hrefs += [value for name, value in attrs if name == "href"]


@pytest.mark.parametrize("text", ALLOWED + [text for text, _ in REFUSED])
def test_the_links_checked_include_every_link_the_renderer_prints(text):
    from build_scripts.render.templating import render_markdown

    parser = _Hrefs()
    parser.feed(str(render_markdown(text)))
    assert set(parser.hrefs) <= set(markdown_links(text))


def test_record_text_with_many_links_validates():
    description = "\n".join(f"- [source {i}](https://example.org/{i}) and [back](#top)" for i in range(200))
    assert Agent.model_validate({"id": "a", "name": "A", "class": "imid", "description": description})
