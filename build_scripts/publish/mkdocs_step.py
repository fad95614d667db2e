"""MkDocs over the docs folder: its configuration, its runs in parallel parts, and what each rendered."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from build_scripts.load.cache import code_version, digest, load_store, save_store, tree_digest
from build_scripts.publish.layout import BuildError, Layout, remove_emptied, write_if_changed
from build_scripts.publish.mkdocs_run import NAV_CHANGED
from build_scripts.publish.theme import ThemePatchError, theme_files, write_theme

# From this many pages to render, MkDocs runs in two processes, each rendering half of them.
PARALLEL_PAGES = 200


def write_mkdocs_config(layout: Layout) -> str:
    """A config that inherits the project's mkdocs.yml but reads and writes inside the build folder."""
    text = (
        f"INHERIT: {(layout.root / 'mkdocs.yml').resolve().as_posix()}\n"
        f"docs_dir: {layout.docs.resolve().as_posix()}\n"
        f"site_dir: {layout.output.resolve().as_posix()}\n"
        "theme:\n"
        "  name: material\n"
        f"  custom_dir: {layout.theme.resolve().as_posix()}\n"
        "hooks:\n"
        f"  - {(Path(__file__).parent / 'mkdocs_hooks.py').resolve().as_posix()}\n"
    )
    write_if_changed(layout.mkdocs_config, text.encode("utf-8"))
    return text


def source_date_epoch(root: Path) -> str:
    """Commit time of HEAD in seconds, or 0 outside a git checkout."""
    result = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=root, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else "0"


@dataclass
class SiteOutput:
    """MkDocs' output folder after a build: every file's digest, and which pages were rendered."""

    digests: dict[str, str]
    rendered: int = 0
    collected: int = 0  # docs and theme files MkDocs was given, over its runs (the whole folder, unless kept)
    looked_up: int = 0  # docs files outside a kept collection that a page linked to, made when looked up


