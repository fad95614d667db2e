"""The generator knows nothing of the atlas's topic: its words live in evidence/ and content/, never in the code."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import ROOT

# The current topic's own words: its disease, its drug target and drugs, their classes and brand names, its response
# criteria, the regimens' abbreviations, the kind of drug its question is about (an antibody) and the act it asks
# about (a retreatment). The pipeline and the templates must name none of them, in code, comments or markup alike.
# "Partner" (a drug given with the index agent) and "refractory" (a disease progressing on a drug) are the
# generator's general notions, as the topic file itself names them; their keys and labels are the topic's.
TOPIC_WORDS = re.compile(
    r"myeloma|cd38|daratumumab|isatuximab|mor202|felzartamab|imwg|imid|celmod|proteasome|lenalidomide|pomalidomide"
    r"|bortezomib|carfilzomib|dexamethasone|darzalex|sarclisa|\bdara\b|\bisa\b|\batra\b|penta"
    r"|antibod|retreat",
    re.IGNORECASE)
CODE_FOLDERS = ("build_scripts", "templates")
TEXT_SUFFIXES = (".py", ".j2", ".html", ".md", ".js", ".css", ".yaml", ".yml", ".txt", ".json", ".toml")


def topic_words_in(root: Path) -> list[str]:
    """Every line under `root` that names a topic word, as 'path:line: word'."""
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES or "__pycache__" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for word in TOPIC_WORDS.findall(line):
                found.append(f"{path.relative_to(root.parent)}:{number}: {word}")
    return found


def test_the_scan_finds_a_topic_word_wherever_it_is_written(tmp_path):
    folder = tmp_path / "build_scripts"
    (folder / "derive").mkdir(parents=True)
    (folder / "derive" / "rules.py").write_text("ok = 1\n# given with Daratumumab\n", encoding="utf-8")
    (folder / "page.md.j2").write_text("{{ x }} in Multiple Myeloma, anti-CD38\n", encoding="utf-8")
    assert topic_words_in(folder) == ["build_scripts/derive/rules.py:2: Daratumumab",
                                      "build_scripts/page.md.j2:1: Myeloma", "build_scripts/page.md.j2:1: CD38"]


def test_the_words_are_the_topics_own_and_live_in_its_files():
    topic = (ROOT / "evidence" / "topic.yaml").read_text(encoding="utf-8")
    for word in ("myeloma", "CD38", "IMWG", "IMiD", "proteasome", "antibody", "retreatment"):
        assert TOPIC_WORDS.search(word) and word in topic


def test_the_pipeline_and_the_templates_name_no_topic_word():
    found = [hit for folder in CODE_FOLDERS for hit in topic_words_in(ROOT / folder)]
    assert found == [], f"{len(found)} topic words in the code:\n" + "\n".join(found[:80])
