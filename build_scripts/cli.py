"""The command line: validate records, build or preview the site, check links and URLs, start new records."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit

from build_scripts.derive.checks import validate_tree
from build_scripts.derive.guide import validate_with_guide
from build_scripts.derive.ledger import missing_from_ledger, update_ledger
from build_scripts.load.problems import EvidenceError, Problem, warnings_report
from build_scripts.load.reader import LEDGER_NAME
from build_scripts.load.settings import SiteSettings
from build_scripts.publish.build import build_site
from build_scripts.publish.layout import NEW_RECORDS, BuildError, BuildReport, Layout
from build_scripts.publish.linkcheck import check_site

ROOT = Path(__file__).resolve().parent.parent


def _report(error: EvidenceError) -> None:
    _warn(error.warnings)
    print(error.report(), file=sys.stderr)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for problem in error.problems:
            print(problem.github_annotation())


def _warn(warnings: list[Problem]) -> None:
    """Print the warnings (which neither fail nor stop a run), and annotate them in GitHub Actions."""
    if not warnings:
        return
    print(warnings_report(warnings), file=sys.stderr)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for problem in sorted(set(warnings)):
            print(problem.github_annotation())


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        # The guide checked is the one of --content, else the content folder beside the evidence folder, if any.
        content = Path(args.content) if args.content else Path(args.evidence).resolve().parent / "content"
        evidence, _ = validate_with_guide(Path(args.evidence), content)
    except EvidenceError as error:
        _report(error)
        return 1
    _warn(evidence.warnings)
    print(f"{evidence.record_count()} records are valid.")
    return 0


def _layout(args: argparse.Namespace) -> Layout:
    return Layout(Path(args.atlas), Path(args.evidence), Path(args.content), Path(args.templates), Path(args.work),
                  Path(args.site))


def _atlas_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """Each folder not given on the command line, in the atlas's own folder (--atlas, the repository by default):
    its evidence/ and content/, and for a build its build/ and site/; the templates are the project's."""
    atlas = Path(args.atlas)
    for name, folder in (("evidence", "evidence"), ("content", "content"), ("work", "build"), ("site", "site")):
        # validate checks the guide of the content folder beside the evidence folder it is given (cmd_validate)
        if getattr(args, name, "absent") is None and not (args.command == "validate" and name == "content"):
            setattr(args, name, str(atlas / folder))
    return args


def cmd_build(args: argparse.Namespace) -> int:
    layout = _layout(args)
    report = BuildReport()
    try:
        evidence = build_site(layout, report)
    except EvidenceError as error:
        _report(error)
        print("The site was not built.", file=sys.stderr)
        return 1
    except BuildError as error:
        print(error, file=sys.stderr)
        print("The site was not built.", file=sys.stderr)
        return 1
    _warn(evidence.warnings)
    steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.steps.items())
    print(f"Built {layout.site} from {evidence.record_count()} records: {report.pages} pages, {report.charts} charts"
          f" ({report.charts_rendered} rendered anew), {report.files_written} files written. {steps}.")
    if args.report:
        Path(args.report).write_text(json.dumps(asdict(report), indent=1) + "\n", encoding="utf-8")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    from build_scripts.publish.preview import preview

    return preview(_layout(args), args.port)


def cmd_urls(args: argparse.Namespace) -> int:
    evidence_dir = Path(args.evidence)
    try:
        evidence = validate_tree(evidence_dir)
    except EvidenceError as error:
        _report(error)
        return 1
    if args.update:
        added = update_ledger(evidence, evidence_dir)
        print(f"Added {len(added)} URL{'s' if len(added) != 1 else ''} to {evidence_dir / LEDGER_NAME}.")
        for url in added:
            print(f"  {url}")
        return 0
    missing = missing_from_ledger(evidence, evidence_dir)
    if missing:
        print(f"{len(missing)} record URL(s) are not in {evidence_dir / LEDGER_NAME}; run"
              " `python -m build_scripts urls --update` and commit the ledger:", file=sys.stderr)
        for url in missing:
            print(f"  {url}", file=sys.stderr)
        return 1
    print("Every record URL is in the ledger, and every published URL still resolves.")
    return 0


