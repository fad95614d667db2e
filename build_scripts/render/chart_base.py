"""What every chart shares: the Chart a page shows and its forest rows, the charts' sizes, colours, shapes and labels."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import altair as alt

from build_scripts.derive.partners import index_switch
from build_scripts.load.vocabulary import (
    CROSS_STUDY_MEASURES, EXPOSURE_STATUSES, PRIMARY_POOLING_METHOD, REGIMEN_MEASURES, WORDS, TopicList, TopicTable,
    upper_first,
)


# Measures some cohort in the question reports that get no cross-study chart, and why; they stay on the study pages.
NOT_CHARTED_ACROSS_STUDIES = {
    "cbr": "the review does not compare clinical benefit rates across studies",
    "dcr": "the review does not compare disease control rates across studies",
}


CHARTS_URL_PREFIX = "charts"


METHODS_URL = "methods/"


METHODS_SECTION = "charts"  # the Methods page's sections (their anchors) on charts and on pooling


METHODS_POOLING_SECTION = "exploratory-pooled-estimates"


# A colour per prior exposure status that a colour-blind reader can tell apart (Okabe-Ito), grey for not stated
# (the topic's exposure_statuses give them).
PRIOR_STATUS_COLOURS = TopicTable(lambda topic: {
    name: status.colour for name, status in topic.exposure_statuses.items() if status.colour})


PRIOR_STATUS_LEGEND = TopicList(lambda: tuple(
    (EXPOSURE_STATUSES[name].label, colour) for name, colour in PRIOR_STATUS_COLOURS.items()))


def prior_title() -> str:
    """The title of the prior exposure status in legends, tooltips and table headers: 'Prior' and the index class."""
    return f"Prior {WORDS['index_adjective']}"


def index_title() -> str:
    """The title of the index-switch axis in tooltips and table headers: an agent of the index class, bare."""
    return upper_first(WORDS["index_noun"])


# Control arms are drawn grey. Grey also stands for the prior status 'not stated', but a cohort of unknown status
# is never in the question, so never on a cross-study chart, the only charts that draw control arms.
def control_arm(capitalised: bool = True) -> str:
    """A control arm's legend entry ('Control arm, not <the question's act>'), or, not capitalised, its label's."""
    text = f"control arm, not {WORDS['question_noun']}"
    return upper_first(text) if capitalised else text


CONTROL_ARM_COLOUR = "#999999"


# The shape of a point says what kind of study it comes from; a diamond is a pooled estimate.
EVIDENCE_SHAPES = {"clinical_trial": "circle", "real_world": "square", "case_report": "triangle-up"}


POOLED = "Pooled estimate (exploratory, random effects)"


POOLED_LABEL = "Pooled (exploratory, random effects)"


POOLED_SHAPE = "diamond"


# The pooling method whose estimate a diamond shows (the sensitivity analyses are in its tooltip and table row).
POOLED_METHOD = PRIMARY_POOLING_METHOD


# Interval styles, as the legends name them.
PUBLISHED_INTERVAL, COMPUTED_INTERVAL = "published interval", "computed exact interval"


# Deepest to shallowest best response: a sequential scheme keeps the order visible without colour names.
RESPONSE_COLOURS = {
    "scr": "#08306b", "cr": "#08519c", "vgpr": "#2171b5", "pr": "#4292c6", "mr": "#6baed6", "mr_or_sd": "#9ecae1",
    "sd": "#c6dbef", "pd": "#D55E00", "ne": "#bdbdbd", "unknown": "#e0e0e0",
}


CHART_WIDTH = 300


LABEL_LIMIT = 300  # pixels of the label column


ROW_STEP = 22


# No chart text is smaller than this, in CSS pixels at the chart's own size: the static SVGs are shown at their own
# size or larger (a narrow one on narrow screens), and the live chart only where it fits (atlas-charts.js).
FONT_SIZE = 11


LINE_HEIGHT = 13


# Labels are never cut: they wrap at a space onto lines of at most this many characters, which fit the label column
# at FONT_SIZE in a wide sans-serif font (about 6.2 px a character, DejaVu Sans) with three levels of indentation.
LABEL_LINE_CHARACTERS = 44


# Vega draws an axis label given as an array on several lines; this is label_lines() as a Vega expression (same
# pattern, same trimming), so the live chart and the static SVGs break a label at the same places.
LABEL_LINES_EXPR = ("split(trim(replace(trim(datum.value), regexp('(.{{1,{width}}})(?: +|$)', 'g'), '$1\\n')),"
                    " '\\n')")


