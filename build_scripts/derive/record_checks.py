"""Checks of one record on its own: its model, placeholders, dates, and the consistency of its parts."""

from __future__ import annotations

import datetime as dt
import os
import pickle
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator, get_args

from pydantic import BaseModel, ValidationError

from build_scripts.derive.facts import index_refractory_share
from build_scripts.derive.lines import line_problems
from build_scripts.derive.responses import disagreements
from build_scripts.derive.question_count import question_count_problems
from build_scripts.load.cache import code_version, digest, load_store, save_store
from build_scripts.load.evidence import count_cohort
from build_scripts.load.model import RECORD_MODELS, Publication, Record, Review, Study, validation_messages
from build_scripts.load.parts import Cohort, Population, Source, Sourced
from build_scripts.load.problems import Problem
from build_scripts.load.reader import FieldPath, RawRecord, parse_record
from build_scripts.load.vocabulary import MEASURES, WORDS, RecordKind, exposure_rules


# A rate printed to whole per cent may differ from responders/n by up to half a point.
RATE_ROUNDING_TOLERANCE = 0.5 + 1e-9


@dataclass
class FileCheck:
    """What one record file gives on its own: its record (None when it cannot be modelled), its own problems, and
    the id it claims when it cannot be modelled or read (so references to it are not reported as missing too)."""

    record: Record | None
    problems: list[Problem]
    claimed_id: str | None = None
    raw: RawRecord | None = field(default=None, compare=False)
    # Where the record names a source and which publication (record_sources), for the checks across records.
    sources: tuple[tuple[FieldPath, str], ...] = ()


def check_file(path: Path, kind: RecordKind, raw_bytes: bytes) -> FileCheck:
    """Parse and model one record file; everything but the checks across records and against today's date."""
    raw, problems = parse_record(path, kind, raw_bytes)
    if raw is None:
        return FileCheck(None, problems, path.stem)
    record, record_problems = model_record(raw, check_dates=False)
    claimed = raw.data.get("id") if record is None and isinstance(raw.data.get("id"), str) else None
    return FileCheck(record, problems + record_problems, claimed, raw, record_sources(record) if record else ())


class RecordCache:
    """Per-file validation results kept between builds, keyed by the file's bytes, path and the code version."""

    def __init__(self, path: Path):
        self.path = path
        self.current: dict[str, tuple[str, bytes]] = {}
        self.file_digests: dict[Path, str] = {}
        self.reused = 0
        self.parsed = 0  # files checked anew, not taken from the store

    @cached_property
    def key(self) -> str:
        # Read at first use, once the run's topic (part of the code version) is known.
        return code_version()

    @cached_property
    def stored(self) -> dict[str, tuple[str, bytes]]:
        return load_store(self.path, self.key)

    def check(self, path: Path, kind: RecordKind, raw_bytes: bytes) -> FileCheck:
        # Problems name the file as display_path shows it, which follows from the path and the working folder.
        shown = str(path)
        file_key = digest(kind.name, shown, os.getcwd(), raw_bytes)
        entry = self.stored.get(shown)
        if entry is not None and entry[0] == file_key:
            checked, blob = pickle.loads(entry[1]), entry[1]
            self.reused += 1
        else:
            checked = check_file(path, kind, raw_bytes)
            self.parsed += 1
            blob = pickle.dumps(FileCheck(checked.record, checked.problems, checked.claimed_id, None, checked.sources),
                                protocol=pickle.HIGHEST_PROTOCOL)
        self.current[shown] = (file_key, blob)
        self.file_digests[path] = file_key
        return checked

    def save(self) -> None:
        """Keep the results of this run's files (those of files that are gone are dropped), and free them here."""
        if self.current != self.stored:
            save_store(self.path, self.key, self.current)
        self.stored, self.current = {}, {}


PLACEHOLDER = "TODO"


