"""Supply chain: every locked package carries its SHA-256 and is installed only against it; the workflows give
contributed content a read-only token and no secrets, and run third-party actions only at a pinned commit."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(==\s*[^\s;\\]+)?")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]*)")
_PINNED_ACTION = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")
# Events that run a pull request's code or content with this repository's token and secrets.
_PRIVILEGED_EVENTS = {"pull_request_target", "workflow_run"}
_UNTRUSTED_EVENTS = {"pull_request", "pull_request_target", "workflow_run", "issue_comment", "issues",
                     "discussion", "discussion_comment"}


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def lock_entries(text: str) -> list[tuple[str, str | None, list[str]]]:
    """Each requirement of a lock file (continuation lines joined): its name, pinned version and hashes."""
    joined = re.sub(r"\\\n", " ", text)
    entries = []
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        match = _REQUIREMENT.match(line)
        assert match, f"not a requirement: {line}"
        version = match.group(3)
        entries.append((_name(match.group(1)), version.lstrip("= ") if version else None, _HASH.findall(line)))
    return entries


def lock_problems(text: str) -> list[str]:
    problems = []
    for name, version, hashes in lock_entries(text):
        if version is None:
            problems.append(f"{name}: not pinned with ==")
        if not hashes:
            problems.append(f"{name}: no --hash=sha256")
        problems += [f"{name}: malformed hash {value!r}" for value in hashes if len(value) != 64]
    return problems


def test_every_locked_package_is_pinned_with_its_sha256():
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert lock_entries(text), "the lock lists no package"
    assert lock_problems(text) == []


@pytest.mark.parametrize("text, expected", [
    ("six==1.17.0\n", "six: no --hash=sha256"),
    ("six \\\n    --hash=sha256:" + "a" * 64 + "\n", "six: not pinned with =="),
    ("six==1.17.0 --hash=sha256:abc\n", "six: malformed hash 'abc'"),
])
def test_the_lock_check_finds_each_fault(text, expected):
    assert expected in lock_problems(text)


def test_every_direct_requirement_is_in_the_lock_at_its_pinned_version():
    locked = {name: version for name, version, _ in lock_entries((ROOT / "requirements.lock").read_text("utf-8"))}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = _REQUIREMENT.match(line)
        name = _name(match.group(1))
        assert name in locked, f"{name} is required but not locked"
        if match.group(3):
            assert locked[name] == match.group(3).lstrip("= "), f"{name}: requirements.txt and the lock differ"


def test_make_installs_only_against_the_lock_s_hashes_and_documents_how_to_regenerate_it():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    installs = [line for line in makefile.splitlines() if re.search(r"pip install\b.*-r\s", line)]
    assert installs, "the Makefile installs nothing from a requirements file"
    for line in installs:
        assert "--require-hashes" in line and "requirements.lock" in line, line
        assert "--only-binary :all:" in line, line  # no package's own build script runs
    assert re.search(r"^lock:", makefile, re.MULTILINE) and "--generate-hashes" in makefile
    assert "make lock" in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()[1]
    assert "make lock" in (ROOT / "README.md").read_text(encoding="utf-8")


# ------------------------------------------------------------------ workflows

def _events(workflow: dict[str, Any]) -> set[str]:
    # YAML 1.1 reads the key `on` as true.
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on}
    return set(on or ())


def _writes(permissions: Any) -> bool:
    if permissions is None:
        return True  # the repository's default, which may be write
    if isinstance(permissions, str):
        return permissions != "read-all"
    return any(value == "write" for value in permissions.values())


def workflow_problems(workflow: dict[str, Any]) -> list[str]:
    """What breaks the rules of least privilege and pinning in one parsed workflow."""
    problems = []
    events = _events(workflow)
    untrusted = events & _UNTRUSTED_EVENTS
    problems += [f"triggered by {event}, which runs contributed content with a write token and secrets"
                 for event in sorted(events & _PRIVILEGED_EVENTS)]
    if "permissions" not in workflow:
        problems.append("no top-level permissions: the token gets the repository's defaults")
    for job_name, job in (workflow.get("jobs") or {}).items():
        permissions = job.get("permissions", workflow.get("permissions"))
        steps = job.get("steps") or []
        writes = _writes(permissions)
        if untrusted and writes:
            problems.append(f"{job_name}: runs on {sorted(untrusted)} with write permissions {permissions!r}")
        text = yaml.safe_dump(job)
        if untrusted and "secrets." in text:
            problems.append(f"{job_name}: uses secrets while running on {sorted(untrusted)}")
        for step in steps:
            uses = step.get("uses")
            if uses and not uses.startswith(("./", "docker://")) and not _PINNED_ACTION.match(uses):
                problems.append(f"{job_name}: {uses} is not pinned to a full commit")
            if uses and uses.split("@")[0] == "actions/checkout" and \
                    (step.get("with") or {}).get("persist-credentials") is not False:
                problems.append(f"{job_name}: actions/checkout leaves the token in .git/config")
            if writes and (step.get("run") or (uses or "").startswith("actions/checkout")):
                problems.append(f"{job_name}: runs the repository's code with write permissions")
            if re.search(r"\$\{\{\s*github\.(event|head_ref)", step.get("run") or ""):
                problems.append(f"{job_name}: interpolates event text into a shell command")
    return problems


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_each_workflow_has_least_privilege_and_pinned_actions(path):
    assert workflow_problems(yaml.safe_load(path.read_text(encoding="utf-8"))) == []


def test_the_pull_request_workflow_reads_only():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pull-request.yml").read_text(encoding="utf-8"))
    assert "pull_request" in _events(workflow)
    assert workflow["permissions"] == {"contents": "read"}
    assert all(job.get("permissions", workflow["permissions"]) == {"contents": "read"}
               for job in workflow["jobs"].values())


SAFE_STEP = {"uses": "actions/checkout@" + "a" * 40, "with": {"persist-credentials": False}}


@pytest.mark.parametrize("workflow, expected", [
    ({"on": {"pull_request_target": None}, "permissions": {"contents": "read"}, "jobs": {}},
     "triggered by pull_request_target"),
    ({"on": ["pull_request"], "jobs": {"j": {"steps": [SAFE_STEP]}}}, "no top-level permissions"),
    ({"on": ["pull_request"], "permissions": {"contents": "write"}, "jobs": {"j": {"steps": []}}},
     "j: runs on ['pull_request'] with write permissions"),
    ({"on": "pull_request", "permissions": {"contents": "read"},
      "jobs": {"j": {"steps": [{"run": "echo ${{ secrets.TOKEN }}"}]}}}, "j: uses secrets"),
    ({"on": ["push"], "permissions": {}, "jobs": {"j": {"steps": [{"uses": "actions/setup-python@v5"}]}}},
     "j: actions/setup-python@v5 is not pinned to a full commit"),
    ({"on": ["push"], "permissions": {}, "jobs": {"j": {"steps": [{"uses": "actions/checkout@" + "a" * 40}]}}},
     "j: actions/checkout leaves the token in .git/config"),
    ({"on": ["push"], "permissions": {}, "jobs": {"j": {"permissions": {"pages": "write"},
                                                        "steps": [{"run": "make site"}]}}},
     "j: runs the repository's code with write permissions"),
    ({"on": ["pull_request"], "permissions": {"contents": "read"},
      "jobs": {"j": {"steps": [{"run": "echo '${{ github.event.pull_request.title }}'"}]}}},
     "j: interpolates event text into a shell command"),
])
def test_the_workflow_check_finds_each_fault(workflow, expected):
    assert any(problem.startswith(expected) for problem in workflow_problems(workflow)), workflow_problems(workflow)
