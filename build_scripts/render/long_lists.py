"""Lists too long for their page: anchors of rows and cohorts, and the pages a long list continues on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from build_scripts.derive.synthesis_types import Stratum
from build_scripts.load.numbers import number
from build_scripts.load.vocabulary import PARTNER_JOIN
from build_scripts.render.links import REGIMEN_TABLES_URL, SUMMARY_URL, relative, url_of
from build_scripts.render.paging import fits_on_page, table_page_urls, table_pager


def anchor_name(*parts: str) -> str:
    """A fragment id from vocabulary names, with '_' as '-' and a partner group's join spelled out:
    ('row', 'x+y', 'partly_naive') -> 'row-x-and-y-partly-naive'."""
    return "-".join(part.replace("_", "-").replace(PARTNER_JOIN, "-and-") for part in parts if part)


def stratum_anchor(prefix: str, stratum: Stratum) -> str:
    """A stratum's fragment id: 'row-<partner group>-<prior status>', as anchor_name spells them."""
    return anchor_name(prefix, stratum.partner_class, stratum.prior_status)


def cohort_href(page_url: str, study_id: str, cohort_id: str) -> str:
    """The link from a page to a cohort's section on its study page."""
    return relative(page_url, url_of("study", study_id)) + f"#cohort-{cohort_id}"


def summary_list_url(*slugs: str) -> str:
    """Where a list of cohorts too long for the Evidence summary goes on: summary/<slug>/.../, slugs from vocabulary
    names ('summary/<partner group>-refractory/cohorts/', 'summary/map/<partner group>-real-world/',
    'summary/not-summarised/naive/')."""
    return SUMMARY_URL + "".join(f"{anchor_name(slug)}/" for slug in slugs)


def regimen_table_url(slug: str) -> str:
    """Where a regimen table too long for its page goes on: regimen-tables/<slug>/ ('all-regimens', a partner class)."""
    return f"{REGIMEN_TABLES_URL}{slug}/"


@dataclass(frozen=True)
class LongList:
    """A list of cohorts longer than paging.TABLE_PAGE_SIZE: the page that shows it links to the list's own pages
    (paging.table_page_urls) instead of listing it."""

    urls: tuple[str, ...]
    total: int
    href: str  # the list's first page, from the page that shows the list

    @property
    def text(self) -> str:
        """'1,234 cohorts, on 13 pages'."""
        pages = len(self.urls)
        return f"{self.total:,} cohort{'s' if self.total != 1 else ''}, on {pages} page{'s' if pages != 1 else ''}"


def long_list(page_url: str, list_url: str, total: int, whole: bool) -> LongList | None:
    """The list's own pages when the page at page_url does not list it whole; None when it does."""
    urls = table_page_urls(list_url, total, whole)
    return LongList(tuple(urls), total, relative(page_url, urls[0])) if urls else None


def list_pages(long: LongList) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(number, URL, pager) of each page of a long list."""
    for number, url in enumerate(long.urls, 1):
        yield number, url, table_pager(number, long.total, [relative(url, u) for u in long.urls], "Cohorts")


def listed_whole(totals: Sequence[int], at_most: int) -> list[bool]:
    """For lists shown one after another on a page, in page order: whether each is listed whole there. A list is,
    when it fits on a page (paging.fits_on_page) and the lists listed before it leave room for it under `at_most`."""
    listed, whole = 0, []
    for total in totals:
        fits = fits_on_page(total) and listed + total <= at_most
        listed += total if fits else 0
        whole.append(fits)
    return whole
