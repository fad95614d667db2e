"""The field types of the records: safe text, identifiers and numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Annotated, Any
from urllib.parse import urlsplit

import markdown as markdown_lib
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WrapValidator

from build_scripts.load.numbers import keep_printed


# Patterns spell digits [0-9]: \d would also match Arabic-Indic, full-width and other Unicode digits.
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_MAX = 80
# Printable ASCII after the prefix: old DOIs hold <, >, ; and parentheses, but never spaces or controls.
DOI_PATTERN = r"^10\.[0-9]{4,9}/[!-~]+$"
PMID_PATTERN = r"^[1-9][0-9]{0,8}$"
PMCID_PATTERN = r"^PMC[0-9]{1,9}$"
# Trial registry ids: ClinicalTrials.gov (NCT), EudraCT and ISRCTN.
REGISTRY_PATTERN = r"^(NCT[0-9]{8}|[0-9]{4}-[0-9]{6}-[0-9]{2}|ISRCTN[0-9]{8})$"

MAX_TEXT = 20_000
MAX_SHORT = 500


@dataclass(frozen=True)
class TextField:
    """Marks a str type as curator text, so tools can find every text field of every model by introspection."""

    kind: str


# What str.splitlines() splits on: any of them would end the line wherever the text is printed.
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# Embedding, override and isolate controls: they make text display in an order other than the one stored.
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
# C0 (NUL and TAB included), DEL and C1 are Unicode's control characters (category Cc); line breaks as above.
NOT_ONE_LINE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_LINE_BREAKS}{_BIDI_CONTROLS}]")
# Markdown keeps its ordinary line ends (LF, CR) and tabs.
_NOT_MARKDOWN = re.compile(f"[\\x00-\\x08\\x0b-\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u2028\\u2029{_BIDI_CONTROLS}]")


def _character_problem(char: str, one_line: bool) -> str:
    """Why a character is refused, naming it by code point."""
    code = f"U+{ord(char):04X}"
    if char == "\t" and one_line:
        return f"contains a tab ({code}); this field is one line of text, use a space"
    if char in _LINE_BREAKS:
        if one_line:
            return f"contains a line break ({code}); this field is one line of text"
        return f"contains an unusual line break ({code}); start a new line with an ordinary line end instead"
    if "\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069":
        return (f"contains a bidirectional formatting character ({code}), which makes text display in another"
                " order than it reads; remove it")
    return f"contains a control character ({code}), which text may not hold; remove it"


def _check_one_line(value: Any) -> Any:
    """One-line text: no line break, control or bidirectional formatting character."""
    # Runs before whitespace is stripped, so a trailing line break is refused rather than silently dropped.
    if isinstance(value, str) and (found := NOT_ONE_LINE.search(value)):
        raise ValueError(f"{_character_problem(found.group(), True)} (character {found.start() + 1})")
    return value


def _check_markdown(value: str) -> str:
    """Markdown text: line ends and tabs but no other control character, and links that work on every page."""
    if found := _NOT_MARKDOWN.search(value):
        raise ValueError(f"{_character_problem(found.group(), False)} (character {found.start() + 1})")
    bad = [link for link in markdown_links(value) if not _is_allowed_link(link)]
    if bad:
        shown = ", ".join(repr(link) for link in bad)
        raise ValueError(f"link {shown}: links must be absolute http(s) URLs or '#' fragments of the same page"
                         " (record text appears on pages at different depths, where a relative link cannot be right"
                         " on all of them)")
    return value


# The renderer's Markdown (templating.render_markdown uses the same library with no extensions); reused because
# building an instance costs more than converting a field.
_MARKDOWN = markdown_lib.Markdown(extensions=[], output_format="html")
# Every Markdown link (inline, reference-style, autolink) and raw HTML anchor needs one of these.
_LINK_SYNTAX = re.compile(r"[\[<]")


class _Hrefs(HTMLParser):
    """Collects every href of an HTML fragment, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs.extend(value or "" for name, value in attrs if name == "href")

    handle_startendtag = handle_starttag


def markdown_links(text: str) -> list[str]:
    """The targets of every link in a Markdown text, as the renderer would produce them."""
    if not _LINK_SYNTAX.search(text):
        return []
    parser = _Hrefs()
    parser.feed(_MARKDOWN.reset().convert(text))
    parser.close()
    return parser.hrefs


def _is_allowed_link(link: str) -> bool:
    """An absolute http(s) URL with a host, or a fragment of the page the text is shown on."""
    if link.startswith("#"):
        return True
    parts = urlsplit(link.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, min_length=1, max_length=SLUG_MAX)]
OneLine = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SHORT, strip_whitespace=True),
                    BeforeValidator(_check_one_line), TextField("one_line")]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT), AfterValidator(_check_markdown),
                     TextField("markdown")]
Doi = Annotated[str, StringConstraints(pattern=DOI_PATTERN, max_length=MAX_SHORT)]
Pmid = Annotated[str, StringConstraints(pattern=PMID_PATTERN)]
Pmcid = Annotated[str, StringConstraints(pattern=PMCID_PATTERN)]
RegistryId = Annotated[str, StringConstraints(pattern=REGISTRY_PATTERN)]
# Every float field is a Number: one read from a record keeps the decimals its source printed (numbers.py).
Number = Annotated[float, WrapValidator(keep_printed)]
NonNegative = Annotated[Number, Field(ge=0)]
Percent = Annotated[Number, Field(ge=0, le=100)]
Level = Annotated[Number, Field(gt=0, lt=100)]
Count = Annotated[int, Field(ge=0)]
