"""Turn raw records into a validated Evidence base: each record checked on its own (record_checks.py), then the
checks across records; every problem of a run reported together."""

from __future__ import annotations

import datetime as dt
import gc
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator

from build_scripts.derive.kept_links import KeptLinks
from build_scripts.derive.ledger import ledger_problems
from build_scripts.derive.record_checks import RecordCache, check_file, future_problems, record_sources
from build_scripts.derive.record_links import RecordLinks
from build_scripts.load.evidence import Evidence
from build_scripts.load.model import Record
from build_scripts.load.problems import WARNING, EvidenceError, Problem
from build_scripts.load.reader import DeferredRaw, FieldPath, RawRecord, read_record_bytes, record_files
from build_scripts.load.topic import read_topic
from build_scripts.load.topic_model import Topic, activate


def use_topic(evidence_dir: Path) -> Topic:
    """Read the evidence folder's topic and make it the topic of the run; raise EvidenceError if it is invalid."""
    topic, problems = read_topic(evidence_dir)
    if topic is None:
        # Records and the guide are checked against the topic's vocabularies: without it there is nothing to check.
        raise EvidenceError(problems, [])
    activate(topic)
    return topic


def validate_tree(evidence_dir: Path, today: dt.date | None = None, cache: RecordCache | None = None,
                  topic: Topic | None = None, kept: KeptLinks | None = None) -> Evidence:
    """Load, model and cross-check every record; raise EvidenceError listing every problem.

    `today` is the date against which dates in the future are refused (the system's date unless given).
    With a cache, a file whose bytes (and the code) are unchanged since it was last checked is not read
    again: its record and its own problems come from the cache, and only the checks across records run anew.
    `topic` is the folder's topic when the caller has already read it (use_topic); else it is read here.
    With `kept` as well, the checks of a record's references run again only when the record or a record they read
    changed (kept_links.py); the problems reported are the same.
    """
    today = today or dt.date.today()
    if topic is None:
        use_topic(evidence_dir)
    else:
        activate(topic)
    problems: list[Problem] = []
    modelled: list[tuple[RawRecord | DeferredRaw, Record]] = []
    # Records that cannot be read or modelled are still known by id, so references to them are not
    # reported a second time as missing.
    invalid: set[tuple[str, str]] = set()
    sources: dict[tuple[str, str], tuple[tuple[FieldPath, str], ...]] = {}
    # The records live until the build ends: a collection while they are made would only walk them again and again
    # (it was two thirds of taking them from the cache).
    with collection_paused():
        for path, kind in record_files(evidence_dir, problems):
            raw_bytes, problem = read_record_bytes(path)
            if raw_bytes is None:
                problems.append(problem)
                invalid.add((kind.name, path.stem))
                continue
            checked = cache.check(path, kind, raw_bytes) if cache is not None else check_file(path, kind, raw_bytes)
            problems.extend(checked.problems)
            if checked.record is not None:
                raw = checked.raw or DeferredRaw(kind, path)
                problems.extend(future_problems(raw, checked.record, today))
                modelled.append((raw, checked.record))
                # The first of two records with one id is the one assemble keeps, so its sources are the ones checked.
                sources.setdefault((kind.name, checked.record.id), checked.sources)
            elif checked.claimed_id is not None:
                invalid.add((kind.name, checked.claimed_id))
        # Records are known by their files' digests only through the cache, so without it nothing can be kept.
        evidence, link_problems = assemble(modelled, invalid, sources, kept if cache is not None else None,
                                           cache.file_digests if cache is not None else None)
    problems.extend(link_problems)
    problems.extend(ledger_problems(evidence, evidence_dir, invalid))
    if problems:
        raise EvidenceError(problems, evidence.warnings)
    return evidence


