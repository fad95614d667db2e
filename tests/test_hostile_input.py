"""Hostile input in every text field: refused with a located problem, or built into a site where nothing runs.

Every text field of every record kind (found by introspection, see tests/hostile.py) is given each injection
shape on its own, and validated: what a field refuses must be a Problem naming file, line and field, never a
traceback. What it accepts is dealt into a few hostile builds, and the built sites are checked: in Chromium no
dialog opens and every page has exactly the scripts of the same page in a clean build; no HTML element has an
event handler or a javascript:/data: URL; SVG and XML files parse; CSV cells cannot start a formula; the BibTeX and
RIS downloads parse back to the records' values.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import subprocess
import sys
import time
import traceback
import unicodedata
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import SeparateCoAuthors

import hostile

from build_scripts.derive.checks import validate_tree
from build_scripts.load.evidence import Evidence
from build_scripts.load.problems import EvidenceError
from build_scripts.load.vocabulary import RECORD_KINDS
from tools.localsite import served
from conftest import ROOT, VALID, PageWatch, fixture_layout
from hostile import SHAPES, HostileTree, Shape, Slot

MAX_BUILDS = 3
ALERT = re.compile(r"alert\((\d+)\)|\bx(\d{3,})\b")  # alert(n), or the link target x<n> of an <img>
# Shapes a Markdown field may refuse: links that are not absolute http(s) URLs (the validator says so, with its line).
MARKDOWN_MAY_REFUSE = {"html-js-link", "html-data-link", "js-link", "data-image", "nl-js-link"}
# Shapes made only of printable characters on one line: no text field may refuse them, or it filters instead of escaping.
PRINTABLE_FAMILIES = {"markup", "attribute", "markdown-inline", "template", "formula", "bibtex", "jsonld", "cdata",
                      "entity", "long"}
JS_TYPES = {"", "text/javascript", "application/javascript", "module"}


@dataclass
class PageResult:
    scripts: list[str]
    bad_attributes: list[str]
    page_errors: list[str]
    console_errors: list[str]


@dataclass
class Run:
    """Everything the hostile run found; each test below asserts one part of it."""

    specs: list[hostile.TextFieldSpec]
    tree: HostileTree
    accepted: dict[int, list[Shape]] = field(default_factory=dict)
    refused: dict[int, list[Shape]] = field(default_factory=dict)
    crashes: dict[str, str] = field(default_factory=dict)
    mislocated: list[str] = field(default_factory=list)
    unattributed: list[str] = field(default_factory=list)
    plans: list[dict[int, str]] = field(default_factory=list)
    sites: dict[str, tuple[Path, Evidence]] = field(default_factory=dict)
    build_errors: dict[str, str] = field(default_factory=dict)
    pages: dict[str, dict[str, PageResult]] = field(default_factory=dict)
    dialogs: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    searches: dict[str, tuple[int, list[str], list[str]]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def slots(self) -> dict[int, Slot]:
        return {slot.index: slot for slot in self.tree.slots}

    def hostile_sites(self) -> dict[str, tuple[Path, Evidence]]:
        assert self.sites.keys() - {"clean"}, f"no hostile build succeeded: {self.build_errors}"
        return {name: site for name, site in self.sites.items() if name != "clean"}

    def explain(self, text: str) -> str:
        """The fields and shapes behind the alert(n) numbers in a finding."""
        names = sorted({hostile.decode_alert(int(a or b), self.slots) for a, b in ALERT.findall(text)})
        return text[:300] + (f"  <= {'; '.join(names)}" if names else "")


def _relative_file(problem_path: str, evidence: Path) -> str | None:
    path = Path(problem_path)
    path = path if path.is_absolute() else Path.cwd() / path
    try:
        return path.resolve().relative_to(evidence.resolve()).as_posix()
    except ValueError:
        return None


def _check_plain_tree(tree: HostileTree, base: Path) -> None:
    """The scaffolded tree, its left-out fields filled with plain text, must be valid before any shape goes in."""
    evidence = base / "plain" / "evidence"
    tree.write(evidence, {})
    try:
        validate_tree(evidence)
    except EvidenceError as error:
        raise AssertionError(f"the hostile tree is invalid before any shape goes in; fix hostile.scaffold():\n"
                             f"{error.report()}") from error


def _classify(run: Run, base: Path) -> None:
    """Give every shape to every slot, one shape per validation run, and sort the shapes into accepted and refused."""
    slots = run.tree.slots
    for shape_index, shape in enumerate(SHAPES):
        values = {s.index: hostile.shape_value(shape, s.index * 100 + shape_index, s.spec.max_length) for s in slots}
        evidence = base / f"round-{shape_index:02d}" / "evidence"
        texts = run.tree.write(evidence, values)
        try:
            validate_tree(evidence)
            problems = []
        except EvidenceError as error:
            problems = error.problems
        except Exception:  # noqa: BLE001 - a traceback is exactly what this test looks for
            run.crashes[shape.name] = traceback.format_exc()
            continue
        refused: set[int] = set()
        by_place = {(s.file, s.field): s for s in slots}
        for problem in problems:
            file = _relative_file(problem.path, evidence)
            slot = by_place.get((file, problem.field))
            if slot is None:
                run.unattributed.append(f"shape '{shape.name}': {problem}")
                continue
            refused.add(slot.index)
            line = hostile.yaml_line(texts[slot.file], slot.path)
            if problem.line != line:
                run.mislocated.append(f"shape '{shape.name}' in {slot.spec.name}: reported on line {problem.line},"
                                      f" the field is on line {line}: {problem}")
        for slot in slots:
            (run.refused if slot.index in refused else run.accepted).setdefault(slot.index, []).append(shape)


BUILD = """
import sys
from pathlib import Path
from build_scripts.publish.build import Layout, build_site
from build_scripts.load.problems import EvidenceError
root, evidence, base, content = map(Path, sys.argv[1:5])
try:
    build_site(Layout(root, evidence, content, root / "templates", base / "build", base / "site"))
