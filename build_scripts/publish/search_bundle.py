"""Pagefind's bundle made byte-stable: filter indexes rewritten in a fixed order and named by their content.

Pagefind 1.5.2 writes the values of each filter in hash-map order, which changes from one run to the next
(Pagefind issue #638: fragment names were made stable in 1.3.0, "other files will still change, such as the
filter/metadata indexes"). A filter index's name is a hash of its bytes and the metadata file lists those names,
so the metadata file and pagefind-entry.json change too. The files are gzip of a signature followed by CBOR;
this module reads the few CBOR types Pagefind writes, sorts each filter's values, and renames what changed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any, Callable

SIGNATURE = b"pagefind_dcd"
ENTRY_FILE = "pagefind-entry.json"
# Where the filter list sits in the metadata file: [version, pages, index chunks, filters, sorts, meta fields].
META_FILTERS = 3


class BundleFormatError(Exception):
    """Pagefind wrote something this module does not understand (a new Pagefind version?)."""


def cbor_decode(data: bytes) -> Any:
    """The value of a CBOR document made of unsigned and negative integers, text and byte strings, arrays, maps."""
    value, end = _decode(data, 0)
    if end != len(data):
        raise BundleFormatError(f"{len(data) - end} bytes after the CBOR value")
    return value


def _decode(data: bytes, at: int) -> tuple[Any, int]:
    if at >= len(data):
        raise BundleFormatError("the CBOR value ends early")
    major, extra = data[at] >> 5, data[at] & 31
    at += 1
    if extra < 24:
        argument = extra
    elif extra <= 27:
        width = 1 << (extra - 24)
        argument, at = int.from_bytes(data[at:at + width], "big"), at + width
    else:
        raise BundleFormatError(f"unsupported CBOR length {extra} at byte {at - 1}")
    if major == 0:
        return argument, at
    if major == 1:
        return -1 - argument, at
    if major == 2:
        return bytes(data[at:at + argument]), at + argument
    if major == 3:
        return data[at:at + argument].decode("utf-8"), at + argument
    if major == 4:
        items = []
        for _ in range(argument):
            item, at = _decode(data, at)
            items.append(item)
        return items, at
    if major == 5:
        mapping = {}
        for _ in range(argument):
            key, at = _decode(data, at)
            mapping[key], at = _decode(data, at)
        return mapping, at
    raise BundleFormatError(f"unsupported CBOR major type {major} at byte {at - 1}")


def cbor_encode(value: Any) -> bytes:
    """CBOR in the shortest form, as Pagefind (minicbor) writes it."""
    if isinstance(value, bool) or value is None:
        raise BundleFormatError(f"unsupported value {value!r}")
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        encoded = value.encode("utf-8")
        return _head(3, len(encoded)) + encoded
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(cbor_encode(item) for item in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(cbor_encode(k) + cbor_encode(v) for k, v in value.items())
    raise BundleFormatError(f"unsupported value {value!r}")


def _head(major: int, argument: int) -> bytes:
    if argument < 24:
        return bytes([major << 5 | argument])
    for extra, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * width):
            return bytes([major << 5 | extra]) + argument.to_bytes(width, "big")
    raise BundleFormatError(f"integer {argument} too large")


def read_index(path: Path) -> Any:
    """A Pagefind index file's value; checks that writing it back gives the same bytes."""
    raw = gzip.decompress(path.read_bytes())
    if not raw.startswith(SIGNATURE):
        raise BundleFormatError(f"{path.name} does not start with Pagefind's signature")
    value = cbor_decode(raw[len(SIGNATURE):])
    if cbor_encode(value) != raw[len(SIGNATURE):]:
        raise BundleFormatError(f"{path.name} does not read back to the same bytes")
    return value


def _write_index(path_of: Callable[[str], Path], prefix: str, digits: int, value: Any, taken: set[str]) -> str:
    """Write an index file named by a hash of its content (longer when the short name is taken); returns the name.

    path_of gives the file's path for a name (Pagefind names a file e.g. en_3f2a1b9 and writes it at
    filter/en_3f2a1b9.pf_filter).
    """
    raw = SIGNATURE + cbor_encode(value)
    digest = hashlib.sha256(raw).hexdigest()
    name = prefix + digest[:digits]
    while name in taken and digits < len(digest):
        digits += 1
        name = prefix + digest[:digits]
    taken.add(name)
    # mtime 0 keeps the gzip header free of the clock.
    path_of(name).write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    return name


def stabilise(bundle: Path) -> None:
    """Rewrite the filter indexes of every language of a Pagefind bundle so its bytes depend only on the site."""
    entry_path = bundle / ENTRY_FILE
    entry = json.loads(entry_path.read_text(encoding="utf-8"))
    for language, index in sorted(entry["languages"].items()):
        meta_path = bundle / f"pagefind.{index['hash']}.pf_meta"
        meta = read_index(meta_path)
        if not (isinstance(meta, list) and len(meta) > META_FILTERS and isinstance(meta[META_FILTERS], list)):
            raise BundleFormatError(f"{meta_path.name} is not the metadata layout this module knows")
        filters, taken = [], set()
        for name, old_hash in sorted(meta[META_FILTERS]):
            path = bundle / "filter" / f"{old_hash}.pf_filter"
            filter_name, values = read_index(path)
            path.unlink()
            # Page numbers within a value are already in order; only the values come in hash-map order.
            filters.append([name, _write_index(lambda n: bundle / "filter" / f"{n}.pf_filter", f"{language}_", 7,
                                               [filter_name, sorted(values)], taken)])
        meta[META_FILTERS] = filters
        meta_path.unlink()
        index["hash"] = _write_index(lambda n: bundle / f"pagefind.{n}.pf_meta", f"{language}_", 10, meta, set())
    entry_path.write_text(json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def fragment_ids(bundle: Path) -> dict[str, str]:
    """Each indexed page's URL (as Pagefind gives it, e.g. /studies/x/) with the id of its fragment."""
    ids = {}
    for path in sorted((bundle / "fragment").glob("*.pf_fragment")):
        raw = gzip.decompress(path.read_bytes())
        if not raw.startswith(SIGNATURE):
            raise BundleFormatError(f"{path.name} does not start with Pagefind's signature")
        ids[json.loads(raw[len(SIGNATURE):])["url"]] = path.stem
    return ids
