"""Material's partials are patched, not copied: templates/theme-patches.yaml holds only the lines the atlas changes,
each must match the installed theme exactly, and a patch that no longer matches stops the build naming it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from build_scripts.publish.theme import (
    MATERIAL_TEMPLATES, OWN_THEME_FOLDER, PATCHES_FILE, ThemePatchError, read_patches, theme_files, write_theme,
)
from conftest import ROOT

TEMPLATES = ROOT / "templates"


def test_every_patch_applies_to_the_installed_theme_and_changes_only_its_lines():
    files = theme_files(TEMPLATES)
    patches = read_patches(TEMPLATES / PATCHES_FILE)
    assert len(patches) >= 7
    for patch in patches:
        original = (MATERIAL_TEMPLATES / patch.partial).read_text(encoding="utf-8")
        result = files[patch.partial].decode("utf-8")
        for replacement in patch.patch.replace:
            assert replacement.new in result
            assert replacement.old not in result or replacement.old in replacement.new
        changed_lines = set(result.splitlines()) ^ set(original.splitlines())
        patched_lines = {line for r in patch.patch.replace for text in (r.old, r.new) for line in text.splitlines()}
        patched_lines = {line.strip() for line in patched_lines if line.strip()}
        outside = [line for line in changed_lines if line.strip()
                   and not any(p in line or line.strip() in p for p in patched_lines)]
        assert outside == [], patch.partial


def test_the_atlas_keeps_no_copy_of_a_material_partial():
    own = TEMPLATES / OWN_THEME_FOLDER
    copies = [path.relative_to(own).as_posix() for path in own.rglob("*")
              if path.is_file() and (MATERIAL_TEMPLATES / path.relative_to(own)).exists()]
    # main.html is the theme's own extension point (it only extends base.html), not a copy of a partial.
    assert copies == ["main.html"]
    assert (MATERIAL_TEMPLATES / "main.html").read_text(encoding="utf-8").count("\n") < 20


def test_titles_are_escaped_in_every_partial_that_prints_one():
    files = theme_files(TEMPLATES)
    for partial in ("partials/content.html", "partials/nav-item.html", "partials/path-item.html",
                    "partials/tabs-item.html", "partials/toc-item.html", "partials/footer.html",
                    "partials/header.html"):
        printed = re.findall(r"\{\{[^}]*\btitle\b[^}]*\}\}", files[partial].decode("utf-8"))
        # nav_item.typeset is set only by Material's typeset plugin, which the atlas does not use (below).
        printed = [p for p in printed if "typeset" not in p]
        assert printed, partial
        assert [p for p in printed if not re.search(r"\| e\b", p)] == [], partial


def _theme(tmp_path: Path, patches: str, partial: str = "<h1>{{ page.title }}</h1>\n") -> tuple[Path, Path]:
    templates, material = tmp_path / "templates", tmp_path / "material"
    (templates / OWN_THEME_FOLDER).mkdir(parents=True)
    (templates / OWN_THEME_FOLDER / "main.html").write_text("{% extends 'base.html' %}\n", encoding="utf-8")
    (templates / PATCHES_FILE).write_text(patches, encoding="utf-8")
    (material / "partials").mkdir(parents=True)
    (material / "partials" / "content.html").write_text(partial, encoding="utf-8")
    return templates, material


PATCH = """partials/content.html:
  why: the heading, escaped.
  replace:
    - old: "{{ page.title }}"
      new: "{{ page.title | e }}"
"""


def test_a_patch_makes_its_replacement_and_the_folder_holds_exactly_the_theme(tmp_path):
    templates, material = _theme(tmp_path, PATCH)
    files = theme_files(templates, material)
    assert files == {"main.html": b"{% extends 'base.html' %}\n", "partials/content.html": b"<h1>{{ page.title | e }}</h1>\n"}
    folder = tmp_path / "theme"
    (folder / "partials").mkdir(parents=True)
    (folder / "partials" / "stale.html").write_text("left from an older build", encoding="utf-8")
    write_theme(files, folder)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == sorted(files)


def test_a_patch_whose_text_the_theme_no_longer_has_names_the_partial(tmp_path):
    templates, material = _theme(tmp_path, PATCH, partial="<h1>{{ page.title | upper }}</h1>\n")
    with pytest.raises(ThemePatchError, match=r"partials/content.html: replace\[0\]: the text .* occurs 0 times"):
        theme_files(templates, material)


def test_a_patch_whose_text_occurs_more_often_than_it_says_is_refused(tmp_path):
    templates, material = _theme(tmp_path, PATCH, partial="{{ page.title }}{{ page.title }}\n")
    with pytest.raises(ThemePatchError, match="occurs 2 times"):
        theme_files(templates, material)


@pytest.mark.parametrize("patches, message", [
    (PATCH.replace("  why: the heading, escaped.\n", ""), r"partials/content.html: why: Field required"),
    (PATCH + "      colour: red\n", r"replace.0.colour: Extra inputs are not permitted"),
    (PATCH.replace("partials/content.html:", "../outside.html:"), r"not a path under Material's partials/"),
    ("- just a list\n", r"must map each partial's path to its patch"),
    (PATCH + PATCH.replace("escaped.", "escaped twice."), r":6:1: .*duplicate"),
])
def test_a_malformed_patch_file_names_what_is_wrong(tmp_path, patches, message):
    templates, material = _theme(tmp_path, patches)
    with pytest.raises(ThemePatchError, match=message):
        theme_files(templates, material)


def test_a_partial_both_copied_and_patched_is_refused(tmp_path):
    templates, material = _theme(tmp_path, PATCH)
    (templates / OWN_THEME_FOLDER / "partials").mkdir()
    (templates / OWN_THEME_FOLDER / "partials" / "content.html").write_text("copy", encoding="utf-8")
    with pytest.raises(ThemePatchError, match="has its own copy"):
        theme_files(templates, material)


def test_the_typeset_plugin_whose_titles_are_markup_is_not_used():
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # mkdocs.yml's !!python/name tags
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)
    names = [p if isinstance(p, str) else next(iter(p)) for p in config.get("plugins", [])]
    assert "plugins" in config and not any("typeset" in name for name in names)


def test_a_problem_in_the_patches_names_its_line(tmp_path):
    templates, material = _theme(tmp_path, PATCH.replace('new: "{{ page.title | e }}"', "colour: red"))
    with pytest.raises(ThemePatchError, match=r"theme-patches.yaml:4:\d+: partials/content.html: replace.0"):
        theme_files(templates, material)
    templates, material = _theme(tmp_path / "other", PATCH, partial="<h1>{{ page.title | upper }}</h1>\n")
    with pytest.raises(ThemePatchError, match=r"theme-patches.yaml:4:\d+: partials/content.html: replace\[0\]"):
        theme_files(templates, material)
