"""`make preview`: the watcher sees saves and waits out bursts, the server follows a swapped site, and the whole
command rebuilds a served page after a record is edited and keeps the last good site when a build fails."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from build_scripts.publish import preview
from build_scripts.publish.preview import _stop_on_signals
from build_scripts.publish.layout import Layout

from conftest import ROOT, evidence_tree, fixture_content

STUDY = "studies/fixture-dpd-retreatment/"


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def touch(path: Path, text: str, tick: int) -> None:
    """Write a file with a modification time of its own, so the test does not depend on the clock's resolution."""
    path.write_text(text)
    os.utime(path, ns=(tick * 1_000_000_000, tick * 1_000_000_000))


# ---------------------------------------------------------------- watcher


def test_snapshot_sees_files_added_changed_and_removed_but_not_editor_swap_files(tmp_path):
    folder = tmp_path / "evidence"
    (folder / "studies").mkdir(parents=True)
    touch(folder / "studies" / "a.yaml", "id: a\n", 1)
    touch(folder / "studies" / "b.yaml", "id: b\n", 1)
    before = preview.snapshot([folder])
    assert sorted(p.name for p in before) == ["a.yaml", "b.yaml"]

    touch(folder / "studies" / "a.yaml", "id: a\ntitle: x\n", 2)
    (folder / "studies" / "b.yaml").unlink()
    touch(folder / "studies" / "c.yaml", "id: c\n", 2)
    touch(folder / "studies" / ".a.yaml.swp", "swap", 2)
    touch(folder / "studies" / "a.yaml~", "backup", 2)
    after = preview.snapshot([folder])
    assert [p.name for p in preview.changed_paths(before, after)] == ["a.yaml", "b.yaml", "c.yaml"]
    assert preview.changed_paths(after, preview.snapshot([folder])) == []


def test_a_single_file_input_is_watched_and_a_missing_one_is_not_an_error(tmp_path):
    config = tmp_path / "mkdocs.yml"
    touch(config, "site_name: x\n", 1)
    before = preview.snapshot([config, tmp_path / "missing.md"])
    touch(config, "site_name: y\n", 2)
    assert preview.changed_paths(before, preview.snapshot([config])) == [config]


def test_watched_inputs_cover_records_templates_pages_and_settings(tmp_path):
    layout = Layout(ROOT, tmp_path / "evidence", tmp_path / "content", ROOT / "templates", tmp_path / "b", tmp_path / "s")
    inputs = preview.watched_inputs(layout)
    for needed in (layout.evidence, layout.content, layout.templates, ROOT / "mkdocs.yml", ROOT / "CHANGELOG.md",
                   ROOT / "CITATION.cff"):
        assert needed in inputs


def test_a_burst_of_saves_gives_one_settled_snapshot(tmp_path):
    record = tmp_path / "a.yaml"
    touch(record, "v0", 0)
    first = preview.snapshot([tmp_path])
    sleeps = []

    def sleep(seconds):
        # The first three quiet periods each see another save; the fourth sees none.
        sleeps.append(seconds)
        if len(sleeps) <= 3:
            touch(record, f"v{len(sleeps)}", len(sleeps))

    settled = preview.wait_for_quiet([tmp_path], first, sleep=sleep, quiet=0.25)
    assert sleeps == [0.25] * 4
    assert settled[record] == (3 * 1_000_000_000, 2)


# ---------------------------------------------------------------- server


@pytest.fixture
def server_on(tmp_path):
    servers = []

    def start(site: Path) -> str:
        server = preview.start_server(site, 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_server_serves_the_folder_swapped_in_by_a_build(tmp_path, server_on):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("old build")
    url = server_on(site)
    assert fetch(url) == (200, "old build")
    # What build.publish does: the old site moves aside, the staged one takes its name.
    site.rename(tmp_path / "site-previous")
    staged = tmp_path / "site-next"
    staged.mkdir()
    (staged / "index.html").write_text("new build")
    staged.rename(site)
    shutil.rmtree(tmp_path / "site-previous")
    assert fetch(url) == (200, "new build")


def test_a_request_between_the_two_renames_waits_for_the_new_site(tmp_path, server_on):
    site = tmp_path / "site"
    url = server_on(site)
    staged = tmp_path / "site-next"
    staged.mkdir()
    (staged / "index.html").write_text("new build")
    threading.Timer(0.5, staged.rename, args=(site,)).start()
    assert fetch(url) == (200, "new build")


def test_without_any_built_site_the_server_says_so(tmp_path, server_on, monkeypatch):
    monkeypatch.setattr(preview, "SWAP_WAIT_SECONDS", 0.2)
    status, body = fetch(server_on(tmp_path / "site"))
    assert status == 503
    assert "No site has been built yet" in body


# ---------------------------------------------------------------- the command


class Running:
    """The preview command in a subprocess, its output read line by line without blocking the test."""

    def __init__(self, args: list[str]):
        self.process = subprocess.Popen([sys.executable, "-m", "build_scripts", *args], cwd=ROOT, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str, seconds: float) -> re.Match:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if not self.reader.is_alive() and self.lines.empty():
                    break
                continue
            self.output.append(line)
            if found := re.search(pattern, line):
                return found
        raise AssertionError(f"no line matching {pattern!r} within {seconds} s; output:\n{''.join(self.output)}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"{what} within {seconds} s")


def test_preview_rebuilds_a_page_after_a_save_and_keeps_the_last_good_site_when_a_build_fails(tmp_path):
    evidence = evidence_tree(tmp_path)
    record = evidence / "studies" / "fixture-dpd-retreatment.yaml"
    running = Running(["--evidence", str(evidence), "preview", "--content", str(fixture_content(tmp_path)),
                       "--work", str(tmp_path / "build"), "--site", str(tmp_path / "site"), "--port", "0"])
    try:
        url = running.wait_for(r"Serving .* on (http://127\.0\.0\.1:\d+/)", 120).group(1)
        status, html = fetch(url + STUDY)
        assert status == 200 and "Fixture study of DPd retreatment" in html

        saved = time.monotonic()
        record.write_text(record.read_text().replace("title: Fixture study of DPd retreatment",
                                                     "title: Fixture study renamed in preview"))
        wait_until(lambda: "Fixture study renamed in preview" in fetch(url + STUDY)[1], 60, "the edited title is served")
        print(f"edit to served page: {time.monotonic() - saved:.1f} s")

        record.write_text(record.read_text().replace("design: retrospective_real_world", "design: no_such_design"))
        running.wait_for(r"fixture-dpd-retreatment\.yaml:\d+:\d+: design: ", 60)
        running.wait_for(r"The build failed .* still serving the last good site", 30)
        status, html = fetch(url + STUDY)
        assert status == 200 and "Fixture study renamed in preview" in html
    finally:
        code = running.stop()
    assert code == 0
    running.wait_for(r"^Stopped\.", 5)


def test_ctrl_c_asks_the_loop_to_stop_between_builds_and_a_second_one_interrupts():
    original = signal.getsignal(signal.SIGINT)
    stop = threading.Event()
    restore = _stop_on_signals(stop)
    try:
        os.kill(os.getpid(), signal.SIGINT)
        wait_until(stop.is_set, 5, "the first Ctrl-C sets stop")
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
    finally:
        restore()
    assert signal.getsignal(signal.SIGINT) is original
