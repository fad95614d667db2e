"""Downloads cannot attack their reader: CSV cells never open a formula, BibTeX and RIS values never leave their field."""

import csv
import io
import json
import math
import re
import unicodedata
from urllib.parse import unquote_to_bytes

import bibtexparser
import pytest
import rispy
import yaml
from bibtexparser.middlewares import SeparateCoAuthors
from frictionless import Package, validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from build_scripts.derive.checks import validate_tree
from build_scripts.render.citations import CitationItem, Person, csl_item, to_bibtex, to_csl_json, to_ris
from build_scripts.render.csv_cells import Column, csv_cell, csv_number, to_csv
from build_scripts.render.export import data_files, table_schema

from conftest import ROOT, evidence_tree

# ---------------------------------------------------------------- what "safe" means, written out independently

# OWASP's list, NUL from ASVS 1.2.10; full-width and small forms fold into these under NFKC.
FORMULA = set("=+-@\t\r\0")
SEPARATORS = set(",;\t\r\n")


def _skippable(ch: str) -> bool:
    return ch not in SEPARATORS and (ch.isspace() or unicodedata.category(ch) == "Cf")


def formula_positions(text: str) -> list[int]:
    """Where a spreadsheet could start a cell (the start, or after a separator it may split on) that opens a formula."""
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch in SEPARATORS]
    found = []
    for start in starts:
        i = start
        while i < len(text) and _skippable(text[i]):
            i += 1
        if i < len(text) and unicodedata.normalize("NFKC", text[i])[:1] in FORMULA:
            found.append(start)
    return found


def assert_guarded(original: str, cell: str) -> None:
    assert formula_positions(cell) == [], (original, cell)
    # Nothing but one guard quote per dangerous place is added, and nothing is taken away.
    assert len(cell) - len(original) == len(formula_positions(original))
    assert cell.replace("'", "") == original.replace("'", "")


TEXT = Column("text", "string", "free text")
LIST = Column("list", "string", "ids")
NUMBER = Column("number", "number", "a number")
INTEGER = Column("integer", "integer", "a count")
FLAG = Column("flag", "boolean", "a flag")
COLUMNS = (TEXT, LIST, NUMBER, INTEGER)  # booleans are unquoted words, tested on their own


def written(rows):
    """Rows through the site's CSV writer, read back with quoted cells as text and unquoted ones as numbers."""
    output = to_csv(COLUMNS, rows)
    return list(csv.reader(io.StringIO(output, newline=""), quoting=csv.QUOTE_NONNUMERIC))


# ---------------------------------------------------------------- CSV

HOSTILE_CELLS = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\0=1", " =1+1", "\u3000=1", "\u00a0@x", "\u200b=1",
                 "\u202e=1", "\ufeff-1", "\uff1d1+1", "\ufe62x", "\uff20x", 'a;=HYPERLINK("http://x.example","y")',
                 "a,-1", "x\n=1", "x\r\n@y", "x\t+1", "a; =cmd|' /C calc'!A0", "=cmd|' /C calc'!A0", "-1.5"]


@pytest.mark.parametrize("value", HOSTILE_CELLS)
def test_text_cells_that_could_open_a_formula_are_guarded(value):
    [header, row] = written([{"text": value, "list": [value, "ok"], "number": 1, "integer": 1}])
    assert_guarded(value, row[0])
    assert_guarded(f"{value};ok", row[1])
    assert row[0].startswith("'") or value[:1] not in FORMULA


@pytest.mark.parametrize("value", ["Daratumumab-pomalidomide-dexamethasone", "x@y.example", "a - b", "p = 0.03",
                                   "Table 2, row 3", "HR 0.5; 95% CI 0.3-0.8", "’quoted’", "\u22121.5"])
def test_ordinary_text_is_written_unchanged(value):
    [header, row] = written([{"text": value, "list": [value], "number": 1, "integer": 1}])
    assert row[0] == row[1] == value


@pytest.mark.parametrize("number", [-1.5, -3, 0, 0.1, 1e-05, -2.5e-07, 12345678901234, 4.5])
def test_numbers_in_numeric_columns_stay_numbers(number):
    output = to_csv(COLUMNS, [{"text": "-1.5", "number": number, "integer": 7}])
    line = output.splitlines()[1]
    assert line.split(",")[2] == csv_number(number)  # unquoted and unguarded: a negative number keeps its sign
    [header, row] = list(csv.reader(io.StringIO(output), quoting=csv.QUOTE_NONNUMERIC))
    assert row[2] == number and row[0] == "'-1.5"  # the same text in a text column is guarded


