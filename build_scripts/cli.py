"""The command line: validate records, build the site, serve it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .build import BuildError, Layout, build_site
from .checks import validate_tree
from .problems import EvidenceError

ROOT = Path(__file__).resolve().parent.parent


def _report(error: EvidenceError) -> None:
    print(error.report(), file=sys.stderr)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for problem in error.problems:
            print(problem.github_annotation())


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        evidence = validate_tree(Path(args.evidence))
    except EvidenceError as error:
        _report(error)
        return 1
    print(f"{evidence.record_count()} records are valid.")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    layout = Layout.default(ROOT)
    layout = Layout(layout.root, Path(args.evidence), Path(args.content), layout.templates,
                    Path(args.work), Path(args.site))
    try:
        evidence = build_site(layout)
    except EvidenceError as error:
        _report(error)
        print("The site was not built.", file=sys.stderr)
        return 1
    except BuildError as error:
        print(error, file=sys.stderr)
        print("The site was not built.", file=sys.stderr)
        return 1
    print(f"Built {layout.site} from {evidence.record_count()} records.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m build_scripts", description=__doc__)
    parser.add_argument("--evidence", default=str(ROOT / "evidence"), help="evidence folder (default: %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("validate", help="check every record; print every problem as path:line:col: field: message")
    build = commands.add_parser("build", help="validate, generate pages and build the site into --site")
    build.add_argument("--content", default=str(ROOT / "content"))
    build.add_argument("--work", default=str(ROOT / "build"), help="build folder (default: %(default)s)")
    build.add_argument("--site", default=str(ROOT / "site"), help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    return {"validate": cmd_validate, "build": cmd_build}[args.command](args)
