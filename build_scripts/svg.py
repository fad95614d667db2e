"""Static SVG fallbacks of chart specs and the offline Vega bundle, cached by content hash."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import vl_convert

VEGA_LITE_VERSION = "6.4"


def spec_json(spec: dict[str, Any]) -> str:
    """The spec as written beside its page: stable key order, so equal specs give equal bytes and hashes."""
    return json.dumps(spec, sort_keys=True, ensure_ascii=False, indent=1) + "\n"


def spec_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(f"{vl_convert.__version__}:{VEGA_LITE_VERSION}:{spec_json(spec)}".encode("utf-8")).hexdigest()


def render_svgs(specs: list[dict[str, Any]], cache_dir: Path, workers: int = 2) -> tuple[list[str], int]:
    """SVG text of each spec, reusing cached renderings; returns the SVGs and how many were rendered anew."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    keys = [spec_hash(spec) for spec in specs]
    missing = {key: spec for key, spec in zip(keys, specs) if not (cache_dir / f"{key}.svg").exists()}

    def render(item: tuple[str, dict[str, Any]]) -> None:
        key, spec = item
        svg = vl_convert.vegalite_to_svg(spec, vl_version=VEGA_LITE_VERSION)
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
