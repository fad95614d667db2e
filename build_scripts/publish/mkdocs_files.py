"""The docs files a MkDocs run that keeps the navigation is given: the pages it renders and the navigation's."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any, Iterable

from mkdocs.structure.files import File, Files, _file_sort_key, set_exclusions
from mkdocs.utils import is_markdown_file


def walk_order(uri: str) -> tuple[Any, ...]:
    """Where MkDocs' get_files puts a file: folders by name, each folder's files (index first) before its subfolders."""
    folder, _, name = uri.rpartition("/")
    return tuple(folder.split("/")) if folder else (), _file_sort_key(name)


def nav_paths(items: Any) -> set[str]:
    """Every path the nav config names."""
    found: set[str] = set()
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, str):
            found.add(item)
        elif isinstance(item, dict):
            for value in item.values():
                found |= nav_paths(value)
    return found


def _no() -> bool:
    return False


class KeptFiles(Files):
    """A Files collection of a few docs files, standing for the whole docs folder.

    MkDocs' get_files walks the docs folder and makes a File of each of its 30,000 files, and get_navigation a Page
    of each page, although a run renders a few and the others keep their output. Here only the files the run writes
    or reads (and, for the sitemap, every page) are in the collection. Any other docs file a page links to is made
    when the link is looked up, as get_files would have made it, so the link resolves to the same URL; it is not in
    the collection, so it is neither rendered nor copied.
    """

    def __init__(self, files: Iterable[File], docs: set[str], config: Any):
        super().__init__(files)
        self._docs = docs
        self._config = config
        self._looked_up: dict[str, File] = {}
        self._theme: Files | None = None
        self._env: Any = None

    @property
    def looked_up(self) -> int:
        return len(self._looked_up)

    def get_file_from_path(self, path: str) -> File | None:
        found = super().get_file_from_path(path)
        if found is not None:
            return found
        uri = PurePath(path).as_posix()
        if uri in self._docs:
            if uri not in self._looked_up:
                self._looked_up[uri] = made = _docs_file(uri, self._config)
                made.is_modified = _no  # its output is kept
            return self._looked_up[uri]
        return self._theme_files().get_file_from_path(uri)

    def add_files_from_theme(self, env: Any, config: Any) -> None:
        # The theme's own files are copied only by a full build, which does not keep the navigation; a page links
        # to one rarely, so they are listed only when a link is not to a docs file.
        self._env = env

    def _theme_files(self) -> Files:
        if self._theme is None:
            self._theme = Files([])
            self._theme.add_files_from_theme(self._env, self._config)
            for file in self._theme:
                file.is_modified = _no
        return self._theme


def _docs_file(uri: str, config: Any) -> File:
    file = File(uri, config["docs_dir"], config["site_dir"], config["use_directory_urls"])
    set_exclusions([file], config)
    return file


def kept_files(config: Any, docs: list[str], pages: Iterable[str], sitemap: bool) -> KeptFiles:
    """The files of a run that keeps the navigation: the plan's, the navigation's, and every page when the sitemap,
    which lists them all, is written; in the order get_files gives them."""
    present = set(docs)
    wanted = (set(pages) | nav_paths(config["nav"] or [])) & present
    if sitemap:
        wanted |= {uri for uri in docs if is_markdown_file(uri)}
    files = [_docs_file(uri, config) for uri in sorted(wanted, key=walk_order)]
    return KeptFiles(files, present, config)
