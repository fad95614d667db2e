"""Every page family of the site and the job that makes each of its pages: the one place where a page kind is
registered.

A family is a function decorated with `@family`, registered in the order the site lists its jobs: it is given the
build's inputs (SiteInputs) and one of its keys (a record id, a measure, a record kind; None for a family of one
page) and returns the pages. Each job reads what it needs inside its own function, so that the build can trace
what it read and run it again only when that changed. The page contexts come from the other render modules; this
module only names the pages, their templates and the order they are listed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from jinja2 import Environment

from build_scripts.derive.guide import NO_GUIDE
from build_scripts.derive.ledger import redirects
from build_scripts.derive.synthesis import synthesise
from build_scripts.derive.synthesis_types import Synthesis
from build_scripts.load.cache import fragment
from build_scripts.load.evidence import Evidence
from build_scripts.load.history import Revision
from build_scripts.load.release import Release
from build_scripts.load.settings import SiteSettings
from build_scripts.load.vocabulary import MEASURES, RECORD_KINDS
from build_scripts.render.answers import (
    answers_context, bottom_line_context, question_pages, questions_description, review_quotes,
)
from build_scripts.render.audit import axes_audit_plan
from build_scripts.render.chart_base import CHARTS_URL_PREFIX, CROSS_STUDY_MEASURES, Chart, chart_page_url
from build_scripts.render.chart_groups import group_page_context
from build_scripts.render.charts import chart_aggregate
from build_scripts.render.chart_views import chart_pages_context, chart_table_pages, chart_views
from build_scripts.render.descriptions import chart_description, index_description, page_description
from build_scripts.render.explore import (
    EXPLORE_DATA, EXPLORE_PAGE, explore_context, explore_description, explore_json,
)
from build_scripts.render.export import dictionary_context
from build_scripts.render.fieldref import field_reference
from build_scripts.render.index_pages import (
    FIELD_REFERENCE_PAGE, INDEX_TEMPLATES, STUDIES_INDEX_DATA, index_plan, studies_index_json,
)
from build_scripts.render.links import QUESTIONS_URL, REGIMEN_TABLES_URL, SUMMARY_DETAILS_URL, SUMMARY_URL, relative
from build_scripts.render.pages import Page, PageJob
from build_scripts.render.record_pages import (
    agent_context, citation_context, publication_context, regimen_context, regimen_page_urls, review_context,
    study_context,
)
from build_scripts.render.regimen_tables import REGIMEN_TABLES_DESCRIPTION, regimen_table_plan, regimen_tables_context
from build_scripts.render.search import filter_options, pin_files, pins, search_view
from build_scripts.render.summary import summary_description, summary_details_description, summary_pages
from build_scripts.render.templating import render_page


@dataclass
class SiteInputs:
    """What page families read: the evidence, the templates, the charts by page URL, the site's settings, each
    record file's revision, the synthesis (or a function giving it, computed once for several jobs), the guide and
    the data release (None outside a build)."""

    evidence: Evidence
    environment: Environment
    charts: Mapping[str, list[Chart]]
    settings: SiteSettings
    revisions: Mapping[Path, Revision]
    synthesis: Synthesis | Callable[[], Synthesis] | None
    guide: Any  # guide.Guide
    release: Release | None = None
    # Pages of chart data tables too long for their chart's page, made by `render` for the job being run.
    table_pages: list[Page] = field(default_factory=list)

    def render(self, path: str, template: str, head: dict[str, Any] | None = None, **context: Any) -> Page:
        """A page from its template, with the views of the charts of its URL (their long tables as pages of their own)."""
        page_url = context.get("page_url", "")
        views = []
        for view in chart_views(self.charts.get(page_url, [])):
            view, rest = chart_table_pages(view, page_url)
            views.append(view)
            for rest_path, rest_context in rest:
                self.table_pages.append(self.render(rest_path, "chart_table.md.j2", **rest_context))
        text, blocks = render_page(self.environment.get_template(template), charts=views,
                                   assets=relative(page_url or ".", "assets/"), **context)
        return Page(path, text, blocks, head)

    def kept_pages(self, plan: Iterable[tuple[str, Any, Callable[[], dict[str, Any]]]], template: str,
                   head: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> list[Page]:
        """The pages of a plan ((path, key, context maker), as the long lists give them), each kept between builds
        (a fragment) while its key and what its maker reads are unchanged."""
        def render(path: str, make: Callable[[], dict[str, Any]]) -> Page:
            context = make()
            return self.render(path, template, head(context) if head is not None else None, **context)

        return [fragment("page", (path, key), lambda path=path, make=make: render(path, make))
                for path, key, make in plan]

    def synthesised(self) -> Synthesis:
        if callable(self.synthesis):
            return self.synthesis()
        return self.synthesis if self.synthesis is not None else synthesise(self.evidence, self.guide.questions.items)

    def cited(self, kind: str, record_id: str) -> tuple[dict[str, Any], list[Page], dict[str, Any]]:
        """A record page's citation context, its citation files, and its head (with its description)."""
        path = self.evidence.files.get((kind, record_id))
        context, files, head = citation_context(self.evidence, kind, record_id, self.settings,
                                                self.revisions.get(path.resolve()) if path else None)
        return context, files, {**head, "description": page_description(self.evidence, kind, record_id)}


