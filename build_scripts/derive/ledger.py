"""Published URLs: the committed ledger, redirects from moved record ids, and the check that none disappears."""

from __future__ import annotations

import os
from pathlib import Path

from build_scripts.load.evidence import Evidence
from build_scripts.load.problems import EvidenceError, Problem, display_path
from build_scripts.load.reader import LEDGER_NAME, read_regular_file
from build_scripts.load.vocabulary import RECORD_KINDS

# About 40 bytes a URL: room for some 100,000 record pages.
MAX_LEDGER_BYTES = 4_000_000
LEDGER_HEADER = (
    "# Every URL the atlas has published. A URL listed here must keep working: a build fails when its page is\n"
    "# gone and no record declares `moved_from` for it. Add new URLs with `python -m build_scripts urls --update`.\n"
)


def record_urls(evidence: Evidence) -> set[str]:
    """Site-relative URLs of every record page."""
    return {RECORD_KINDS[kind].url(record_id) for kind in RECORD_KINDS for record_id in evidence.by_kind(kind)}


def redirects(evidence: Evidence) -> dict[str, str]:
    """Old URL -> current URL, for every id a record declares it moved from."""
    moved = {}
    for kind in RECORD_KINDS:
        for record_id, record in sorted(evidence.by_kind(kind).items()):
            for old_id in record.moved_from:
                moved[RECORD_KINDS[kind].url(old_id)] = RECORD_KINDS[kind].url(record_id)
    return moved


def read_ledger(path: Path) -> list[tuple[int, str]]:
    """(line number, URL) of each URL in the ledger; comments and blank lines are skipped.

    Raises EvidenceError when the ledger is not a regular UTF-8 file within the size limit: it is never
    followed through a link nor read from a pipe or device, so no other file's lines reach a report.
    """
    if not os.path.lexists(path):
        return []
    data, problem = read_regular_file(path, MAX_LEDGER_BYTES, "the ledger")
    if data is None:
        raise EvidenceError([problem])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise EvidenceError([Problem(display_path(path), data[: error.start].count(b"\n") + 1, 1, "(file)",
                                     "the ledger is not UTF-8 text")]) from None
    entries = []
    # Split at line feeds only, as editors number lines (str.splitlines also splits at \f, \x1c, \u2028 ...).
    for number, line in enumerate(text.split("\n"), start=1):
        url = line.strip()
        if url and not url.startswith("#"):
            entries.append((number, url))
    return entries


def ledger_problems(evidence: Evidence, evidence_dir: Path,
                    unreadable: set[tuple[str, str]] = frozenset()) -> list[Problem]:
    """Published URLs that would break, and moved_from declarations that cannot work.

    Records that failed their own validation still count as present: their problems are reported already.
    """
    ledger = evidence_dir / LEDGER_NAME
    shown = display_path(ledger)
    current = record_urls(evidence) | {RECORD_KINDS[kind].url(record_id) for kind, record_id in unreadable}
    moved = redirects(evidence)
    problems: list[Problem] = []
    try:
        ledger_entries = read_ledger(ledger)
    except EvidenceError as error:
        ledger_entries, problems = [], list(error.problems)
    for number, url in ledger_entries:
        if url not in current and url not in moved:
            problems.append(Problem(shown, number, 1, url,
                                    "this published URL no longer has a page and no record declares `moved_from` for it;"
                                    " restore the record or add its old id to the new record's moved_from"))
    claimed: dict[str, str] = {}
    for kind in RECORD_KINDS:
        for record_id, record in sorted(evidence.by_kind(kind).items()):
            path = evidence.files.get((kind, record_id))
            for old_id in record.moved_from:
                old_url = RECORD_KINDS[kind].url(old_id)
                where = display_path(path) if path else record_id
                if old_url in current:
                    problems.append(Problem(where, 1, 1, "moved_from",
                                            f"'{old_id}' is still the id of a {kind} record; a record can only move from an id no longer in use"))
                elif old_url in claimed:
                    problems.append(Problem(where, 1, 1, "moved_from",
                                            f"'{old_id}' is also claimed by '{claimed[old_url]}'"))
                claimed[old_url] = record_id
    return problems


def missing_from_ledger(evidence: Evidence, evidence_dir: Path) -> list[str]:
    listed = {url for _, url in read_ledger(evidence_dir / LEDGER_NAME)}
    return sorted(record_urls(evidence) - listed)


def update_ledger(evidence: Evidence, evidence_dir: Path) -> list[str]:
    """Append every current record URL not yet in the ledger; never remove one. Returns the URLs added."""
    ledger = evidence_dir / LEDGER_NAME
    added = missing_from_ledger(evidence, evidence_dir)
    listed = [url for _, url in read_ledger(ledger)]
    text = LEDGER_HEADER + "".join(f"{url}\n" for url in sorted(set(listed) | set(added)))
    ledger.write_text(text, encoding="utf-8")
    return added