def test_every_text_cell_is_quoted_and_empty_cells_stay_empty():
    output = to_csv((*COLUMNS, FLAG), [{"text": "plain", "list": ["a", "b"], "number": None, "integer": None},
                                       {"text": "", "list": [], "number": -1, "integer": -2, "flag": True}])
    assert output.splitlines() == ['"text","list","number","integer","flag"', '"plain","a;b",,,', ',,-1,-2,true']


@pytest.mark.parametrize("column, value", [(NUMBER, "=1+1"), (NUMBER, "-1"), (NUMBER, True), (NUMBER, math.inf),
                                           (NUMBER, math.nan), (INTEGER, 1.5), (INTEGER, "3"), (FLAG, "true"),
                                           (FLAG, 1)])
def test_a_numeric_column_refuses_anything_but_a_real_number(column, value):
    with pytest.raises(TypeError):
        csv_cell(column, value)


def test_guarded_files_still_validate_and_keep_their_numbers(tmp_path):
    rows = [{"text": value, "list": [value, "x"], "number": -1.5 - i, "integer": -i, "flag": i % 2 == 0}
            for i, value in enumerate(HOSTILE_CELLS) if "\0" not in value]
    (tmp_path / "table.csv").write_text(to_csv((*COLUMNS, FLAG), rows), encoding="utf-8")
    (tmp_path / "datapackage.json").write_text(json.dumps({"name": "hostile", "resources": [
        {"name": "table", "path": "table.csv", "profile": "tabular-data-resource", "format": "csv",
         "mediatype": "text/csv", "encoding": "utf-8", "schema": table_schema((*COLUMNS, FLAG))}]}))
    report = validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    read = Package(str(tmp_path / "datapackage.json")).get_resource("table").read_rows()
    assert [row["number"] for row in read] == [row["number"] for row in rows]
    assert [row["integer"] for row in read] == [row["integer"] for row in rows]
    assert [row["flag"] for row in read] == [row["flag"] for row in rows]
    assert all(not formula_positions(row["text"]) for row in read)


def test_the_site_downloads_guard_hostile_record_text(tmp_path):
    evidence = evidence_tree(tmp_path)
    path = evidence / "studies" / "fixture-dpd-retreatment.yaml"
    study = yaml.safe_load(path.read_text())
    study["title"] = '=HYPERLINK("http://evil.example","details")'
    study["short_name"] = "+1+1"
    study["cohorts"][0]["label"] = "-2+3"
    study["cohorts"][0]["outcomes"][0]["source"]["location"] = "Table 1; @SUM(1+1)"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    files = data_files(validate_tree(evidence), "Atlas", "https://example.org/atlas/")
    cells = 0
    for name in ("studies.csv", "outcomes.csv"):
        for row in csv.reader(io.StringIO(files[name], newline="")):
            for cell in row:
                cells += 1
                assert not formula_positions(cell), (name, cell)
    studies = list(csv.DictReader(io.StringIO(files["studies.csv"], newline="")))
    assert studies[0]["title"] == "'" + study["title"] and studies[0]["short_name"] == "'+1+1"
    outcomes = list(csv.DictReader(io.StringIO(files["outcomes.csv"], newline="")))
    assert {row["cohort_label"] for row in outcomes} >= {"'-2+3"}
    assert any(row["source_location"] == "Table 1;' @SUM(1+1)" for row in outcomes)
    assert cells > 100


def test_no_module_writes_csv_but_through_to_csv():
    offenders = [path.name for path in (ROOT / "build_scripts").rglob("*.py")
                 if re.search(r"^\s*(import csv|from csv import)|csv\.(writer|DictWriter)", path.read_text(), re.M)]
    assert offenders == []


# ---------------------------------------------------------------- BibTeX and RIS


def one_line(text: str) -> str:
    """What a one-line value must read back as: control characters (C0, DEL, C1) as spaces, white space collapsed."""
    return " ".join(re.sub("[\x00-\x1f\x7f-\x9f]", " ", text).split())


LATEX = {r"\textbackslash{}": "\\", r"\textbraceleft{}": "{", r"\textbraceright{}": "}", r"\&": "&", r"\%": "%",
         r"\$": "$", r"\#": "#", r"\_": "_", r"\textasciitilde{}": "~", r"\textasciicircum{}": "^"}
_LATEX_TOKEN = re.compile("|".join(re.escape(command) for command in LATEX) + "|[{}]")


def from_latex(value: str) -> str:
    """What a LaTeX reader sees in a field value; bare braces only protect, so they go."""
    return _LATEX_TOKEN.sub(lambda m: LATEX.get(m.group(0), ""), value)


