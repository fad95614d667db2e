"""MkDocs hook: put back the pre-rendered HTML blocks that generated pages keep out of Python-Markdown.

Generated record pages are mostly HTML from our own templates. Python-Markdown would re-parse all of it
with its HTML parser, which dominated build time; the generator instead leaves a placeholder comment per
block and stores the blocks beside the docs folder, and this hook substitutes them after conversion.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

PLACEHOLDER = re.compile(r"<!--atlas-block:(\d+)-->")


def stash_file(docs_dir: str | Path, src_uri: str) -> Path:
    return Path(docs_dir).parent / "blocks" / f"{src_uri}.json"


def on_page_content(html, page, config, files):  # noqa: ANN001 - MkDocs' hook signature
    path = stash_file(config["docs_dir"], page.file.src_uri)
    if not path.exists():
        return html
    blocks = json.loads(path.read_text(encoding="utf-8"))
    # A placeholder may come back wrapped in a paragraph when Markdown treats it as inline.
    html = re.sub(r"<p>(<!--atlas-block:\d+-->)</p>", r"\1", html)
    return PLACEHOLDER.sub(lambda match: blocks[int(match.group(1))], html)
