"""HTML blocks set aside from a page's Markdown: the placeholder that stands for each and the file that keeps them,
shared by the templates (render/templating.py) and the MkDocs hook that puts them back (publish/mkdocs_hooks.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

PLACEHOLDER = re.compile(r"<!--atlas-block:(\d+)-->")
# Markdown wraps a placeholder in a paragraph when it treats it as inline.
WRAPPED = re.compile(r"<p>(<!--atlas-block:\d+-->)</p>")


def placeholder(index: int) -> str:
    """The comment that stands for block `index` in a page's Markdown."""
    return f"<!--atlas-block:{index}-->"


def stash_file(docs_dir: str | Path, src_uri: str) -> Path:
    return Path(docs_dir).parent / "blocks" / f"{src_uri}.json"


def stash_data(blocks: tuple[str, ...], head: dict[str, Any] | None) -> bytes:
    """What a generated page keeps beside the docs folder: its HTML blocks and its head metadata."""
    return json.dumps({"blocks": list(blocks), "head": head}, ensure_ascii=False).encode("utf-8")