@dataclass(frozen=True)
class PageFamily:
    """A kind of page: its job name, which pages of it exist (keys; None for one page), how to make one, and
    the group of jobs that share what they compute."""

    name: str
    make: Callable[[SiteInputs, Any], list[Page]]
    keys: Callable[[SiteInputs], Iterable[Any]] | None = None
    group: str | None = None

    def job_name(self, key: Any) -> str:
        return self.name if key is None else f"{self.name}:{key}"


FAMILIES: list[PageFamily] = []


def family(name: str, keys: Callable[[SiteInputs], Iterable[Any]] | None = None,
           group: str | None = None) -> Callable[[Callable[[SiteInputs, Any], list[Page]]], Callable]:
    """Register a page family; families run in the order they are registered."""
    def register(make: Callable[[SiteInputs, Any], list[Page]]) -> Callable:
        if any(f.name == name for f in FAMILIES):
            raise ValueError(f"page family {name!r} registered twice")
        FAMILIES.append(PageFamily(name, make, keys, group))
        return make
    return register


def _charted(site: SiteInputs) -> bool:
    return bool(site.charts)


@family("charts-index", keys=lambda site: [None] if _charted(site) else [], group="synthesis")
def charts_index(site: SiteInputs, _: None) -> list[Page]:
    return [site.render(f"{CHARTS_URL_PREFIX}/index.md", "charts_index.md.j2",
                        chart_pages=chart_pages_context(site.charts))]


@family("chart", keys=lambda site: CROSS_STUDY_MEASURES if _charted(site) else (), group="synthesis")
def chart_page(site: SiteInputs, measure_name: str) -> list[Page]:
    # A chart too long for one page shows one mark per group; each group's cohorts go on pages of their own, made
    # here with it (so they share its trace).
    url = chart_page_url(measure_name)
    found = chart_aggregate(site.charts, site.evidence, measure_name)
    head = {"description": chart_description(measure_name)}
    if found is None:
        return [site.render(f"{url}index.md", "chart_page.md.j2", head, page_url=url, measure=MEASURES[measure_name])]
    return [site.render(f"{url}index.md", "chart_aggregate.md.j2", head, page_url=url, measure=MEASURES[measure_name],
                        summary_href=relative(url, SUMMARY_URL)),
            *(site.render(f"{page.url}index.md", "chart_group.md.j2", **group_page_context(found, page))
              for page in found.pages)]