def placeholder_problems(raw: RawRecord) -> list[Problem]:
    """Fields still holding a template's TODO placeholder."""
    found = []

    def visit(value: Any, path: FieldPath) -> None:
        if isinstance(value, str) and value.strip().upper().startswith(PLACEHOLDER):
            found.append(raw.problem(path, f"still a placeholder ({value.strip()[:60]!r}); fill it in or delete the field"))
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(item, path + (key,))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, path + (index,))

    visit(raw.data, ())
    return found


def model_record(raw: RawRecord, today: dt.date | None = None,
                 check_dates: bool = True) -> tuple[Record | None, list[Problem]]:
    """Validate one raw record against its model; dates after `today` (the system's date by default) are refused
    unless check_dates is false (validate_tree checks them apart, since they change with the date, not the file)."""
    placeholders = placeholder_problems(raw)
    if placeholders:
        # The template's TODOs would otherwise also show as pattern errors, twice per field.
        return None, placeholders
    model = RECORD_MODELS[raw.kind.name]
    try:
        record = model.model_validate(raw.data)
    except ValidationError as error:
        problems = [raw.problem(path, message) for path, message in validation_messages(error)]
        problems += [raw.problem(path, message) for path, message in salvage_domain_problems(model, raw.data)]
        return None, problems
    problems = [raw.problem(path + (field_name,), message)
                for path, part in walk_parts(record)
                for field_name, message in part.domain_problems()]
    if record.id != raw.path.stem:
        problems.append(raw.problem(("id",), f"id '{record.id}' must match the file name '{raw.path.stem}'"
                                    f" (rename the file to {record.id}{raw.path.suffix})"))
    if isinstance(record, Study):
        problems.extend(_study_internal_problems(raw, record))
    if isinstance(record, Review):
        problems.extend(_review_internal_problems(raw, record))
    if check_dates:
        problems.extend(future_problems(raw, record, today or dt.date.today()))
    return record, problems


def future_problems(raw: RawRecord, record: Record, today: dt.date) -> list[Problem]:
    """Dates after today: a source cannot be published, nor a search run, in the future."""
    problems = []
    if isinstance(record, Publication) and record.year is not None and record.year > today.year:
        problems.append(raw.problem(("year",), f"year {record.year} is in the future; give the year the source"
                                               " was published"))
    if isinstance(record, Review):
        for name in ("start", "end"):
            date = getattr(record.search, name)
            if isinstance(date, dt.date) and date > today:
                problems.append(raw.problem(("search", name), f"search date {date.isoformat()} is in the future;"
                                                              " give the dates the review reports"))
    return problems


def salvage_domain_problems(model: type[BaseModel], data: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, str]]:
    """Domain problems of the parts of an invalid record that are valid on their own.

    A record with a type error cannot be modelled whole; checking its sound parts still lets a curator
    see every mistake of the record in one run.
    """
    if not isinstance(data, dict):
        return
    for name, info in model.model_fields.items():
        key = info.alias or name
        part_model = _part_model(info.annotation)
        if part_model is None or key not in data:
            continue
        value = data[key]
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for index, item in items:
            item_path = path + ((key,) if index is None else (key, index))
            try:
                part = part_model.model_validate(item)
            except ValidationError:
                yield from salvage_domain_problems(part_model, item, item_path)
                continue
            for sub_path, sub_part in walk_parts(part, item_path):
                for field_name, message in sub_part.domain_problems():
                    yield sub_path + (field_name,), message


