"""Text a reader should never see, checked over every page of the site built from the real evidence.

Each check names the mechanism it guards: labels cut short, abbreviations lowercased, raw ids in headings,
doubled full stops, numbers printed with another precision than their record's, columns empty in every row,
record pages with no active tab or the site's generic description. The unit tests below each check show
that the mechanism behind it fails the way the check expects.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.record_checks import model_record
from build_scripts.load import vocabulary
from build_scripts.load.model import Publication
from build_scripts.load.numbers import number
from build_scripts.load.numbers import PrintedFloat, decimals_of
from build_scripts.load.reader import load_file
from build_scripts.load.topic_model import active
from build_scripts.load.vocabulary import KIND_BY_FOLDER, RECORD_KINDS
from build_scripts.publish.mkdocs_hooks import nav_tab
from build_scripts.render.citations import CitationItem, Person, formatted_citation
from build_scripts.render.descriptions import page_description
from build_scripts.render.links import publication_title, short_citation

from conftest import ROOT
from hostile import LIST, text_fields

EVIDENCE = ROOT / "evidence"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
INLINE = {"a", "abbr", "b", "code", "em", "i", "small", "span", "strong", "sub", "sup"}


# ---------------------------------------------------------------- a small HTML tree

@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list["Node | str"] = field(default_factory=list)

    def iter(self, *tags: str) -> Iterator["Node"]:
        for child in self.children:
            if isinstance(child, Node):
                if not tags or child.tag in tags:
                    yield child
                yield from child.iter(*tags)

    def text(self, skip: frozenset[str] = frozenset()) -> str:
        """The text inside, block and cell boundaries as spaces (so two table cells never read as one word)."""
        return "".join(c if isinstance(c, str) else "" if c.tag in skip else
                       c.text(skip) if c.tag in INLINE else f" {c.text(skip)} " for c in self.children)

    def has_class(self, name: str) -> bool:
        return name in (self.attrs.get("class") or "").split()


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def squeeze(text: str) -> str:
    return " ".join(text.split())


# Text no reader sees as prose: scripts, styles, and code (ids and URLs are shown as code).
NOT_PROSE = frozenset({"script", "style", "code", "pre", "template"})


def reader_text(root: Node) -> str:
    """The text a reader sees or hears: the body's text, the title, tooltips, alternative texts, the description."""
    parts = [root.text(NOT_PROSE)]
    for node in root.iter():
        for name in ("title", "alt", "aria-label"):
            if node.attrs.get(name):
                parts.append(node.attrs[name])
        if node.tag == "meta" and node.attrs.get("name") == "description":
            parts.append(node.attrs.get("content", ""))
    return squeeze(" \n ".join(parts))


# ---------------------------------------------------------------- the real site

@dataclass(frozen=True)
class BuiltPage:
    url: str  # site-relative, directory style: 'studies/lynx/'
    root: Node


@pytest.fixture(scope="module")
def pages(real_site) -> list[BuiltPage]:
    found = []
    for path in sorted(real_site.rglob("*.html")):
        relative = path.relative_to(real_site).as_posix()
        if relative.startswith(("pagefind/", "assets/")):
            continue
        url = relative[: -len("index.html")] if relative.endswith("index.html") else relative
        found.append(BuiltPage(url, parse(path.read_text(encoding="utf-8"))))
    assert len(found) > 100
    return found


@pytest.fixture(scope="module")
def evidence():
    return validate_tree(EVIDENCE)


def article(page: BuiltPage) -> Node:
    return next(page.root.iter("article"), page.root)


def report(problems: list[str]) -> str:
    return f"{len(problems)} found:\n" + "\n".join(problems[:40])


# ---------------------------------------------------------------- labels cut short

def full_names(evidence, kind: str, record_id: str) -> list[str]:
    record = evidence.by_kind(kind).get(record_id)
    if record is None:
        return []
    if kind == "publication":
        return [publication_title(record), short_citation(record)]
    return [name for name in (getattr(record, "title", None), getattr(record, "name", None),
                              getattr(record, "short_name", None)) if name]