except EvidenceError as error:
    sys.exit("the hostile tree was refused as a whole:\\n" + error.report())
"""


@dataclass
class PendingBuild:
    name: str
    evidence: Path
    site: Path
    log: Path
    process: subprocess.Popen
    started: float


def _start_build(run: Run, base: Path, name: str, values: dict[int, str]) -> PendingBuild:
    """Start a build in a child process: a crash of a native library (a chart renderer aborting) fails this build, not
    pytest. Its errors go to a file, so that builds running side by side never wait on a full pipe."""
    evidence = base / name / "evidence"
    run.tree.write(evidence, values)
    layout = fixture_layout(base / name, evidence)
    log = base / name / "build-errors.txt"
    with open(log, "w", encoding="utf-8") as output:
        process = subprocess.Popen([sys.executable, "-c", BUILD, str(ROOT), str(evidence), str(base / name),
                                    str(layout.content)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=output,
                                   text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return PendingBuild(name, evidence, layout.site, log, process, time.perf_counter())


def _finish_build(run: Run, build: PendingBuild) -> None:
    returncode = build.process.wait()
    if returncode == 0:
        run.sites[build.name] = (build.site, validate_tree(build.evidence))
    else:
        run.build_errors[build.name] = f"exit status {returncode}\n{build.log.read_text(encoding='utf-8')}"
    run.timings[f"build {build.name}"] = time.perf_counter() - build.started


def html_pages(site: Path) -> list[str]:
    """Site-relative URL of every HTML file."""
    urls = []
    for path in sorted(site.rglob("*.html")):
        relative = path.relative_to(site).as_posix()
        urls.append(relative[: -len("index.html")] if relative.endswith("index.html") else relative)
    return urls


PAGE_PROBE = """() => {
  const scripts = Array.from(document.scripts).map(s => {
    if (s.src) return "src " + new URL(s.src).pathname;
    const type = (s.getAttribute("type") || "").toLowerCase();
    if (%s.includes(type)) return "inline " + s.text;
    let note = "";
    if (type.endsWith("json")) { try { JSON.parse(s.text); } catch (e) { note = " (does not parse as JSON)"; } }
    return "data " + type + " #" + (s.id || "") + note;
  });
  const bad = [];
  for (const el of document.querySelectorAll("*")) {
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      const url = a.value.replace(/[\\t\\n\\r]/g, "").replace(/^[\\u0000-\\u0020]+/, "").toLowerCase();
      if (name.startsWith("on") || name === "srcdoc"
          || (["href", "src", "action", "formaction", "xlink:href", "data", "poster"].includes(name)
              && /^(javascript|data|vbscript):/.test(url))) {
        bad.push(el.localName + " " + name + "=" + a.value);
      }
    }
  }
  return {scripts, bad};
}""" % json.dumps(sorted(JS_TYPES))


CHARTS_SETTLED = """() => {
  if (document.readyState !== "complete") return false;
  const margin = 400;
  for (const view of document.querySelectorAll(".atlas-chart-view[data-spec]")) {
    if (window.matchMedia(view.dataset.narrow).matches) continue;
    const box = view.getBoundingClientRect();
    if (box.bottom < -margin || box.top > window.innerHeight + margin) continue;
    const done = ["atlas-chart-ready", "atlas-chart-static-only", "atlas-chart-failed"];
    if (!done.some(name => view.classList.contains(name))) return false;
  }
  return true;
}"""


def _visit(run: Run, browser, name: str, site: Path) -> None:
    """Open every page of a site in one browser context, recording dialogs, scripts and dangerous attributes."""
    started = time.perf_counter()
    results: dict[str, PageResult] = {}
    watch = PageWatch(browser)
    current = {"url": ""}
    watch.page.on("dialog", lambda d: (run.dialogs.append(f"{name} {current['url']}: {d.type}({d.message})"), d.dismiss()))
    try:
        with served(site) as base:
            for url in html_pages(site):
                current["url"] = url
                watch.page_errors.clear()
                watch.console_errors.clear()
                watch.page.goto(f"{base}/{url}", wait_until="load")
                watch.page.wait_for_timeout(50)  # autofocus and its focus event come after load
                # The chart script adds the Vega bundle itself once a wide chart nears the viewport: wait until every
                # such chart has settled, so that a page is compared at the same state in every build.
                watch.page.wait_for_function(CHARTS_SETTLED, timeout=15_000)
                probe = watch.page.evaluate(PAGE_PROBE)
                console = [re.sub(r"http://127\.0\.0\.1:\d+", "", text) for text in watch.console_errors]
                results[url] = PageResult(probe["scripts"], probe["bad"], list(watch.page_errors), console)
            if name != "clean":
                _search(run, watch, name, base)
            run.foreign_requests += [f"{name}: {request}" for request in watch.foreign_requests()]
    finally:
        watch.close()
    run.pages[name] = results
    run.timings[f"browser {name} ({len(results)} pages)"] = time.perf_counter() - started


SEARCH_QUERY = "alert"  # every hostile value holds alert(n)


def _search(run: Run, watch: PageWatch, name: str, base: str) -> None:
    """Search results are built in the browser from the index of hostile text: run a query that finds it."""
    watch.page.goto(f"{base}/search/", wait_until="load")
    watch.page.locator(".atlas-search-input").fill(SEARCH_QUERY)
    watch.page.wait_for_selector(".atlas-search-result-link", timeout=15_000)
    watch.page.wait_for_timeout(300)  # results and their excerpts are filled in one after another
    results = watch.page.locator(".atlas-search-result").count()
    probe = watch.page.evaluate(PAGE_PROBE)
    run.searches[name] = (results, probe["bad"], list(watch.page_errors))


@pytest.fixture(scope="module")
def run(tmp_path_factory, browser, request) -> Run:
    started = time.perf_counter()
    base = tmp_path_factory.mktemp("hostile")
    specs = hostile.text_fields()
    tree = HostileTree(VALID, specs)
    result = Run(specs, tree)
    _check_plain_tree(tree, base)
    clock = time.perf_counter()
    _classify(result, base)
    result.timings[f"validate {len(SHAPES)} shapes x {len(tree.slots)} slots"] = time.perf_counter() - clock
    result.plans = hostile.schedule(tree.slots, result.accepted, MAX_BUILDS)
    # The builds run side by side, and each site is visited in Chromium (clean first) as soon as it is built, while
    # the others are still building.
    builds = [_start_build(result, base, "clean", {})]
    builds += [_start_build(result, base, f"hostile-{number}", plan)
               for number, plan in enumerate(result.plans, start=1)]
    try:
        for build in builds:
            _finish_build(result, build)
            if build.name in result.sites:
                _visit(result, browser, build.name, result.sites[build.name][0])
    finally:
        for build in builds:
            if build.process.poll() is None:
                build.process.kill()
                build.process.wait()
    result.timings["total"] = time.perf_counter() - started
    yield result
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\nhostile input run: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items()))


# ---------------------------------------------------------------- the fields and the tree


def test_every_text_field_is_found_and_marked(run):
    kinds = {spec.kind for spec in run.specs}
    assert kinds == {"one_line", "markdown"}, kinds
    assert {spec.record for spec in run.specs} == set(RECORD_KINDS)
    names = {spec.name for spec in run.specs}
    assert {"study:title", "study:summary", "study:cohorts[].label", "publication:authors[]"} <= names
    assert hostile.unmarked_free_text() == [], "free-text fields without a TextField mark (make them OneLine or LongText)"
    assert [spec.name for spec in run.specs if spec.max_length is None] == [], "text fields without a length limit"


def test_every_text_field_has_a_place_in_the_hostile_tree(run):
    placed = {slot.spec.name for slot in run.tree.slots}
    missing = sorted({spec.name for spec in run.specs} - placed)
    assert missing == [], f"no place for these fields in the hostile tree; extend hostile.scaffold(): {missing}"


# ---------------------------------------------------------------- what the validator refuses


def test_refused_shapes_are_located_problems_never_tracebacks(run):
    assert run.crashes == {}, "validation crashed:\n" + "\n".join(f"{k}:\n{v}" for k, v in run.crashes.items())
    assert run.unattributed == [], "problems at fields that were not changed:\n" + "\n".join(run.unattributed[:30])
    assert run.mislocated == [], "\n".join(run.mislocated[:30])
    assert any(run.refused.values()), "nothing was refused: the check of locations checked nothing"


def test_one_line_fields_refuse_line_breaks_controls_and_bidi_and_every_field_its_limit(run):
    wrong = []
    for index, shapes in run.accepted.items():
        slot = run.slots[index]
        for shape in shapes:
            value = hostile.shape_value(shape, 0, slot.spec.max_length)
            if shape.family == "too-long":
                wrong.append(f"{slot.spec.name} accepts {len(value)} characters, over its limit {slot.spec.max_length}")
            elif slot.spec.kind == "one_line" and hostile.one_line_must_refuse(value):
                wrong.append(f"{slot.spec.name} (one line) accepts shape '{shape.name}' {value!r}")
            elif hostile.any_text_must_refuse(value):
                wrong.append(f"{slot.spec.name} accepts control characters: shape '{shape.name}' {value!r}")
    assert wrong == [], "\n".join(sorted(set(wrong)))


def test_fields_escape_rather_than_refuse_text_that_only_looks_hostile(run):
    over = []
    for index, shapes in run.refused.items():
        slot = run.slots[index]
        for shape in shapes:
            if shape.family in PRINTABLE_FAMILIES and not (slot.spec.kind == "markdown" and shape.name in MARKDOWN_MAY_REFUSE):
                over.append(f"{slot.spec.name} refuses shape '{shape.name}'")
    assert over == [], "\n".join(sorted(set(over)))


def test_every_field_meets_every_shape_family_it_accepts_in_the_builds(run):
    met: dict[str, set[str]] = {}
    wanted: dict[str, set[str]] = {}
    for slot in run.tree.slots:
        wanted.setdefault(slot.spec.name, set()).update(s.family for s in run.accepted.get(slot.index, []))
        for plan in run.plans:
            names = hostile.shapes_in(plan[slot.index], slot)
            met.setdefault(slot.spec.name, set()).update(SHAPES[hostile.SHAPE_INDEX[n]].family for n in names)
    missing = {name: sorted(families - met.get(name, set())) for name, families in wanted.items()
               if families - met.get(name, set())}
    assert missing == {}
    assert all(wanted.values()), "a field accepts no shape at all"


# ---------------------------------------------------------------- the hostile builds


def test_hostile_trees_build(run):
    assert run.build_errors == {}, "\n\n".join(
        f"{name}:\n" + "\n".join(run.explain(line) for line in error.splitlines()[-40:])
        for name, error in run.build_errors.items())
    assert len(run.sites) == len(run.plans) + 1


def test_no_dialog_opens_in_chromium_on_any_page(run):
    run.hostile_sites()
    assert sum(len(pages) for pages in run.pages.values()) > 3 * len(run.sites)
    assert run.dialogs == [], "\n".join(run.explain(d) for d in run.dialogs)


def test_every_page_has_exactly_the_scripts_of_the_clean_build(run):
    clean = run.pages["clean"]
    differences = []
    for name in run.hostile_sites():
        pages = run.pages[name]
        assert set(pages) == set(clean), f"{name} has other pages than the clean build"
        for url, result in pages.items():
            ours = sorted(clean[url].scripts)
            found = sorted(result.scripts)
            foreign = [s for s in found if s not in ours or found.count(s) > ours.count(s)]
            lost = [s for s in ours if s not in found or ours.count(s) > found.count(s)]
            if foreign or lost:
                differences.append(f"{name} {url}: foreign {[run.explain(s) for s in foreign]}, missing"
                                   f" {[s[:120] for s in lost]}")
    assert any("src " in s for s in clean["studies/fixture-dpd-retreatment/"].scripts)
    assert differences == [], "\n".join(differences)


def test_no_handler_or_script_url_in_any_rendered_page(run):
    # The site's own markup may have some (Pagefind's UI gives its form action="javascript:void(0);"): only what
    # the same page of the clean build lacks is foreign.
    clean = run.pages["clean"]
    found = [f"{name} {url}: {run.explain(bad)}" for name in run.hostile_sites() for url, result in run.pages[name].items()
             for bad in result.bad_attributes if bad not in clean[url].bad_attributes]
    assert found == [], "\n".join(found)
    errors = [f"{name} {url}: {run.explain(e)}" for name in run.hostile_sites()
              for url, result in run.pages[name].items() for e in result.page_errors]
    assert errors == [], "script errors on hostile pages:\n" + "\n".join(errors)
    console = [f"{name} {url}: {run.explain(e)}" for name in run.hostile_sites() for url, result in run.pages[name].items()
               for e in result.console_errors if e not in clean[url].console_errors]
    assert console == [], "console errors the clean pages do not have:\n" + "\n".join(console)
    assert run.foreign_requests == [], "\n".join(run.foreign_requests)


def test_search_results_for_hostile_text_run_nothing(run):
    clean = run.pages["clean"]["search/"].bad_attributes
    assert run.searches.keys() == run.hostile_sites().keys()
    for name, (results, bad, errors) in run.searches.items():
        assert results > 0, f"{name}: the query {SEARCH_QUERY!r} found nothing, so nothing was checked"
        assert [b for b in bad if b not in clean] == [] and errors == [], (name, bad, errors)
    assert run.dialogs == []


class _AttributeScan(HTMLParser):
    """Event-handler attributes and script URLs in an HTML file, as an HTML parser sees the markup.

    Stricter than a browser, which reads <title> as text: markup left raw there counts too, as it is unescaped
    record text (and one '</title' away from running).
    """

    URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if _dangerous(name, value or "", self.URL_ATTRIBUTES):
                self.found.append(f"<{tag} {name}={value!r}>")

    handle_startendtag = handle_starttag


def _dangerous(name: str, value: str, url_attributes: set[str]) -> bool:
    name = name.lower().rpartition("}")[2] if name.startswith("{") else name.lower()
    url = re.sub(r"[\t\n\r]", "", value).lstrip("".join(map(chr, range(0x21)))).lower()
    return name.startswith("on") or name == "srcdoc" or (
        (name in url_attributes or name == "href") and url.startswith(("javascript:", "data:", "vbscript:")))


def test_no_handler_or_script_url_in_any_html_file(run):
    found = []
    for name, (site, _) in run.hostile_sites().items():
        for path in sorted(site.rglob("*.html")):
            scan = _AttributeScan()
            scan.feed(path.read_text(encoding="utf-8"))
            found += [f"{name} {path.relative_to(site)}: {run.explain(item)}" for item in scan.found]
    assert found == [], "\n".join(found)


def _xml_files(site: Path) -> list[tuple[str, bytes]]:
    files = [(p.relative_to(site).as_posix(), p.read_bytes()) for p in sorted(site.rglob("*")) if p.suffix in (".svg", ".xml")]
    files += [(p.relative_to(site).as_posix(), gzip.decompress(p.read_bytes())) for p in sorted(site.rglob("*.xml.gz"))]
    return files


def test_every_svg_and_xml_file_parses_and_holds_no_script(run):
    wrong = []
    count = 0
    for name, (site, _) in run.hostile_sites().items():
        for relative, data in _xml_files(site):
            count += 1
            try:
                root = ElementTree.fromstring(data)
            except ElementTree.ParseError as error:
                wrong.append(f"{name} {relative}: not XML ({error})")
                continue
            for element in root.iter():
                tag = element.tag.rpartition("}")[2]
                if tag in ("script", "foreignObject"):
                    wrong.append(f"{name} {relative}: <{tag}> {run.explain(element.text or '')}")
                wrong += [f"{name} {relative}: {tag} {key}={run.explain(value)}"
                          for key, value in element.attrib.items() if _dangerous(key, value, {"href", "src"})]
    assert count >= 2 * len(run.plans) and any(r.endswith("sitemap.xml") for r, _ in _xml_files(run.sites["clean"][0]))
    assert wrong == [], "\n".join(wrong)


# ---------------------------------------------------------------- downloads

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _numeric_columns(site: Path) -> dict[str, set[str]]:
    package = json.loads((site / "data" / "datapackage.json").read_text(encoding="utf-8"))
    return {resource["path"]: {f["name"] for f in resource["schema"]["fields"] if f["type"] in ("number", "integer")}
            for resource in package["resources"]}


def _is_number(text: str) -> bool:
    try:
        return float(text) == float(text) and abs(float(text)) != float("inf")
    except ValueError:
        return False


def test_no_csv_cell_can_start_a_formula_and_text_survives(run):
    unsafe, lost = [], []
    for name, (site, evidence) in run.hostile_sites().items():
        numeric = _numeric_columns(site)
        tables = {}
        for path in sorted((site / "data").glob("*.csv")):
            rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
            tables[path.name] = rows
            for number, row in enumerate(rows, start=2):
                for column, cell in row.items():
                    if cell and cell.startswith(FORMULA_START) and not (column in numeric.get(path.name, ()) and _is_number(cell)):
                        unsafe.append(f"{name} {path.name} row {number} column {column}: {run.explain(repr(cell))}")
        # The neutralised cell still holds the text: the fix guards, it does not delete.
        studies = {row["study_id"]: row for row in tables["studies.csv"]}
        outcomes: dict[tuple[str, str], list[dict[str, str]]] = {}
        for row in tables["outcomes.csv"]:
            outcomes.setdefault((row["study_id"], row["cohort_id"]), []).append(row)
        for study in evidence.studies.values():
            expected = [(studies[study.id], "title", study.title), (studies[study.id], "short_name", study.short_name)]
            for cohort in study.cohorts:
                for row, outcome in zip(outcomes.get((study.id, cohort.id), []), cohort.outcomes, strict=True):
                    expected += [(row, "cohort_label", cohort.label), (row, "source_location", outcome.source.location),
                                 (row, "variant", outcome.variant), (row, "derivation", outcome.derivation),
                                 (row, "p_value", outcome.p_value)]
            # The guard is a quote before the start of a formula (at the cell's start or after an in-cell separator,
            # as the data dictionary says); apart from guards the cell is the text.
            lost += [f"{name} {study.id} {column}: {first_difference(cell_row[column], value)}"
                     for cell_row, column, value in expected
                     if value and cell_row[column].replace("'", "") != value.replace("'", "")]
    assert unsafe == [], "\n".join(unsafe[:40])
    assert lost == [], "\n".join(lost[:40])


_LATEX_COMMANDS = {"textbackslash": "\\", "textasciitilde": "~", "textasciicircum": "^", "textbraceleft": "{",
                   "textbraceright": "}", "textless": "<", "textgreater": ">", "textbar": "|", "textquotedbl": '"',
                   "textunderscore": "_", "textdollar": "$", "textpercent": "%", "textampersand": "&"}


def latex_text(value: str) -> str:
    """The text a BibTeX value stands for: escaped characters and text commands decoded, grouping braces dropped.

    The exact inverse of character escaping; ligatures such as '--' are left as written, so a page range keeps
    BibTeX's '--' and is compared as such.
    """
    out, i = [], 0
    while i < len(value):
        char = value[i]
        if char == "\\":
            command = re.match(r"\\([A-Za-z]+)(\{\}|\s?)", value[i:])
            if command and command.group(1) in _LATEX_COMMANDS:
                out.append(_LATEX_COMMANDS[command.group(1)])
                i += command.end()
                continue
            if i + 1 < len(value) and not value[i + 1].isalpha():
                out.append(value[i + 1])
                i += 2
                continue
            out.append(char)  # an unknown command stays visible, so the comparison fails and shows it
            i += 1
        elif char in "{}":
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _name_text(name: str) -> str:
    """A BibTeX name as one string: '{Literal name}' or 'Family, Given' -> 'Family Given'."""
    name = name.strip()
    depth, comma = 0, None
    for i, char in enumerate(name):
        if char == "{" and (i == 0 or name[i - 1] != "\\"):
            depth += 1
        elif char == "}" and (i == 0 or name[i - 1] != "\\"):
            depth -= 1
        elif char == "," and depth == 0 and comma is None:
            comma = i
    if comma is None:
        return latex_text(name)
    return f"{latex_text(name[:comma]).strip()}, {latex_text(name[comma + 1:]).strip()}"


def _same_name(parsed: str, expected: str) -> bool:
    """Equal, allowing the 'Family, Given' split and the whitespace collapse of citations.person()."""
    collapse = " ".join
    return collapse(parsed.split()) == collapse(expected.split()) or (
        collapse(parsed.replace(", ", " ", 1).split()) == collapse(expected.split()))


def _expected_sources(evidence: Evidence, kind: str, record_id: str) -> list[str]:
    if kind == "study":
        return list(evidence.studies[record_id].publications)
    if kind == "review":
        return [evidence.reviews[record_id].publication]
    if kind == "regimen":
        return sorted({p for study in evidence.studies.values() for cohort in study.cohorts
                       if cohort.regimen == record_id for p in study.publications})
    return []


def _cite_files(site: Path, evidence: Evidence, suffix: str):
    by_prefix = {kind.url_prefix: kind for kind in RECORD_KINDS.values()}
    files = sorted(site.rglob(f"cite{suffix}"))
    for path in files:
        prefix, record_id = path.parent.relative_to(site).parts
        kind = by_prefix[prefix]
        record = evidence.by_kind(kind.name)[record_id]
        yield path, kind, record, _expected_sources(evidence, kind.name, record_id)


def _publication_fields(publication) -> dict[str, str | None]:
    """What a source's citation entry must say, as the record says it (values collapsed to one line)."""
    return {"title": collapsed(publication.title), "container": collapsed(publication.journal),
            "volume": collapsed(publication.volume), "issue": collapsed(publication.issue),
            "pages": collapsed(publication.pages), "doi": publication.doi,
            "year": str(publication.year) if publication.year else None}


