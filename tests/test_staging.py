"""The staging steps on their own: the search bundle replaced by its changed files only."""

from __future__ import annotations

from pathlib import Path

from build_scripts.load.cache import digest
from build_scripts.publish.staging import replace_changed


def bundle(folder: Path, files: dict[str, str]) -> dict[str, str]:
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    return {path: digest(text.encode()) for path, text in files.items()}


def test_an_unchanged_file_stays_in_place_and_changed_new_and_gone_files_are_replaced(tmp_path: Path):
    target, fresh = tmp_path / "search", tmp_path / "search-next"
    held = bundle(target, {"fragment/a.pf": "a", "fragment/b.pf": "b", "entry.json": "v1", "gone/c.pf": "c"})
    kept_inode = (target / "fragment/a.pf").stat().st_ino
    files = bundle(fresh, {"fragment/a.pf": "a", "fragment/b.pf": "b2", "entry.json": "v2", "new/d.pf": "d"})
    replace_changed(target, fresh, files, held)
    assert not fresh.exists()
    assert (target / "fragment/a.pf").stat().st_ino == kept_inode
    found = {p.relative_to(target).as_posix(): p.read_text() for p in target.rglob("*") if p.is_file()}
    assert found == {"fragment/a.pf": "a", "fragment/b.pf": "b2", "entry.json": "v2", "new/d.pf": "d"}
    assert not (target / "gone").exists()


def test_a_bundle_of_unknown_contents_is_replaced_whole(tmp_path: Path):
    target, fresh = tmp_path / "search", tmp_path / "search-next"
    bundle(target, {"stray.pf": "left by a build that stopped", "a.pf": "a"})
    files = bundle(fresh, {"a.pf": "a"})
    replace_changed(target, fresh, files, None)
    assert [p.name for p in target.rglob("*")] == ["a.pf"] and not fresh.exists()