@contextmanager
def collection_paused(set_aside: bool = False, collect_first: Callable[[], bool] = lambda: False) -> Iterator[None]:
    """The cyclic garbage collector off inside the block, as it was before after it.

    With `set_aside`, everything alive at the end of the block is then left out of every later collection
    (gc.freeze; gc.unfreeze brings it back): a build's records live until it ends, and the one collection that
    follows the block, then each full one, would only walk them all again. When `collect_first()` says so, one
    collection runs before: garbage frozen with the records would be held until the build ends (parsing 30,002
    record files anew left 4.2 million unreachable objects).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if set_aside:
            if collect_first():
                gc.collect()
            gc.freeze()
        if was_enabled:
            gc.enable()


def assemble(modelled: list[tuple[RawRecord, Record]], invalid: set[tuple[str, str]] = frozenset(),
             sources: dict[tuple[str, str], tuple[tuple[FieldPath, str], ...]] | None = None,
             kept: KeptLinks | None = None, file_keys: dict[Path, str] | None = None,
             ) -> tuple[Evidence, list[Problem]]:
    """Put records into one Evidence base and check every reference between them.

    Records that failed their own validation are listed in `invalid`, so that references to them are
    not reported a second time as missing. With `kept` (and the digest of each file in `file_keys`), each record's
    references are checked again only when the record or something its checks read has changed.
    """
    evidence = Evidence()
    raws: dict[tuple[str, str], RawRecord] = {}
    problems: list[Problem] = []
    for raw, record in modelled:
        key = (raw.kind.name, record.id)
        if key in raws:
            problems.append(raw.problem(("id",), f"{raw.kind.label.lower()} id '{record.id}' is also used by {raws[key].shown_path}"))
            continue
        raws[key] = raw
        evidence.by_kind(raw.kind.name)[record.id] = record
        evidence.files[key] = raw.path
    kept = kept if kept is not None else KeptLinks(None)
    including: dict[str, set[str]] = defaultdict(set)
    for review in evidence.reviews.values():
        for study_id in review.included_studies:
            including[study_id].add(review.publication)
    record_keys = {key: (file_keys or {}).get(path, "?") for key, path in evidence.files.items()}
    # Each record's checks read the other records, the failed ones and the including reviews only through these.
    seen, failed, includes = kept.start(evidence, record_keys, {
        "invalid": {key: True for key in invalid},
        "including": {study_id: tuple(sorted(publications)) for study_id, publications in including.items()}})
    links = RecordLinks(seen, failed, includes)
    named = sources or {}
    by_study = [kept.result(("study", study.id), ("studies", "item", study.id),
                            lambda study=study: links.of_study(raws[("study", study.id)], study, named.get(("study", study.id))))
                for study in evidence.studies.values()]
    for study_problems, _ in by_study:
        problems.extend(study_problems)
    for regimen in evidence.regimens.values():
        problems.extend(kept.result(("regimen", regimen.id), ("regimens", "item", regimen.id),
                                    lambda regimen=regimen: links.of_regimen(raws[("regimen", regimen.id)], regimen)))
    for review in evidence.reviews.values():
        problems.extend(kept.result(("review", review.id), ("reviews", "item", review.id),
                                    lambda review=review: links.of_review(raws[("review", review.id)], review,
                                                                          named.get(("review", review.id)))))
    problems.extend(_identifier_clashes(evidence, raws))
    problems.extend(_subgroup_cycles(evidence, raws))
    for _, typed_problems in by_study:
        problems.extend(typed_problems)
    evidence.warnings = _uncited_publications(evidence, raws, sources)
    return evidence, problems


def _named_sources(sources: dict[tuple[str, str], tuple[tuple[FieldPath, str], ...]] | None, kind: str,
                   record: Record) -> tuple[tuple[FieldPath, str], ...]:
    """The sources a record names: as its file check kept them, else found by walking the record (slow at scale)."""
    found = sources.get((kind, record.id)) if sources else None
    return found if found is not None else record_sources(record)


def _uncited_publications(evidence: Evidence, raws: dict[tuple[str, str], RawRecord],
                          sources: dict[tuple[str, str], tuple[tuple[FieldPath, str], ...]] | None = None,
                          ) -> list[Problem]:
    """A warning for each publication no study or review names: it is on the site, but nothing rests on it."""
    named: set[str] = set()
    for study in evidence.studies.values():
        named.update(study.publications, study.cited_sources,
                     (publication for _, publication in _named_sources(sources, "study", study)))
    for review in evidence.reviews.values():
        named.add(review.publication)
        named.update(publication for _, publication in _named_sources(sources, "review", review))
    return [replace(raws[("publication", publication_id)].problem(
                ("id",), f"no study or review cites publication '{publication_id}'; list it in the 'publications' or"
                         " 'cited_sources' of the study it reports, or remove it"), severity=WARNING)
            for publication_id in sorted(evidence.publications) if publication_id not in named]


def _subgroup_cycles(evidence: Evidence, raws: dict[tuple[str, str], RawRecord]) -> list[Problem]:
    """Studies that are subgroups of themselves through 'subgroup_of' and 'parent_of' links; one problem per cycle."""
    # Edges run from subgroup to parent; 'B parent_of A' is the same edge as 'A subgroup_of B'.
    edges: dict[str, dict[str, tuple[RawRecord, FieldPath]]] = defaultdict(dict)
    for study in sorted(evidence.studies.values(), key=lambda s: s.id):
        for i, link in enumerate(study.related_studies):
            if link.study not in evidence.studies or link.study == study.id:
                continue
            child, parent = {"subgroup_of": (study.id, link.study),
                             "parent_of": (link.study, study.id)}.get(link.relation, (None, None))
            if child is not None:
                edges[child].setdefault(parent, (raws[("study", study.id)], ("related_studies", i, "relation")))
    problems, seen = [], set()
    state: dict[str, str] = {}  # "open" while on the depth-first path, "done" once fully explored
    for root in sorted(edges):
        if root in state:
            continue
        path, pending = [root], [iter(sorted(edges[root]))]
        state[root] = "open"
        while pending:
            target = next(pending[-1], None)
            if target is None:
                state[path.pop()] = "done"
                pending.pop()
            elif state.get(target) == "open":
                cycle = path[path.index(target):]
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    start = cycle.index(min(cycle))
                    cycle = cycle[start:] + cycle[:start]
                    raw, field_path = edges[cycle[0]][cycle[1]]
                    shown = " -> ".join(cycle + [cycle[0]])
                    problems.append(raw.problem(field_path, f"studies form a cycle of subgroups ({shown}, each a subgroup"
                                                            " of the next); a study cannot be a subgroup of itself"))
            elif target not in state:
                state[target] = "open"
                path.append(target)
                pending.append(iter(sorted(edges.get(target, ()))))
    return problems


def _identifier_clashes(evidence: Evidence, raws: dict[tuple[str, str], RawRecord]) -> list[Problem]:
    """A DOI or PMID belongs to one publication; a registry id to one study unless the studies are linked."""
    problems = []
    for field_name in ("doi", "pmid", "pmcid"):
        owners: dict[str, str] = {}
        for publication in evidence.publications.values():
            value = getattr(publication, field_name)
            if value is None:
                continue
            key = value.lower()
            if key in owners:
                problems.append(raws[("publication", publication.id)].problem(
                    (field_name,), f"{field_name.upper()} {value} is also given by publication '{owners[key]}'"))
            else:
                owners[key] = publication.id
    linked = defaultdict(set)
    for study in evidence.studies.values():
        for link in study.related_studies:
            linked[study.id].add(link.study)
            linked[link.study].add(study.id)
    registry_owners: dict[str, str] = {}
    for study in evidence.studies.values():
        for i, registry_id in enumerate(study.registry_ids):
            owner = registry_owners.get(registry_id)
            if owner is None:
                registry_owners[registry_id] = study.id
            elif owner not in linked[study.id]:
                problems.append(raws[("study", study.id)].problem(
                    ("registry_ids", i), f"registry id {registry_id} is also given by study '{owner}'; link the two"
                                         " under 'related_studies' if they report the same trial"))
    return problems