@family("summary", group="synthesis")
def summary(site: SiteInputs, _: None) -> list[Page]:
    # Lists too long for the page go on over pages of their own, made here with it (so they share its trace).
    evidence, found = site.evidence, site.synthesised()
    context, details, more = summary_pages(evidence, found)
    context.update(answers=answers_context(evidence, found, SUMMARY_URL),
                   bottom_line=bottom_line_context(evidence, site.guide, found, SUMMARY_URL),
                   review_quotes=review_quotes(evidence, SUMMARY_URL),
                   questions_href=relative(SUMMARY_URL, QUESTIONS_URL))
    return [site.render(f"{SUMMARY_URL}index.md", "summary.md.j2", {"description": summary_description()}, **context),
            site.render(f"{SUMMARY_DETAILS_URL}index.md", "summary_details.md.j2",
                        {"description": summary_details_description()}, **details),
            *(site.render(path, "summary_list.md.j2", **list_context) for path, list_context in more)]


@family("questions", group="synthesis")
def questions(site: SiteInputs, _: None) -> list[Page]:
    return [site.render(path, "question.md.j2" if "view" in context else "questions_index.md.j2",
                        {"description": context["view"].question.question if "view" in context else
                         questions_description()}, **context)
            for path, context in question_pages(site.evidence, site.synthesised())]


@family("explore", group="synthesis")
def explore(site: SiteInputs, _: None) -> list[Page]:
    return [site.render(EXPLORE_PAGE, "explore.md.j2", {"description": explore_description()},
                        **explore_context(site.evidence, site.synthesised()))]


@family("explore-data", group="synthesis")
def explore_data(site: SiteInputs, _: None) -> list[Page]:
    return [Page(EXPLORE_DATA, explore_json(site.evidence, site.synthesised(), site.release))]


@family("regimen-tables")
def regimen_tables(site: SiteInputs, _: None) -> list[Page]:
    return [site.render(f"{REGIMEN_TABLES_URL}index.md", "regimen_tables.md.j2",
                        {"description": REGIMEN_TABLES_DESCRIPTION}, **regimen_tables_context(site.evidence)),
            *site.kept_pages(regimen_table_plan(site.evidence), "regimen_table_page.md.j2")]


@family("definitions")
def definitions(site: SiteInputs, _: None) -> list[Page]:
    return [site.render("definitions.md", "definitions.md.j2")]


@family("derived-axes")
def derived_axes(site: SiteInputs, _: None) -> list[Page]:
    # Each page is kept between builds while its studies are unchanged: at 10,000 studies an edit renders one again.
    return site.kept_pages(axes_audit_plan(site.evidence), "derived_axes.md.j2")


@family("field-reference")
def fields(site: SiteInputs, _: None) -> list[Page]:
    return [site.render(FIELD_REFERENCE_PAGE, "fields.md.j2", **field_reference())]


@family("search")
def search(site: SiteInputs, _: None) -> list[Page]:
    return [site.render("search.md", "search.md.j2", page_url="search/", assets_up="../",
                        filters=filter_options(site.evidence), pin_files=pin_files(len(pins(site.evidence))))]


@family("downloads")
def downloads(site: SiteInputs, _: None) -> list[Page]:
    evidence = site.evidence
    return [site.render("downloads.md", "downloads.md.j2", **dictionary_context(), counts={
        "studies": len(evidence.studies),
        "outcomes": sum(len(c.outcomes) for s in evidence.studies.values() for c in s.cohorts),
        "records": evidence.record_count()})]


@family("index", keys=lambda site: INDEX_TEMPLATES)
def index(site: SiteInputs, kind: str) -> list[Page]:
    return site.kept_pages(index_plan(site.evidence, kind), INDEX_TEMPLATES[kind],
                           lambda context: {"description": index_description(kind, context["pager"])})


@family("studies-index-data")
def studies_index_data(site: SiteInputs, _: None) -> list[Page]:
    return [Page(STUDIES_INDEX_DATA, studies_index_json(site.evidence))]


