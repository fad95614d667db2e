"""The second atlas: a made-up topic (EGFR tyrosine kinase inhibitor rechallenge in lung cancer) in
tests/fixtures/second-atlas, with its own records, topic file, content and site settings, built by the same code as
the real atlas. Shared by tests/test_second_atlas.py and tests/test_browser_second_atlas.py, which build it once per
test run; and the words of the first atlas's topic, none of which its site may show."""

from __future__ import annotations

import re
from pathlib import Path

from build_scripts.load.topic import read_topic
from build_scripts.load.topic_model import Topic
from build_scripts.publish.build import build_site
from build_scripts.publish.layout import Layout

ROOT = Path(__file__).resolve().parent.parent
# The second atlas's project folder: its mkdocs.yml (site name and address), CITATION.cff and CHANGELOG.md (its data
# release), evidence/ (its topic file and records) and content/ (its hand-written pages, questions and bottom line).
# The templates are the project's own: nothing of the code or the theme is copied.
SECOND = Path(__file__).resolve().parent / "fixtures" / "second-atlas"

# Words of the first atlas's topic (anti-CD38 retreatment in multiple myeloma), case-insensitive: none may reach a page
# or a download of the second atlas, whose topic file and records name none of them.
FIRST_TOPIC_WORDS = {
    "myeloma": r"myeloma",
    "CD38": r"cd38",  # anti-CD38, anti_cd38_*, prior_anti_cd38_status
    "daratumumab": r"daratumumab|\bdara\b",
    "isatuximab": r"isatuximab",
    "felzartamab": r"felzartamab|mor202",
    "IMiD": r"(?<![a-z])imids?(?![a-z])",
    "proteasome": r"proteasome",
    "IMWG": r"imwg",
    "pomalidomide": r"pomalidomide",
    "lenalidomide": r"lenalidomide",
    "bortezomib": r"bortezomib",
    "carfilzomib": r"carfilzomib",
    "dexamethasone": r"dexamethasone",
    "corticosteroid": r"corticosteroid",
    "ATRA": r"(?<![a-z])atra(?![a-z])",
    "bispecific": r"bispecific",
    "penta-refractory": r"penta-refractory|triple-class",
    "retreatment": r"retreat",  # the first topic's question; the second's is a "rechallenge"
    # The first topic's agent of the index class (the second's is a "TKI"); not the second topic's own anti-VEGF
    # antibody, a partner class (anti_vegf_antibody, its agent class's key).
    "antibody": r"(?<!vegf )(?<!vegf_)antibod",
}
FIRST_TOPIC_PATTERNS = {word: re.compile(pattern, re.IGNORECASE) for word, pattern in FIRST_TOPIC_WORDS.items()}

def second_topic() -> Topic:
    topic, problems = read_topic(SECOND / "evidence")
    assert topic is not None, problems
    return topic


def second_layout(base: Path) -> Layout:
    return Layout(SECOND, SECOND / "evidence", SECOND / "content", ROOT / "templates", base / "build", base / "site")


def built_second_atlas(tmp_path_factory) -> Path:  # noqa: ANN001 - pytest's TempPathFactory
    """The second atlas's site, built once per test run (both test modules ask for it, in one worker process or in
    two)."""
    from conftest import built_once

    def build(base: Path) -> Path:
        layout = second_layout(base)
        build_site(layout)
        return layout.site

    return built_once(tmp_path_factory, "second-atlas", build)


def first_topic_words(text: str) -> dict[str, str]:
    """Each first-topic word found in a text, with the text around its first occurrence: the schema's field and
    column names are the generator's or the topic's own, so none is exempt."""
    found = {}
    for word, pattern in FIRST_TOPIC_PATTERNS.items():
        match = pattern.search(text)
        if match:
            start, end = max(0, match.start() - 60), min(len(text), match.end() + 60)
            found[word] = " ".join(text[start:end].split())
    return found


def leak_report(leaks: dict[str, dict[str, str]], limit: int = 4) -> str:
    """Leaks by word: in how many files, the first few files, and the context of the first."""
    by_word: dict[str, list[tuple[str, str]]] = {}
    for name, words in sorted(leaks.items()):
        for word, context in words.items():
            by_word.setdefault(word, []).append((name, context))
    lines = [f"{len(by_word)} first-topic words in {len(leaks)} files:"]
    for word, places in sorted(by_word.items(), key=lambda item: -len(item[1])):
        shown = ", ".join(name for name, _ in places[:limit]) + (" ..." if len(places) > limit else "")
        lines.append(f"  {word!r} in {len(places)} files ({shown}); first: ...{places[0][1]}...")
    return "\n".join(lines)
