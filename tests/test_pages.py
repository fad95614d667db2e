"""Pure functions from the model to page text: links, figures, intervals, safe Markdown and marked HTML blocks."""

import re
import string
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import markdown as markdown_lib
import pytest
import yaml
from jinja2 import nodes
from markupsafe import escape
from mkdocs.exceptions import PluginError

from build_scripts.load.parts import Outcome, Source
from build_scripts.publish.mkdocs_hooks import on_page_content, on_page_markdown, restore_blocks
from build_scripts.render.blocks import stash_data, stash_file
from build_scripts.render.links import relative
from build_scripts.render.pages import figure_text, interval_text
from build_scripts.render.templating import (
    MARKDOWN_ESCAPABLE, markdown_escape, render_markdown, render_page, template_environment,
)

SOURCE = Source(publication="p", location="Table 1")


def outcome(**fields) -> Outcome:
    return Outcome.model_validate({"source": {"publication": "p", "location": "Table 1"}, **fields})


def test_relative_links_work_under_any_site_prefix():
    assert relative("studies/a/", "regimens/b/") == "../../regimens/b/"
    assert relative("studies/", "studies/a/") == "a/"
    assert relative("studies/a/", "studies/a/") == "./"


def test_figures_show_unit_or_status_never_a_made_up_number():
    assert figure_text(outcome(measure="orr", value=4.5, unit="percent")) == "4.5%"
    assert figure_text(outcome(measure="pfs", value=2.8, unit="months")) == "2.8 months"
    assert figure_text(outcome(measure="os", status="not_reached")) == "Not reached"
    assert figure_text(outcome(measure="os", status="not_reported")) == "Not reported"


def test_intervals_name_their_level_and_open_upper_bounds():
    closed = outcome(measure="pfs", value=2.8, unit="months", ci_low=1.6, ci_high=4.0, ci_level=95)
    assert interval_text(closed) == "95% CI 1.6–4"
    open_ended = outcome(measure="pfs", value=8.4, unit="months", ci_low=2.8, ci_high_status="not_estimable", ci_level=95)
    assert interval_text(open_ended) == "95% CI 2.8–not estimable"
    iqr = outcome(measure="follow_up", value=10, unit="months", range_low=8.5, range_high=10.9, range_kind="iqr")
    assert interval_text(iqr) == "interquartile range 8.5–10.9"


def test_markdown_in_records_cannot_carry_script_or_javascript_links():
    html = str(render_markdown("Hello <script>alert(1)</script> [x](javascript:alert(1)) <b onclick='x()'>b</b>"))
    assert "<script" not in html and "javascript:" not in html and "onclick" not in html
    assert str(render_markdown("*ok* [doi](https://doi.org/10.1/x)")).count("<em>ok</em>") == 1


def test_markdown_escape_keeps_headings_literal():
    assert markdown_escape("[a] *b* #1") == r"\[a\] \*b\* \#1"


# ---------------------------------------------------------------- record text in generated Markdown

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
BREAKS_AND_CONTROLS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00\x07\x08\t\x1b\x7f\x9f"
HOSTILE_ONE_LINE = ["</title ><script>alert(1)</script>", "</title/><img src=x onerror=alert(1)>", "<!--", "-->",
                    "{: onfocus=alert(1) autofocus }", "[x](javascript:alert(1))", "{{ 7*7 }}", "{% raw %}", "--8<--",
                    "&lt;script&gt;", "]]>", "\"'`", "*[H]: x", "1. x", "+ y", "> q", "x\\", "a | b", "<https://x.y>",
                    "Title ## {#id}", "<!--atlas-block:0-->", "&amp;", "a  b", "***", "===", "`code`"]


def site_markdown() -> markdown_lib.Markdown:
    """Python-Markdown as MkDocs configures it for the site: its built-in extensions and those of mkdocs.yml."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    names, options = ["toc", "tables", "fenced_code"], {}
    for item in config["markdown_extensions"]:
        name = next(iter(item)) if isinstance(item, dict) else item
        names.append(name)
        if isinstance(item, dict):
            options[name] = item[name]
    return markdown_lib.Markdown(extensions=names, extension_configs=options)


class Elements(HTMLParser):
    """Every element with its attributes, and the text of each heading (permalink sign left out)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.headings: list[tuple[str, str]] = []
        self._heading: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append((tag, "".join(self._heading).removesuffix("¶")))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)

    def handlers(self) -> list[tuple[str, str]]:
        return [(tag, name) for tag, attributes in self.elements for name in attributes
                if name.startswith("on") or name == "autofocus"]


def heading_html(text: str) -> str:
    """A heading as a template writes it, `# {{ text | md }}` (autoescaped), converted as the site converts it."""
    return site_markdown().convert("# " + str(escape(markdown_escape(text))))


