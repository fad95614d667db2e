"""The built site's last steps: the search index update, the staged copy, its link check, and the swap into place."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from build_scripts.load.cache import code_version, digest, load_store, save_store
from build_scripts.publish.layout import BuildError, Layout, remove_emptied
from build_scripts.publish.linkcheck import BrokenLink, check_pages
from build_scripts.publish.mkdocs_step import SiteOutput
from build_scripts.publish.pagefind import SEARCH_FOLDER, SearchIndexError, finish_index, start_index


class SearchUpdate:
    """Pagefind indexing the site in its own process when any page's HTML (or the exact-name map) changed since
    the index was made."""

    def __init__(self, layout: Layout, output: SiteOutput, names: dict[str, list[str]]):
        self.layout, self.names = layout, names
        self.store_path = layout.cache / "search.pickle"
        self.pages = digest(json.dumps(names, sort_keys=True),
                            *(part for path, value in sorted(output.digests.items()) if path.endswith(".html")
                              for part in (path, value)))
        self.stored = load_store(self.store_path, code_version())
        self.next = layout.work / "search-next"
        self.process = None
        if self.stored.get("pages") != self.pages or not layout.search.is_dir():
            shutil.rmtree(self.next, ignore_errors=True)
            self.process = start_index(layout.output, self.next)

    def finish(self) -> dict[str, str]:
        """Wait for Pagefind; the digest of every file of the search bundle."""
        if self.process is None:
            return self.stored["files"]
        try:
            finish_index(self.process, self.next, self.names)
        except SearchIndexError as error:
            shutil.rmtree(self.next, ignore_errors=True)
            raise BuildError(str(error)) from error
        files = {path.relative_to(self.next).as_posix(): digest(path.read_bytes())
                 for path in self.next.rglob("*") if path.is_file()}
        held = self.stored.get("files") if self.layout.search.is_dir() else None
        save_store(self.store_path, code_version(), {})  # unknown while the bundle changes
        replace_changed(self.layout.search, self.next, files, held)
        save_store(self.store_path, code_version(), {"pages": self.pages, "files": files})
        return files

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


def replace_changed(target: Path, fresh: Path, files: dict[str, str], held: dict[str, str] | None) -> None:
    """Make `target` hold the files of `fresh` (path -> digest), given what it holds, moving only the files that
    changed; `fresh` is removed.

    Pagefind writes its whole bundle on every run, but names most files by their content, so an edit changes a few.
    Keeping the unchanged files in place, rather than replacing the folder, matters on disks that discard freed
    blocks: there, removing a file written long ago took milliseconds, and the old bundle of a large site had
    tens of thousands. The fresh copies of unchanged files were written moments ago and go cheaply.
    """
    if held is None:
        shutil.rmtree(target, ignore_errors=True)
        fresh.rename(target)
        return
    for path in held.keys() - files.keys():
        remove_emptied(target / path, target)
    for path, value in files.items():
        if held.get(path) != value:
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            os.replace(fresh / path, target / path)
    shutil.rmtree(fresh)


def _identity(folder: Path) -> tuple[int, int] | None:
    try:
        status = folder.stat()
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def sync_tree(tree: Path, wanted: dict[str, tuple[Path, str]], held: dict[str, str] | None) -> None:
    """Make `tree` hold hard links to exactly the wanted files (site path -> (file, digest)), given what it holds.

    Only files whose digest differs are linked anew, so a build that changed one page touches a few files, not
    the whole site; hard links are safe because the build never writes a file in place.
    """
    if held is None:
        shutil.rmtree(tree, ignore_errors=True)
        held = {}
    for path in held.keys() - wanted.keys():
        remove_emptied(tree / path, tree)
    for path, (source, value) in wanted.items():
        if held.get(path) != value:
            target = tree / path
            try:
                target.unlink()
            except FileNotFoundError:
                target.parent.mkdir(parents=True, exist_ok=True)
            os.link(source, target)


def stage(layout: Layout, output: SiteOutput, search: dict[str, str]) -> Path:
    """The next site, in the standby folder (the site before the last one): MkDocs' output and the search bundle."""
    store_path = layout.cache / "trees.pickle"
    trees = load_store(store_path, "trees")
    standby = layout.work / "site-standby"
    held = trees.get("standby")
    if held is None or held[0] != _identity(standby):
        held = (None, None)
    wanted = {path: (layout.output / path, value) for path, value in output.digests.items()}
    wanted.update({f"{SEARCH_FOLDER}/{path}": (layout.search / path, value) for path, value in search.items()})
    trees["standby"] = None  # unknown while it changes
    save_store(store_path, "trees", trees)
    sync_tree(standby, wanted, held[1])
    standby.mkdir(parents=True, exist_ok=True)
    trees["standby"] = (_identity(standby), {path: value for path, (_, value) in wanted.items()})
    save_store(store_path, "trees", trees)
    return standby


def check_links(layout: Layout, output: SiteOutput, base_path: str, search: SearchUpdate) -> dict[str, str]:
    """Check the links of the pages whose HTML changed, and every link that points at something that changed,
    while Pagefind indexes; links into the search bundle are checked once it is written. Returns the bundle."""
    store_path = layout.cache / "links.pickle"
    key = digest(code_version(), base_path)
    broken, state = check_pages(layout.output, base_path, output.digests, load_store(store_path, key),
                                elsewhere=f"{SEARCH_FOLDER}/")
    bundle = search.finish()
    for page, link, target in state["elsewhere"]:
        if target[len(SEARCH_FOLDER) + 1:] not in bundle:
            broken.append(BrokenLink(page, link, target, "no such page or file"))
    if broken:
        raise BuildError(f"{len(broken)} broken link{'s' if len(broken) != 1 else ''} in the built site:\n"
                         + "\n".join(str(link) for link in sorted(broken, key=str)))
    save_store(store_path, key, state)
    return bundle


def publish(layout: Layout, staged: Path) -> None:
    """Swap the staged site into place; the previous site becomes the standby folder the next build updates."""
    store_path = layout.cache / "trees.pickle"
    trees = load_store(store_path, "trees")
    site, standby = trees.get("site"), trees.get("standby")
    if site is not None and site[0] != _identity(layout.site):
        site = None
    outgoing = layout.work / "site-outgoing"
    shutil.rmtree(outgoing, ignore_errors=True)
    trees = {"site": None, "standby": None}
    save_store(store_path, "trees", trees)
    if layout.site.exists():
        layout.site.rename(outgoing)
    staged.rename(layout.site)
    if outgoing.exists():
        outgoing.rename(staged)
    trees["site"] = (_identity(layout.site), standby[1]) if standby is not None else None
    trees["standby"] = (_identity(staged), site[1]) if site is not None and staged.exists() else None
    save_store(store_path, "trees", trees)