def linked_record(page_url: str, href: str) -> tuple[str, str] | None:
    """(kind, id) of the record page a link points to, if it points to one."""
    if not href or "://" in href or href.startswith(("#", "mailto:")):
        return None
    target = posixpath.normpath(posixpath.join(page_url, href.split("#")[0]))
    parts = target.split("/")
    if len(parts) == 2 and parts[0] in KIND_BY_FOLDER and parts[1] != "page":
        return KIND_BY_FOLDER[parts[0]].name, parts[1]
    return None


def cut_labels(root: Node, page_url: str, names) -> list[str]:  # noqa: ANN001 - names(kind, id) -> full names
    """Links to a record whose text is the start of the record's name, cut short; and labels with an unclosed bracket."""
    problems = []
    for link in root.iter("a"):
        text = squeeze(link.text())
        target = linked_record(page_url, link.attrs.get("href", ""))
        if target and text:
            full = names(*target)
            stem = text.rstrip("….").rstrip()
            if text not in full and any(name.startswith(stem) and len(stem) < len(name) for name in full):
                problems.append(f"{page_url}: link to {target[1]} reads {text!r}")
    for node in root.iter("a", "th", "caption", "dt", *HEADINGS):
        text = squeeze(node.text())
        if text.count("(") > text.count(")") or text.count("[") > text.count("]"):
            problems.append(f"{page_url}: <{node.tag}> {text!r} opens a bracket it never closes")
    return problems


def test_no_page_shows_a_label_cut_short(pages, evidence):
    problems = []
    for page in pages:
        problems += cut_labels(article(page), page.url,
                               lambda kind, record_id: full_names(evidence, kind, record_id))
    assert problems == [], report(problems)


def test_the_cut_check_catches_a_cut_title():
    html = parse('<article><a href="../../publications/x/">UK real-world case series (title not giv</a>'
                 '<a href="../../publications/y/">Frerichs 2021</a></article>')
    names = {"x": ["UK real-world case series (title not given in the extracted text): five patients"],
             "y": ["Frerichs 2021", "Daratumumab and ATRA"]}
    problems = cut_labels(html, "studies/s/", lambda kind, record_id: names[record_id])
    assert len(problems) == 2 and all("/x" not in p or "title not giv" in p for p in problems)
    assert not any("Frerichs" in p for p in problems)


def test_short_citation_never_cuts_a_title():
    long_title = "A source without authors whose title runs on well beyond forty-five characters to its end"
    untitled = Publication(id="x", type="letter", title=long_title, title_status="supplied")
    assert short_citation(untitled) == f"[{long_title}]"
    registry = Publication(id="r", type="registry_entry", title=long_title, registry_id="NCT03871829")
    assert short_citation(registry) == "NCT03871829"


def test_chart_labels_are_not_cut(pages):
    cut = [f"{page.url}: {squeeze(figure.text())[:80]!r}" for page in pages for figure in article(page).iter("figure")
           if figure.has_class("atlas-chart") and "…" in figure.text()]
    assert cut == [], report(cut)


# ---------------------------------------------------------------- abbreviations

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")


def abbreviations(texts: list[str]) -> set[str]:
    """Words written with a capital after their first letter (IMiD, PI, anti-CD38, CD38, sCR), and their parts."""
    found = set()
    for text in texts:
        for token in _TOKEN.findall(text):
            for word in {token, *token.split("-")}:
                if any(ch.isupper() for ch in word[1:]) or (len(word) > 1 and word.isupper() and word.isalpha()):
                    found.add(word)
    return found


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in _strings(item)]
    return []


def vocabulary_texts() -> list[str]:
    """Every label, abbreviation and definition of the vocabulary and of the topic."""
    texts = []
    for value in vars(vocabulary).values():
        if isinstance(value, dict):
            for item in value.values():
                fields = item if isinstance(item, tuple) else vars(item).values() if hasattr(item, "__dict__") else [item]
                texts += [text for text in fields if isinstance(text, str)]
    return texts + _strings(active().model_dump())


def values_at(data, pattern: tuple) -> Iterator[object]:
    """The values of a record's raw data at a field pattern (LIST standing for every item of a list)."""
    if not pattern:
        yield data
    elif pattern[0] == LIST and isinstance(data, list):
        for item in data:
            yield from values_at(item, pattern[1:])
    elif isinstance(data, dict) and pattern[0] in data:
        yield from values_at(data[pattern[0]], pattern[1:])


_QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”')


def lowercased(text: str, known: set[str]) -> list[str]:
    """Each known abbreviation that the text writes in lower case, as a whole word (a code in quotes, such as the
    data dictionary's 'imid', is a literal, not a word)."""
    found = []
    for lower, abbreviation in sorted({word.lower(): word for word in sorted(known)}.items()):
        if lower != abbreviation and re.search(rf"(?<![\w'-]){re.escape(lower)}(?![\w'-])", text):
            found.append(f"{abbreviation} as {lower!r}")
    return found


def sources_own_spelling(known: set[str]) -> list[str]:
    """Record text that itself writes an abbreviation in lower case: a one-line field (a title copied as printed)
    or a quotation in a Markdown field. Pages show it as the source spells it; everything else is checked."""
    fields = text_fields()
    phrases = set()
    for path in (p for p in EVIDENCE.rglob("*.yaml") if p.parent != EVIDENCE):
        kind = KIND_BY_FOLDER[path.parent.name]
        raw, _ = load_file(path, kind)
        for spec in (spec for spec in fields if spec.record == kind.name):
            for value in values_at(raw.data, spec.pattern):
                if isinstance(value, str):
                    candidates = [value] if spec.kind == "one_line" else [
                        "".join(groups) for groups in _QUOTED.findall(value)]
                    phrases.update(squeeze(c) for c in candidates if lowercased(c, known))
    return sorted(phrases, key=len, reverse=True)


def test_no_page_shows_a_known_abbreviation_lowercased(pages, evidence):
    names = []
    for agent in evidence.agents.values():
        names += [agent.name, *agent.aliases]
    for regimen in evidence.regimens.values():
        names += [regimen.name, *regimen.aliases]
    known = abbreviations(vocabulary_texts() + names)
    assert {"IMiD", "PI", "anti-CD38", "CD38", "VGPR", "sCR", "IMWG"} <= known
    own = sources_own_spelling(known)
    assert "anti-cd38 refractory myeloma patients" in own and len(own) < 20
    problems = []
    for page in pages:
        text = re.sub(r"https?://\S+", " ", reader_text(page.root))  # a URL is not prose
        for phrase in own:
            text = text.replace(phrase, " ")
        problems += [f"{page.url}: {item}" for item in lowercased(text, known)]
    assert problems == [], report(problems)


def test_the_abbreviation_check_catches_a_lowercased_label():
    known = abbreviations([vocabulary.REFRACTORY_CLASSES["double_class"], "Anti-CD38 antibody"])
    assert lowercased("Refractory to two classes (IMiD and PI); the code 'imid'", known) == []
    assert lowercased("Refractory to double-class (imid and pi); anti-cd38 and cd38", known) == [
        "Anti-CD38 as 'anti-cd38'", "CD38 as 'cd38'", "IMiD as 'imid'", "PI as 'pi'"]


# ---------------------------------------------------------------- raw ids in headings

def record_ids(evidence) -> set[str]:
    """Every id of the evidence: records, cohorts, patients, discrepancies, findings."""
    ids = set()
    for kind in RECORD_KINDS:
        for record in evidence.by_kind(kind).values():
            ids.add(record.id)
            for part in getattr(record, "cohorts", []):
                ids.add(part.id)
                ids.update(patient.id for patient in part.patients)
            ids.update(d.id for d in getattr(record, "discrepancies", []))
            ids.update(f.id for f in getattr(record, "findings", []))
    return ids


def id_headings(root: Node, page_url: str, ids: set[str]) -> list[str]:
    problems = []
    for heading in root.iter(*HEADINGS):
        text = squeeze(heading.text()).strip("¶⚑ ")
        if text in ids and re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)+", text):
            problems.append(f"{page_url}: <{heading.tag}> {text!r}")
    return problems


def test_no_heading_shows_a_raw_id(pages, evidence):
    ids = record_ids(evidence)
    problems = [p for page in pages for p in id_headings(page.root, page.url, ids)]
    assert problems == [], report(problems)


