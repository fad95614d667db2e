"""Contributions are untrusted: no script, no path escape, bounded input, located errors, never a crash."""

import json
import os
import posixpath
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from build_scripts.derive.checks import validate_tree
from build_scripts.load.problems import EvidenceError
from build_scripts.load.reader import parse_yaml
from build_scripts.publish.build import build_site

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


# ---------------------------------------------------------------- hostile titles and names on every page kind

# Each shape goes into the titles and names of its own set of records, so that no shape can hide another.
HOSTILE_SHAPES = [
    "</title ><script>alert(1)</script>",
    "</title/><img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "<svg onload=alert(1)>",
    "<!--",
    "-->",
    "{: onfocus=alert(1) autofocus }",
    "[x](javascript:alert(1))",
    "<javascript:alert(1)>",
    "{{ 7*7 }}",
    "{% raw %}",
    '--8<-- "mkdocs.yml"',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "]]>",
    "\" onmouseover=\"alert(1)\" ' onfocus='alert(1)' `alert(1)` \\",
    "# *[H]: x {#y}",
]
# Markdown fields take line breaks, so here a new line may start a heading, an attribute list or raw HTML.
HOSTILE_MARKDOWN = ("Text\n# Injected {: autofocus onfocus=alert(2) }\n\n## Injected {: onclick=alert(2) }\n"
                    "<img src=x onerror=alert(2)>\n\n<script>alert(2)</script>\n{: autofocus onfocus=alert(2) }\n")
KIND_FOLDERS = {"study": "studies", "publication": "publications", "regimen": "regimens", "agent": "agents",
                "review": "reviews"}


def hostile(index: int, field: str) -> str:
    """Shape `index` in a text that also says which field holds it."""
    return f"H{index} {HOSTILE_SHAPES[index]} {field}"


def _swap(node, old: str, new: str):
    if isinstance(node, dict):
        return {key: _swap(value, old, new) for key, value in node.items()}
    if isinstance(node, list):
        return [_swap(value, old, new) for value in node]
    return new if node == old else node


def write_hostile_records(evidence: Path) -> None:
    """For each shape, an agent, a regimen, a publication, a study and a review named or titled with it."""
    study = yaml.safe_load(STUDY.read_text())
    review = yaml.safe_load((VALID / "reviews" / "fixture-review.yaml").read_text())
    for index in range(len(HOSTILE_SHAPES)):
        record_id = f"hostile-{index}"

        def text(field: str) -> str:
            return hostile(index, field)

        def write(kind: str, data: dict) -> None:
            path = evidence / KIND_FOLDERS[kind] / f"{record_id}.yaml"
            path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))

        write("agent", {"id": record_id, "name": text("agent"), "class": "imid", "aliases": [text("agent alias")],
                        "description": HOSTILE_MARKDOWN})
        # daratumumab keeps the hostile study's refractory cohort an anti-CD38 retreatment, so it is charted too
        write("regimen", {"id": record_id, "name": text("regimen"),
                          "agents": ["daratumumab", record_id, "dexamethasone"],
                          "aliases": [text("regimen alias")], "description": HOSTILE_MARKDOWN})
        write("publication", {"id": record_id, "type": "article", "title": text("publication"),
                              "authors": [text("author")], "journal": text("journal"), "year": 2020,
                              "doi": f"10.9999/hostile.{index}", "note": HOSTILE_MARKDOWN})
        data = _swap(_swap(study, "fixture-2020-journal", record_id), "daratumumab-pomalidomide-dexamethasone", record_id)
        data.update(id=record_id, title=text("study"), short_name=text("short name"), aliases=[text("study alias")],
                    summary=HOSTILE_MARKDOWN, prior_exposure=HOSTILE_MARKDOWN)
        data.pop("registry_ids")
        for cohort in data["cohorts"]:
            cohort["label"] = text(f"cohort {cohort['id']}")
            cohort["description"] = HOSTILE_MARKDOWN
        data["cohorts"][0]["outcomes"][2]["source"]["location"] = text("location")
        data["discrepancies"][0]["claims"][0]["says"] = text("claim")
        data["cohorts"][1]["patients"][0]["label"] = text("patient")
        write("study", data)
        write("review", {**review, "id": record_id, "title": text("review"), "included_studies": [record_id],
                         "findings": [{**finding, "studies": [record_id]} for finding in review["findings"]],
                         "conclusions": [{**c, "studies": [record_id]} for c in review.get("conclusions", [])],
                         "question": HOSTILE_MARKDOWN, "summary": HOSTILE_MARKDOWN, "eligibility": [HOSTILE_MARKDOWN]})


class PageParts(HTMLParser):
    """What a browser would run or follow on a page, and the text of its title, headings and body."""

    RAW = {"script", "style"}
    HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self.headings: list[tuple[str, str]] = []
        self.title = ""
        self.body: list[str] = []
        self._open: list[list] = []  # [tag, text parts, attributes] of each title, script, style or heading being read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.elements.append((tag, attributes))
        if tag in self.RAW or tag in self.HEADINGS or tag == "title":
            self._open.append([tag, [], attributes])

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            _, parts, attributes = self._open.pop()
            text = "".join(parts)
            if tag == "script":
                self.scripts.append((attributes, text))
            elif tag == "title":
                self.title = " ".join(text.split())
            elif tag in self.HEADINGS:
                self.headings.append((tag, " ".join(text.split())))

    def handle_data(self, data: str) -> None:
        for _, parts, _ in self._open:
            parts.append(data)
        if not any(tag in self.RAW for tag, _, _ in self._open):
            self.body.append(data)

    def text(self) -> str:
        return " ".join("".join(self.body).split())


