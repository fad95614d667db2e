"""The site's Jinja set-up and the safe ways record text reaches a page: HTML blocks, escaped Markdown, sanitised
Markdown. Every template is rendered through template_environment; autoescaping is on for every file it renders."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import markdown as markdown_lib
import nh3
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from build_scripts.load.numbers import number
from build_scripts.load.vocabulary import (
    DESIGNS, EVIDENCE_TYPES, MEASURES, RECORD_KINDS, RESPONSE_CATEGORIES, STATUSES, UNITS, WORDS, upper_first,
)
from build_scripts.render.blocks import placeholder

# Tags a curator's Markdown may produce; anything else (script, iframe, style, event handlers) is dropped.
ALLOWED_TAGS = {"p", "em", "strong", "ul", "ol", "li", "a", "code", "br", "sup", "sub", "blockquote"}
ALLOWED_URL_SCHEMES = {"http", "https"}


# Closing tags of elements whose text Pagefind 1.5.2 runs into the next element's ("DesignRandomised",
# "CountriesGermanyStable URL" in search excerpts). A line break after them changes nothing on screen: white space
# between table cells or description-list items is not rendered.
_RUN_TOGETHER = re.compile(r"(</(?:dt|dd|th|caption|figcaption)>)(?=<)")


@pass_context
def html_block(context: Context, html: str) -> Markup:
    """Set aside a template's HTML block, leaving in its place a placeholder that the MkDocs hook fills in.

    Templates mark their HTML with `{% filter html_block %}`. Only template source can open or close a block,
    so record text inside it, whatever it holds, never reaches Python-Markdown (which is also what keeps
    MkDocs from re-parsing the HTML); outside the blocks there are only the template's own Markdown (headings,
    so MkDocs still builds the table of contents) and record text passed through the `md` filter.
    """
    content = _RUN_TOGETHER.sub("\\1\n", str(html).strip("\n"))
    if not content.strip():
        return Markup("")
    blocks: list[str] = context["html_blocks"]
    blocks.append(content)
    return Markup(f"\n\n{placeholder(len(blocks) - 1)}\n\n")


def render_page(template: Template, **context: Any) -> tuple[str, tuple[str, ...]]:
    """A page template's Markdown and the HTML blocks its `html_block` filters set aside."""
    blocks: list[str] = []
    text = template.render(html_blocks=blocks, **context)
    return text, tuple(blocks)


def render_markdown(text: str | None) -> Markup:
    """A curator's Markdown as sanitised HTML: no raw HTML, no scripts, only http(s) links."""
    if not text:
        return Markup("")
    html = _MARKDOWN.reset().convert(text)
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                      url_schemes=ALLOWED_URL_SCHEMES, link_rel="noopener nofollow")
    return Markup(clean)


# One converter reused for every field: building a Markdown instance costs more than converting a summary.
_MARKDOWN = markdown_lib.Markdown(extensions=[], output_format="html")
# Python-Markdown's backslash escapes with the site's extensions (core, and '|' from tables), but for '>': a
# backslash before any other character would be shown. '<', '>' and '&' need none, since the templates'
# autoescaping makes them entities after this filter.
MARKDOWN_ESCAPABLE = "\\`*_{}[]()#+-.!|"
_MARKDOWN_SPECIAL = re.compile("([" + re.escape(MARKDOWN_ESCAPABLE) + "])")
# Line breaks (everything str.splitlines() splits on) and the other control characters (Unicode category Cc).
_BREAKS_AND_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def markdown_escape(text: Any) -> str:
    """Record text as literal Markdown on one line (the `md` filter, for headings written as Markdown).

    Line breaks and control characters become a space whatever the model allows, since a new line in a
    heading could start a block of its own.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _BREAKS_AND_CONTROLS.sub(" ", str(text)))


def template_environment(templates_dir: Path, site_url: str = "",
                         environment_class: type[Environment] = Environment) -> Environment:
    environment = environment_class(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(enabled_extensions=("html", "md", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["md"] = markdown_escape
    environment.filters["html_block"] = html_block
    environment.filters["num"] = number
    environment.filters["upper_first"] = upper_first
    environment.globals.update(
        MEASURES=MEASURES, UNITS=UNITS, RESPONSE_CATEGORIES=RESPONSE_CATEGORIES, DESIGNS=DESIGNS,
        EVIDENCE_TYPES=EVIDENCE_TYPES, STATUSES=STATUSES, RECORD_KINDS=RECORD_KINDS, words=WORDS,
        site_url=site_url.rstrip("/") + "/" if site_url else "/",
    )
    return environment