def collapsed(text: str | None) -> str | None:
    """A value as citations.one_line() documents BibTeX and RIS values: control characters as spaces, white space
    runs as one space (one-line fields cannot hold either, so this only matters for runs of spaces)."""
    if text is None:
        return None
    return " ".join("".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text).split()) or None


def first_difference(got: Any, want: Any) -> str:
    """Where two values part, with a little context, instead of two 500-character strings."""
    if not (isinstance(got, str) and isinstance(want, str)):
        return f"wrote back {str(got)[:120]!r}, the record says {str(want)[:120]!r}"
    at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    return (f"differs at character {at}: wrote back ...{got[max(0, at - 30):at + 30]!r}..., the record says"
            f" ...{want[max(0, at - 30):at + 30]!r}... (lengths {len(got)}, {len(want)})")


def _compare(where: str, parsed: dict[str, Any], expected: dict[str, Any], names: tuple[list[str], list[str]] | None,
             differences: list[str]) -> None:
    for key, value in expected.items():
        if parsed.get(key) != value:
            differences.append(f"{where} {key}: {first_difference(parsed.get(key), value)}")
    if names is not None:
        got, want = names
        for g, w in zip(got, want):
            if not _same_name(g, w):
                differences.append(f"{where} author: {first_difference(g, w)}")
        if len(got) != len(want):
            differences.append(f"{where} authors: {len(got)} written back, the record has {len(want)}")


