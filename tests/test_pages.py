"""Pure functions from the model to page text: links, figures, intervals and safe Markdown."""

from build_scripts.model import Outcome, Source
from build_scripts.pages import figure_text, interval_text, markdown_escape, relative, render_markdown

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


def test_generated_html_is_stashed_between_markdown_headings_and_restored_by_the_hook(tmp_path):
    from types import SimpleNamespace

    from build_scripts.mkdocs_hooks import on_page_content, stash_file
    from build_scripts.pages import stash_html

    text = "---\natlas: {a: 1}\n---\n# Title\n\n<div>one</div>\n\n## Part { #part }\n\n<table><tr><td>2</td></tr></table>\n"
    markdown, blocks = stash_html(text)
    assert markdown.startswith("---\natlas: {a: 1}\n---\n# Title\n")
    assert "## Part { #part }" in markdown and "<div>" not in markdown
    assert blocks == ("<div>one</div>", "<table><tr><td>2</td></tr></table>")
    docs = tmp_path / "docs"
    path = stash_file(docs, "studies/x/index.md")
    path.parent.mkdir(parents=True)
    path.write_text(__import__("json").dumps(list(blocks)))
    page = SimpleNamespace(file=SimpleNamespace(src_uri="studies/x/index.md"))
    html = "<h1>Title</h1>\n<p><!--atlas-block:0--></p>\n<h2 id=part>Part</h2>\n<!--atlas-block:1-->"
    restored = on_page_content(html, page, {"docs_dir": str(docs)}, None)
    assert restored == "<h1>Title</h1>\n<div>one</div>\n<h2 id=part>Part</h2>\n<table><tr><td>2</td></tr></table>"


def test_study_page_context_gives_each_cohort_its_derived_prior_status_and_flag():
    from build_scripts.checks import validate_tree
    from build_scripts.pages import study_context

    from conftest import VALID

    evidence = validate_tree(VALID)
    study = evidence.studies["fixture-dpd-retreatment"]
    naive = next(c for c in study.cohorts if c.id == "naive")
    # a typed flag is not what the page reads
    typed = study.model_copy(update={"cohorts": [*study.cohorts, naive.model_copy(
        update={"id": "typed-true", "anti_cd38_retreatment": True})]})
    context = study_context(evidence, typed)
    assert {c["id"]: (c["prior"], c["retreatment"]) for c in context["cohorts"]} == {
        "refractory": ("Refractory to anti-CD38", True),
        "naive": ("Anti-CD38-naive", False),
        "typed-true": ("Anti-CD38-naive", False),
        "all-patients": ("Includes anti-CD38-naive patients (75% refractory)", False),
        "refractory-early": ("Refractory to anti-CD38", True),
        "exposed-not-refractory": ("Exposed, not refractory", True),
        "exposed-mixed": ("Exposed, partly refractory (60% refractory)", True),
        "not-stated": ("Prior anti-CD38 not stated", False),
    }
    defined = [row for row in context["population"] if row["label"].startswith("Prior anti-CD38")]
    assert [row["value"] for row in defined] == [
        "Includes anti-CD38-naive patients (“30 daratumumab-refractory and 10 daratumumab-naive patients”)"]
    assert defined[0]["source"].location == "Table 1"
    exposed = next(c for c in context["cohorts"] if c["id"] == "exposed-mixed")["population"]
    assert [row["value"] for row in exposed if row["label"].startswith("Prior")] == ["Exposed to anti-CD38 (“60% refractory”)"]
