"""The topic file is contributed like a record: its every text, made hostile, runs nothing and breaks no download."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from build_scripts.load.topic import parse_topic
from build_scripts.publish.build import build_site
from build_scripts.render.csv_cells import FORMULA_CHARACTERS
from conftest import evidence_tree, fixture_layout
from hostile import SHAPES, one_line_must_refuse
from tools.localsite import served

# Every shape a one-line text can hold: markup, attribute break-outs, Markdown, template syntax, formulas, BibTeX,
# RIS, JSON-LD and CDATA break-outs, entities. '{n}' names the topic text it was put in.
TOPIC_SHAPES = tuple(shape for shape in SHAPES
                     if shape.family not in ("long", "too-long") and not one_line_must_refuse(shape.text(0)))
FREE_TEXT = "Free text, in a sentence."


def _strings(data: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, path + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _strings(value, path + (index,))
    elif isinstance(data, str):
        yield path, data


def _set(data: Any, path: tuple, value: str) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def text_slots(data: dict) -> list[tuple]:
    """The paths of the topic file's free texts: those that take any sentence (keys, units and ids do not)."""
    slots = []
    for path, original in _strings(data):
        _set(data, path, FREE_TEXT)
        topic, problems = parse_topic(yaml.safe_dump(data, allow_unicode=True), "topic.yaml")
        _set(data, path, original)
        if topic is not None and not problems:
            slots.append(path)
    return slots


def hostile_topic(text: str) -> tuple[str, dict[int, tuple]]:
    """The topic with each free text replaced by a hostile shape; the number in each names the slot."""
    data = yaml.safe_load(text)
    slots = text_slots(data)
    for index, path in enumerate(slots):
        shape = TOPIC_SHAPES[index % len(TOPIC_SHAPES)]
        _set(data, path, shape.text(1000 + index))
    return yaml.safe_dump(data, allow_unicode=True, width=10_000), {1000 + i: path for i, path in enumerate(slots)}


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory) -> tuple[Path, dict[int, tuple]]:
    base = tmp_path_factory.mktemp("hostile-topic")
    evidence = evidence_tree(base)
    text, slots = hostile_topic((evidence / "topic.yaml").read_text(encoding="utf-8"))
    (evidence / "topic.yaml").write_text(text, encoding="utf-8")
    layout = fixture_layout(base, evidence)
    build_site(layout)
    return layout.site, slots


class _Markup(HTMLParser):
    """Scripts and attributes of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        self.attributes += [(tag, name, value or "") for name, value in attrs]

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


ALERT = re.compile(r"alert\((1[0-9]{3})\)")


def test_the_topic_has_free_texts_and_each_takes_a_hostile_shape():
    data = yaml.safe_load((Path(__file__).parent / "fixtures" / "valid" / "topic.yaml").read_text(encoding="utf-8"))
    slots = text_slots(data)
    # labels, definitions and words, never keys, units or ids
    assert ("wording", "disease") in slots and ("measures", "orr", "label") in slots
    assert ("measures", "orr", "unit") not in slots and ("wording", "index_key") not in slots
    assert len(slots) > 100


def test_a_site_whose_topic_is_hostile_builds(hostile_site):
    site, slots = hostile_site
    assert (site / "index.html").is_file() and len(slots) > 100


def test_no_page_carries_a_script_or_handler_from_the_topic(hostile_site):
    site, slots = hostile_site
    found, showing, payloads = [], 0, _payloads(slots)
    for path in sorted(site.rglob("*.html")):
        markup = _Markup()
        text = path.read_text(encoding="utf-8")
        markup.feed(text)
        shown = html.unescape(re.sub(r"<[^>]*>", "", text))
        showing += any(payload in shown for payload in payloads)
        for script in markup.scripts:
            found += [f"{path.relative_to(site)}: script runs {slots[int(n)]}" for n in ALERT.findall(script)]
        for tag, name, value in markup.attributes:
            if name.startswith("on") or value.strip().lower().startswith(("javascript:", "data:text/html")):
                found.append(f"{path.relative_to(site)}: <{tag} {name}={value[:60]!r}>")
    assert found == []
    assert showing > 20  # the hostile texts reached the pages, as text


def _payloads(slots: dict[int, tuple]) -> set[str]:
    return {TOPIC_SHAPES[(n - 1000) % len(TOPIC_SHAPES)].text(n) for n in slots}


def test_every_data_file_parses_and_no_download_cell_is_a_formula(hostile_site):
    site, slots = hostile_site
    for path in sorted(site.rglob("*.json")):
        json.loads(path.read_text(encoding="utf-8"))
    formulas = []
    for path in sorted((site / "data").glob("*.csv")):
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
            formulas += [f"{path.name}: {cell[:40]!r}" for cell in row
                         if cell[:1] in FORMULA_CHARACTERS and not re.fullmatch(r"-?[0-9.]+", cell)]
    assert formulas == []
    # The data package's column descriptions carry the topic's texts, as they are.
    package = [text for _, text in _strings(json.loads((site / "data" / "datapackage.json").read_text("utf-8")))]
    assert any(payload in text for payload in _payloads(slots) for text in package)


def test_no_dialog_opens_in_chromium_on_pages_that_show_the_topic(hostile_site, browser):
    site, slots = hostile_site
    opened = []
    with served(site) as url:
        context = browser.new_context()
        page = context.new_page()
        page.on("dialog", lambda dialog: (opened.append(dialog.message), dialog.dismiss()))
        for address in ("", "summary/", "studies/", "studies/fixture-dpd-retreatment/", "charts/orr/", "questions/",
                        "downloads/", "definitions/", "contribute/fields/"):
            page.goto(f"{url}/{address}")
            page.wait_for_load_state("networkidle")
            page.mouse.move(200, 300)
            page.keyboard.press("Tab")
        context.close()
    assert [slots.get(int(message), message) for message in opened if message.isdigit()] == [] and opened == []
