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

from .charts import INDENT_PIXELS, PUBLISHED_INTERVAL, Chart, ForestRow

VEGA_LITE_VERSION = "6.4"


def spec_json(spec: dict[str, Any]) -> str:
    """The spec as written beside its page: stable key order, so equal specs give equal bytes and hashes."""
    return json.dumps(spec, sort_keys=True, ensure_ascii=False, indent=1) + "\n"


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


FOREST_LABEL_WIDTH = 250
FOREST_PLOT_WIDTH = 300
FOREST_ROW = 22
LEGEND_COLUMN = 200
# Characters of a row label that fit the label column (Vega cuts labels at charts.LABEL_LIMIT pixels).
LABEL_CHARACTERS = 48


def _nice_step(span: float) -> float:
    raw = span / 5
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def forest_svg(chart: Chart, environment: Environment) -> str:
    """A static forest plot of a chart's rows, drawn from a template instead of by Vega (much faster).

    It draws what the Vega-Lite spec draws, from the same rows in the same order: a heading per partner class
    (chart.panels), subgroups indented by their label, points coloured and shaped from the chart's legends, control
    arms and pooled diamonds; only the x axis is drawn once, below all groups, where Vega repeats it per group.
    """
    left, right, top = FOREST_LABEL_WIDTH + 12, FOREST_LABEL_WIDTH + 12 + FOREST_PLOT_WIDTH, 30
    axis_max = chart.axis_max or 1.0

    def x(value: float) -> float:
        return round(left + (right - left) * min(value, axis_max) / axis_max, 1)

    colours, shapes = dict(chart.legend), dict(chart.shapes)
    drawn, headers, index, group = [], [], 0, object()
    for row in chart.forest or ():
        if chart.panels and row.partner != group:
            group = row.partner
            headers.append({"y": top + FOREST_ROW * index + FOREST_ROW * 0.7, "label": row.partner})
            index += 1
        drawn.append(_forest_row(row, top + FOREST_ROW * index + FOREST_ROW / 2, axis_max, x, colours, shapes))
        index += 1
    axis_y = top + FOREST_ROW * index + 4
    step = _nice_step(axis_max)
    ticks = [{"x": x(i * step), "label": f"{i * step:g}"} for i in range(int(axis_max / step + 1e-9) + 1)]
    # Legends: prior status (colour), mark (shape) and interval style, two entries a row: the labels are long.
    legends, y = [], axis_y + 56
    for title, items in (("Prior anti-CD38:", [{"colour": c, "label": k, "shape": "circle"} for k, c in chart.legend]),
                         ("Mark:", [{"colour": "#000000", "label": k, "shape": s} for k, s in chart.shapes]),
                         ("Interval:", [{"dashed": style != PUBLISHED_INTERVAL, "label": style} for style in chart.intervals])):
        if not items:
            continue
        for i, item in enumerate(items):
            item.update({"x": 120 + LEGEND_COLUMN * (i % 2), "y": y + 18 * (i // 2)})
            item["path"] = _shape_path(item.get("shape", "circle"), item["x"], item["y"] - 4, 5)
        legends.append({"title": title, "y": y, "items": items})
        y += 18 * ((len(items) + 1) // 2) + 6
    return environment.get_template("forest.svg.j2").render(
        width=max(right + 20, 120 + LEGEND_COLUMN * 2 + 60), height=y + 10, title=chart.title,
        description=chart.description, rows=drawn, headers=headers, ticks=ticks, top=top, axis_y=axis_y, left=left,
        right=right, x_title=chart.x_title, legends=legends)


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


def _forest_row(row: ForestRow, y: float, axis_max: float, x, colours: dict[str, str], shapes: dict[str, str]) -> dict:
    end = row.ci_high if row.ci_high is not None else (axis_max if row.open_ended else None)
    has_interval = row.kind != "heading" and row.ci_low is not None and end is not None
    cx = x(row.value) if row.value is not None and row.kind != "heading" else None
    pooled = row.kind == "pooled"
    # The label's indentation (no-break spaces) becomes an offset, as on the Vega axis.
    label = row.label.lstrip("\u00a0")
    indent = len(row.label) - len(label)
    width = LABEL_CHARACTERS - indent
    return {
        "y": y,
        "x": 4 + INDENT_PIXELS * indent,
        "label": label if len(label) <= width else label[:width - 1] + "…",
        "kind": row.kind,
        "x1": x(row.ci_low) if has_interval else None,
        "x2": x(end) if has_interval else None,
        "dashed": row.ci_computed and not pooled, "open_ended": row.open_ended and not pooled, "pooled": pooled,
        "cx": cx, "colour": colours.get(row.colour_key, "#999999"),
        "path": _shape_path(shapes.get(row.marker, "circle"), cx, y, 9 if pooled else 5) if cx is not None else None,
    }