BIBTEX_FIELDS = {"title", "author", "journal", "booktitle", "howpublished", "publisher", "year", "volume", "number",
                 "pages", "doi", "url", "note", "date"}


def test_bibtex_downloads_parse_back_to_the_records(run):
    differences: list[str] = []
    checked = 0
    for name, (site, evidence) in run.hostile_sites().items():
        for path, kind, record, sources in _cite_files(site, evidence, ".bib"):
            where = f"{name} {path.relative_to(site)}"
            library = bibtexparser.parse_string(path.read_text(encoding="utf-8"), append_middleware=[SeparateCoAuthors()])
            if library.failed_blocks or library.comments or library.strings or library.preambles:
                differences.append(f"{where}: blocks that are not entries: "
                                   f"{[b.raw[:200] for b in library.failed_blocks + library.comments]}")
            entries = {entry.key: entry for entry in library.entries}
            page_key = f"atlas-{kind.folder}-{record.id}"
            if sorted(entries) != sorted([page_key, *sources]) or len(library.entries) != len(entries):
                differences.append(f"{where}: entries {[e.key for e in library.entries]}, expected {[page_key, *sources]}")
                continue
            for key, entry in entries.items():
                fields = {f.key: f.value for f in entry.fields}
                if set(fields) - BIBTEX_FIELDS:
                    differences.append(f"{where} {key}: forged fields {sorted(set(fields) - BIBTEX_FIELDS)}")
                text = {k: latex_text(v) for k, v in fields.items() if isinstance(v, str)}
                authors = [_name_text(a) for a in fields.get("author", [])]
                if key == page_key:
                    title = collapsed(getattr(record, "title", None) or getattr(record, "name"))
                    if not text.get("title", "").startswith(title + " ["):
                        differences.append(f"{where} title: {first_difference(text.get('title'), title + ' [')}")
                    if record.curators:
                        _compare(where + " " + key, {}, {}, (authors, list(record.curators)), differences)
                else:
                    publication = evidence.publications[key]
                    wanted = _publication_fields(publication)
                    container = next((text[f] for f in ("journal", "booktitle", "howpublished") if f in text), None)
                    pages = text.get("pages")
                    parsed = {"title": text.get("title"), "container": container, "volume": text.get("volume"),
                              "issue": text.get("number"), "doi": text.get("doi"), "year": text.get("year"),
                              "pages": re.sub(r"-(-)", r"\1", pages) if pages else None}
                    _compare(f"{where} {key}", parsed, wanted, (authors, list(publication.authors)), differences)
                checked += 1
    assert checked >= 2 * len(run.plans)
    assert differences == [], "\n".join(differences[:40])