@family("study", keys=lambda site: sorted(site.evidence.studies))
def study(site: SiteInputs, study_id: str) -> list[Page]:
    citation, files, head = site.cited("study", study_id)
    return [site.render(RECORD_KINDS["study"].page_path(study_id), "study.md.j2", head,
                        search_entry=search_view(site.evidence, "study", study_id),
                        **study_context(site.evidence, site.evidence.studies[study_id]), **citation), *files]


@family("regimen", keys=lambda site: sorted(site.evidence.regimens))
def regimen(site: SiteInputs, regimen_id: str) -> list[Page]:
    evidence = site.evidence
    citation, files, head = site.cited("regimen", regimen_id)
    more = [site.render(f"{url}index.md", "regimen_cohorts.md.j2", **regimen_context(evidence, regimen_id, number))
            for number, url in enumerate(regimen_page_urls(evidence, regimen_id)[1:], 2)]
    return [site.render(RECORD_KINDS["regimen"].page_path(regimen_id), "regimen.md.j2", head,
                        search_entry=search_view(evidence, "regimen", regimen_id),
                        **regimen_context(evidence, regimen_id), **citation), *more, *files]


@family("agent", keys=lambda site: sorted(site.evidence.agents))
def agent(site: SiteInputs, agent_id: str) -> list[Page]:
    return [site.render(RECORD_KINDS["agent"].page_path(agent_id), "agent.md.j2",
                        {"description": page_description(site.evidence, "agent", agent_id)},
                        search_entry=search_view(site.evidence, "agent", agent_id),
                        **agent_context(site.evidence, agent_id))]


@family("publication", keys=lambda site: sorted(site.evidence.publications))
def publication(site: SiteInputs, publication_id: str) -> list[Page]:
    return [site.render(RECORD_KINDS["publication"].page_path(publication_id), "publication.md.j2",
                        {"description": page_description(site.evidence, "publication", publication_id)},
                        search_entry=search_view(site.evidence, "publication", publication_id),
                        **publication_context(site.evidence, publication_id))]


@family("redirects")
def redirect_pages(site: SiteInputs, _: None) -> list[Page]:
    return [site.render(f"{old_url}index.html", "redirect.html.j2", target=relative(old_url, new_url),
                        target_url=new_url)
            for old_url, new_url in sorted(redirects(site.evidence).items())]


@family("review", keys=lambda site: sorted(site.evidence.reviews))
def review(site: SiteInputs, review_id: str) -> list[Page]:
    citation, files, head = site.cited("review", review_id)
    return [site.render(RECORD_KINDS["review"].page_path(review_id), "review.md.j2", head,
                        search_entry=search_view(site.evidence, "review", review_id),
                        **review_context(site.evidence, review_id), **citation), *files]


def _job(site: SiteInputs, page_family: PageFamily, key: Any) -> PageJob:
    def run() -> list[Page]:
        site.table_pages.clear()
        made = list(page_family.make(site, key))
        made += site.table_pages
        site.table_pages.clear()
        return made

    return PageJob(page_family.job_name(key), run, page_family.group)


def page_jobs(evidence: Evidence, environment: Environment,
              charts: Mapping[str, list[Chart]] | None = None, settings: SiteSettings | None = None,
              revisions: Mapping[Path, Revision] | None = None,
              synthesis: Synthesis | Callable[[], Synthesis] | None = None, guide=None,  # noqa: ANN001
              release: Release | None = None) -> Iterable[PageJob]:
    """The jobs that generate every page of the site, in a stable order: one per page family and key.

    `synthesis` may be a function giving it, for a build that computes it once for several jobs; `guide` is the
    questions and bottom line of content/ (guide.Guide), none when not given; `release` the data release
    (CITATION.cff), which data files name."""
    site = SiteInputs(evidence, environment, charts if charts is not None else {}, settings or SiteSettings("", ""),
                      revisions if revisions is not None else {}, synthesis, guide if guide is not None else NO_GUIDE,
                      release)
    for page_family in FAMILIES:
        for key in (page_family.keys(site) if page_family.keys is not None else [None]):
            yield _job(site, page_family, key)
