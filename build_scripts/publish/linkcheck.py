"""Check every internal link and fragment in a built site: href, src and data-spec in every HTML page."""

from __future__ import annotations

import os
import posixpath
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
import re
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from build_scripts.load.problems import printable

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
    files = {path.relative_to(site).as_posix(): "" for path in site.rglob("*") if path.is_file()}
    return check_pages(site, base_path, files)[0]


@dataclass
class PageLinks:
    """A page's internal links, each resolved to (link, target, fragment, resolved by asking the file system),
    its ids, and the digest of the HTML they were read from."""

    digest: str
    links: list[tuple[str, str, str, bool]]
    ids: set[str]


def _read_links(site: Path, page_rel: str, prefix: str, page_digest: str) -> PageLinks:
    parsed = _parse(site / page_rel)
    links = []
    for link in parsed.links:
        resolved = _resolve(site, page_rel, link, prefix)
        if resolved is not None:
            links.append((link, resolved[0], resolved[1], _asks_file_system(link)))
    return PageLinks(page_digest, links, parsed.ids)


def _read_links_star(arguments: tuple[Path, str, str, str]) -> PageLinks:
    return _read_links(*arguments)


def _asks_file_system(link: str) -> bool:
    """Whether resolving the link depended on whether its target is a folder (a path without a trailing slash)."""
    path = urlsplit(link).path
    return bool(path) and not path.endswith("/")


def check_pages(site: Path, base_path: str, files: dict[str, str], previous: dict[str, Any] | None = None,
                elsewhere: str | None = None) -> tuple[list[BrokenLink], dict[str, Any]]:
    """Broken internal links of a site whose files are `files` (site path -> digest of its bytes, empty when not
    known), and what was read of each page, to pass as `previous` next time.

    With `previous` (what this returned for the last site that passed), only the pages whose digest changed are
    parsed; the links of the others are checked again only when they point at a file that changed, appeared or
    disappeared, or at one not among `files` (such as the search bundle).

    Links into the folder `elsewhere` (the search bundle, written at the same time by another process) are not
    checked but returned in the state's "elsewhere" list as (page, link, target), for the caller to check.
    """
    prefix = base_path if base_path.endswith("/") else base_path + "/"
    prefix = prefix if prefix != "/" else ""
    old_pages: dict[str, PageLinks] = (previous or {}).get("pages", {})
    old_files: dict[str, str] = (previous or {}).get("files", {})
    pages = sorted(path for path in files if path.endswith(".html"))
    to_read = [path for path in pages if not files[path] or path not in old_pages or old_pages[path].digest != files[path]]
    arguments = [(site, path, prefix, files[path]) for path in to_read]
    if len(arguments) > PARALLEL_FROM:
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            read = list(pool.map(_read_links_star, arguments, chunksize=200))
    else:
        read = [_read_links_star(item) for item in arguments]
    # Most links are on every page (navigation, theme assets): one tuple each, shared by every page that has it,
    # keeps the state of a large site small in memory and on disk.
    shared: dict[tuple[str, str, str, bool], tuple[str, str, str, bool]] = {}
    read = [PageLinks(page.digest, [shared.setdefault(link, link) for link in page.links], page.ids) for page in read]
    state = {path: old_pages[path] for path in pages if path in old_pages}
    state.update(zip(to_read, read))
    fresh = set(to_read)
    # Files whose existence or ids may differ from when the unchanged pages were last checked. A link that
    # resolved to a file that is still there resolves the same way (a file is never also a folder).
    affected = {path for path, value in files.items() if not value or old_files.get(path) != value}
    affected |= old_files.keys() - files.keys()
    broken: list[BrokenLink] = []
    deferred: list[tuple[str, str, str]] = []
    for page_rel in pages:
        whole = page_rel in fresh
        for link, target, fragment, asks in state[page_rel].links:
            if not (whole or target in affected or target not in files):
                continue
            if elsewhere and target.startswith(elsewhere) and target not in files:
                deferred.append((page_rel, link, target))
                continue
            if asks:
                resolved = _resolve(site, page_rel, link, prefix)
                target, fragment = resolved if resolved is not None else (target, fragment)
            if target.startswith(".."):
                broken.append(BrokenLink(page_rel, link, target, "points outside the site"))
                continue
            if target not in files and not (site / target).is_file():
                broken.append(BrokenLink(page_rel, link, target, "no such page or file"))
                continue
            if fragment and target in state and fragment not in state[target].ids:
                broken.append(BrokenLink(page_rel, link, f"{target}#{fragment}", "no element with this id"))
    return broken, {"pages": state, "files": dict(files), "elsewhere": deferred}
