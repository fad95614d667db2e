"""Page descriptions (meta description and link previews) of record, index and chart pages, from the records."""

from __future__ import annotations

from typing import Any

from build_scripts.load.evidence import Evidence, patient_count
from build_scripts.load.vocabulary import AGENT_CLASSES, DESIGNS, MEASURES, PUBLICATION_TYPES, WORDS
from build_scripts.render.links import citation_with_title


def _listed(names: list[str], most: int = 3) -> str:
    shown = names[:most] + ([f"{len(names) - most} more"] if len(names) > most else [])
    return ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else "".join(shown)


def _counted(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def page_description(evidence: Evidence, kind: str, record_id: str) -> str:
    """A record page's meta description, in plain text from its record: what a search result shows of the page."""
    record = evidence.by_kind(kind)[record_id]
    if kind == "study":
        regimens: list[str] = []
        for cohort in record.cohorts:
            if cohort.regimen and evidence.regimens[cohort.regimen].name not in regimens:
                regimens.append(evidence.regimens[cohort.regimen].name)
        found = patient_count(record)
        size = (f"{found[0].value} patients" if found is not None and found[0].value is not None
                else "number of patients not reported")
        phase = f" (phase {record.phase})" if record.phase else ""
        treated = f" of {_listed(regimens)}" if regimens else ""
        return (f"{record.short_name or record.title}: {DESIGNS[record.design].label}{phase}{treated}; {size}."
                " Every figure with its source.")
    if kind == "regimen":
        studies = len({s.id for s, _ in evidence.cohorts_by_regimen.get(record.id, [])})
        return (f"{record.name}: outcomes in {_counted(studies, 'study', 'studies')} of the atlas, every figure with"
                " its source.")
    if kind == "agent":
        regimens = len(evidence.regimens_by_agent.get(record.id, []))
        return (f"{record.name} ({AGENT_CLASSES[record.agent_class]}): part of"
                f" {_counted(regimens, 'regimen', 'regimens')} of the atlas.")
    if kind == "publication":
        studies = len(evidence.studies_by_publication.get(record.id, []))
        return (f"{PUBLICATION_TYPES[record.type]}: {citation_with_title(record)}. Source of"
                f" {_counted(studies, 'study', 'studies')} in the atlas.")
    return (f"Systematic review: {record.title}. {_counted(len(record.included_studies), 'study', 'studies')}"
            f" included, {len(record.discussed_studies)} discussed but not included.")


INDEX_DESCRIPTIONS = {
    "study": "The {total} studies of the atlas, with their design, regimens and number of patients",
    "regimen": "The {total} regimens of the atlas and how many studies report each",
    "agent": "The {total} agents of the atlas and their drug classes",
    "publication": "The {total} publications the atlas takes its figures from",
    "review": "The {total} systematic reviews of the atlas",
}


def index_description(kind: str, pager: dict[str, Any]) -> str:
    """The meta description of one page of a kind's index."""
    text = INDEX_DESCRIPTIONS[kind].format(total=pager["total"])
    return text + (f" (page {pager['number']} of {pager['count']})." if pager["count"] > 1 else ".")


def chart_description(measure_name: str) -> str:
    """The meta description of a cross-study chart page."""
    return (f"The {MEASURES[measure_name].in_sentence} of the cohorts of the atlas that report it, by the patients'"
            f" prior {WORDS['index_adjective']} therapy: a chart, and a table of the figures with their sources.")
