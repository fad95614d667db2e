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
# Where the word-index chunks and the filter list sit in the metadata file:
# [version, pages, index chunks, filters, sorts, meta fields]; a chunk is listed as [from, to, name].
META_CHUNKS, META_FILTERS = 2, 3


class BundleFormatError(Exception):
    """Pagefind wrote something this module does not understand (a new Pagefind version?)."""


def cbor_decode(data: bytes) -> Any:
    """The value of a CBOR document made of unsigned and negative integers, text and byte strings, arrays, maps."""
    value, end = _decode(data, 0)
    if end != len(data):
        raise BundleFormatError(f"{len(data) - end} bytes after the CBOR value")
    return value


def _decode(data: bytes, at: int) -> tuple[Any, int]:
    major, argument, at = _item_head(data, at)
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
    raise BundleFormatError(f"unsupported CBOR major type {major} before byte {at}")


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
    return _write_raw(path_of, prefix, digits, cbor_encode(value), taken)


def _write_raw(path_of: Callable[[str], Path], prefix: str, digits: int, encoded: bytes, taken: set[str]) -> str:
    """_write_index for a value already encoded."""
    raw = SIGNATURE + encoded
    digest = hashlib.sha256(raw).hexdigest()
    name = prefix + digest[:digits]
    while name in taken and digits < len(digest):
        digits += 1
        name = prefix + digest[:digits]
    taken.add(name)
    # mtime 0 keeps the gzip header free of the clock.
    path_of(name).write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    return name


