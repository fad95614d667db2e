"""Tables and chart tables too long for one page: page sizes, the pages' addresses and items, and their pagers."""

from __future__ import annotations

import math
import posixpath
from typing import Any, Sequence

from build_scripts.load.numbers import number


def pager_context(number: int, total: int, hrefs: list[str], size: int, noun: str = "Records") -> dict[str, Any]:
    """The pager of page `number` of a list of `total` items, `size` a page, given links to every page from it."""
    count = len(hrefs)
    return {
        "number": number, "count": count, "total": total, "noun": noun,
        "first": (number - 1) * size + 1, "last": min(number * size, total),
        "previous": hrefs[number - 2] if number > 1 else None,
        "next": hrefs[number] if number < count else None,
        "pages": [{"number": i, "href": href, "current": i == number} for i, href in enumerate(hrefs, 1)]
        if count <= 20 else None,
    }


# Rows of a chart's data table, of a regimen's table of cohorts, or of a list of cohorts on the Evidence summary or the
# regimen tables, on one page; the rest go to pages of their own.
TABLE_PAGE_SIZE = 100


def fits_on_page(total: int) -> bool:
    """Whether a list of `total` items is shown whole on its page, rather than on pages of its own."""
    return total <= TABLE_PAGE_SIZE


def table_page_urls(first_url: str, total: int, whole: bool) -> list[str]:
    """The pages of its own a list of `total` items goes on over when the page that shows it does not list it
    whole (see long_lists.listed_whole): first_url, then first_url<n>/, TABLE_PAGE_SIZE items a page; none when it
    is listed whole, or empty."""
    if whole or total == 0:
        return []
    return [first_url] + [f"{first_url}{n}/" for n in range(2, math.ceil(total / TABLE_PAGE_SIZE) + 1)]


def table_page_items(items: Sequence[Any], number: int) -> Sequence[Any]:
    """The items on page `number` (from 1) of a list that goes on over pages of TABLE_PAGE_SIZE items."""
    return items[(number - 1) * TABLE_PAGE_SIZE: number * TABLE_PAGE_SIZE]


def table_pager(number: int, total: int, hrefs: list[str], noun: str) -> dict[str, Any]:
    """The pager of page `number` of a list that goes on over pages of TABLE_PAGE_SIZE items."""
    return pager_context(number, total, hrefs, TABLE_PAGE_SIZE, noun)


def rebase(href: str, from_url: str, to_url: str) -> str:
    """A relative link written on the page at from_url, as written on the page at to_url."""
    if not href or "://" in href or href.startswith(("/", "mailto:")):
        return href
    path, hashmark, fragment = href.partition("#")
    target = posixpath.normpath(posixpath.join(from_url or ".", path)) if path else (from_url or ".").rstrip("/")
    moved = posixpath.relpath(target, to_url or ".")
    if (path.endswith("/") or not path) and not moved.endswith("/"):
        moved += "/"
    return moved + hashmark + fragment
