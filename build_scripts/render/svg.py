"""Static SVG fallbacks of charts (Vega-rendered and cached by spec hash, or drawn from a template) and the Vega bundle."""

from __future__ import annotations

import hashlib
import json
import math
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import vl_convert
from jinja2 import Environment

from build_scripts.render.chart_base import (
    CHART_WIDTH, FONT_SIZE, INDENT_PIXELS, LABEL_LIMIT, LABEL_LINE_CHARACTERS, LINE_HEIGHT, PUBLISHED_INTERVAL, Chart,
    ForestRow, label_lines, prior_title, row_step,
)
from build_scripts.render.charts import NARROW_WIDTH

VEGA_LITE_VERSION = "6.4"


def spec_json(spec: dict[str, Any]) -> str:
    """The spec as written beside its page: stable key order, so equal specs give equal bytes and hashes.

    Compact, not indented: a reader's browser fetches it (a quarter fewer bytes), and only without indent does
    Python's json encoder run in C (indented, it took three and a half times as long, 9 s of a clean build at 1,000 studies).
    """
    return json.dumps(spec, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


# Characters that are invalid in XML 1.0 or that the SVG renderer aborts on; the model already refuses them
# in text fields, and this keeps a gap in the model from crashing the build or writing an invalid SVG.
_UNRENDERABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def renderable(spec: Any) -> Any:
    """The spec with every character an SVG cannot hold replaced by U+FFFD, in every string at any depth."""
    if isinstance(spec, str):
        return _UNRENDERABLE.sub("\ufffd", spec)
    if isinstance(spec, dict):
        return {renderable(key): renderable(value) for key, value in spec.items()}
    if isinstance(spec, list):
        return [renderable(item) for item in spec]
    return spec


def spec_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(f"{vl_convert.__version__}:{VEGA_LITE_VERSION}:{spec_json(spec)}".encode("utf-8")).hexdigest()


def render_svgs(specs: list[dict[str, Any]], cache_dir: Path, workers: int = 2) -> tuple[list[str], int]:
    """SVG text of each spec, reusing cached renderings; returns the SVGs and how many were rendered anew."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    keys = [spec_hash(spec) for spec in specs]
    missing = {key: spec for key, spec in zip(keys, specs) if not (cache_dir / f"{key}.svg").exists()}

    def render(item: tuple[str, dict[str, Any]]) -> None:
        key, spec = item
        svg = vl_convert.vegalite_to_svg(renderable(spec), vl_version=VEGA_LITE_VERSION)
        temporary = cache_dir / f"{key}.svg.tmp"
        temporary.write_text(svg, encoding="utf-8")
        temporary.replace(cache_dir / f"{key}.svg")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(render, missing.items()))
    return [(cache_dir / f"{key}.svg").read_text(encoding="utf-8") for key in keys], len(missing)


def vega_bundle(cache_dir: Path) -> str:
    """Vega, Vega-Lite and vega-embed as one script the site serves itself (no CDN)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"vega-bundle-{vl_convert.__version__}-{VEGA_LITE_VERSION}.js"
    if not path.exists():
        path.write_text(vl_convert.javascript_bundle(vl_version=VEGA_LITE_VERSION), encoding="utf-8")
    return path.read_text(encoding="utf-8")


FOREST_ROW = 22
LEGEND_COLUMN = 200
# Narrow layout: each row's label on its own lines above its interval, the plot across the whole width.
NARROW_MARGIN = 10
NARROW_TITLE_CHARACTERS = 34  # at 14 px bold
NARROW_TEXT_CHARACTERS = 42  # at FONT_SIZE


def _nice_step(span: float) -> float:
    raw = span / 5
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _groups(chart: Chart) -> list[tuple[str | None, list[ForestRow]]]:
    """The chart's rows in its panels (one panel when the chart has none), in order."""
    groups: list[tuple[str | None, list[ForestRow]]] = []
    for row in chart.forest or ():
        key = row.partner if chart.panels else None
        if not groups or groups[-1][0] != key:
            groups.append((key, []))
        groups[-1][1].append(row)
    return groups


def forest_svg(chart: Chart, environment: Environment, narrow: bool = False) -> str:
    """A static forest plot of a chart's rows, drawn from a template instead of by Vega (much faster).

    It draws what the Vega-Lite spec draws, from the same rows in the same order: a heading per partner class
    (chart.panels), subgroups indented by their label, points coloured and shaped from the chart's legends, control
    arms and pooled diamonds; only the x axis is drawn once, below all groups, where Vega repeats it per group. Labels
    wrap where the live chart wraps them (chart_base.label_lines), and rows are as tall as their panel's longest label.
    Narrow (NARROW_WIDTH, for small screens), each label is written above its row's interval instead of beside it.
    """
    if narrow:
        width, left, right = NARROW_WIDTH, NARROW_MARGIN, NARROW_WIDTH - NARROW_MARGIN - 8
        title = label_lines(chart.title, NARROW_TITLE_CHARACTERS)
    else:
        left = LABEL_LIMIT + 12
        right = left + CHART_WIDTH
        width, title = max(right + 20, 120 + LEGEND_COLUMN * 2 + 60), [chart.title]
    axis_max = chart.axis_max or 1.0

    def x(value: float) -> float:
        return round(left + (right - left) * min(value, axis_max) / axis_max, 1)

    colours, shapes = dict(chart.legend), dict(chart.shapes)
    drawn, headers = [], []
    y = 16 + LINE_HEIGHT * (len(title) - 1) + 14
    for group, rows in _groups(chart):
        if group is not None:
            lines = label_lines(group, NARROW_TEXT_CHARACTERS) if narrow else [group]
            headers.append({"y": y + FOREST_ROW * 0.7, "lines": lines})
            y += FOREST_ROW + LINE_HEIGHT * (len(lines) - 1)
        step = row_step(row.label for row in rows)
        for row in rows:
            item = _forest_row(row, axis_max, x, colours, shapes, narrow)
            if narrow:
                # the label's lines, then the interval below them
                item["baseline"] = y + LINE_HEIGHT
                item["y"] = y + LINE_HEIGHT * len(item["lines"]) + 9
                item.update(_marks(row, item["y"], axis_max, x, colours, shapes))
                y += LINE_HEIGHT * len(item["lines"]) + 18
            else:
                centre = y + step / 2
                item["baseline"] = centre + 4 - LINE_HEIGHT * (len(item["lines"]) - 1) / 2
                item["y"] = centre
                item.update(_marks(row, centre, axis_max, x, colours, shapes))
                y += step
            drawn.append(item)
    axis_y = y + 4
    step = _nice_step(axis_max) * (2 if narrow and axis_max / _nice_step(axis_max) > 6 else 1)
    ticks = [{"x": x(i * step), "label": f"{i * step:g}"} for i in range(int(axis_max / step + 1e-9) + 1)]
    x_title = label_lines(chart.x_title, NARROW_TEXT_CHARACTERS) if narrow else [chart.x_title]
    # Legends: prior status (colour), mark (shape) and interval style; two entries a row, one on a narrow chart.
    legends, y = [], axis_y + 42 + LINE_HEIGHT * len(x_title)
    columns, indent, line = (1, 14, 16) if narrow else (2, 120, 18)
    for heading, items in ((f"{prior_title()}:", [{"colour": c, "label": k, "shape": "circle"} for k, c in chart.legend]),
                           ("Mark:", [{"colour": "#000000", "label": k, "shape": s} for k, s in chart.shapes]),
                           ("Interval:", [{"dashed": style != PUBLISHED_INTERVAL, "label": style}
                                          for style in chart.intervals])):
        if not items:
            continue
        if narrow:
            y += line  # the legend's title on a line of its own
        for i, item in enumerate(items):
            item.update({"x": indent + LEGEND_COLUMN * (i % columns), "y": y + line * (i // columns)})
            item["path"] = _shape_path(item.get("shape", "circle"), item["x"], item["y"] - 4, 5)
        legends.append({"title": heading, "y": y - (line if narrow else 0), "items": items})
        y += line * ((len(items) + columns - 1) // columns) + 6
    return environment.get_template("forest.svg.j2").render(
        width=width, height=y + 10, title=title, description=chart.description, rows=drawn, headers=headers,
        ticks=ticks, top=16 + LINE_HEIGHT * len(title), axis_y=axis_y, left=left, right=right, x_title=x_title,
        legends=legends, line_height=LINE_HEIGHT, font_size=FONT_SIZE)


def _shape_path(shape: str, cx: float, cy: float, r: float) -> str:
    """An SVG path of a Vega point shape of about the same area, centred on (cx, cy)."""
    if shape == "square":
        h = r * 0.9
        return f"M{cx - h:.1f},{cy - h:.1f}H{cx + h:.1f}V{cy + h:.1f}H{cx - h:.1f}Z"
    if shape == "triangle-up":
        return f"M{cx:.1f},{cy - r * 1.2:.1f}L{cx + r * 1.1:.1f},{cy + r * 0.8:.1f}L{cx - r * 1.1:.1f},{cy + r * 0.8:.1f}Z"
    if shape == "diamond":
        return f"M{cx:.1f},{cy - r * 1.3:.1f}L{cx + r:.1f},{cy:.1f}L{cx:.1f},{cy + r * 1.3:.1f}L{cx - r:.1f},{cy:.1f}Z"
    return (f"M{cx - r:.1f},{cy:.1f}A{r},{r} 0 1,0 {cx + r:.1f},{cy:.1f}A{r},{r} 0 1,0 {cx - r:.1f},{cy:.1f}Z")


def _forest_row(row: ForestRow, axis_max: float, x, colours: dict[str, str], shapes: dict[str, str],
                narrow: bool) -> dict:
    """A row's label: its lines, where they start (the indentation is an offset, as on the Vega axis), its kind."""
    label = row.label.lstrip("\u00a0")
    indent = len(row.label) - len(label)
    lines = label_lines(label, NARROW_TEXT_CHARACTERS - indent // 2 if narrow else LABEL_LINE_CHARACTERS)
    return {"x": (NARROW_MARGIN - 6 if narrow else 4) + INDENT_PIXELS * indent, "lines": lines, "kind": row.kind}


def _marks(row: ForestRow, y: float, axis_max: float, x, colours: dict[str, str], shapes: dict[str, str]) -> dict:
    """A row's interval, open end and point, at height y."""
    end = row.ci_high if row.ci_high is not None else (axis_max if row.open_ended else None)
    has_interval = row.kind != "heading" and row.ci_low is not None and end is not None
    cx = x(row.value) if row.value is not None and row.kind != "heading" else None
    pooled = row.kind == "pooled"
    return {
        "x1": x(row.ci_low) if has_interval else None,
        "x2": x(end) if has_interval else None,
        "dashed": row.ci_computed and not pooled, "open_ended": row.open_ended and not pooled, "pooled": pooled,
        "cx": cx, "colour": colours.get(row.colour_key, "#999999"),
        "path": _shape_path(shapes.get(row.marker, "circle"), cx, y, 9 if pooled else 5) if cx is not None else None,
    }