def assert_bibtex_braces_balance(text: str) -> None:
    """BibTeX's own rule: braces count whatever precedes them, and a field ends where its depth returns to zero."""
    for line in text.splitlines():
        if match := re.fullmatch(r"  ([a-z]+) = \{(.*)\},?", line):
            depth = 0
            for ch in match.group(2):
                depth += {"{": 1, "}": -1}.get(ch, 0)
                assert depth >= 0, line
            assert depth == 0, line
        else:
            assert re.fullmatch(r"@[a-z]+\{[a-z0-9-]+,|\}|", line), line


def expected_bibtex(item: CitationItem) -> dict[str, str]:
    container = {"article": "journal", "inproceedings": "booktitle"}.get(item.bibtex_type, "howpublished")
    fields = {container: item.container,
              "publisher": item.publisher if item.bibtex_type == "misc" else None,
              "year": str(item.year) if item.year else None, "volume": item.volume, "number": item.issue,
              "pages": item.pages.replace("-", "--") if item.pages else None, "note": item.note, "date": item.date}
    return {"title": one_line(item.title)} | {name: one_line(value) for name, value in fields.items()
                                              if value and one_line(value)}


def assert_bibtex_round_trip(items: list[CitationItem]) -> None:
    text = to_bibtex(items)
    assert_bibtex_braces_balance(text)
    library = bibtexparser.parse_string(text, append_middleware=[SeparateCoAuthors()])
    assert not library.failed_blocks and not library.comments
    assert [entry.key for entry in library.entries] == [item.key for item in items]
    for entry, item in zip(library.entries, items):
        values = {f.key: f.value for f in entry.fields}
        authors = values.pop("author", [])
        verbatim = {name: values.pop(name) for name in ("doi", "url") if name in values}
        assert {name: from_latex(value) for name, value in values.items()} == expected_bibtex(item)
        assert [from_latex(name) for name in authors] == [
            one_line(p.literal) if p.literal else f"{one_line(p.family)}, {one_line(p.given)}" for p in item.authors]
        assert set(verbatim) == {name for name in ("doi", "url") if getattr(item, name)}
        for name, value in verbatim.items():
            assert not re.search(r"[{}\\\s]", value)
            assert unquote_to_bytes(value) == unquote_to_bytes(getattr(item, name))


def expected_ris(item: CitationItem) -> dict:
    start, _, end = (item.pages or "").partition("-")
    tags = [("TY", item.ris_type), ("ID", item.key), ("TI", item.title),
            *(("AU", p.literal or f"{p.family}, {p.given}") for p in item.authors),
            ("T2" if item.ris_type == "ELEC" else "JO", item.container), ("PB", item.publisher),
            ("PY", str(item.year) if item.year else None), ("DA", item.date.replace("-", "/") if item.date else None),
            ("VL", item.volume), ("IS", item.issue), ("SP", start), ("EP", end), ("DO", item.doi), ("N1", item.note)]
    expected: dict = {}
    for tag, value in tags:
        if value and one_line(value):
            key = rispy.TAG_KEY_MAPPING[tag]
            if tag in rispy.LIST_TYPE_TAGS:
                expected.setdefault(key, []).append(one_line(value))
            else:
                expected[key] = one_line(value)
    return expected


def assert_ris_round_trip(items: list[CitationItem]) -> None:
    text = to_ris(items)
    entries = rispy.loads(text)
    assert len(entries) == len(items)
    for entry, item in zip(entries, items):
        urls = entry.pop("urls", [])
        assert entry == expected_ris(item)
        if item.url:
            [url] = urls
            assert not re.search(r"[;\s]", url) and unquote_to_bytes(url) == unquote_to_bytes(item.url)


def item(key="evil-2024", title="Title", **fields) -> CitationItem:
    defaults = dict(csl_type="article-journal", bibtex_type="article", ris_type="JOUR",
                    authors=(Person(family="Doe", given="J"),))
    return CitationItem(key=key, title=title, **{**defaults, **fields})


HOSTILE_ITEM = item(
    title="Closing}, author = {Mallory} and a newline\n@misc{forged,\n  title = {x}\n}\nER  - \nTY  - JOUR",
    authors=(Person(literal="Smith and Wesson Group"), Person(family="Doe AND Roe", given="J"),
             Person(family="Last, Jr", given="KA"), Person(literal="{unbalanced"), Person(literal="back\\slash}")),
    container="J {Hostile} \\ & % $ # _ ~ ^ @", volume="1}", issue="2\r3", pages="10-20}",
    doi="10.1/x}, title = {pwned", url="https://example.org/a}b\\c d;e\nf", note="line\u2028break\x00nul\x85nel",
    year=2024)


def test_bibtex_values_cannot_close_their_field_or_start_an_entry():
    text = to_bibtex([HOSTILE_ITEM, item(key="second")])
    assert [line for line in text.splitlines() if line.startswith("@")] == ["@article{evil-2024,", "@article{second,"]
    assert_bibtex_round_trip([HOSTILE_ITEM, item(key="second")])


