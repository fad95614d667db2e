"""Check every internal link and fragment in a built site: href, src and data-spec in every HTML page."""

from __future__ import annotations

import os
import posixpath
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
import re
from html import unescape
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .problems import printable

PARALLEL_FROM = 500  # pages; below this, starting worker processes costs more than it saves
LINK_ATTRIBUTES = {"href", "src", "data-spec", "poster"}
# Links with these schemes leave the site (or do nothing); the offline tests check that no resource does.
EXTERNAL_SCHEMES = ("http:", "https:", "mailto:", "tel:", "data:", "javascript:", "blob:")


@dataclass(frozen=True)
class BrokenLink:
    """A link on a page whose target or fragment does not exist."""

    page: str
    link: str
    target: str
    reason: str

    def __str__(self) -> str:
        # The link comes from page text (entities decoded), so it is made printable like a Problem.
        return printable(f"{self.page}: link '{self.link}' -> {self.target}: {self.reason}")


_SKIPPED = re.compile(r"<script\b.*?</script\s*>|<style\b.*?</style\s*>|<!--.*?-->", re.S | re.I)
_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)(\s[^>]*)?>")
_ATTRIBUTE = re.compile(r"""([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")


@dataclass
class _Page:
    links: list[str]
    ids: set[str]


def _parse(path: Path) -> _Page:
    """Links and ids of a page. A regular expression over tags is several times faster than html.parser;
    script, style and comment contents are cut out first so that nothing inside them counts."""
    text = _SKIPPED.sub(lambda m: _keep_script_tag(m.group(0)), path.read_text(encoding="utf-8", errors="replace"))
    page = _Page([], set())
    for match in _TAG.finditer(text):
        tag = match.group(1).lower()
        attributes = {}
        for attribute in _ATTRIBUTE.finditer(match.group(2) or ""):
            value = attribute.group(2) if attribute.group(2) is not None else (
                attribute.group(3) if attribute.group(3) is not None else attribute.group(4))
            attributes[attribute.group(1).lower()] = unescape(value) if value is not None else None
        for name, value in attributes.items():
            if value is None:
                continue
            if name in ("id", "name") and tag != "meta":
                page.ids.add(value)
            elif name in LINK_ATTRIBUTES and not (tag == "link" and attributes.get("rel") == "canonical"):
                page.links.append(value)
            elif name == "srcset":
                page.links.extend(part.strip().split(" ")[0] for part in value.split(",") if part.strip())
    return page


def _keep_script_tag(block: str) -> str:
    """A script's own src still counts as a link; its contents do not."""
    opening = re.match(r"<script\b[^>]*>", block, re.I)
    return opening.group(0) if opening else ""


def _resolve(site: Path, page_rel: str, link: str, base_path: str) -> tuple[str, str] | None:
    """(target path relative to the site, fragment) of an internal link, or None for an external one."""
    if link.startswith(EXTERNAL_SCHEMES) or link.startswith("//"):
        return None
    parts = urlsplit(link)
    path = unquote(parts.path)
    if path.startswith("/"):
        # Root-relative links carry the site's path prefix (from site_url).
        if base_path and path.startswith(base_path):
            path = path[len(base_path):]
        target = posixpath.normpath(path.lstrip("/") or ".")
    elif path:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page_rel), path))
    else:
        target = page_rel
    if path.endswith("/") or target == ".":
        target = posixpath.join(target, "index.html") if target != "." else "index.html"
    elif (site / target).is_dir():
        target = posixpath.join(target, "index.html")
    return target, parts.fragment


def check_site(site: Path, base_path: str = "/") -> list[BrokenLink]:
    """Every broken internal link of the site; an empty list when all resolve."""
    paths = sorted(site.rglob("*.html"))
    if len(paths) > PARALLEL_FROM:
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            parsed = list(pool.map(_parse, paths, chunksize=200))
    else:
        parsed = [_parse(path) for path in paths]
    pages = {path.relative_to(site).as_posix(): page for path, page in zip(paths, parsed)}
    broken: list[BrokenLink] = []
    prefix = base_path if base_path.endswith("/") else base_path + "/"
    for page_rel, parsed in pages.items():
        for link in parsed.links:
            resolved = _resolve(site, page_rel, link, prefix if prefix != "/" else "")
            if resolved is None:
                continue
            target, fragment = resolved
            if target.startswith(".."):
                broken.append(BrokenLink(page_rel, link, target, "points outside the site"))
                continue
            if not (site / target).is_file():
                broken.append(BrokenLink(page_rel, link, target, "no such page or file"))
                continue
            if fragment and target in pages and fragment not in pages[target].ids:
                broken.append(BrokenLink(page_rel, link, f"{target}#{fragment}", "no element with this id"))
    return broken