def _part_model(annotation: Any) -> type[BaseModel] | None:
    """The model class inside an annotation such as list[Outcome] or Population | None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _part_model(argument)
        if found is not None:
            return found
    return None


def walk_parts(part: BaseModel, path: FieldPath = ()) -> Iterator[tuple[FieldPath, BaseModel]]:
    """Every model part inside a record (the record included), with its field path as written in YAML."""
    yield path, part
    for name, info in type(part).model_fields.items():
        value = getattr(part, name)
        key = info.alias or name
        if isinstance(value, BaseModel):
            yield from walk_parts(value, path + (key,))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from walk_parts(item, path + (key, index))


def _duplicates(values: list[tuple[FieldPath, str]]) -> Iterator[tuple[FieldPath, str]]:
    seen: set[str] = set()
    for path, value in values:
        if value in seen:
            yield path, value
        seen.add(value)


def _study_internal_problems(raw: RawRecord, study: Study) -> list[Problem]:
    """Checks within one study: unique local ids, internal references, rates against their counts."""
    problems = []
    cohort_ids = [(("cohorts", i, "id"), cohort.id) for i, cohort in enumerate(study.cohorts)]
    for path, value in _duplicates(cohort_ids):
        problems.append(raw.problem(path, f"cohort id '{value}' is used twice in this study"))
    discrepancy_ids = {d.id for d in study.discrepancies}
    for path, value in _duplicates([(("discrepancies", i, "id"), d.id) for i, d in enumerate(study.discrepancies)]):
        problems.append(raw.problem(path, f"discrepancy id '{value}' is used twice in this study"))
    for path, value in _duplicates([(("publications", i), p) for i, p in enumerate(study.publications)]):
        problems.append(raw.problem(path, f"publication '{value}' is listed twice"))
    for path, value in _duplicates([(("cited_sources", i), p) for i, p in enumerate(study.cited_sources)]):
        problems.append(raw.problem(path, f"cited source '{value}' is listed twice"))
    for i, publication_id in enumerate(study.cited_sources):
        if publication_id in study.publications:
            problems.append(raw.problem(("cited_sources", i), f"'{publication_id}' is one of this study's publications;"
                                                              " list it in 'publications' or 'cited_sources', not both"))
    for path, part in _sourced_parts(study):
        if part.discrepancy is not None and part.discrepancy not in discrepancy_ids:
            problems.append(raw.problem(path + ("discrepancy",),
                                        f"no discrepancy '{part.discrepancy}' is described in this study's 'discrepancies'"))
    known_cohorts = {cohort.id for cohort in study.cohorts}
    for i, cohort in enumerate(study.cohorts):
        if cohort.parent is not None and cohort.parent not in known_cohorts:
            problems.append(raw.problem(("cohorts", i, "parent"), f"no cohort '{cohort.parent}' in this study"))
        if cohort.parent == cohort.id:
            problems.append(raw.problem(("cohorts", i, "parent"), "a cohort cannot be its own parent"))
        for path, value in _duplicates([(("cohorts", i, "patients", j, "id"), p.id) for j, p in enumerate(cohort.patients)]):
            problems.append(raw.problem(path, f"patient id '{value}' is used twice in this cohort"))
        for j, outcome in enumerate(cohort.outcomes):
            if MEASURES[outcome.measure].family == "rate":
                problems.extend(_share_against_counts(raw, ("cohorts", i, "outcomes", j), "value", outcome.value,
                                                      outcome.responders, outcome.n, outcome.discrepancy))
        problems.extend(_per_patient_disagreements(raw, ("cohorts", i), cohort))
        for name in ("adverse_events", "best_response"):
            for j, part in enumerate(getattr(cohort, name)):
                problems.extend(_share_against_counts(raw, ("cohorts", i, name, j), "percent", part.percent,
                                                      part.patients, part.n, part.discrepancy))
    populations = [(("population",), study.population)] + [
        (("cohorts", i, "population"), cohort.population) for i, cohort in enumerate(study.cohorts)]
    for path, population in populations:
        message = _prior_status_conflict(population)
        if message:
            problems.append(raw.problem(path + ("prior_exposure", "status"), message))
    for i, cycle in _parent_cycles(study):
        problems.append(raw.problem(("cohorts", i, "parent"), f"cohort parents form a cycle ({' -> '.join(cycle)});"
                                                              " a cohort cannot be nested inside itself"))
    problems.extend(_comparison_problems(raw, study))
    problems.extend(_count_given_twice(raw, study))
    problems.extend(raw.problem(path, message) for path, message in line_problems(study) + question_count_problems(study))
    return problems


def _per_patient_disagreements(raw: RawRecord, path: FieldPath, cohort: Cohort) -> list[Problem]:
    """A reported rate must agree with the cohort's per-patient best responses, unless flagged as a discrepancy."""
    problems = []
    for j, outcome, computed in disagreements(cohort):
        if outcome.discrepancy is None:
            stated = f"{outcome.value:g}%" + (f" ({outcome.responders}/{outcome.n})" if outcome.responders is not None
                                               and outcome.n is not None else "")
            problems.append(raw.problem(path + ("outcomes", j, "value"), (
                f"{MEASURES[outcome.measure].short} {stated} disagrees with the best responses listed for the"
                f" cohort's patients ({computed.responders}/{computed.n}, {computed.source.location}); describe the"
                " conflict under 'discrepancies' and reference it with 'discrepancy'")))
    return problems