def test_discrepancies_are_headed_by_their_titles(pages, evidence):
    page = next(p for p in pages if p.url == "studies/frerichs-2021-dara-atra/")
    headings = [squeeze(h.text()) for h in page.root.iter("h3") if h.has_class("atlas-discrepancy-title")]
    assert headings == [f"⚑ {d.title}" for d in evidence.studies["frerichs-2021-dara-atra"].discrepancies]
    assert id_headings(parse("<h3>⚑ part-a-flow-counts</h3>"), "x/", {"part-a-flow-counts"})


# ---------------------------------------------------------------- doubled full stops

DOUBLED_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")


def test_no_page_shows_a_doubled_full_stop(pages):
    problems = [f"{page.url}: …{text[max(0, m.start() - 50): m.end() + 10]}…" for page in pages
                for text in [reader_text(page.root)] for m in DOUBLED_STOP.finditer(text)]
    assert problems == [], report(problems)


def test_a_citation_without_a_year_ends_n_d_once():
    item = CitationItem(key="k", csl_type="webpage", bibtex_type="misc", ris_type="ELEC", title="A page",
                        authors=(Person(literal="Atlas"),), container="Atlas", url="https://example.org/")
    assert "n.d." in formatted_citation(item) and not DOUBLED_STOP.search(formatted_citation(item))


# ---------------------------------------------------------------- printed precision

