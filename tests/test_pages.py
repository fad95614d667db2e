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


def test_curation_note_is_shown_in_the_curators_words_through_the_sanitiser():
    from build_scripts.model import Regimen
    from build_scripts.pages import curation_view

    # built without validation: the page must be safe even for text the model would refuse
    regimen = Regimen.model_construct(id="r", name="R", agents=["a"], curators=["A. Curator"],
                                      curation_note="Kept *apart* <script>alert(1)</script> [x](javascript:y)")
    view = curation_view(regimen)
    assert view["curators"] == ["A. Curator"]
    assert "<em>apart</em>" in view["note"] and "<script" not in view["note"] and "javascript:" not in view["note"]
    assert curation_view(Regimen.model_validate({"id": "r", "name": "R", "agents": ["a"]})) is None


def test_review_figures_read_as_the_review_states_them():
    from build_scripts.model import ReviewFinding
    from build_scripts.pages import estimate_text, finding_figure

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