def _review_internal_problems(raw: RawRecord, review: Review) -> list[Problem]:
    """Checks within one review: a study is included or discussed (never both, never twice), local ids unique."""
    problems = []
    for path, value in _duplicates([(("included_studies", i), s) for i, s in enumerate(review.included_studies)]):
        problems.append(raw.problem(path, f"study '{value}' is listed twice"))
    discussed = [(("discussed_studies", i, "study"), d.study) for i, d in enumerate(review.discussed_studies)]
    for path, value in _duplicates(discussed):
        problems.append(raw.problem(path, f"study '{value}' is listed twice"))
    included = set(review.included_studies)
    for path, value in discussed:
        if value in included:
            problems.append(raw.problem(path, f"study '{value}' is also in 'included_studies'; a review either includes"
                                              " a study or discusses it without including it, not both"))
    for path, value in _duplicates([(("findings", i, "id"), f.id) for i, f in enumerate(review.findings)]):
        problems.append(raw.problem(path, f"finding id '{value}' is used twice in this review"))
    for path, value in _duplicates([(("conclusions", i, "id"), c.id) for i, c in enumerate(review.conclusions)]):
        problems.append(raw.problem(path, f"conclusion id '{value}' is used twice in this review"))
    for path, value in _duplicates([(("discrepancies", i, "id"), d.id) for i, d in enumerate(review.discrepancies)]):
        problems.append(raw.problem(path, f"discrepancy id '{value}' is used twice in this review"))
    discrepancy_ids = {d.id for d in review.discrepancies}
    for path, part in _sourced_parts(review):
        if part.discrepancy is not None and part.discrepancy not in discrepancy_ids:
            problems.append(raw.problem(path + ("discrepancy",),
                                        f"no discrepancy '{part.discrepancy}' is described in this review's 'discrepancies'"))
    return problems


def _comparison_problems(raw: RawRecord, study: Study) -> list[Problem]:
    """A comparison is between two different arms of the study."""
    cohorts = {cohort.id: cohort for cohort in study.cohorts}
    problems = []
    for i, comparison in enumerate(study.comparisons):
        for name in ("experimental", "control"):
            cohort_id = getattr(comparison, name)
            cohort = cohorts.get(cohort_id)
            if cohort is None:
                problems.append(raw.problem(("comparisons", i, name), f"no cohort '{cohort_id}' in this study"))
            elif cohort.role != "arm":
                problems.append(raw.problem(("comparisons", i, name),
                                            f"cohort '{cohort_id}' has role '{cohort.role}'; comparisons are between"
                                            " cohorts with role 'arm'"))
        if comparison.experimental == comparison.control:
            problems.append(raw.problem(("comparisons", i, "control"), "an arm cannot be compared with itself"))
    return problems


