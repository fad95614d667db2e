"""MkDocs hook: put back the pre-rendered HTML blocks and the head metadata that generated pages keep beside them.

Generated record pages are mostly HTML from our own templates. Python-Markdown would re-parse all of it
with its HTML parser, which dominated build time; the templates instead mark each HTML block, the
generator leaves a placeholder comment per block and stores the blocks beside the docs folder, and this
hook substitutes them after conversion. The page's head metadata (citation tags, JSON-LD) travels in the
same file rather than as front matter, so no record text is ever part of the Markdown except through the
templates' `md` filter.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from mkdocs.exceptions import PluginError

from build_scripts.publish import csp
from build_scripts.publish.mkdocs_files import nav_paths
from build_scripts.render.blocks import PLACEHOLDER, WRAPPED, stash_file


def _stash(page, config) -> dict[str, Any] | None:  # noqa: ANN001 - MkDocs objects
    path = stash_file(config["docs_dir"], page.file.src_uri)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def restore_blocks(html: str, blocks: list[str]) -> str:
    """Put each block in place of its placeholder; every block must be used exactly once."""
    html = WRAPPED.sub(r"\1", html)
    found = [int(index) for index in PLACEHOLDER.findall(html)]
    if sorted(found) != list(range(len(blocks))):
        # A placeholder lost or repeated by Markdown would drop or duplicate part of a page without a word.
        raise PluginError(f"generated HTML blocks do not match their placeholders: {len(blocks)} blocks, "
                          f"placeholders found {found}")
    return PLACEHOLDER.sub(lambda match: blocks[int(match.group(1))], html)


def nav_tab(src_uri: str, nav_files: set[str]) -> str | None:
    """The URL of the top tab a page outside the nav belongs to: 'studies/' for studies/<id>/index.md."""
    section = src_uri.split("/", 1)[0]
    index = f"{section}/index.md"
    return f"{section}/" if "/" in src_uri and index in nav_files and src_uri != index else None


THEME_SCRIPTS = "partials/atlas-theme-scripts.html"


def on_config(config):  # noqa: ANN001 - MkDocs' hook signature
    # Material's inline script sets its storage scope from base_url, which differs with a page's depth; the site's
    # own path instead makes that script the same on every page, so one policy with one set of hashes fits them all.
    if not config.extra.get("scope"):
        config.extra["scope"] = urlsplit(config.site_url or "").path or "/"
    return config


def on_env(env, config, files):  # noqa: ANN001 - MkDocs' hook signature
    scripts = env.get_template(THEME_SCRIPTS).render(config=config)
    env.globals["atlas_csp"] = {"meta": csp.policy(scripts), "header": csp.policy(scripts, header=True)}
    return env


def on_page_markdown(markdown, page, config, files):  # noqa: ANN001 - MkDocs' hook signature
    stash = _stash(page, config)
    head = (stash or {}).get("head") or {}
    if head.get("description"):
        page.meta["description"] = head["description"]  # main.html escapes it
    if head.get("jsonld"):
        page.meta["atlas"] = head
    if head.get("feed"):
        page.meta["atlas_feed"] = head["feed"]
    # Record pages are not in the nav (it would list every record on every page): their tab is marked active
    # by the tabs-item override, and the navigation sidebar, which would be empty, is hidden.
    tab = nav_tab(page.file.src_uri, nav_paths(config.get("nav") or []))
    if tab:
        page.meta["atlas_tab"] = tab
        page.meta["hide"] = [*page.meta.get("hide", []), "navigation"]
    return markdown


def on_page_content(html, page, config, files):  # noqa: ANN001 - MkDocs' hook signature
    stash = _stash(page, config)
    if stash is None:
        return html
    return restore_blocks(html, stash["blocks"])