@pytest.mark.parametrize("text", HOSTILE_ONE_LINE + [string.punctuation, "Ⅻ ünïcödé – “quotes”"])
def test_md_filter_text_shows_literally_in_a_heading(text):
    page = Elements(heading_html(text))
    assert page.headings == [("h1", text)]
    # The heading and its permalink, nothing else: no link, emphasis, image, code, abbreviation or attribute.
    assert [(tag, sorted(attributes)) for tag, attributes in page.elements] == [
        ("h1", ["id"]), ("a", ["class", "href", "title"])]


@pytest.mark.parametrize("char", BREAKS_AND_CONTROLS)
def test_md_filter_never_lets_a_line_break_or_control_character_through(char):
    text = f"Title{char}# Heading {{: autofocus onfocus=alert(1) }}{char}{char}[x](javascript:alert(1))"
    escaped = markdown_escape(text)
    assert escaped.splitlines() == [escaped]
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", escaped)
    page = Elements(heading_html(text))
    assert len(page.headings) == 1 and page.handlers() == []
    assert not any(attributes.get("href", "").startswith("javascript:") for _, attributes in page.elements)


def test_markdown_escape_escapes_only_what_the_sites_markdown_can_escape():
    # A backslash before any other character would be shown; '>' is left to HTML escaping.
    assert set(MARKDOWN_ESCAPABLE) == set(site_markdown().ESCAPED_CHARS) - {">"}


HOSTILE_MULTI_LINE = ("x\n# {: autofocus onfocus=alert(1) }\n\n<!--atlas-block:0-->\n## [y](javascript:alert(1))\n"
                      "{: onclick=alert(1) }\n\n---\n")
PAGE = """# {{ title | md }}

{% filter html_block %}
<p>{{ label }}</p>
{% endfilter %}

## Part

{% filter html_block %}{% if label %}<div>{{ label }}</div>{% endif %}{% endfilter %}
{% filter html_block %}  {% endfilter %}
"""


def test_templates_mark_their_html_blocks_so_record_text_never_reaches_markdown():
    template = template_environment(TEMPLATES).from_string(PAGE)
    text, blocks = render_page(template, title=HOSTILE_MULTI_LINE, label=HOSTILE_MULTI_LINE)
    # Only the template's headings are Markdown; record text is in the blocks, whatever lines it holds.
    assert [line for line in text.splitlines() if line.strip() and not line.startswith("<!--atlas-block:")] == [
        "# " + str(escape(markdown_escape(HOSTILE_MULTI_LINE))), "## Part"]
    assert blocks == (f"<p>{escape(HOSTILE_MULTI_LINE)}</p>", f"<div>{escape(HOSTILE_MULTI_LINE)}</div>")
    html = restore_blocks(site_markdown().convert(text), list(blocks))
    page = Elements(html)
    assert [tag for tag, _ in page.headings] == ["h1", "h2"] and page.headings[1][1] == "Part"
    assert page.handlers() == []
    assert html.count(str(escape(HOSTILE_MULTI_LINE))) == 2


def test_a_page_template_without_its_block_list_fails_loudly():
    template = template_environment(TEMPLATES).from_string(PAGE)
    with pytest.raises(KeyError):
        template.render(title="t", label="l")


def _printed(node: nodes.Node, in_block: bool = False):
    """Each expression a template prints, and whether it is inside an html_block filter."""
    if isinstance(node, nodes.FilterBlock):
        for child in node.body:
            yield from _printed(child, in_block or node.filter.name == "html_block")
        return
    if isinstance(node, nodes.Output):
        for expression in node.nodes:
            if not isinstance(expression, nodes.TemplateData):
                yield expression, in_block
        return
    for child in node.iter_child_nodes():
        yield from _printed(child, in_block)


@pytest.mark.parametrize("name", sorted(p.name for p in TEMPLATES.glob("*.md.j2")))
def test_page_templates_print_outside_html_blocks_only_through_the_md_filter(name):
    environment = template_environment(TEMPLATES)
    tree = environment.parse(environment.loader.get_source(environment, name)[0])
    printed = list(_printed(tree))
    assert printed
    for expression, in_block in printed:
        if in_block:
            # md's backslashes would show inside HTML, which Markdown never reads.
            assert not any(f.name == "md" for f in expression.find_all(nodes.Filter)), (name, expression)
        else:
            assert isinstance(expression, nodes.Filter) and expression.name == "md", (name, expression)


