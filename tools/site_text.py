"""The text and data of a built site, as digests: what a reader reads on each page and every download and chart
spec, so that a refactoring can show it changed none of them (tests/test_site_text.py compares with a snapshot).

    python -m tools.site_text site --write tests/data/site-text.json   # refresh the snapshot after a wanted change
    python -m tools.site_text site --diff tests/data/site-text.json    # list what differs from it
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

# Files whose bytes are the site's data and figures: downloads, chart specs and their static images.
DATA_SUFFIXES = (".csv", ".json", ".svg", ".xml", ".bib", ".ris")
# Not the atlas's content: the search index (rebuilt from the pages), the theme's own files, and what the git history
# of evidence/ says (What's new, its feed, the sitemap's dates); record pages' citation files carry a record's
# last-changed date, and every ISO date is masked, so that committing records again changes nothing here.
SKIPPED_FOLDERS = ("pagefind/", "assets/", "search/", "whats-new/")
SKIPPED_FILES = ("sitemap.xml", "feed.xml", "cite.bib", "cite.ris", "cite.json")
ISO_DATE = re.compile(rb"\b(19|20)[0-9]{2}-[01][0-9]-[0-3][0-9]\b")
# A record page's revision line, which says something else outside a git checkout.
REVISION = re.compile(rb"Record added DATE; last changed DATE\.|This record is not yet in the repository's history\.")


class _Text(HTMLParser):
    """The text of a page as a reader gets it: every text node outside script and style, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs) -> None:  # noqa: ANN001 - HTMLParser's signature
        if tag in ("script", "style", "template"):
            self._skip += 1
        for name, value in attrs:
            if name in ("alt", "title", "aria-label") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts)).strip()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:20]


def site_text(site: Path) -> dict[str, dict[str, str]]:
    """Digest of each page's text (by URL) and of each data file's bytes (by path)."""
    pages, data = {}, {}
    for path in sorted(site.rglob("*")):
        relative = path.relative_to(site).as_posix()
        if not path.is_file() or relative.startswith(SKIPPED_FOLDERS) or path.name in SKIPPED_FILES:
            continue
        if relative.endswith(".html"):
            text = ISO_DATE.sub(b"DATE", page_text(path.read_text(encoding="utf-8")).encode("utf-8"))
            pages[relative] = _digest(REVISION.sub(b"REVISION", text))
        elif relative.endswith(DATA_SUFFIXES):
            data[relative] = _digest(ISO_DATE.sub(b"DATE", path.read_bytes()))
    return {"pages": pages, "data": data}


def differences(found: dict[str, dict[str, str]], wanted: dict[str, dict[str, str]]) -> list[str]:
    """What differs, one line per file: changed, added or gone."""
    lines = []
    for part in ("pages", "data"):
        ours, theirs = found.get(part, {}), wanted.get(part, {})
        lines += [f"changed {part}: {name}" for name in sorted(ours) if name in theirs and ours[name] != theirs[name]]
        lines += [f"added {part}: {name}" for name in sorted(set(ours) - set(theirs))]
        lines += [f"gone {part}: {name}" for name in sorted(set(theirs) - set(ours))]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.site_text", description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="write the digests to this file")
    group.add_argument("--diff", type=Path, help="list what differs from the digests in this file")
    arguments = parser.parse_args(argv)
    found = site_text(arguments.site)
    if arguments.write:
        arguments.write.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return 0
    lines = differences(found, json.loads(arguments.diff.read_text(encoding="utf-8")))
    print("\n".join(lines) or "the same text and data")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
