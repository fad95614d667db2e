"""The site's Content-Security-Policy: its directives, and the hashes of the theme's inline scripts it allows."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

# Script types a browser runs; any other type (application/json, application/ld+json) is a data block that
# script-src does not govern.
_EXECUTABLE_TYPES = {"", "text/javascript", "application/javascript", "module", "text/ecmascript",
                     "application/ecmascript"}

# Each directive once; "script-src" gets the hashes. Every source beyond 'self' names the measured need for it:
# - 'wasm-unsafe-eval': Pagefind's search engine is WebAssembly, which the browser compiles only with it; it allows
#   no eval() of JavaScript.
# - img-src data: Material's stylesheet draws its icons from data: SVGs.
# The live charts need no 'unsafe-eval': they are embedded with Vega's expression interpreter (atlas-charts.js).
DIRECTIVES: tuple[tuple[str, str], ...] = (
    ("default-src", "'self'"),
    ("script-src", "'self'"),
    ("script-src-attr", "'none'"),
    ("style-src", "'self'"),
    ("img-src", "'self' data:"),
    ("font-src", "'self'"),
    ("connect-src", "'self'"),
    ("object-src", "'none'"),
    ("base-uri", "'self'"),
    ("form-action", "'self'"),
)
SCRIPT_EXTRA = "'wasm-unsafe-eval'"
# Browsers ignore these in a <meta> policy (and say so on the console), so only the headers file carries them.
HEADER_ONLY: tuple[tuple[str, str], ...] = (("frame-ancestors", "'none'"),)


class _InlineScripts(HTMLParser):
    """Collects the text of each inline script a browser would run."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag, attrs):  # noqa: ANN001 - HTMLParser's signature
        if tag != "script":
            return
        values = dict(attrs)
        kind = (values.get("type") or "").strip().lower()
        self._current = [] if "src" not in values and kind in _EXECUTABLE_TYPES else None

    def handle_data(self, data):  # noqa: ANN001
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag):  # noqa: ANN001
        if tag == "script" and self._current is not None:
            self.scripts.append("".join(self._current))
            self._current = None


def inline_scripts(html: str) -> list[str]:
    """The text of every inline script in `html` that a browser would run, in order."""
    parser = _InlineScripts()
    parser.feed(html)
    parser.close()
    return parser.scripts


def script_hash(text: str) -> str:
    """The CSP source expression that allows one inline script: 'sha256-<base64 of its UTF-8 text>'."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def policy(trusted_scripts_html: str, header: bool = False) -> str:
    """The policy for pages whose only inline scripts are those in `trusted_scripts_html` (the theme's own)."""
    hashes = sorted({script_hash(text) for text in inline_scripts(trusted_scripts_html)})
    directives = [*DIRECTIVES, *(HEADER_ONLY if header else ())]
    parts = []
    for name, sources in directives:
        if name == "script-src":
            sources = " ".join([sources, *hashes, SCRIPT_EXTRA])
        parts.append(f"{name} {sources}")
    return "; ".join(parts)


_DIRECTIVE = re.compile(r"\s*([a-z-]+)\s+([^;]*)")


def parse(text: str) -> dict[str, list[str]]:
    """A policy's directives and their sources, for checks and tests."""
    return {match.group(1): match.group(2).split() for match in map(_DIRECTIVE.match, text.split(";")) if match}
