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

from .charts import PRIOR_STATUS_LEGEND, Chart
from .vocabulary import EVIDENCE_TYPES

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


def _nice_step(span: float) -> float:
    raw = span / 5
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def forest_svg(chart: Chart, environment: Environment) -> str:
    """A static forest plot of a chart's rows, drawn from a template instead of by Vega (much faster)."""
    left, right, top = FOREST_LABEL_WIDTH, FOREST_LABEL_WIDTH + FOREST_PLOT_WIDTH, 30
    by_value = sorted(chart.forest or (), key=lambda r: -(r.value if r.value is not None else -1))
    if chart.panels:
        groups = [(label, [r for r in by_value if r.panel == label]) for label in EVIDENCE_TYPES.values()]
    else:
        groups = [(None, by_value)]
    axis_max = chart.axis_max or 1.0

    def x(value: float) -> float:
        return round(left + (right - left) * min(value, axis_max) / axis_max, 1)

    colours = dict(PRIOR_STATUS_LEGEND)
    drawn, headers, index = [], [], 0
    for label, rows in groups:
        if not rows:
            continue
        if label:
            headers.append({"y": top + FOREST_ROW * index + FOREST_ROW * 0.7, "label": label})
            index += 1
        for row in rows:
            drawn.append(_forest_row(row, top + FOREST_ROW * index + FOREST_ROW / 2, axis_max, x, colours))
            index += 1
    axis_y = top + FOREST_ROW * index + 4
    step = _nice_step(axis_max)
    ticks = [{"x": x(i * step), "label": f"{i * step:g}"} for i in range(int(axis_max / step + 1e-9) + 1)]
    # Three legend entries a row: the status labels are too long for one row.
    legend_y = axis_y + 56
    legend = [{"x": 120 + LEGEND_COLUMN * (i % 3), "y": legend_y + 18 * (i // 3), "colour": colour, "label": label}
              for i, (label, colour) in enumerate(PRIOR_STATUS_LEGEND)]
    rows_of_legend = (len(legend) + 2) // 3
    return environment.get_template("forest.svg.j2").render(
        width=max(right + 20, 120 + LEGEND_COLUMN * 3), height=axis_y + 72 + 18 * rows_of_legend, title=chart.title,
        description=chart.description, rows=drawn, headers=headers, ticks=ticks, top=top, axis_y=axis_y, left=left,
        right=right, x_title=chart.x_title, legend=legend, legend_y=legend_y,
        interval_y=legend_y + 18 * (rows_of_legend - 1))


def _forest_row(row, y: float, axis_max: float, x, colours: dict[str, str]) -> dict:
    end = row.ci_high if row.ci_high is not None else (axis_max if row.open_ended else None)
    return {
        "y": y,
        "label": row.label if len(row.label) <= 38 else row.label[:37] + "…",
        "x1": x(row.ci_low) if row.ci_low is not None and end is not None else None,
        "x2": x(end) if row.ci_low is not None and end is not None else None,
        "dashed": row.ci_computed, "open_ended": row.open_ended,
        "cx": x(row.value) if row.value is not None else None, "colour": colours[row.prior_status],
    }