# Settings of every Vega-Lite spec: text sizes, and legends stacked below the plot so the chart stays narrow.
VEGA_CONFIG = {
    "axis": {"labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE},
    "legend": {"labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE, "labelLimit": 260,
               "layout": {"bottom": {"anchor": "start", "direction": "vertical"}}},
    "title": {"fontSize": 14, "subtitleFontSize": FONT_SIZE},
    "header": {"labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE},
}


# A subgroup's label starts with this mark, indented by one INDENT per level below the first (no-break spaces,
# which SVG text keeps where it would collapse ordinary ones).
SUBGROUP_MARK = "└ "


INDENT = "\u00a0" * 4


INDENT_PIXELS = 3  # per no-break space of a label's indentation


INDENT_OFFSET = f"{INDENT_PIXELS} * (length(datum.value) - length(trim(datum.value)))"


# Kinds of rows: a cohort of a per-study or regimen chart; on cross-study charts a cohort in the question, a control
# arm beside its experimental arm, a parent cohort shown only as the heading of its subgroups, and a pooled estimate.
# A static SVG classes a row's label and mark by its kind, '_' written '-' (templates/forest.svg.j2).
ROW_KINDS = ("cohort", "in_question", "control", "heading", "pooled")


@dataclass(frozen=True)
class Link:
    """A table cell that links somewhere: its text and its (relative) address."""

    text: str
    href: str

    def __str__(self) -> str:
        return self.text


@dataclass
class ForestRow:
    """One row of a forest-style chart: a cohort's figure, a heading of subgroups, or a pooled estimate."""

    label: str
    panel: str  # the evidence type's label
    study_id: str
    cohort_id: str
    href: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    open_ended: bool
    ci_computed: bool
    ci_text: str
    n_text: str
    regimen: str
    prior_status: str  # label of the prior exposure status: the colour of the point
    prior_text: str  # the label with the refractory share, for tooltips and tables
    source: str
    status: str
    partner: str = ""  # label of the partner class: the row group on cross-study charts
    kind: str = "cohort"  # one of ROW_KINDS
    depth: int = 0  # 0 for a top-level row, 1 for a subgroup of it, and so on
    colour_key: str = ""  # the colour legend entry: the prior status, or control_arm()
    marker: str = ""  # the shape legend entry: the evidence type, or POOLED
    own_partner: str = ""  # the cohort's own partner class, where it differs from its group's (a control arm)
    index_switch: str = ""  # the index-switch axis, in words ('Switch: <agent> after <agent>')
    partner_drugs: str = ""  # the partner drugs by name, with the patients' history of each where stated
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.colour_key = self.colour_key or self.prior_status
        self.marker = self.marker or self.panel
        self.own_partner = self.own_partner or self.partner


@dataclass(frozen=True)
class Chart:
    """One chart: its Vega-Lite spec, its text description and caption, and the table it stands for."""

    name: str
    title: str
    description: str
    caption: str
    spec: dict[str, Any]
    columns: tuple[str, ...]
    rows: tuple[tuple[str | Link, ...], ...]
    marks: int
    studies: int = 1
    # Forest charts get a static SVG drawn by the atlas itself (svg.forest_svg) from these rows, in this order,
    # which takes a millisecond where a Vega rendering takes a quarter of a second.
    forest: tuple[ForestRow, ...] | None = None
    axis_max: float = 0.0
    x_title: str = ""
    panels: bool = False  # rows grouped under a heading per partner class (ForestRow.partner)
    legend: tuple[tuple[str, str], ...] = ()  # colour legend entries shown: (label, colour)
    shapes: tuple[tuple[str, str], ...] = ()  # shape legend entries shown: (label, Vega shape name)
    intervals: tuple[str, ...] = ()  # interval styles shown
    links: tuple[Link, ...] = ()  # links the caption ends with (the Methods page)
    # The spec Vega draws the narrow static SVG from (Frame NARROW); forest charts draw theirs themselves.
    narrow_spec: dict[str, Any] | None = None

    # The files written beside the chart's page.
    @property
    def spec_file(self) -> str:
        return f"{self.name}.vl.json"

    @property
    def svg_file(self) -> str:
        return f"{self.name}.svg"

    @property
    def narrow_svg_file(self) -> str:
        return f"{self.name}-narrow.svg"


def label_lines(label: str, width: int = LABEL_LINE_CHARACTERS) -> list[str]:
    """A chart label's lines: broken at spaces into lines of at most `width` characters (a longer word keeps its own
    line), as LABEL_LINES_EXPR breaks it in Vega."""
    return re.sub(rf"(.{{1,{width}}})(?: +|$)", "\\1\n", label.strip()).strip().split("\n")


def label_expr(width: int = LABEL_LINE_CHARACTERS) -> str:
    return LABEL_LINES_EXPR.format(width=width)


def row_step(labels: Iterable[str], width: int = LABEL_LINE_CHARACTERS) -> int:
    """Height of a chart's rows: one line of label, or as many as the longest label of the panel needs."""
    lines = max((len(label_lines(label, width)) for label in labels), default=1)
    return max(ROW_STEP, LINE_HEIGHT * lines + 9)


@dataclass(frozen=True)
class Frame:
    """The sizes a Vega-rendered chart is drawn at: the plot's width, the label column's, and a label line's characters."""

    plot: int
    labels: int
    characters: int


WIDE = Frame(CHART_WIDTH, LABEL_LIMIT, LABEL_LINE_CHARACTERS)
# Drawn for screens narrower than charts.NARROW_BELOW: 288 px wide (a 320 px screen's content column) at FONT_SIZE.
NARROW = Frame(140, 118, 18)
NARROW_WIDTH = 288


def category_axis(frame: Frame) -> alt.Axis:
    """The axis of a Vega-rendered chart's row labels, wrapped as label_lines wraps them at the frame's width."""
    return alt.Axis(labelLimit=frame.labels, labelExpr=label_expr(frame.characters), labelLineHeight=LINE_HEIGHT)


def configured(spec: dict[str, Any]) -> dict[str, Any]:
    """A Vega-Lite spec with the atlas's text sizes and legend layout (VEGA_CONFIG) in its config."""
    config = spec.setdefault("config", {})
    for key, value in VEGA_CONFIG.items():
        config[key] = {**config.get(key, {}), **value}
    return spec


def chart_page_url(measure_name: str) -> str:
    return f"{CHARTS_URL_PREFIX}/{measure_name.replace('_', '-')}/"