def _run_parts(layout: Layout, plans: list[dict[str, Any]], epoch: str) -> list[dict[str, Any]] | None:
    """Run MkDocs once per plan, at the same time; None when the navigation changed and everything must render."""
    # MkDocs stamps the sitemap with the build date unless SOURCE_DATE_EPOCH says otherwise: use the
    # date of the commit being built, so two builds of one commit are byte-identical.
    environment = {**os.environ, "SOURCE_DATE_EPOCH": epoch}
    processes = []
    for number, plan in enumerate(plans):
        plan_file = layout.cache / f"mkdocs-plan-{number}.json"
        plan["result"] = str((layout.cache / f"mkdocs-result-{number}.json").resolve())
        plan_file.write_text(json.dumps(plan), encoding="utf-8")
        processes.append(subprocess.Popen([sys.executable, "-m", "build_scripts.publish.mkdocs_run", str(plan_file)],
                                          cwd=Path(__file__).resolve().parents[2], env=environment,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outcomes = [(process, *process.communicate()) for process in processes]
    if any(process.returncode == NAV_CHANGED for process, _, _ in outcomes):
        return None
    failed = [(out, err) for process, out, err in outcomes if process.returncode != 0]
    if failed:
        raise BuildError("mkdocs build --strict failed:\n" + "\n".join(err or out for out, err in failed))
    return [json.loads(Path(plan["result"]).read_text(encoding="utf-8")) for plan in plans]


def render_site(layout: Layout, docs: dict[str, str]) -> SiteOutput:
    """Bring MkDocs' persistent output up to date with the docs folder, rendering only what changed."""
    try:
        theme = theme_files(layout.templates)
    except ThemePatchError as error:
        raise BuildError(f"the theme could not be assembled:\n{error}") from error
    write_theme(theme, layout.theme)
    config = write_mkdocs_config(layout)
    store_path = layout.cache / "mkdocs.pickle"
    key = digest(code_version(), config, tree_digest(layout.root / "mkdocs.yml"),
                 *(part for name, data in sorted(theme.items()) for part in (name, data)))
    state = load_store(store_path, key)
    full = not state or not layout.output.is_dir()
    if full:
        shutil.rmtree(layout.output, ignore_errors=True)
        state = {"sources": {}, "destinations": {}, "nav": None, "outputs": {}}
    sources: dict[str, str] = state["sources"]
    destinations: dict[str, str] = state["destinations"]
    outputs: dict[str, str] = state["outputs"]
    epoch = source_date_epoch(layout.root)
    # The sitemap lists every page with the build date: it is written again only when either changed.
    sitemap = full or _pages(sources) != _pages(docs) or state.get("sitemap_epoch") != epoch
    for uri in [uri for uri in sources if uri not in docs]:
        destination = destinations.pop(uri, None)
        sources.pop(uri)
        if destination is not None:
            outputs.pop(destination, None)
            remove_emptied(layout.output / destination, layout.output)
    changed = sorted(uri for uri, value in docs.items() if sources.get(uri) != value)
    if not changed and state.get("epoch") == epoch and not sitemap:
        return SiteOutput(dict(outputs), 0)
    for uri in changed:
        sources.pop(uri, None)  # forgotten until rendered, in case this run fails half-way
    state["epoch"] = None
    if sitemap:
        state["sitemap_epoch"] = None  # likewise: a run that fails after removing a page leaves it to write
    save_store(store_path, key, state)

    # With the navigation known, MkDocs is given only the files it writes and the navigation's (mkdocs_files.py).
    docs_list = None if full or state["nav"] is None or not keepable(docs) else _write_docs_list(layout, docs)
    written = _render(layout, changed, full, state["nav"], epoch, sitemap, docs_list)
    if written is None:  # the navigation changed: every page shows it
        full = True
        written = _render(layout, sorted(docs), True, None, epoch, True, None)
    results, rendered = written
    for result in results:
        destinations.update(result["destinations"])
        if result["nav"]:
            state["nav"] = result["nav"]
    for destination in {path for result in results for path in result["written"]}:
        try:
            outputs[destination] = digest((layout.output / destination).read_bytes())
        except FileNotFoundError:  # a template that rendered nothing
            outputs.pop(destination, None)
    sources.update({uri: docs[uri] for uri in (docs if full else changed)})
    state["epoch"] = state["sitemap_epoch"] = epoch
    save_store(store_path, key, state)
    return SiteOutput(dict(outputs), rendered, sum(result.get("collected", 0) for result in results),
                      sum(result.get("looked_up", 0) for result in results))


def _pages(uris: Any) -> set[str]:
    """The docs files MkDocs renders as pages: the ones the sitemap lists."""
    from mkdocs.utils import is_markdown_file

    return {uri for uri in uris if is_markdown_file(uri)}


def keepable(docs: Any) -> bool:
    """Whether a kept collection can stand for these docs. Of two pages of a folder that MkDocs would write to one
    place (a README.md beside an index.md, an index.html beside it, a.md beside a.markdown), get_files drops one
    and a kept collection does not: a folder holding such a pair is walked (by name, so some harmless pairs too)."""
    from mkdocs.utils import is_markdown_file

    seen: set[tuple[str, str]] = set()
    for uri in docs:
        if is_markdown_file(uri) or uri.endswith((".html", ".htm")):
            folder, _, name = uri.rpartition("/")
            stem = name.rpartition(".")[0]
            key = (folder, "index" if stem == "README" else stem)
            if key in seen:
                return False
            seen.add(key)
    return True


def _write_docs_list(layout: Layout, docs: dict[str, str]) -> str:
    """Every docs file, for the MkDocs runs that keep the navigation and make a file only when a page links to it."""
    path = layout.cache / "mkdocs-docs.json"
    path.write_text(json.dumps(sorted(docs)), encoding="utf-8")
    return str(path.resolve())


def _render(layout: Layout, changed: list[str], full: bool, nav: list[Any] | None, epoch: str, sitemap: bool,
            docs_list: str | None) -> tuple[list[dict[str, Any]], int] | None:
    """Run MkDocs on the changed files; None when the navigation changed. With a docs list (the navigation is kept),
    MkDocs is given only the files it writes and the navigation's, not the whole docs folder."""
    pages = [uri for uri in changed if uri.endswith(".md")]
    others = [uri for uri in changed if not uri.endswith(".md")]
    common = {"config": str(layout.mkdocs_config.resolve()), "nav": nav, "changed": changed, "sitemap": sitemap,
              "docs": docs_list}
    if len(pages) >= PARALLEL_PAGES and (os.cpu_count() or 1) > 1:
        plans = [{**common, "pages": others + pages[0::2], "theme": full, "templates": True},
                 {**common, "pages": pages[1::2], "theme": False, "templates": False}]
    else:
        plans = [{**common, "pages": changed, "theme": full, "templates": True}]
    results = _run_parts(layout, plans, epoch)
    return None if results is None else (results, len(pages))