def page_parts(html_file: Path) -> PageParts:
    parts = PageParts()
    parts.feed(html_file.read_text(encoding="utf-8"))
    parts.close()
    return parts


# The theme's inline script names the site root relative to the page ("..", "../..", ...): the same script at
# every depth. Only that exact form is made depth-free, so no other text can pass for the theme's script.
THEME_SCOPE = re.compile(r'^__md_scope=new URL\("(?:\.|\.\.(?:/\.\.)*)",location\),')


def script_key(site: Path, html_file: Path, attributes: dict[str, str], text: str) -> tuple[str, str]:
    """A script as the site's own would be known: its file under the site root, or its inline text."""
    if "src" in attributes:
        folder = html_file.parent.relative_to(site).as_posix()
        return ("src", posixpath.normpath(posixpath.join(folder, attributes["src"])))
    return ("inline", THEME_SCOPE.sub('__md_scope=new URL("<site root>",location),', text))


DATA_SCRIPTS = {"application/ld+json", "application/json"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "poster", "data", "srcset", "background"}


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("hostile-site")
    evidence = evidence_tree(base)
    write_hostile_records(evidence)
    layout = fixture_layout(base, evidence)
    build_site(layout)
    return layout.site


def test_hostile_titles_and_names_run_nothing_on_any_page(hostile_site, fixture_site):
    own_scripts = set()
    for html_file in fixture_site.rglob("*.html"):
        for attributes, text in page_parts(html_file).scripts:
            if attributes.get("type") not in DATA_SCRIPTS:
                own_scripts.add(script_key(fixture_site, html_file, attributes, text))
    assert own_scripts
    pages = sorted(hostile_site.rglob("*.html"))
    assert len(pages) > 5 * len(HOSTILE_SHAPES)
    for html_file in pages:
        where = html_file.relative_to(hostile_site).as_posix()
        html = html_file.read_text(encoding="utf-8")
        parts = page_parts(html_file)
        for attributes, text in parts.scripts:
            if attributes.get("type") in DATA_SCRIPTS:
                json.loads(text)  # data, never code: it must still be one whole JSON document
            else:
                assert script_key(hostile_site, html_file, attributes, text) in own_scripts, (where, attributes, text)
        for tag, attributes in parts.elements:
            assert tag not in ("iframe", "object", "embed", "base", "frame"), (where, tag)
            for name, value in attributes.items():
                assert not name.startswith("on") and name != "autofocus", (where, tag, name, value)
                if name in URL_ATTRIBUTES:
                    scheme = re.sub(r"[\x00-\x20]", "", value).lower()
                    assert not scheme.startswith(("javascript:", "data:", "vbscript:")), (where, tag, name, value)
            assert not (tag == "meta" and attributes.get("http-equiv", "").lower() == "refresh"), where
        # The title element holds text only: nothing in it may look like the start of a tag.
        assert "<" not in re.search(r"<title>(.*?)</title>", html, re.S).group(1), where
        # Markdown fields: a new line in them never makes a heading or an attribute.
        assert not any("Injected" in text for _, text in parts.headings), (where, parts.headings)


@pytest.mark.parametrize("kind", KIND_FOLDERS)
def test_hostile_titles_and_names_show_as_text_in_title_heading_and_index(hostile_site, kind):
    folder = KIND_FOLDERS[kind]
    index_text = page_parts(hostile_site / folder / "index.html").text()
    for index in range(len(HOSTILE_SHAPES)):
        text = " ".join(hostile(index, kind).split())
        parts = page_parts(hostile_site / folder / f"hostile-{index}" / "index.html")
        assert text in parts.title, (kind, index, parts.title)
        [h1] = [heading for tag, heading in parts.headings if tag == "h1"]
        assert text in h1, (kind, index, h1)
        assert text in index_text, (kind, index)


def test_hostile_titles_and_names_show_as_text_in_lists_and_charts(hostile_site):
    def text_of(kind: str, index: int) -> str:
        return page_parts(hostile_site / KIND_FOLDERS[kind] / f"hostile-{index}" / "index.html").text()

    charts = " ".join(page_parts(path).text() for path in (hostile_site / "charts").glob("*/index.html"))
    for index in range(len(HOSTILE_SHAPES)):
        def shown(field: str) -> str:
            return " ".join(hostile(index, field).split())

        assert shown("study") in text_of("publication", index), index
        assert shown("publication") in text_of("study", index) and shown("claim") in text_of("study", index), index
        assert shown("location") in text_of("study", index) and shown("patient") in text_of("study", index), index
        assert shown("regimen") in text_of("agent", index), index
        assert shown("study") in text_of("regimen", index) and shown("cohort refractory") in text_of("regimen", index)
        assert shown("study") in text_of("review", index), index
        assert shown("cohort refractory") in charts, index
