"""`make preview`: serve the built site and rebuild it whenever a record, template, page or setting is saved."""

from __future__ import annotations

import functools
import http.server
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from build_scripts.load.problems import EvidenceError
from build_scripts.load.release import CHANGELOG_FILE, CITATION_FILE
from build_scripts.publish.build import build_site
from build_scripts.publish.layout import BuildError, BuildReport, Layout

POLL_SECONDS = 0.5
# A save often comes as a burst (editors write a temporary file, then rename it; `git checkout` touches many
# files): rebuild once the inputs have stayed unchanged for this long.
QUIET_SECONDS = 0.5
# A build replaces site/ by two renames; a request that falls between them waits this long for the new folder.
SWAP_WAIT_SECONDS = 5.0
# How long a stopping preview waits for the server to finish the request it is serving.
SHUTDOWN_SECONDS = 5.0

Snapshot = dict[Path, tuple[int, int]]


def watched_inputs(layout: Layout) -> list[Path]:
    """Every file and folder a build reads that a contributor edits."""
    return [layout.evidence, layout.content, layout.templates, layout.root / "mkdocs.yml",
            layout.root / CHANGELOG_FILE, layout.root / CITATION_FILE]


def _ignored(path: Path) -> bool:
    """Editors' swap, backup and lock files, which change while a file is open, not when it is saved."""
    name = path.name
    return name.startswith(".") or name.endswith(("~", ".swp", ".swx", ".tmp"))


def snapshot(inputs: Iterable[Path]) -> Snapshot:
    """Modification time and size of every input file; a file removed while it is read is simply left out."""
    found: Snapshot = {}
    for root in inputs:
        candidates = root.rglob("*") if root.is_dir() else [root]
        for path in candidates:
            if _ignored(path):
                continue
            try:
                status = path.stat()
            except OSError:
                continue
            if path.is_file():
                found[path] = (status.st_mtime_ns, status.st_size)
    return found


def changed_paths(before: Snapshot, after: Snapshot) -> list[Path]:
    """Files added, removed or modified between two snapshots."""
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def wait_for_quiet(inputs: list[Path], current: Snapshot, sleep: Callable[[float], None] = time.sleep,
                   quiet: float = QUIET_SECONDS) -> Snapshot:
    """Wait until the inputs stop changing, so a burst of saves gives one build; returns the settled snapshot."""
    while True:
        sleep(quiet)
        settled = snapshot(inputs)
        if settled == current:
            return settled
        current = settled


class PreviewHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site folder by its path on every request, so a swapped-in build is served at once."""

    site: Path

    def __init__(self, *args, site: Path, **kwargs):
        self.site = site
        super().__init__(*args, directory=str(site), **kwargs)

    def send_head(self):
        deadline = time.monotonic() + SWAP_WAIT_SECONDS
        while not self.site.is_dir() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self.site.is_dir():
            self.send_error(503, "No site has been built yet; see the preview's output for the errors to fix")
            return None
        return super().send_head()

    def log_message(self, *args):  # the terminal shows builds and their errors, not every request
        pass


def start_server(site: Path, port: int) -> http.server.ThreadingHTTPServer:
    """A local server for the site folder on 127.0.0.1, serving in a background thread."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(PreviewHandler, site=site))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class BuildOutcome:
    """Whether a preview build succeeded, and how long it took."""

    ok: bool
    seconds: float


def build_once(layout: Layout, out=sys.stdout, err=sys.stderr) -> BuildOutcome:
    """Build the site; on failure print the located errors and leave the last good site in place."""
    started = time.monotonic()
    report = BuildReport()
    try:
        evidence = build_site(layout, report)
    except EvidenceError as error:
        print(error.report(), file=err)
    except BuildError as error:
        print(error, file=err)
    except Exception:  # a preview outlives any one bad build; the traceback says what broke
        traceback.print_exc(file=err)
    else:
        seconds = time.monotonic() - started
        print(f"Built {evidence.record_count()} records, {report.pages} pages in {seconds:.1f} s.", file=out, flush=True)
        return BuildOutcome(True, seconds)
    seconds = time.monotonic() - started
    kept = "still serving the last good site" if layout.site.is_dir() else "no site to serve yet"
    print(f"The build failed after {seconds:.1f} s; {kept}. Fix the problems above and save again.", file=err, flush=True)
    return BuildOutcome(False, seconds)


def _stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    """Ctrl-C or SIGTERM sets `stop`, so the loop ends between builds and nothing is cut off half-way (a fork pool,
    the site's swap); a second Ctrl-C interrupts at once. Returns what puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def asked(signum: int, frame: object) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {number: signal.signal(number, asked) for number in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for number, handler in previous.items():
            signal.signal(number, handler)

    return restore


def preview(layout: Layout, port: int, stop: threading.Event | None = None, out=sys.stdout, err=sys.stderr) -> int:
    """Build, serve and rebuild on every save until Ctrl-C (or until stop is set)."""
    stop = stop or threading.Event()
    restore = _stop_on_signals(stop)
    inputs = watched_inputs(layout)
    current = snapshot(inputs)
    server = None
    try:
        build_once(layout, out, err)
        try:
            server = start_server(layout.site, port)
        except OSError as error:
            print(f"Cannot serve on 127.0.0.1:{port} ({error.strerror}); choose another port, e.g."
                  f" `make preview PORT={port + 1}`.", file=err, flush=True)
            return 1
        print(f"Serving {layout.site} on http://127.0.0.1:{server.server_address[1]}/ ; rebuilding when"
              f" {', '.join(_shown(path, layout.root) for path in inputs)} change. Ctrl-C stops.", file=out, flush=True)
        while not stop.wait(POLL_SECONDS):
            latest = snapshot(inputs)
            if latest == current:
                continue
            settled = wait_for_quiet(inputs, latest)
            changes, current = changed_paths(current, settled), settled
            if not changes:
                continue
            shown = ", ".join(_shown(path, layout.root) for path in changes[:5])
            more = f" and {len(changes) - 5} more" if len(changes) > 5 else ""
            print(f"Changed: {shown}{more}; rebuilding.", file=out, flush=True)
            build_once(layout, out, err)
    except KeyboardInterrupt:
        pass
    finally:
        restore()
        if server is not None:
            # The server's thread is a daemon: if it cannot finish its request in time, exiting ends it anyway.
            closing = threading.Thread(target=server.shutdown, daemon=True)
            closing.start()
            closing.join(SHUTDOWN_SECONDS)
            server.server_close()
    print("Stopped.", file=out, flush=True)
    return 0


def _shown(path: Path, root: Path) -> str:
    try:
        return os.path.relpath(path, root)
    except ValueError:
        return str(path)
