"""Charts as pages show them: each chart's view, its data table split into pages, and the chart pages' list."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from build_scripts.load.numbers import number
from build_scripts.load.vocabulary import MEASURES
from build_scripts.render import paging
from build_scripts.render.chart_base import CHARTS_URL_PREFIX, CROSS_STUDY_MEASURES, Chart, Link, chart_page_url
from build_scripts.render.charts import NARROW_BELOW
from build_scripts.render.links import relative
from build_scripts.render.paging import pager_context, rebase


@dataclass(frozen=True)
class ChartView:
    """What a page needs to show a chart: files beside the page, caption, description and data table."""

    name: str
    title: str
    caption: str
    description: str
    spec_file: str
    svg_file: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]  # cells: text, or chart_base.Link
    links: tuple[Any, ...] = ()  # chart_base.Link the caption ends with
    narrow_svg_file: str = ""  # the static SVG drawn for screens narrower than charts.NARROW_BELOW
    narrow_media: str = f"(max-width: {NARROW_BELOW - 1}px)"
    pager: dict[str, Any] | None = None  # when the table goes on over pages of its own (chart_table_pages)


def chart_views(charts: list[Chart]) -> list[ChartView]:
    return [ChartView(c.name, c.title, c.caption, c.description, c.spec_file, c.svg_file, c.columns, c.rows, c.links,
                      c.narrow_svg_file)
            for c in charts]


def chart_table_pages(view: ChartView, page_url: str) -> tuple[ChartView, list[tuple[str, dict[str, Any]]]]:
    """A chart as its page shows it, with the first paging.TABLE_PAGE_SIZE rows of its data table, and the (path, context)
    of the pages that hold the rest of the table, at <page>/<chart name>/<n>/."""
    rows = view.rows
    if len(rows) <= paging.TABLE_PAGE_SIZE:
        return view, []
    count = math.ceil(len(rows) / paging.TABLE_PAGE_SIZE)
    urls = [page_url] + [f"{page_url}{view.name}/{n}/" for n in range(2, count + 1)]

    def hrefs(url: str) -> list[str]:
        return [relative(url, page_url) + f"#{view.name}" if n == 1 else relative(url, u)
                for n, u in enumerate(urls, 1)]

    def page_rows(number: int, url: str) -> tuple[tuple[Any, ...], ...]:
        chunk = rows[(number - 1) * paging.TABLE_PAGE_SIZE: number * paging.TABLE_PAGE_SIZE]
        if url == page_url:
            return chunk
        return tuple(tuple(replace(cell, href=rebase(cell.href, page_url, url)) if isinstance(cell, Link) else cell
                           for cell in row) for row in chunk)

    first = replace(view, rows=page_rows(1, page_url),
                    pager=pager_context(1, len(rows), hrefs(page_url), paging.TABLE_PAGE_SIZE, "Rows"))
    pages = [(f"{url}index.md", {"page_url": url, "chart": replace(view, rows=page_rows(n, url)),
                                 "chart_href": relative(url, page_url) + f"#{view.name}",
                                 "pager": pager_context(n, len(rows), hrefs(url), paging.TABLE_PAGE_SIZE, "Rows")})
             for n, url in enumerate(urls[1:], 2)]
    return first, pages


def chart_pages_context(charts: dict[str, list[Chart]]) -> list[dict[str, Any]]:
    items = []
    for measure_name in CROSS_STUDY_MEASURES:
        url = chart_page_url(measure_name)
        chart = charts[url][0]
        items.append({"measure": MEASURES[measure_name], "href": relative(f"{CHARTS_URL_PREFIX}/", url),
                      "cohorts": chart.marks, "studies": chart.studies})
    return items
