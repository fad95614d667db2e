"""Results of pure numeric functions (pooled fits, exact intervals), made once and kept between builds.

Such a result depends on nothing but its arguments and the code, so a build keeps those its synthesis used (in a
store keyed by the code version) and the next build makes only the ones whose numbers are new. Job processes
hand back what they used, so the store holds no result of a stratum or cohort long gone.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable

_KEPT: dict[str, "Kept"] = {}


class Kept:
    """One function's results: all known to this process, and those used since they were last taken."""

    def __init__(self, name: str):
        if name in _KEPT:
            raise ValueError(f"kept results {name!r} declared twice")
        self.name = name
        self.known: dict[Hashable, Any] = {}
        self.used: dict[Hashable, Any] = {}
        _KEPT[name] = self

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        found = self.known.get(key)
        if found is None:
            found = self.known[key] = make()
        self.used[key] = found
        return found


def take_used() -> dict[str, dict[Hashable, Any]]:
    """Every result used since the last call, by function; forgets them as used."""
    taken = {}
    for name, kept in _KEPT.items():
        taken[name], kept.used = kept.used, {}
    return taken


def recall(stored: dict[str, dict[Hashable, Any]]) -> None:
    """Make results kept by an earlier build known again."""
    for name, results in stored.items():
        if name in _KEPT:
            _KEPT[name].known.update(results)


def merge(*taken: dict[str, dict[Hashable, Any]]) -> dict[str, dict[Hashable, Any]]:
    merged: dict[str, dict[Hashable, Any]] = {}
    for part in taken:
        for name, results in part.items():
            merged.setdefault(name, {}).update(results)
    return merged
