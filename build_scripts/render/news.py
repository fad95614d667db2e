"""What's new: the records added and changed, from the git history of evidence/, as a page and an Atom feed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment

from build_scripts.load.evidence import Evidence
from build_scripts.load.history import Change, History
from build_scripts.load.release import Release
from build_scripts.load.settings import SiteSettings
from build_scripts.load.vocabulary import RECORD_KINDS
from build_scripts.render.citations import atlas_author
from build_scripts.render.links import citation_with_title, relative, url_of
from build_scripts.render.pages import Page
from build_scripts.render.templating import render_page

NEWS_URL = "whats-new/"
NEWS_PAGE = "whats-new.md"
FEED_FILE = "feed.xml"
CHANGELOG_URL = "changelog/"
CHANGELOG_PAGE = "changelog.md"
FEED_ENTRIES = 50
# The page shows more than the feed but not the whole history: the repository keeps that.
PAGE_ENTRIES = 200
# What XML 1.0 cannot hold, not even escaped: C0 controls other than tab and line ends, lone surrogates,
# U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class NewsItem:
    """A record added or changed by one commit."""

    change: Change
    kind: str
    record_id: str
    title: str


def record_title(evidence: Evidence, kind: str, record_id: str) -> str:
    """How an entry names a record: a study's or review's title, a regimen's or agent's name, a citation."""
    record = evidence.by_kind(kind)[record_id]
    if kind == "publication":
        return citation_with_title(record)
    return getattr(record, "title", None) or getattr(record, "name", None) or record.id


def news_items(evidence: Evidence, history: History) -> list[NewsItem]:
    """Additions and changes of the records that exist now, newest first; removed files have no page to link."""
    records = {path.resolve(): key for key, path in evidence.files.items()}
    items = []
    for change in history.changes:
        key = records.get(change.path)
        if key is None or change.action not in ("added", "changed"):
            continue
        items.append(NewsItem(change, key[0], key[1], record_title(evidence, *key)))
    return items


def commit_url(repository: str, commit: str) -> str | None:
    return f"{repository}/commit/{commit}" if repository else None


def news_context(items: list[NewsItem], history: History, repository: str, release: Release) -> dict[str, Any]:
    """The What's new page: the latest changes grouped by commit, newest first."""
    shown = items[:PAGE_ENTRIES]
    commits: list[dict[str, Any]] = []
    for item in shown:
        change = item.change
        if not commits or commits[-1]["commit"] != change.commit:
            commits.append({"commit": change.commit, "short": change.commit[:7], "date": change.date,
                            "time": change.time, "subject": change.subject,
                            "href": commit_url(repository, change.commit), "records": []})
        commits[-1]["records"].append({"kind": RECORD_KINDS[item.kind].label, "title": item.title,
                                       "action": change.action,
                                       "href": relative(NEWS_URL, url_of(item.kind, item.record_id))})
    return {
        "page_url": NEWS_URL,
        "available": history.available,
        "commits": commits,
        "shown": len(shown),
        "total": len(items),
        "feed_href": relative(NEWS_URL, FEED_FILE).rstrip("/"),
        "feed_entries": FEED_ENTRIES,
        "changelog_href": relative(NEWS_URL, CHANGELOG_URL),
        "history_href": f"{repository}/commits/main/evidence" if repository else None,
        "release": release,
    }


def _absolute(site_url: str, url: str) -> str:
    return site_url.rstrip("/") + "/" + url


def entry_id(site_url: str, item: NewsItem) -> str:
    """A tag: URI (RFC 4151) naming the change of one record by one commit; it never changes."""
    parts = urlsplit(site_url)
    path = (parts.path.strip("/") + "/") if parts.path.strip("/") else ""
    return f"tag:{parts.hostname or 'localhost'},{item.change.date}:{path}{url_of(item.kind, item.record_id)}{item.change.commit}"


def feed_context(items: list[NewsItem], site_name: str, site_url: str, release: Release) -> dict[str, Any]:
    """The Atom feed of the latest FEED_ENTRIES additions and changes; dated by its newest entry, else the release."""
    entries = [{
        "id": entry_id(site_url, item),
        "title": f"{RECORD_KINDS[item.kind].label} {item.change.action}: {item.title}",
        "updated": item.change.time,
        "link": _absolute(site_url, url_of(item.kind, item.record_id)),
        "kind": item.kind,
        "action": item.change.action,
        "subject": item.change.subject,
        "commit": item.change.commit,
    } for item in items[:FEED_ENTRIES]]
    return {
        "id": _absolute(site_url, FEED_FILE),
        "title": f"{site_name}: what's new",
        # Outside a git checkout no change is known: the release date is the last date the data is known by.
        "updated": max((e["updated"] for e in entries), key=datetime.fromisoformat, default=f"{release.date}T00:00:00Z"),
        "self_href": _absolute(site_url, FEED_FILE),
        "alternate": _absolute(site_url, NEWS_URL),
        "author": atlas_author(site_name),
        "entries": entries,
    }


def xml_text(text: str) -> str:
    """Text XML 1.0 can hold: characters it forbids (only untrusted text can bring them) become U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def news_pages(evidence: Evidence, history: History, environment: Environment, settings: SiteSettings,
               release: Release, changelog: str) -> list[Page]:
    """The What's new page, the Atom feed and the changelog page."""
    items = news_items(evidence, history)
    page = render_page(environment.get_template("whats_new.md.j2"), **news_context(items, history, settings.repository,
                                                                                release))
    feed = environment.get_template("feed.xml.j2").render(**feed_context(items, settings.name, settings.url, release))
    # Only the What's new page announces the feed: Material fetches the whole sitemap.xml on any page with a
    # <link rel="alternate"> (for its language selector), about 100 KB gzipped at 10,000 studies.
    return [Page(NEWS_PAGE, *page, head={"feed": FEED_FILE}), Page(FEED_FILE, xml_text(feed)),
            Page(CHANGELOG_PAGE, changelog)]