def _count_given_twice(raw: RawRecord, study: Study) -> list[Problem]:
    """A study-level patient count that repeats a top-level cohort's: the same population typed in two places."""
    study_count = study.population.n if study.population is not None else None
    if study_count is None or study_count.value is None:
        return []
    home = count_cohort(study)
    for i, cohort in enumerate(study.cohorts):
        count = cohort.population.n if cohort.population is not None else None
        if cohort.parent is None and count is not None and count.value == study_count.value:
            advice = ("delete it here: the study's count is taken from that cohort" if cohort is home else
                      "keep it here or on the cohort, not both")
            return [raw.problem(("population", "n", "value"),
                                f"n = {study_count.value} is given twice, here and on cohort '{cohort.id}'"
                                f" (cohorts[{i}].population.n); a population has one home, so {advice}")]
    return []


def _prior_status_conflict(population: Population | None) -> str | None:
    """A population defined one way while its own share refractory to the index class says another."""
    if population is None or population.prior_exposure is None or population.prior_exposure.discrepancy:
        return None
    status, share = population.prior_exposure.status, index_refractory_share(population)
    if share is None:
        return None
    rules = exposure_rules()
    conflict = {rules.share_all: share < 100, rules.share_none: share > 0, rules.naive: share > 0,
                rules.partly_naive: share >= 100}.get(status, False)
    if not conflict:
        return None
    return (f"'{status}' disagrees with the {share:g}% of this population recorded as refractory to"
            f" {WORDS['index_adjective']} therapy; correct one of them, use '{rules.exposed_by_share}' to let the share"
            " decide, or"
            " record the conflict under 'discrepancies' and reference it with 'discrepancy'")


def _parent_cycles(study: Study) -> list[tuple[int, list[str]]]:
    """Cycles of two or more cohorts through 'parent', each once: (index of its first cohort, ids round it)."""
    parents = {cohort.id: cohort.parent for cohort in study.cohorts}
    first_index: dict[str, int] = {}
    for i, cohort in enumerate(study.cohorts):
        first_index.setdefault(cohort.id, i)
    cycles, on_a_cycle = [], set()
    for cohort in study.cohorts:
        chain: list[str] = []
        current: str | None = cohort.id
        while current in parents and current not in chain:
            chain.append(current)
            current = parents[current]
        if current not in chain or current in on_a_cycle:
            continue
        cycle = chain[chain.index(current):]
        if len(cycle) < 2:
            continue  # a cohort that is its own parent is reported on its own
        on_a_cycle.update(cycle)
        start = min(range(len(cycle)), key=lambda k: first_index[cycle[k]])
        cycle = cycle[start:] + cycle[:start]
        cycles.append((first_index[cycle[0]], cycle + [cycle[0]]))
    return sorted(cycles)


def _share_against_counts(raw: RawRecord, path: FieldPath, field_name: str, percent: float | None,
                          count: int | None, n: int | None, discrepancy: str | None) -> list[Problem]:
    """A printed percentage must agree with count/n, unless the disagreement is flagged as a discrepancy."""
    if percent is None or count is None or n is None or discrepancy is not None:
        return []
    computed = 100.0 * count / n
    if abs(computed - percent) > RATE_ROUNDING_TOLERANCE:
        return [raw.problem(path + (field_name,),
                            f"{percent:g}% disagrees with {count}/{n} = {computed:.1f}%; correct it, or record the"
                            " conflict under 'discrepancies' and reference it with 'discrepancy'")]
    return []


def _sourced_parts(record: BaseModel) -> Iterator[tuple[FieldPath, Sourced]]:
    """Every part of a record that carries a source and may be flagged as a discrepancy, with its field path."""
    for path, part in walk_parts(record):
        if isinstance(part, Sourced):
            yield path, part


def record_sources(record: BaseModel) -> tuple[tuple[FieldPath, str], ...]:
    """(field path, publication id) of every source a record names."""
    return tuple((path, source.publication) for path, source in all_sources(record))


def all_sources(record: BaseModel) -> Iterator[tuple[FieldPath, Source]]:
    """Every (field path, source) in a record, for checks that every figure names a real publication."""
    for path, part in walk_parts(record):
        if isinstance(part, Source):
            yield path, part
