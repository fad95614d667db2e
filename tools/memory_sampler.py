"""The memory of a process and all its descendants together, sampled while they run (for the benchmark).

Each process's proportional set size (Pss, from /proc/PID/smaps_rollup) counts a page shared by N processes as 1/N
in each, so the sum over the tree is the memory the tree holds: job processes forked from the build's main process
share most of its pages, and adding their resident sizes would count those pages once per process.
"""

from __future__ import annotations

import threading
from pathlib import Path

PROC = Path("/proc")


def descendants(pid: int) -> list[int]:
    """The process and every process under it, from the kernel's lists of each thread's children."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in (PROC / str(current) / "task").glob("*"):
            try:
                pending.extend(int(child) for child in (task / "children").read_text().split())
            except (OSError, ValueError):
                continue
    return found


def pss_kib(pid: int) -> int:
    """A process's proportional set size in KiB; 0 when it has gone."""
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class TreeSampler:
    """Samples the summed Pss of a process tree every `interval` seconds in a thread, keeping the largest sum."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid, self.interval = pid, interval
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, sum(pss_kib(pid) for pid in descendants(self.pid)))
            self._stop.wait(self.interval)

    def __enter__(self) -> "TreeSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mib(self) -> float:
        return self.peak_kib / 1024
