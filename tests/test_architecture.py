"""The layout shows the pipeline: one package per stage, imports only toward earlier stages, no cycles, small
modules that say what they are for, and the tools kept apart from the pipeline."""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "build_scripts"
# The stages in the order data flows through them: a module may import from its own stage and earlier ones only.
STAGES = ("load", "derive", "render", "publish")
# The commands, which drive every stage.
ENTRY_POINTS = {"__init__", "__main__", "cli"}
MODULE_LINE_BUDGET = 500


@lru_cache(maxsize=None)
def modules() -> dict[str, Path]:
    """Every module of the pipeline by its dotted name."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imported(path: Path) -> set[str]:
    """The pipeline modules a module imports (at any depth of the file, so imports inside functions count)."""
    names = set()
    known = modules()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("build_scripts"):
            assert node.level == 0, f"{path}: relative import"
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                names.add(candidate if candidate in known else node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("build_scripts"))
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import")
    return names


def stage_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


def test_every_module_belongs_to_a_stage_or_is_an_entry_point():
    loose = [name for name in modules() if stage_of(name) is None and name.split(".")[-1] not in ENTRY_POINTS
             and name != "build_scripts"]
    assert loose == []
    assert {stage_of(name) for name in modules()} - {None} == set(STAGES)


def test_a_stage_imports_only_from_itself_and_earlier_stages():
    wrong = []
    for name, path in modules().items():
        stage = stage_of(name)
        if stage is None:
            continue
        for target in imported(path):
            other = stage_of(target)
            if other is None or STAGES.index(other) > STAGES.index(stage):
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def find_cycles(graph: dict[str, set[str]]) -> list[str]:
    """Each cycle met in a depth-first walk of the graph, as 'a -> b -> a'."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return cycles


def test_the_import_graph_has_no_cycle():
    known = modules()
    graph = {name: {t for t in imported(path) if t in known and t != name} for name, path in known.items()}
    assert sum(len(targets) for targets in graph.values()) > 100  # the graph was read
    assert find_cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a -> b -> c -> a"]
    assert find_cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_every_module_says_in_its_first_line_what_it_is_for():
    missing = [name for name, path in modules().items()
               if not (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").strip()]
    assert missing == []


def test_tools_stay_outside_the_pipeline_and_the_pipeline_never_imports_them_or_the_tests():
    assert not (PACKAGE / "bench.py").exists() and (ROOT / "tools" / "bench.py").exists()
    wrong = []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("tools", "tests",
                                                                                                  "conftest"):
                wrong.append(f"{name} imports {node.module}")
    assert wrong == []


def test_every_module_stays_small_enough_to_read_in_one_sitting():
    long = {name: n for name, path in modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MODULE_LINE_BUDGET}
    assert long == {}