RIS_KEYS = {"type_of_reference", "id", "title", "authors", "journal_name", "secondary_title", "publisher", "year",
            "date", "volume", "number", "start_page", "end_page", "doi", "urls", "notes"}


def test_ris_downloads_parse_back_to_the_records(run):
    differences: list[str] = []
    checked = 0
    for name, (site, evidence) in run.hostile_sites().items():
        for path, kind, record, sources in _cite_files(site, evidence, ".ris"):
            where = f"{name} {path.relative_to(site)}"
            try:
                entries = rispy.loads(path.read_text(encoding="utf-8"))
            except Exception as error:  # noqa: BLE001 - report which file rispy cannot read
                differences.append(f"{where}: rispy cannot read it: {error}")
                continue
            page_key = f"atlas-{kind.folder}-{record.id}"
            keys = [entry.get("id") for entry in entries]
            if sorted(keys, key=str) != sorted([page_key, *sources]):
                differences.append(f"{where}: records {keys}, expected {[page_key, *sources]}")
                continue
            for entry in entries:
                key = entry["id"]
                if set(entry) - RIS_KEYS:
                    differences.append(f"{where} {key}: forged tags {sorted(set(entry) - RIS_KEYS)}")
                if key == page_key:
                    title = collapsed(getattr(record, "title", None) or getattr(record, "name"))
                    if not str(entry.get("title", "")).startswith(title + " ["):
                        differences.append(f"{where} title: {first_difference(entry.get('title'), title + ' [')}")
                    if record.curators:
                        _compare(f"{where} {key}", {}, {}, (entry.get("authors", []), list(record.curators)), differences)
                else:
                    publication = evidence.publications[key]
                    wanted = _publication_fields(publication)
                    # RIS holds a page range as two values, start and end, split at the first hyphen.
                    if publication.pages:
                        start, _, end = publication.pages.partition("-")
                        wanted["pages"] = (collapsed(start) or "", collapsed(end) or "")
                    parsed = {"title": entry.get("title"), "container": entry.get("journal_name"),
                              "volume": entry.get("volume"), "issue": entry.get("number"), "doi": entry.get("doi"),
                              "year": entry.get("year"), "pages": (entry.get("start_page", ""), entry.get("end_page", ""))
                              if publication.pages else None}
                    _compare(f"{where} {key}", parsed, wanted, (entry.get("authors", []), list(publication.authors)),
                             differences)
                checked += 1
    assert checked >= 2 * len(run.plans)
    assert differences == [], "\n".join(differences[:40])