def test_an_author_holding_and_stays_one_author():
    library = bibtexparser.parse_string(to_bibtex([HOSTILE_ITEM]), append_middleware=[SeparateCoAuthors()])
    authors = library.entries[0].fields_dict["author"].value
    assert len(authors) == 5
    assert authors[0] == "{Smith and Wesson Group}" and authors[1] == "{Doe AND Roe}, J"


def test_ris_values_cannot_end_their_record_or_forge_another():
    text = to_ris([HOSTILE_ITEM, item(key="second")])
    assert [line[:6] for line in text.splitlines() if line.startswith(("ER", "TY"))] == ["TY  - ", "ER  - "] * 2
    assert_ris_round_trip([HOSTILE_ITEM, item(key="second")])


@pytest.mark.parametrize("key", ["a b", "x,y", "k}", "@k", ""])
def test_a_key_that_is_not_an_identifier_is_refused(key):
    for writer in (to_bibtex, to_ris):
        with pytest.raises(ValueError):
            writer([item(key=key)])


def test_csl_json_is_json_and_keeps_hostile_text_exactly():
    items = [HOSTILE_ITEM]
    assert json.loads(to_csl_json(items)) == [csl_item(i) for i in items]
    assert json.loads(to_csl_json(items))[0]["title"] == HOSTILE_ITEM.title


# ---------------------------------------------------------------- hostile strings, generated

SHAPES = ["=", "+", "-", "@", "\t", "\r", "\n", "\r\n", "\x00", "\x1b", "\x0b", "\x0c", "\x1e", "\x85", "\u2028",
          "\u2029", "\u202e", "\u2066", "\u200b", "\ufeff", "\u3000", "\uff1d", "\ufe62", '"', "'", ",", ";", "{", "}",
          "{{{", "}}}", "\\", "%", "%7B", "#", "&", "$", "_", "~", "^", " and ", " AND ", "and", " others", "@misc{x,",
          "ER  - ", "\nER  - \nTY  - JOUR\n", "TI  - ", "}, title = {", '=HYPERLINK("http://x.example","y")',
          "=cmd|' /C calc'!A0", "-1.5", "</script>", " ", "é", "日本", "a" * 2000, "{" * 300, "\\" * 100]
hostile = st.lists(st.one_of(st.sampled_from(SHAPES), st.text(max_size=4)), min_size=1, max_size=10).map("".join)
visible = hostile.filter(lambda text: one_line(text) != "")
optional = st.one_of(st.none(), hostile)
numbers = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**12, 10**12))
FAST = settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.lists(st.tuples(hostile.filter(bool), st.lists(hostile, max_size=3).map(lambda items: items or ["-"]),
                          numbers, st.integers(-10**9, 10**9)), min_size=1, max_size=4))
def test_generated_csv_cells_never_open_a_formula_and_numbers_stay_numbers(rows):
    # Read with QUOTE_NONNUMERIC: a quoted cell comes back as text, an unquoted one must be a number.
    parsed = written([{"text": t, "list": items, "number": n, "integer": i} for t, items, n, i in rows])
    assert len(parsed) == len(rows) + 1
    for (text, items, number, integer), cells in zip(rows, parsed[1:]):
        assert_guarded(text, cells[0])
        assert_guarded(";".join(items), cells[1])
        assert cells[2] == float(number) and cells[3] == integer


persons = st.one_of(st.builds(lambda name: Person(literal=name), visible),
                    st.builds(lambda family, given: Person(family=family, given=given), visible, visible))


@st.composite
def citation_items(draw, key):
    kind = draw(st.sampled_from([("article-journal", "article", "JOUR"), ("paper-conference", "inproceedings", "ABST"),
                                 ("webpage", "misc", "ELEC")]))
    return CitationItem(key=key, csl_type=kind[0], bibtex_type=kind[1], ris_type=kind[2], title=draw(hostile),
                        authors=tuple(draw(st.lists(persons, max_size=3))), container=draw(optional),
                        publisher=draw(optional), year=draw(st.one_of(st.none(), st.integers(1900, 2100))),
                        volume=draw(optional), issue=draw(optional), pages=draw(optional), doi=draw(optional),
                        url=draw(optional), note=draw(optional))


@FAST
@given(st.lists(st.integers(0, 9999), min_size=1, max_size=3, unique=True).flatmap(
    lambda ids: st.tuples(*(citation_items(f"item-{i}") for i in ids))))
def test_generated_citations_parse_back_field_by_field(items):
    assert_bibtex_round_trip(list(items))
    assert_ris_round_trip(list(items))
