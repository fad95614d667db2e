"""Shared fixtures: fixture evidence trees, built sites and a local HTTP server."""

from __future__ import annotations

import fcntl
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import pytest

from build_scripts.load.topic import read_topic
from build_scripts.load.topic_model import activate
from build_scripts.publish.build import build_site
from build_scripts.publish.layout import Layout
from tools.localsite import launch_chromium, served

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
VALID = FIXTURES / "valid"
BROKEN = FIXTURES / "broken"

def activate_fixture_topic() -> None:
    """Make the valid fixture tree's topic the topic of the run, as reading that tree would."""
    topic, problems = read_topic(VALID)
    assert topic is not None, problems
    activate(topic)


# Tests that model records without reading a tree (Study.model_validate(...)) check them against this topic.
activate_fixture_topic()


@pytest.fixture(autouse=True)
def _fixture_topic():
    """Every test starts with the fixture topic active, whichever topic the test before it read."""
    activate_fixture_topic()


WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}
# One page of each kind, named as a reader would; the trial pages are a single-arm trial with charts and a
# randomised trial with arms side by side, the case series has per-patient tables.
PAGE_TYPES = {
    "home": "",
    "evidence summary": "summary/",
    "evidence summary details": "summary/details/",
    "derived axes": "derived-axes/",
    "clinical questions": "questions/",
    "clinical question": "questions/refractory-without-established-partner/",
    "studies index": "studies/",
    "trial": "studies/frerichs-2021-dara-atra/",
    "randomised trial": "studies/lynx/",
    "case series": "studies/athens-dara-imid-readdition/",
    "regimen": "regimens/daratumumab-pomalidomide-dexamethasone/",
    "regimen comparison": "regimen-tables/",
    "agent": "agents/daratumumab/",
    "publications index": "publications/",
    "publication": "publications/frerichs-2021-blood-adv/",
    "review": "reviews/gay-2025-anti-cd38-retreatment-slr/",
    "charts index": "charts/",
    "chart": "charts/orr/",
    "downloads": "downloads/",
    "methods": "methods/",
    "search with results": "search/",
    "what's new": "whats-new/",
    "field reference": "contribute/fields/",
}
SEARCH_QUERY = "daratumumab"


def broken_cases() -> list[str]:
    return sorted(path.name for path in BROKEN.iterdir() if path.is_dir())


def evidence_tree(tmp_path: Path, case: str | None = None) -> Path:
    """A copy of the valid fixture tree, with a broken case's files laid over it."""
    target = tmp_path / "evidence"
    shutil.copytree(VALID, target)
    if case is not None:
        for source in (BROKEN / case).rglob("*"):
            if source.is_file() and source.name != "expected.txt":
                destination = target / source.relative_to(BROKEN / case)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, destination)
    return target


GUIDE = FIXTURES / "guide"


def fixture_content(base: Path, guide: bool = True) -> Path:
    """The site's content folder with the fixture tree's questions and bottom line in place of the real ones; with
    `guide` False, with none (for evidence trees other than the fixture's, which the fixture guide cites)."""
    target = base / "content"
    if not target.exists():
        shutil.copytree(ROOT / "content", target)
        for source in GUIDE.iterdir():
            if guide:
                shutil.copyfile(source, target / source.name)
            else:
                (target / source.name).unlink()
    return target


def fixture_layout(base: Path, evidence: Path, guide: bool = True) -> Layout:
    return Layout(ROOT, evidence, fixture_content(base, guide), ROOT / "templates", base / "build", base / "site")


def shared_folder(tmp_path_factory) -> Path:
    """A folder of this test run shared by its processes: the run's temporary folder, which holds each pytest-xdist
    worker's own (popen-gw0, popen-gw1...); the session's own folder when the tests run in one process."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def run_lock(tmp_path_factory, name: str):
    """A lock on `name` held by one process of the test run at a time (workers of one run share it)."""
    with open(shared_folder(tmp_path_factory) / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def built_once(tmp_path_factory, name: str, build: Callable[[Path], Path]) -> Path:
    """What `build(base)` makes in a fresh folder, made once per test run (not once per worker process): the first
    process to ask builds it while the others wait, and all of them read the same files. Those who ask must not
    change them. `build` returns the site it built."""
    base = shared_folder(tmp_path_factory) / name
    done = base.parent / f"{name}.built"
    with run_lock(tmp_path_factory, name):
        if not done.exists():
            shutil.rmtree(base, ignore_errors=True)  # a build that failed in another process is built again
            base.mkdir()
            site = build(base)
            done.write_text(str(site), encoding="utf-8")
    return Path(done.read_text(encoding="utf-8"))


def _build_fixture_site(base: Path) -> Path:
    layout = fixture_layout(base, evidence_tree(base))
    build_site(layout)
    return layout.site


def _build_real_site(base: Path) -> Path:
    layout = Layout(ROOT, ROOT / "evidence", ROOT / "content", ROOT / "templates", base / "build", base / "site")
    build_site(layout)
    return layout.site


# The two sites are built once per test run and shared by the worker processes (each used to build its own).
@pytest.fixture(scope="session")
def fixture_site(tmp_path_factory) -> Path:
    """The site built from the valid fixture tree."""
    return built_once(tmp_path_factory, "fixture-site", _build_fixture_site)


@pytest.fixture(scope="session")
def real_site(tmp_path_factory) -> Path:
    """The site built from the project's real evidence."""
    return built_once(tmp_path_factory, "real-site", _build_real_site)


@pytest.fixture(scope="session")
def served_real_site(real_site):
    with served(real_site) as url:
        yield url


@pytest.fixture(scope="session")
def served_fixture_site(fixture_site):
    with served(fixture_site) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright; no browser is downloaded."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = launch_chromium(playwright)
        yield instance
        instance.close()


class PageWatch:
    """A browser page that records console errors, page errors and every request it makes."""

    def __init__(self, browser):
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def foreign_requests(self) -> list[str]:
        return [url for url in self.requests
                if not (url.startswith("http://127.0.0.1:") or url.startswith("data:") or url.startswith("blob:"))]

    def assert_clean(self) -> None:
        assert self.page_errors == [], self.page_errors
        assert self.console_errors == [], self.console_errors
        assert self.foreign_requests() == [], self.foreign_requests()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser):
    watch = PageWatch(browser)
    yield watch
    watch.close()
