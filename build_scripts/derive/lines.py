"""Successive lines in the same patients ('follows'), and cohorts that only group the cohorts that carry figures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from build_scripts.load.evidence import parent_chain
from build_scripts.load.vocabulary import WORDS, exposure_rules

if TYPE_CHECKING:
    from build_scripts.load.model import Study
    from build_scripts.load.parts import Cohort


def ancestors(study: Study, cohort_id: str) -> list[str]:
    """The ids of the cohorts a cohort is nested in, nearest first (evidence.parent_chain)."""
    return [c.id for c in parent_chain(study, cohort_id)]


def earlier_lines(study: Study, cohort_id: str) -> list[str]:
    """The cohorts whose patients a cohort follows, nearest first: its 'follows', that cohort's, and so on."""
    follows = {c.id: c.follows for c in study.cohorts}
    chain = [cohort_id]
    while (earlier := follows.get(chain[-1])) is not None and earlier not in chain:
        chain.append(earlier)
    return chain[1:]


def line_number(study: Study, cohort: Cohort) -> int | None:
    """A cohort's place in its line of patients (1 for the first), or None when it is in no line."""
    if cohort.follows is None and not any(c.follows == cohort.id for c in study.cohorts):
        return None
    return len(earlier_lines(study, cohort.id)) + 1


def lines_of_patients(study: Study) -> list[list[Cohort]]:
    """Each line of patients of a study, as its cohorts in order (first line first), in the order they are recorded.

    A line starts at a cohort that follows none and is followed; where two cohorts follow the same one, each goes
    on its own line after the shared start.
    """
    by_id = {c.id: c for c in study.cohorts}
    followers: dict[str, list[Cohort]] = {}
    for cohort in study.cohorts:
        if cohort.follows in by_id:
            followers.setdefault(cohort.follows, []).append(cohort)
    lines: list[list[Cohort]] = []

    def walk(path: list[Cohort]) -> None:
        after = [c for c in followers.get(path[-1].id, []) if c not in path]
        if not after:
            lines.append(path)
        for cohort in after:
            walk(path + [cohort])

    for cohort in study.cohorts:
        if cohort.follows is None and cohort.id in followers:
            walk([cohort])
    return lines


def _containing(study: Study, cohort_id: str) -> dict[str, bool]:
    """Every cohort whose patients include some of this one's, by 'parent' (a subset) and 'follows' (the same
    patients at an earlier line), itself included: for each, whether the way there goes through a 'follows'."""
    links = {c.id: (c.parent, c.follows) for c in study.cohorts}
    found: dict[str, bool] = {cohort_id: False}
    todo = [(cohort_id, False)]
    while todo:
        current, through_line = todo.pop()
        parent, earlier = links.get(current, (None, None))
        for nxt, line in ((parent, through_line), (earlier, True)):
            if nxt is None or nxt not in links or found.get(nxt) is True or (nxt in found and not line):
                continue
            found[nxt] = line
            todo.append((nxt, line))
    return found


def in_one_line(study: Study, a: str, b: str) -> bool:
    """Whether two cohorts of a study may hold the same patients at different lines: some cohort holds patients of
    both, and the way from one of them to it goes through a 'follows' (a later line of its patients)."""
    up_a, up_b = _containing(study, a), _containing(study, b)
    return any(up_a[c] or up_b[c] for c in up_a.keys() & up_b.keys())


def is_grouping(study: Study, cohort: Cohort) -> bool:
    """Whether a cohort only groups others: no figure of its own for any measure, while a cohort nested in it (or a
    later line of its patients) reports some. Such a cohort is a heading, not a cohort that did not report."""
    if cohort.outcomes:
        return False
    return any(other.outcomes and (cohort.id in ancestors(study, other.id) or cohort.id in earlier_lines(study, other.id))
               for other in study.cohorts if other.id != cohort.id)


def line_problems(study: Study) -> list[tuple[tuple, str]]:
    """(field path, message) for each misuse of 'follows' and each naive cohort nested in exposed patients."""
    from build_scripts.derive.facts import population_status

    problems: list[tuple[tuple, str]] = []
    by_id = {c.id: c for c in study.cohorts}
    index = {c.id: i for i, c in reversed(list(enumerate(study.cohorts)))}
    reported_cycles: set[frozenset[str]] = set()
    for i, cohort in enumerate(study.cohorts):
        path = ("cohorts", i, "follows")
        if cohort.follows is not None:
            if cohort.follows == cohort.id:
                problems.append((path, "a cohort cannot follow itself"))
            elif cohort.follows not in by_id:
                problems.append((path, f"no cohort '{cohort.follows}' in this study; 'follows' names a cohort of the"
                                       " same study (patients of another study are linked with 'related_studies')"))
            elif cohort.follows in ancestors(study, cohort.id) or cohort.id in ancestors(study, cohort.follows):
                problems.append((path, f"cohort '{cohort.follows}' is nested in this one or this one in it ('parent'),"
                                       " which makes them the same line of patients; a later line is a cohort of its"
                                       " own, outside the earlier one"))
            else:
                chain = [cohort.id] + earlier_lines(study, cohort.id)
                last = by_id[chain[-1]].follows
                if last in chain and frozenset(chain[chain.index(last):]) not in reported_cycles:
                    cycle = chain[chain.index(last):]
                    reported_cycles.add(frozenset(cycle))
                    first = min(cycle, key=lambda c: index[c])
                    cycle = cycle[cycle.index(first):] + cycle[:cycle.index(first)]
                    # 'follows' runs from the later line to the earlier one; the cycle is shown in that direction.
                    problems.append((("cohorts", index[first], "follows"),
                                     f"successive lines form a cycle ({' -> '.join(cycle + [first])}); a line cannot"
                                     " come after itself"))
        defined = cohort.population.prior_exposure if cohort.population is not None else None
        if defined is None or defined.status != exposure_rules().naive:
            continue
        enclosing = [(by_id[a].population, f"cohort '{a}'") for a in ancestors(study, cohort.id) if a in by_id]
        # Only cohorts it is nested in: a study population may describe its patients in the question alone, beside whom a
        # naive comparison group is recorded (the study's facts then say more than every cohort shares).
        for population, where in enclosing:
            found = population_status(population, where)
            if found is None:
                continue
            status, was_defined = found
            if status.status in exposure_rules().every_patient_exposed():
                shown = population.prior_exposure.status if was_defined else status.status  # type: ignore[union-attr]
                problems.append((("cohorts", i, "population", "prior_exposure", "status"),
                                 f"a naive cohort cannot sit within {where}, whose patients all had"
                                 f" {WORDS['a_index_agent']} before ('{shown}'); if they are the same patients at an"
                                 " earlier line (first use), record that line as a cohort of its own outside it, and"
                                 " name it in 'follows' of the later line"))
            break
    return problems