def cmd_linkcheck(args: argparse.Namespace) -> int:
    site = Path(args.site)
    broken = check_site(site, urlsplit(SiteSettings.read(Path(args.atlas) / "mkdocs.yml").url).path or "/")
    for link in broken:
        print(link, file=sys.stderr)
    if broken:
        print(f"{len(broken)} broken link(s) in {site}.", file=sys.stderr)
        return 1
    print(f"No broken internal link in {site}.")
    return 0


NEW_KINDS = ("study", "publication", "regimen", "agent")


def cmd_new(args: argparse.Namespace) -> int:
    import re

    from build_scripts.load.fields import SLUG_MAX, SLUG_PATTERN
    from build_scripts.load.vocabulary import RECORD_KINDS

    if not re.match(SLUG_PATTERN, args.id) or len(args.id) > SLUG_MAX:
        print(f"'{args.id}' is not a valid id: use lower-case letters, digits and single hyphens, at most {SLUG_MAX}"
              " characters (e.g. smith-2024-dpd)", file=sys.stderr)
        return 2
    target = Path(args.evidence) / RECORD_KINDS[args.kind].folder / f"{args.id}.yaml"
    if target.exists():
        print(f"{target} already exists; edit it instead.", file=sys.stderr)
        return 2
    # The templates are the topic's content (their examples name its drugs), so each atlas writes its own.
    template = (Path(args.content) / NEW_RECORDS / f"{args.kind}.yaml").read_text(encoding="utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(template.replace("{{ id }}", args.id), encoding="utf-8")
    print(f"Wrote {target}. Fill in every TODO, then run: python -m build_scripts validate")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m build_scripts", description=__doc__)
    parser.add_argument("--atlas", default=str(ROOT), help="the atlas's folder: its mkdocs.yml, CITATION.cff,"
                                                         " CHANGELOG.md, evidence/ and content/ (default: %(default)s)")
    parser.add_argument("--evidence", help="evidence folder (default: evidence/ in the atlas's folder)")
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check every record, the questions and the bottom line; print"
                                                    " every problem as path:line:col: field: message")
    validate.add_argument("--content", help="content folder whose questions and bottom line are checked too"
                                            " (default: the folder 'content' beside the evidence folder)")
    build = commands.add_parser("build", help="validate, generate pages and build the site into --site")
    build.add_argument("--content", help="content folder (default: content/ in the atlas's folder)")
    build.add_argument("--templates", default=str(ROOT / "templates"))
    build.add_argument("--work", help="build folder (default: build/ in the atlas's folder)")
    build.add_argument("--site", help="output folder (default: site/ in the atlas's folder)")
    build.add_argument("--report", help="write the build's step timings and counts to this JSON file")
    preview = commands.add_parser("preview", help="build, serve on 127.0.0.1 and rebuild whenever an input is saved")
    preview.add_argument("--content", help="content folder (default: content/ in the atlas's folder)")
    preview.add_argument("--templates", default=str(ROOT / "templates"))
    preview.add_argument("--work", help="build folder (default: build/ in the atlas's folder)")
    preview.add_argument("--site", help="output folder (default: site/ in the atlas's folder)")
    preview.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000),
                         help="port on 127.0.0.1; 0 picks a free one (default: $PORT or 8000)")
    urls = commands.add_parser("urls", help="check that every record URL is in the ledger of published URLs")
    urls.add_argument("--update", action="store_true", help="add the current record URLs to the ledger")
    linkcheck = commands.add_parser("linkcheck", help="check every internal link and fragment of a built site")
    linkcheck.add_argument("--site", help="the built site (default: site/ in the atlas's folder)")
    new = commands.add_parser("new", help="write a commented template for a new record")
    new.add_argument("kind", choices=NEW_KINDS)
    new.add_argument("id", help="the new record's id, which becomes its URL")
    new.add_argument("--content", help=f"content folder whose {NEW_RECORDS}/<kind>.yaml is the template (default:"
                                       " content/ in the atlas's folder)")
    args = _atlas_defaults(parser.parse_args(argv))
    handlers = {"validate": cmd_validate, "build": cmd_build, "preview": cmd_preview, "urls": cmd_urls, "linkcheck": cmd_linkcheck, "new": cmd_new}
    return handlers[args.command](args)