def stabilise(bundle: Path, chunk_bytes: int | None = None) -> None:
    """Rewrite the filter indexes of every language of a Pagefind bundle so its bytes depend only on the site; with
    `chunk_bytes`, also cut its word index again into chunks of about that many bytes (see rechunk)."""
    entry_path = bundle / ENTRY_FILE
    entry = json.loads(entry_path.read_text(encoding="utf-8"))
    for language, index in sorted(entry["languages"].items()):
        meta_path = bundle / f"pagefind.{index['hash']}.pf_meta"
        meta = read_index(meta_path)
        if not (isinstance(meta, list) and len(meta) > META_FILTERS and isinstance(meta[META_FILTERS], list)
                and isinstance(meta[META_CHUNKS], list)):
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
        if chunk_bytes is not None:
            meta[META_CHUNKS] = rechunk(bundle / "index", language, meta[META_CHUNKS], chunk_bytes)
        meta_path.unlink()
        index["hash"] = _write_index(lambda n: bundle / f"pagefind.{n}.pf_meta", f"{language}_", 10, meta, set())
    entry_path.write_text(json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def rechunk(folder: Path, language: str, chunks: list, chunk_bytes: int) -> list:
    """Cut a word index again into chunks of about `chunk_bytes` (encoded), in the same word order; the new chunk list.

    Pagefind cuts its word index by a fixed amount of data, so a search loads about the same bytes per word from
    every index it merges; a sharded site's shards cut finer keep a search's data near that of one index.
    Each chunk's range is cut to the shortest prefixes that tell it from its neighbours, as Pagefind does. Words are
    moved as the bytes Pagefind wrote: only their boundaries and their text are read.
    """
    words: list[tuple[str, bytes]] = []
    for chunk in chunks:
        if not (isinstance(chunk, list) and len(chunk) == 3 and isinstance(chunk[2], str)):
            raise BundleFormatError("a word-index chunk is not listed as [from, to, name]")
        path = folder / f"{chunk[2]}.pf_index"
        words.extend(_chunk_words(path))
        path.unlink()
    groups: list[list[tuple[str, bytes]]] = []
    size = chunk_bytes
    for word in words:
        if size >= chunk_bytes:
            groups.append([])
            size = 0
        groups[-1].append(word)
        size += len(word[1])
    ranges = [[group[0][0], group[-1][0]] for group in groups]
    for before, after in zip(ranges, ranges[1:]):
        before[1], after[0] = _prefixes(before[1], after[0])
    taken: set[str] = set()
    return [[low, high, _write_raw(lambda n: folder / f"{n}.pf_index", f"{language}_", 7,
                                   b"\x81" + _head(4, len(group)) + b"".join(raw for _, raw in group), taken)]
            for (low, high), group in zip(ranges, groups)]


def _chunk_words(path: Path) -> list[tuple[str, bytes]]:
    """The words of a word-index chunk ([[word, ...], ...] inside a one-item array), each as (word, its CBOR bytes)."""
    raw = gzip.decompress(path.read_bytes())
    if not raw.startswith(SIGNATURE) or raw[len(SIGNATURE):len(SIGNATURE) + 1] != b"\x81":
        raise BundleFormatError(f"{path.name} is not the word-index layout this module knows")
    data = raw[len(SIGNATURE) + 1:]
    major, count, at = _item_head(data, 0)
    if major != 4:
        raise BundleFormatError(f"{path.name} does not hold a list of words")
    words = []
    for _ in range(count):
        end = _skip(data, at)
        kind, length, text_at = _item_head(data, _item_head(data, at)[2])
        if data[at] >> 5 != 4 or kind != 3:
            raise BundleFormatError(f"a word of {path.name} is not [word, pages]")
        words.append((data[text_at:text_at + length].decode("utf-8"), data[at:end]))
        at = end
    if at != len(data):
        raise BundleFormatError(f"{len(data) - at} bytes after the words of {path.name}")
    return words


def _item_head(data: bytes, at: int) -> tuple[int, int, int]:
    """A CBOR item's major type and argument, and where what follows its head starts."""
    if at >= len(data):
        raise BundleFormatError("the CBOR value ends early")
    major, extra = data[at] >> 5, data[at] & 31
    if extra < 24:
        return major, extra, at + 1
    if extra <= 27:
        width = 1 << (extra - 24)
        return major, int.from_bytes(data[at + 1:at + 1 + width], "big"), at + 1 + width
    raise BundleFormatError(f"unsupported CBOR length {extra} at byte {at}")


def _skip(data: bytes, at: int) -> int:
    """Where the CBOR item at `at` ends, without building its value (a word's locations are most of an index, so
    the head is read inline here rather than by _item_head)."""
    pending = 1
    try:
        while pending:
            head = data[at]
            major, extra = head >> 5, head & 31
            at += 1
            if extra < 24:
                argument = extra
            elif extra == 24:
                argument = data[at]
                at += 1
            elif extra <= 27:
                width = 1 << (extra - 24)
                argument = int.from_bytes(data[at:at + width], "big")
                at += width
            else:
                raise BundleFormatError(f"unsupported CBOR length {extra} at byte {at - 1}")
            pending -= 1
            if major == 4:
                pending += argument
            elif major in (2, 3):
                at += argument
            elif major == 5:
                pending += 2 * argument
            elif major > 5:
                raise BundleFormatError(f"unsupported CBOR major type {major}")
    except IndexError:
        raise BundleFormatError("the CBOR value ends early") from None
    if at > len(data):
        raise BundleFormatError("the CBOR value ends early")
    return at


def _prefixes(last: str, first: str) -> tuple[str, str]:
    """The shortest prefixes of the last word of a chunk and the first of the next that still differ."""
    common = 0
    for a, b in zip(last, first):
        if a != b:
            break
        common += 1
    return last[:common + 1], first[:common + 1]


def fragment_ids(bundle: Path) -> dict[str, str]:
    """Each indexed page's URL (as Pagefind gives it, e.g. /studies/x/) with the id of its fragment."""
    ids = {}
    for path in sorted((bundle / "fragment").glob("*.pf_fragment")):
        raw = gzip.decompress(path.read_bytes())
        if not raw.startswith(SIGNATURE):
            raise BundleFormatError(f"{path.name} does not start with Pagefind's signature")
        ids[json.loads(raw[len(SIGNATURE):])["url"]] = path.stem
    return ids
