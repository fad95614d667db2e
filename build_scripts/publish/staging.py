"""The built site's last steps: the search index update, the staged copy, its link check, and the swap into place."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from build_scripts.load.cache import code_version, digest, load_store, save_store
from build_scripts.load.vocabulary import RECORD_KINDS
from build_scripts.publish.layout import BuildError, Layout, remove_emptied
from build_scripts.publish.linkcheck import BrokenLink, check_pages
from build_scripts.publish.mkdocs_step import SiteOutput
from build_scripts.publish.pagefind import (
    PINS_FOLDER, SEARCH_FOLDER, IndexRun, SearchIndexError, ShardIndexed, finish_index, start_index, write_pins,
)
from build_scripts.publish.search_shards import SHARDS_FILE, chunk_bytes, shard_folder, shard_plan


class SearchUpdate:
    """Pagefind indexing the shards whose pages' HTML changed since the bundle was made (all of them when the bundle
    is unknown), one after another in a process of its own; the pages of each shard are hard links in a folder of
    their own, kept between builds. The exact-name map is written anew whenever a shard or the map changed."""

    def __init__(self, layout: Layout, output: SiteOutput, names: dict[str, list[str]],
                 companions: dict[str, str] | None = None):
        self.layout, self.names = layout, names
        self.store_path = layout.cache / "search.pickle"
        pages = {path: value for path, value in output.digests.items() if path.endswith(".html")}
        self.plan = shard_plan(pages, (kind.url_prefix for kind in RECORD_KINDS.values()), companions)
        self.digests = {number: digest(*(part for path in paths for part in (path, pages[path])))
                        for number, paths in self.plan.items()}
        self.names_digest = digest(json.dumps(names, sort_keys=True))
        self.stored = load_store(self.store_path, code_version())
        self.known = layout.search.is_dir() and "files" in self.stored
        kept = self.stored.get("shards", {}) if self.known else {}
        self.stale = [number for number in self.plan if kept.get(number) != self.digests[number]]
        self.changed = bool(self.stale) or not self.known or set(kept) != set(self.plan) \
            or self.stored.get("names") != self.names_digest
        self.next = layout.work / "search-next"
        self.indexed: dict[int, ShardIndexed] = {}
        self.run: IndexRun | None = None
        if not self.changed:
            return
        shutil.rmtree(self.next, ignore_errors=True)
        mirrors = self.stored.get("mirrors", {})
        # The stale shards' page folders change now: unknown until this build ends well.
        save_store(self.store_path, code_version(),
                   {**self.stored, "mirrors": {n: held for n, held in mirrors.items() if n not in self.stale}})
        for number in [n for n in mirrors if n not in self.plan]:  # shards that are no more
            shutil.rmtree(layout.work / "search-pages" / str(number), ignore_errors=True)
            del mirrors[number]
        jobs = []
        for number in self.stale:
            folder = layout.work / "search-pages" / str(number)
            wanted = {path: (layout.output / path, pages[path]) for path in self.plan[number]}
            sync_tree(folder, wanted, mirrors.get(number))
            folder.mkdir(parents=True, exist_ok=True)
            mirrors[number] = {path: value for path, (_, value) in wanted.items()}
            jobs.append((number, folder, self.next / f"run-{number}"))
        self.mirrors = mirrors
        self.run = start_index(jobs, chunk_bytes(len(self.plan)), self.next)

    @property
    def peak_rss_mib(self) -> float | None:
        """The largest peak memory of the Pagefind runs of this build, when there were any."""
        return max((done.peak_rss_mib for done in self.indexed.values()), default=None)

    def finish(self) -> dict[str, str]:
        """Wait for Pagefind; the digest of every file of the search bundle."""
        if self.run is None:
            return self.stored["files"]
        try:
            self.indexed = finish_index(self.run)
        except SearchIndexError as error:
            shutil.rmtree(self.next, ignore_errors=True)
            raise BuildError(str(error)) from error
        fresh = self.next / "bundle"
        fresh.mkdir()
        shard_files: dict[int, dict[str, str]] = {}
        ids: dict[int, dict[str, str]] = {}
        for number in self.plan:
            if number in self.stale:
                shard_files[number] = _place_shard(self.next / f"run-{number}", fresh, shard_folder(number))
                ids[number] = self.indexed[number].ids
            else:
                shard_files[number], ids[number] = self.stored["shard_files"][number], self.stored["ids"][number]
        write_pins(fresh, self.names, {url: i for found in ids.values() for url, i in found.items()})
        folders = [shard_folder(number) for number in sorted(self.plan) if number != 0]
        (fresh / SHARDS_FILE).write_text(json.dumps(folders, separators=(",", ":")), encoding="utf-8")
        files = {path: value for found in shard_files.values() for path, value in found.items()}
        for path in [SHARDS_FILE, *(p.relative_to(fresh).as_posix() for p in (fresh / PINS_FOLDER).rglob("*"))]:
            if (fresh / path).is_file():
                files[path] = digest((fresh / path).read_bytes())
        held = self.stored["files"] if self.known else None
        save_store(self.store_path, code_version(), {"mirrors": self.mirrors})  # unknown while the bundle changes
        replace_changed(self.layout.search, fresh, files, held)
        shutil.rmtree(self.next, ignore_errors=True)
        save_store(self.store_path, code_version(),
                   {"shards": self.digests, "names": self.names_digest, "files": files, "shard_files": shard_files,
                    "ids": ids, "mirrors": self.mirrors})
        return files

    def stop(self) -> None:
        """Stop indexing, if it still runs (after a failure elsewhere)."""
        if self.run is not None:
            self.run.stop()


# Of a shard's own Pagefind bundle, what a merged index loads: the script and wasm come from shard 0.
MERGED_SHARD_FILES = ("pagefind-entry.json", "pagefind.*.pf_meta", "index/*", "fragment/*", "filter/*")


def _place_shard(run: Path, bundle: Path, folder: str) -> dict[str, str]:
    """Move a shard's Pagefind output into the bundle at `folder`; its files' digests, by bundle path."""
    files = {}
    if folder:
        paths = [path for pattern in MERGED_SHARD_FILES for path in run.glob(pattern) if path.is_file()]
    else:
        paths = [path for path in run.rglob("*") if path.is_file()]
    for path in paths:
        name = folder + path.relative_to(run).as_posix()
        target = bundle / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        files[name] = digest(target.read_bytes())
    return files


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
