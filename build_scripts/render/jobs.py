"""Every page family of the site and the job that makes it: the one place where a page kind is registered.

Each job reads what it needs inside its own function, so that the build (build.py) can trace what it read and run
it again only when that changed. The page contexts come from pages.py, summary.py and answers.py; this module only
names the pages, their templates and the order they are listed in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from jinja2 import Environment

from build_scripts.derive.guide import NO_GUIDE
from build_scripts.derive.ledger import redirects
from build_scripts.derive.synthesis import synthesise
from build_scripts.derive.synthesis_types import Synthesis
from build_scripts.load.evidence import Evidence
from build_scripts.load.history import Revision
from build_scripts.load.numbers import number
from build_scripts.load.settings import SiteSettings
from build_scripts.load.vocabulary import MEASURES, RECORD_KINDS
from build_scripts.render.answers import QUESTIONS_DESCRIPTION, answers_context, bottom_line_context, question_pages, review_quotes
from build_scripts.render.audit import AXES_AUDIT_URL, axes_audit
from build_scripts.render.chart_base import CHARTS_URL_PREFIX, CROSS_STUDY_MEASURES, Chart, chart_page_url
from build_scripts.render.chart_views import chart_pages_context, chart_table_pages, chart_views
from build_scripts.render.descriptions import chart_description, index_description, page_description
from build_scripts.render.export import dictionary_context
from build_scripts.render.fieldref import field_reference
from build_scripts.render.index_pages import (
    FIELD_REFERENCE_PAGE, INDEX_TEMPLATES, STUDIES_INDEX_DATA, index_pages, studies_index_json,
)
from build_scripts.render.links import QUESTIONS_URL, REGIMEN_TABLES_URL, SUMMARY_DETAILS_URL, SUMMARY_URL, relative
from build_scripts.render.pages import Page, PageJob
from build_scripts.render.record_pages import (
    agent_context, citation_context, publication_context, regimen_context, regimen_page_urls, review_context,
    study_context,
)
from build_scripts.render.regimen_tables import REGIMEN_TABLES_DESCRIPTION, regimen_table_pages, regimen_tables_context
from build_scripts.render.search import filter_options, pin_files, pins, search_view
from build_scripts.render.summary import SUMMARY_DESCRIPTION, SUMMARY_DETAILS_DESCRIPTION, summary_pages
from build_scripts.render.templating import render_page


def page_jobs(evidence: Evidence, environment: Environment,
              charts: Mapping[str, list[Chart]] | None = None, settings: SiteSettings | None = None,
              revisions: Mapping[Path, Revision] | None = None,
              synthesis: Synthesis | Callable[[], Synthesis] | None = None, guide=None) -> Iterable[PageJob]:  # noqa: ANN001
    """The jobs that generate every page of the site, in a stable order: one per record page, index or chart page.

    `synthesis` may be a function giving it, for a build that computes it once for several jobs; `guide` is the
    questions and bottom line of content/ (guide.Guide), none when not given."""
    guide = guide if guide is not None else NO_GUIDE

    charts = charts if charts is not None else {}
    settings = settings or SiteSettings("", "")
    revisions = revisions if revisions is not None else {}

    def cited(kind: str, record_id: str) -> tuple[dict[str, Any], list[Page], dict[str, Any]]:
        path = evidence.files.get((kind, record_id))
        context, files, head = citation_context(evidence, kind, record_id, settings,
                                                revisions.get(path.resolve()) if path else None)
        return context, files, {**head, "description": page_description(evidence, kind, record_id)}

    # Pages of chart data tables too long for their chart's page, made by `render` for the job being run.
    table_pages: list[Page] = []

    def render(path: str, template: str, head: dict[str, Any] | None = None, **context: Any) -> Page:
        page_url = context.get("page_url", "")
        views = []
        for view in chart_views(charts.get(page_url, [])):
            view, rest = chart_table_pages(view, page_url)
            views.append(view)
            for rest_path, rest_context in rest:
                table_pages.append(render(rest_path, "chart_table.md.j2", **rest_context))
        text, blocks = render_page(environment.get_template(template), charts=views,
                                   assets=relative(page_url or ".", "assets/"), **context)
        return Page(path, text, blocks, head)

    def job(name: str, make: Callable[..., Any], *args: Any, group: str | None = None) -> PageJob:
        def run() -> list[Page]:
            table_pages.clear()
            made = list(make(*args))
            made += table_pages
            table_pages.clear()
            return made

        return PageJob(name, run, group)

    def charts_index() -> list[Page]:
        return [render(f"{CHARTS_URL_PREFIX}/index.md", "charts_index.md.j2", chart_pages=chart_pages_context(charts))]

    def chart_page(measure_name: str) -> list[Page]:
        url = chart_page_url(measure_name)
        return [render(f"{url}index.md", "chart_page.md.j2", {"description": chart_description(measure_name)},
                       page_url=url, measure=MEASURES[measure_name])]

    def synthesised() -> Synthesis:
        return synthesis() if callable(synthesis) else synthesis if synthesis is not None else synthesise(
            evidence, guide.questions.items)

    def summary() -> list[Page]:
        # Lists too long for the page go on over pages of their own, made here with it (so they share its trace).
        found = synthesised()
        context, details, more = summary_pages(evidence, found)
        context.update(answers=answers_context(evidence, found, SUMMARY_URL),
                       bottom_line=bottom_line_context(evidence, guide, found, SUMMARY_URL),
                       review_quotes=review_quotes(evidence, SUMMARY_URL),
                       questions_href=relative(SUMMARY_URL, QUESTIONS_URL))
        return [render(f"{SUMMARY_URL}index.md", "summary.md.j2", {"description": SUMMARY_DESCRIPTION}, **context),
                render(f"{SUMMARY_DETAILS_URL}index.md", "summary_details.md.j2",
                       {"description": SUMMARY_DETAILS_DESCRIPTION}, **details),
                *(render(path, "summary_list.md.j2", **list_context) for path, list_context in more)]

    def questions() -> list[Page]:
        return [render(path, "question.md.j2" if "view" in context else "questions_index.md.j2",
                       {"description": context["view"].question.question if "view" in context else
                        QUESTIONS_DESCRIPTION}, **context)
                for path, context in question_pages(evidence, synthesised())]

    def regimen_tables() -> list[Page]:
        return [render(f"{REGIMEN_TABLES_URL}index.md", "regimen_tables.md.j2",
                       {"description": REGIMEN_TABLES_DESCRIPTION}, **regimen_tables_context(evidence)),
                *(render(path, "regimen_table_page.md.j2", **context) for path, context in regimen_table_pages(evidence))]

    def downloads() -> list[Page]:
        return [render("downloads.md", "downloads.md.j2", **dictionary_context(), counts={
            "studies": len(evidence.studies),
            "outcomes": sum(len(c.outcomes) for s in evidence.studies.values() for c in s.cohorts),
            "records": evidence.record_count()})]

    def index(kind: str, template: str) -> list[Page]:
        return [render(path, template, {"description": index_description(kind, context["pager"])}, **context)
                for path, context in index_pages(evidence, kind)]

    def study(study_id: str) -> list[Page]:
        citation, files, head = cited("study", study_id)
        return [render(RECORD_KINDS["study"].page_path(study_id), "study.md.j2", head,
                       search_entry=search_view(evidence, "study", study_id),
                       **study_context(evidence, evidence.studies[study_id]), **citation), *files]

    def regimen(regimen_id: str) -> list[Page]:
        citation, files, head = cited("regimen", regimen_id)
        more = [render(f"{url}index.md", "regimen_cohorts.md.j2", **regimen_context(evidence, regimen_id, number))
                for number, url in enumerate(regimen_page_urls(evidence, regimen_id)[1:], 2)]
        return [render(RECORD_KINDS["regimen"].page_path(regimen_id), "regimen.md.j2", head,
                       search_entry=search_view(evidence, "regimen", regimen_id),
                       **regimen_context(evidence, regimen_id), **citation), *more, *files]

    def agent(agent_id: str) -> list[Page]:
        return [render(RECORD_KINDS["agent"].page_path(agent_id), "agent.md.j2",
                       {"description": page_description(evidence, "agent", agent_id)},
                       search_entry=search_view(evidence, "agent", agent_id), **agent_context(evidence, agent_id))]

    def publication(publication_id: str) -> list[Page]:
        return [render(RECORD_KINDS["publication"].page_path(publication_id), "publication.md.j2",
                       {"description": page_description(evidence, "publication", publication_id)},
                       search_entry=search_view(evidence, "publication", publication_id),
                       **publication_context(evidence, publication_id))]

    def redirect_pages() -> list[Page]:
        return [render(f"{old_url}index.html", "redirect.html.j2", target=relative(old_url, new_url), target_url=new_url)
                for old_url, new_url in sorted(redirects(evidence).items())]

    def review(review_id: str) -> list[Page]:
        citation, files, head = cited("review", review_id)
        return [render(RECORD_KINDS["review"].page_path(review_id), "review.md.j2", head,
                       search_entry=search_view(evidence, "review", review_id),
                       **review_context(evidence, review_id), **citation), *files]

    if charts:
        yield job("charts-index", charts_index, group="synthesis")
        for measure_name in CROSS_STUDY_MEASURES:
            yield job(f"chart:{measure_name}", chart_page, measure_name, group="synthesis")
    yield job("summary", summary, group="synthesis")
    yield job("questions", questions, group="synthesis")
    yield job("regimen-tables", regimen_tables)
    yield job("definitions", lambda: [render("definitions.md", "definitions.md.j2")])
    yield job("derived-axes", lambda: [render(f"{AXES_AUDIT_URL}index.md", "derived_axes.md.j2", page_url=AXES_AUDIT_URL,
                                              **axes_audit(evidence))])
    yield job("field-reference", lambda: [render(FIELD_REFERENCE_PAGE, "fields.md.j2", **field_reference())])
    yield job("search", lambda: [render("search.md", "search.md.j2", page_url="search/", assets_up="../",
                                        filters=filter_options(evidence), pin_files=pin_files(len(pins(evidence))))])
    yield job("downloads", downloads)
    for kind, template in INDEX_TEMPLATES.items():
        yield job(f"index:{kind}", index, kind, template)
    yield job("studies-index-data", lambda: [Page(STUDIES_INDEX_DATA, studies_index_json(evidence))])
    for study_id in sorted(evidence.studies):
        yield job(f"study:{study_id}", study, study_id)
    for regimen_id in sorted(evidence.regimens):
        yield job(f"regimen:{regimen_id}", regimen, regimen_id)
    for agent_id in sorted(evidence.agents):
        yield job(f"agent:{agent_id}", agent, agent_id)
    for publication_id in sorted(evidence.publications):
        yield job(f"publication:{publication_id}", publication, publication_id)
    yield job("redirects", redirect_pages)
    for review_id in sorted(evidence.reviews):
        yield job(f"review:{review_id}", review, review_id)
