"""The field types of the records: safe text, identifiers, numbers, and choices from the vocabulary."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Annotated, Any
from urllib.parse import urlsplit

import markdown as markdown_lib
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WrapValidator

from build_scripts.load.numbers import keep_printed
from build_scripts.load.vocabulary import (
    ADVERSE_EVENT_GRADES, AGENT_CLASSES, COHORT_ROLES, DESIGNS, EFFECT_MEASURES, ELIGIBILITY_KINDS, FINDING_SCOPES,
    FINDING_STATISTICS, FINDING_UNITS, MEASURES, PRIOR_ANTI_CD38_DEFINITIONS, PUBLICATION_TYPES, REFRACTORY_CLASSES,
    RESPONSE_CATEGORIES, SPREADS, TITLE_STATUSES, STATUSES, TRIAL_STATUSES, UNITS,
)


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


@dataclass(frozen=True)
class Choice:
    """Marks a str type as one of a vocabulary's values, so the field reference can list them with their labels."""

    name: str
    options: tuple[tuple[str, str | None], ...]  # (value, label)


def _label(entry: Any) -> str | None:
    """A vocabulary entry's label: the entry itself when it is a plain string, None when it has no label."""
    return entry if isinstance(entry, str) else getattr(entry, "label", None)


def _choice(name: str, options: dict[str, Any]) -> Any:
    """A str field restricted to a vocabulary's keys, with the options in the error message."""

    def check(value: str) -> str:
        if value not in options:
            raise ValueError(f"'{value}' is not a known {name}; use one of: {', '.join(options)}")
        return value

    labelled = tuple((key, _label(entry)) for key, entry in options.items())
    return Annotated[str, AfterValidator(check), Choice(name, labelled)]


MeasureName = _choice("measure", MEASURES)
UnitName = _choice("unit", UNITS)
StatusName = _choice("status", STATUSES)
ResponseName = _choice("response category", RESPONSE_CATEGORIES)
DesignName = _choice("design", DESIGNS)
RoleName = _choice("cohort role", COHORT_ROLES)
PublicationTypeName = _choice("publication type", PUBLICATION_TYPES)
AgentClassName = _choice("agent class", AGENT_CLASSES)
RefractoryClassName = _choice("refractory class", REFRACTORY_CLASSES)
GradeName = _choice("adverse event grade", ADVERSE_EVENT_GRADES)
SpreadName = _choice("kind of spread", SPREADS)
TrialStatusName = _choice("trial status", TRIAL_STATUSES)
EligibilityKindName = _choice("kind of criterion", ELIGIBILITY_KINDS)
EffectMeasureName = _choice("effect measure", EFFECT_MEASURES)
FindingScopeName = _choice("evidence type of a review finding", FINDING_SCOPES)
FindingStatisticName = _choice("statistic", FINDING_STATISTICS)
FindingUnitName = _choice("unit of a review finding", FINDING_UNITS)
PriorAntiCD38Name = _choice("prior anti-CD38 status", PRIOR_ANTI_CD38_DEFINITIONS)
TitleStatusName = _choice("title status", TITLE_STATUSES)
