"""Check every internal link and fragment in a built site: href, src and data-spec in every HTML page."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

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
        return f"{self.page}: link '{self.link}' -> {self.target}: {self.reason}"


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.in_template = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name") and tag != "meta":
                self.ids.add(value)
            elif name in LINK_ATTRIBUTES and not (tag == "link" and ("rel", "canonical") in attrs):
                self.links.append(value)
            elif name == "srcset":
                self.links.extend(part.strip().split(" ")[0] for part in value.split(",") if part.strip())


def _parse(path: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


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
    pages = {path.relative_to(site).as_posix(): _parse(path) for path in sorted(site.rglob("*.html"))}
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
