"""The SQLite store of kept fragments: read per fragment, emptied for other code, old fragments forgotten."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from build_scripts.load import fragment_store
from build_scripts.load.fragment_store import FragmentStore, fragment_id


def put(store: FragmentStore, name: str, value) -> str:
    identity = fragment_id(name, ("key", 1))
    store.write({identity: ((("studies", "item", name),), "digest", value)}, [])
    return identity


def test_a_fragment_written_is_read_back_by_its_id_in_a_later_build(tmp_path: Path):
    path = tmp_path / "fragments.sqlite"
    identity = put(FragmentStore(path, "code 1"), "alpha", {"rows": [1, 2.5, "x"]})
    later = FragmentStore(path, "code 1")
    reads, value_digest, value, generation = later.get(identity)
    assert reads == (("studies", "item", "alpha"),) and value_digest == "digest"
    assert fragment_store.pickle.loads(value) == {"rows": [1, 2.5, "x"]}
    assert generation == later.generation - 1
    assert later.get(fragment_id("alpha", ("key", 2))) is None


def test_ids_are_the_same_for_equal_keys_made_from_different_objects():
    name = "".join(["al", "pha"])
    assert fragment_id("rows", (name, name, 3)) == fragment_id("rows", ("alpha", "alpha", 3))
    assert fragment_id("rows", ("alpha", 3)) != fragment_id("rows", ("alpha", "3"))


def test_a_store_made_for_other_code_or_settings_is_emptied(tmp_path: Path):
    path = tmp_path / "fragments.sqlite"
    identity = put(FragmentStore(path, "code 1"), "alpha", "value")
    assert FragmentStore(path, "code 2").get(identity) is None
    assert FragmentStore(path, "code 2").count() == 0


def test_a_file_that_is_no_store_is_replaced(tmp_path: Path):
    path = tmp_path / "fragments.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    store = FragmentStore(path, "code 1")
    identity = put(store, "alpha", "value")
    assert FragmentStore(path, "code 1").get(identity) is not None


def test_fragments_no_build_takes_are_forgotten_and_taken_ones_are_refreshed(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(fragment_store, "FORGET_AFTER", 3)
    path = tmp_path / "fragments.sqlite"
    taken, left = put(FragmentStore(path, "k"), "taken", 1), put(FragmentStore(path, "k"), "left", 2)
    for _ in range(4):
        store = FragmentStore(path, "k")
        store.write({}, [taken])
        store.forget_old()
    store = FragmentStore(path, "k")
    assert store.get(taken) is not None and store.get(left) is None


def _write_in_child(path: Path, name: str) -> None:
    put(FragmentStore(path, "k"), name, name)


def test_two_processes_write_to_one_store(tmp_path: Path):
    path = tmp_path / "fragments.sqlite"
    parent = FragmentStore(path, "k")
    parent.close()
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_write_in_child, args=(path, name)) for name in ("one", "two")]
    for child in children:
        child.start()
    for child in children:
        child.join()
        assert child.exitcode == 0
    assert FragmentStore(path, "k").count() == 2


def test_an_in_memory_store_refuses_another_process():
    store = FragmentStore(None, "k")
    store._pid = -2  # as a forked child sees it
    with pytest.raises(RuntimeError):
        store.get("anything")