def test_hook_restores_each_block_once_and_sets_the_head(tmp_path):
    docs = tmp_path / "docs"
    stash = stash_file(docs, "studies/x/index.md")
    stash.parent.mkdir(parents=True)
    stash.write_bytes(stash_data(("<div>one</div>", "<table><tr><td>2</td></tr></table>"),
                                 {"meta": [["citation_title", "T"]], "jsonld": "{}"}))
    page = SimpleNamespace(file=SimpleNamespace(src_uri="studies/x/index.md"), meta={})
    config = {"docs_dir": str(docs)}
    assert on_page_markdown("# Title\n", page, config, None) == "# Title\n"
    assert page.meta == {"atlas": {"meta": [["citation_title", "T"]], "jsonld": "{}"}}
    html = "<h1>Title</h1>\n<p><!--atlas-block:0--></p>\n<h2 id=part>Part</h2>\n<!--atlas-block:1-->"
    restored = on_page_content(html, page, config, None)
    assert restored == "<h1>Title</h1>\n<div>one</div>\n<h2 id=part>Part</h2>\n<table><tr><td>2</td></tr></table>"
    for broken in ("<!--atlas-block:0-->", "<!--atlas-block:0--><!--atlas-block:1--><!--atlas-block:1-->"):
        with pytest.raises(PluginError):
            on_page_content(broken, page, config, None)
    written = SimpleNamespace(file=SimpleNamespace(src_uri="methods.md"), meta={})
    assert on_page_content("<p>hand-written</p>", written, config, None) == "<p>hand-written</p>"
    assert on_page_markdown("# M\n", written, config, None) == "# M\n" and written.meta == {}


def test_curation_note_is_shown_in_the_curators_words_through_the_sanitiser():
    from build_scripts.load.model import Regimen
    from build_scripts.render.pages import curation_view

    # built without validation: the page must be safe even for text the model would refuse
    regimen = Regimen.model_construct(id="r", name="R", agents=["a"], curators=["A. Curator"],
                                      curation_note="Kept *apart* <script>alert(1)</script> [x](javascript:y)")
    view = curation_view(regimen)
    assert view["curators"] == ["A. Curator"]
    assert "<em>apart</em>" in view["note"] and "<script" not in view["note"] and "javascript:" not in view["note"]
    assert curation_view(Regimen.model_validate({"id": "r", "name": "R", "agents": ["a"]})) is None


def test_review_figures_read_as_the_review_states_them():
    from build_scripts.load.study_parts import ReviewFinding
    from build_scripts.render.pages import estimate_text, finding_figure

    def finding(**fields):
        return ReviewFinding.model_validate({"id": "f", "topic": "t", "evidence_type": "all",
                                             "source": {"publication": "p", "location": "S"}, **fields})

    assert finding_figure(finding(statistic="range", low=18, high=307, unit="patients")) == "18–307 patients"
    assert finding_figure(finding(statistic="range", low=11, high=81, unit="percent")) == "11–81%"
    assert finding_figure(finding(statistic="upper_bound", high=9, unit="months")) == "< 9 months"
    assert finding_figure(finding(statistic="count", value=1, unit="studies")) == "1 study"
    assert finding_figure(finding(statistic="value", value=3.3, unit="months", ci_low=0.0, ci_high=6.9,
                                  ci_level=95)) == "3.3 months (95% CI 0–6.9)"
    assert estimate_text(0.71, 0.45, 1.12, 95) == "0.71 (95% CI 0.45–1.12)" and estimate_text(None, None, None, None) == ""


def test_study_page_context_gives_each_cohort_its_derived_prior_status_and_flag():
    from build_scripts.derive.checks import validate_tree
    from build_scripts.render.record_pages import study_context

    from conftest import VALID

    evidence = validate_tree(VALID)
    study = evidence.studies["fixture-dpd-retreatment"]
    naive = next(c for c in study.cohorts if c.id == "naive")
    # a typed flag is not what the page reads
    typed = study.model_copy(update={"cohorts": [*study.cohorts, naive.model_copy(
        update={"id": "typed-true", "answers_question": True})]})
    context = study_context(evidence, typed)
    assert {c["id"]: (c["prior"], c["in_question"]) for c in context["cohorts"]} == {
        "refractory": ("Refractory to anti-CD38", True),
        "naive": ("Anti-CD38-naive", False),
        "typed-true": ("Anti-CD38-naive", False),
        "all-patients": ("Includes anti-CD38-naive patients (75% refractory)", False),
        "refractory-early": ("Refractory to anti-CD38", True),
        "exposed-not-refractory": ("Exposed, not refractory", True),
        "exposed-mixed": ("Exposed, 60% refractory", True),
        "not-stated": ("Prior anti-CD38 not stated", False),
    }
    defined = [row for row in context["population"] if row["label"].startswith("Prior anti-CD38")]
    assert [row["value"] for row in defined] == [
        "Includes anti-CD38-naive patients (“30 daratumumab-refractory and 10 daratumumab-naive patients”)"]
    assert defined[0]["source"].location == "Table 1"
    exposed = next(c for c in context["cohorts"] if c["id"] == "exposed-mixed")["population"]
    assert [row["value"] for row in exposed if row["label"].startswith("Prior")] == ["Exposed to anti-CD38 (“60% refractory”)"]
