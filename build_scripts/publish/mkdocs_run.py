"""Run MkDocs on the docs folder, rendering only the pages a plan names, into a folder that persists between builds.

`python -m build_scripts.publish.mkdocs_run PLAN` reads a JSON plan written by mkdocs_step.render_site:
    config      the generated mkdocs.yml
    pages       docs files (src_uri) this process renders or copies; every other file keeps its output
    changed     every docs file to render or copy, when two processes share them
    theme       true to copy the theme's own files too (a full build)
    templates   true to write the theme's site-wide templates (sitemap.xml, 404.html) and the pages in the
                navigation; when two processes share the work, one of them does this
    sitemap     true to write the sitemap too (it lists every page: written when the pages or the build date change)
    nav         the navigation of the previous build, or null
    docs        a JSON file listing every docs file, when the navigation is kept: MkDocs is then given only the
                files this process writes and the navigation's pages, and makes any other file a page links to
                when it looks it up (mkdocs_files.KeptFiles), instead of walking the docs folder; null to walk it
    result      where to write what was done, as JSON
MkDocs 1.6's own dirty build (`build(config, dirty=True)`) decides by file times; here the plan decides, from
content digests. A page's HTML depends on its own source, the configuration, the theme and the navigation
(Material renders the navigation, with its titles, into every page). Pages in the navigation whose title
mkdocs.yml does not give are read in every run for their titles; if the navigation differs from the previous
build's, the run stops with exit status NAV_CHANGED and the caller renders everything.

Output files are replaced, never written in place: the published site shares them as hard links.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

NAV_CHANGED = 3
_DIRTY_WARNING = "A 'dirty' build is being performed"


def _yes() -> bool:
    return True


def _no() -> bool:
    return False


def nav_fingerprint(items: list[Any]) -> list[Any]:
    """Every navigation entry's kind, title, URL and children: what the theme renders into every page."""
    return [[type(item).__name__, item.title, getattr(item, "url", None),
             nav_fingerprint(item.children) if getattr(item, "children", None) else None] for item in items]


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class PlanPlugin:
    """Marks the files to build from the plan and records where each one goes."""

    def __init__(self, plan: dict[str, Any]):
        self.plan = plan
        self.pages = set(plan["pages"])
        self.changed = set(plan.get("changed", plan["pages"]))
        self.destinations: dict[str, str] = {}
        self.written: list[str] = []
        self.read_only: list[Any] = []
        self.nav: list[Any] = []
        self._nav_items: list[Any] = []
        self.collected = 0

    def on_nav(self, nav, config, files):  # noqa: ANN001 - MkDocs' event signature
        self._nav_items = nav.items
        self.collected = len(files)
        # A page in the navigation whose title is not given in mkdocs.yml is read for it: it is in every page.
        untitled = {page.file.src_uri for page in nav.pages if page.title is None}
        in_nav = {page.file.src_uri for page in nav.pages}
        docs_dir = os.path.realpath(config["docs_dir"])
        # A docs file is one read from the docs folder (the theme's come from theme folders, and a plugin's from
        # none); its folder is resolved once, not each of 30,000 files' paths, which took about a second at 3,000.
        in_docs = {folder: os.path.realpath(folder) == docs_dir for folder in {file.src_dir for file in files} if folder}
        theme, templates = self.plan["theme"], self.plan["templates"]
        for file in files:
            own = file.abs_src_path is not None and in_docs.get(file.src_dir, False)
            if own:
                self.destinations[file.src_uri] = file.dest_uri
                # Pages in the navigation are written by the process that writes the site-wide templates.
                write = (file.src_uri in self.pages and file.src_uri not in in_nav) or \
                    (templates and file.src_uri in in_nav and file.src_uri in self.changed)
            else:
                # The theme's own assets change only with the theme, and a new theme makes a full build.
                write = theme
            read = write or file.src_uri in untitled
            file.is_modified = _yes if read else _no
            if write:
                _unlink(file.abs_dest_path)
                self.written.append(file.dest_uri)
            elif read:
                self.read_only.append(file)
        if templates:
            if not self.plan.get("sitemap", True):  # the same pages on the same date: the sitemap is kept
                config.theme.static_templates.discard("sitemap.xml")
            for name in sorted(config.theme.static_templates):
                for written in (name, name + ".gz") if name == "sitemap.xml" else (name,):
                    _unlink(os.path.join(config["site_dir"], written))
                    self.written.append(written)
        else:
            config.theme.static_templates.clear()
        return nav

    def on_env(self, env, config, files):  # noqa: ANN001
        # Every page has been read by now: pages read only for their titles are not written.
        for file in self.read_only:
            file.is_modified = _no
        self.nav = nav_fingerprint(self._nav_items)
        previous = self.plan.get("nav")
        if self.plan["templates"] and not self.plan["theme"] and previous is not None and self.nav != previous:
            raise NavChanged()
        return env


class NavChanged(Exception):
    """The navigation differs from the previous build's."""


class _DropDirtyWarning(logging.Filter):
    """MkDocs warns that a dirty build may leave navigation stale; the plan rules that out, and strict mode would
    count the warning as a failure."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_DIRTY_WARNING)


def run(plan: dict[str, Any]) -> int:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort, ConfigurationError

    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s - %(message)s"))
    root = logging.getLogger("mkdocs")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("mkdocs.commands.build").addFilter(_DropDirtyWarning())
    plugin = PlanPlugin(plan)
    looked_up = 0
    try:
        config = load_config(plan["config"])
        config.plugins["atlas-plan"] = plugin
        config.plugins.on_startup(command="build", dirty=True)
        try:
            with _files_of(plan, config) as kept:
                build(config, dirty=True)
                looked_up = kept.looked_up if kept is not None else 0
        finally:
            config.plugins.on_shutdown()
    except NavChanged:
        return NAV_CHANGED
    except (Abort, ConfigurationError) as error:
        print(error, file=sys.stderr)
        return 1
    Path(plan["result"]).write_text(json.dumps({"destinations": plugin.destinations, "written": plugin.written,
                                                "nav": plugin.nav, "collected": plugin.collected,
                                                "looked_up": looked_up}), encoding="utf-8")
    return 0


@contextmanager
def _files_of(plan: dict[str, Any], config: Any) -> Iterator[Any]:
    """While MkDocs builds, its get_files gives the plan's kept collection instead of walking the docs folder."""
    if not plan.get("docs"):
        yield None
        return
    from mkdocs.commands import build as mkdocs_build

    from build_scripts.publish.mkdocs_files import kept_files

    docs = json.loads(Path(plan["docs"]).read_text(encoding="utf-8"))
    kept = kept_files(config, docs, plan["pages"], plan["templates"] and plan.get("sitemap", True))
    walk = mkdocs_build.get_files
    mkdocs_build.get_files = lambda _config: kept  # build() looks it up in its module when it runs
    try:
        yield kept
    finally:
        mkdocs_build.get_files = walk


if __name__ == "__main__":
    sys.exit(run(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))))
