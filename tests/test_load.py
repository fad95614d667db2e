"""The loader: line numbers of fields, and YAML that evidence records must not use."""

from build_scripts.load import format_field, parse_yaml


def test_every_field_and_item_has_its_line_and_column():
    text = "id: x\ncohorts:\n  - id: a\n    outcomes:\n      - measure: orr\n"
    data, locations, problems = parse_yaml(text, "x.yaml")
    assert problems == []
    assert data["cohorts"][0]["outcomes"][0]["measure"] == "orr"
    assert locations[("id",)] == (1, 1)
    assert locations[("cohorts", 0)] == (3, 5)
    assert locations[("cohorts", 0, "outcomes", 0, "measure")] == (5, 9)


def test_duplicate_keys_are_errors_not_silently_overwritten():
    _, _, problems = parse_yaml("id: a\nname: one\nname: two\n", "a.yaml")
    assert [str(p) for p in problems] == ["a.yaml:3:1: name: duplicate key 'name' (first given on line 2)"]


def test_anchors_and_aliases_are_rejected_where_the_anchor_is():
    data, _, problems = parse_yaml("a: 1\nb: &x [1, 2]\nc: *x\n", "a.yaml")
    assert data is None
    assert (problems[0].line, problems[0].column) == (2, 4) and "aliases" in problems[0].message


def test_an_asterisk_in_text_is_not_an_alias():
    data, _, problems = parse_yaml("note: 'p < 0.05 *' \nother: a*b\n", "a.yaml")
    assert problems == [] and data == {"note": "p < 0.05 *", "other": "a*b"}


def test_alias_bomb_is_refused_at_once():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))
    data, _, problems = parse_yaml(bomb, "bomb.yaml")
    assert data is None and "aliases" in problems[0].message


def test_python_object_tags_are_rejected():
    _, _, problems = parse_yaml("a: !!python/object/apply:os.system ['true']\nb: !!python/name:os.system ''\n", "a.yaml")
    assert [(p.line, p.field) for p in problems] == [(1, "a"), (2, "b")]
    assert all("tags" in p.message for p in problems)


def test_empty_file_is_reported():
    _, _, problems = parse_yaml("", "empty.yaml")
    assert problems[0].message == "the file is empty"


def test_field_paths_read_like_the_yaml():
    assert format_field(("cohorts", 0, "outcomes", 2, "value")) == "cohorts[0].outcomes[2].value"
    assert format_field(()) == "(record)"
