"""The real atlas's pages say what they said and its data files hold what they held: a refactoring of the pipeline
(issue 23: stages, the topic as data) must leave both unchanged, compared with tests/data/site-text.json.

A wanted change of what the site says (a record added or corrected, a page reworded) refreshes the snapshot:
`make site && .venv/bin/python -m tools.site_text site --write tests/data/site-text.json`, committed with it."""

from __future__ import annotations

import json

from conftest import ROOT
from tools.site_text import differences, page_text, site_text

SNAPSHOT = ROOT / "tests" / "data" / "site-text.json"


def test_the_real_site_says_what_the_snapshot_says(real_site):
    found = site_text(real_site)
    wanted = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert len(found["pages"]) > 100 and len(found["data"]) > 50
    changed = differences(found, wanted)
    assert changed == [], ("the site's text or data changed; if that is wanted, refresh the snapshot (see this"
                           " file's docstring):\n" + "\n".join(changed[:40]))


def test_the_text_is_what_a_reader_reads_and_a_change_of_it_is_found():
    html = ('<html><head><style>p{}</style><script>var x = 1;</script></head><body><h1>ORR <em>42%</em></h1>'
            '<img alt="Forest plot"><p>Record added 2026-12-06.</p></body></html>')
    assert page_text(html) == "ORR 42% Forest plot Record added 2026-12-06."
    before = {"pages": {"a.html": "1", "b.html": "2"}, "data": {"data/x.csv": "3"}}
    after = {"pages": {"a.html": "1", "b.html": "9", "c.html": "4"}, "data": {}}
    assert differences(after, before) == ["changed pages: b.html", "added pages: c.html", "gone data: data/x.csv"]


def test_what_the_git_history_says_is_left_out(tmp_path):
    def site(name: str, revision: str) -> dict:
        folder = tmp_path / name
        (folder / "studies" / "a").mkdir(parents=True)
        (folder / "studies" / "a" / "index.html").write_text(f"<p>ORR 42%.</p><p>{revision}</p>", encoding="utf-8")
        (folder / "whats-new").mkdir()
        (folder / "whats-new" / "index.html").write_text(revision, encoding="utf-8")
        return site_text(folder)

    one = site("one", "Record added 2026-11-21; last changed 2026-12-06.")
    assert one == site("two", "Record added 2025-01-02; last changed 2026-12-07.")
    assert one == site("three", "This record is not yet in the repository's history.")
    assert one != site("four", "Record added 2026-11-21; last changed 2026-12-06. ORR 43%.")
    assert list(one["pages"]) == ["studies/a/index.html"]