def printed_floats(data, path=()) -> Iterator[tuple[tuple, PrintedFloat]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from printed_floats(value, path + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from printed_floats(value, path + (index,))
    elif isinstance(data, PrintedFloat):
        yield path, data


def shows_number(text: str, shown: str) -> bool:
    return re.search(rf"(?<![\d.]){re.escape(shown)}(?![\d])", text) is not None


def test_study_pages_print_every_number_with_its_records_precision(pages):
    by_url = {page.url: page for page in pages}
    checked, problems = 0, []
    for path in sorted((EVIDENCE / "studies").glob("*.yaml")):
        raw, _ = load_file(path, RECORD_KINDS["study"])
        text = squeeze(article(by_url[RECORD_KINDS["study"].url(path.stem)]).text())
        for field_path, value in printed_floats(raw.data):
            checked += 1
            as_written = f"{float(value):.{value.decimals}f}"  # what the YAML text says, not what the site prints
            if not shows_number(text, as_written):
                where = ".".join(str(part) for part in field_path)
                problems.append(f"{path.name}: {where} is {as_written} in the record, not so on its page")
    assert checked > 50
    assert problems == [], report(problems)


def test_numbers_keep_the_decimals_their_yaml_text_has():
    data = yaml.safe_load("a: 21.0\nb: 0.50\nc: 3\nd: 1.5e3\n")
    assert decimals_of("21.0") == 1 and decimals_of("0.50") == 2 and decimals_of("1_000.25") == 2
    assert decimals_of("1.5e3") is None and decimals_of("7") is None
    assert [number(PrintedFloat(21.0, 1)), number(PrintedFloat(0.5, 2)), number(data["c"]), number(21.0)] == \
        ["21.0", "0.50", "3", "21"]


def test_the_loader_carries_decimals_into_the_validated_record(tmp_path):
    folder = tmp_path / "studies"
    folder.mkdir()
    (folder / "s.yaml").write_text(
        "id: s\ntitle: S\ndesign: case_series\npublications: [p]\nsummary: S.\ncohorts:\n"
        "  - id: c\n    label: C\n    role: overall\n    outcomes:\n"
        "      - {measure: pfs, value: 21.0, unit: months, ci_low: 3.10, ci_high: 40, ci_level: 95,"
        " source: {publication: p, location: T1}}\n", encoding="utf-8")
    raw, problems = load_file(folder / "s.yaml", RECORD_KINDS["study"])
    record, problems = model_record(raw)
    assert problems == []
    outcome = record.cohorts[0].outcomes[0]
    assert [number(outcome.value), number(outcome.ci_low), number(outcome.ci_high)] == ["21.0", "3.10", "40"]


# ---------------------------------------------------------------- empty columns

def empty_columns(root: Node, page_url: str) -> list[str]:
    problems = []
    for table in root.iter("table"):
        head = next(table.iter("thead"), None)
        body_rows = [row for body in table.iter("tbody") for row in body.iter("tr")]
        if head is None or not body_rows:
            continue
        header = [squeeze(cell.text()) for cell in next(head.iter("tr")).iter("th", "td")]
        rows = [list(row.iter("th", "td")) for row in body_rows]
        if any(cell.attrs.get("colspan") for row in rows for cell in row):
            continue
        for index, name in enumerate(header):
            if all(index < len(row) and not squeeze(row[index].text()) for row in rows):
                problems.append(f"{page_url}: column {name!r} of a {len(rows)}-row table is empty in every row")
    return problems


def test_no_table_has_a_column_empty_in_every_row(pages):
    problems = [p for page in pages for p in empty_columns(article(page), page.url)]
    assert problems == [], report(problems)


def test_the_empty_column_check_catches_an_empty_column():
    html = parse("<table><thead><tr><th>Category</th><th>Share</th></tr></thead>"
                 "<tbody><tr><td>PR</td><td></td></tr><tr><td>SD</td><td> </td></tr></tbody></table>")
    assert empty_columns(html, "x/") == ["x/: column 'Share' of a 2-row table is empty in every row"]


# ---------------------------------------------------------------- tabs, sidebar and description of record pages

def record_page_urls(evidence) -> list[str]:
    return [kind.url(record_id) for kind in RECORD_KINDS.values() for record_id in evidence.by_kind(kind.name)]


def test_record_pages_mark_their_tab_and_hide_the_empty_sidebar(pages, evidence):
    by_url = {page.url: page for page in pages}
    problems = []
    for url in record_page_urls(evidence):
        root = by_url[url].root
        active = [a for item in root.iter("li") if item.has_class("md-tabs__item--active") for a in item.iter("a")]
        targets = [posixpath.normpath(posixpath.join(url, a.attrs["href"])) + "/" for a in active]
        if targets != [url.split("/")[0] + "/"]:
            problems.append(f"{url}: active tabs lead to {targets}")
        sidebar = next(n for n in root.iter("div") if n.has_class("md-sidebar--primary"))
        if "hidden" not in sidebar.attrs:
            problems.append(f"{url}: the navigation sidebar is shown, with nothing in it")
    assert problems == [], report(problems)
    methods = by_url["methods/"].root
    assert "hidden" not in next(n for n in methods.iter("div") if n.has_class("md-sidebar--primary")).attrs


def test_nav_tab_belongs_to_pages_under_a_nav_section_only():
    nav = {"index.md", "studies/index.md", "charts/index.md", "methods.md"}
    assert nav_tab("studies/lynx/index.md", nav) == "studies/"
    assert nav_tab("studies/page/2/index.md", nav) == "studies/"
    assert nav_tab("charts/orr/index.md", nav) == "charts/"
    assert [nav_tab(uri, nav) for uri in ("studies/index.md", "methods.md", "index.md", "other/x/index.md")] == \
        [None] * 4


def description(root: Node) -> str:
    return next((m.attrs.get("content", "") for m in root.iter("meta") if m.attrs.get("name") == "description"), "")


def test_every_record_page_has_a_description_of_its_own(pages, evidence):
    by_url = {page.url: page for page in pages}
    generic = description(by_url[""].root)
    descriptions = {url: description(by_url[url].root) for url in record_page_urls(evidence)}
    assert [url for url, text in descriptions.items() if not text or text == generic] == []
    repeated = {text for text in descriptions.values() if list(descriptions.values()).count(text) > 1}
    assert repeated == set()
    lynx = descriptions["studies/frerichs-2021-dara-atra/"]
    assert "Single-arm trial" in lynx and "63 patients" in lynx and "Daratumumab + all-trans retinoic acid" in lynx


def test_descriptions_are_plain_text_escaped_in_the_head(fixture_site):
    html = (fixture_site / "studies" / "fixture-dpd-retreatment" / "index.html").read_text(encoding="utf-8")
    content = re.search(r'<meta name="description" content="([^"]*)">', html)
    assert content and "Every figure with its source" in content.group(1)
