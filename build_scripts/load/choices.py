"""The choice types of the records: a field whose value is one of a vocabulary's keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Mapping

from pydantic import AfterValidator

from build_scripts.load.vocabulary import (
    ADVERSE_EVENT_GRADES, AGENT_CLASSES, COHORT_ROLES, DESIGNS, EFFECT_MEASURES, ELIGIBILITY_KINDS, FINDING_SCOPES,
    FINDING_STATISTICS, FINDING_UNITS, MEASURES, EXPOSURE_DEFINITIONS, PUBLICATION_TYPES, REFRACTORY_CLASSES,
    RESPONSE_CATEGORIES, SPREADS, TITLE_STATUSES, STATUSES, TRIAL_STATUSES, UNITS,
)


@dataclass(frozen=True, eq=False)
class Choice:
    """Marks a str type as one of a vocabulary's values, so the field reference can list them with their labels."""

    name: str
    vocabulary: Mapping[str, Any]  # may be the topic's: read when listed, not when the type is made

    @property
    def options(self) -> tuple[tuple[str, str | None], ...]:
        """(value, label) of every option, in the vocabulary's order."""
        return tuple((key, _label(entry)) for key, entry in self.vocabulary.items())


def _label(entry: Any) -> str | None:
    """A vocabulary entry's label: the entry itself when it is a plain string, None when it has no label."""
    return entry if isinstance(entry, str) else getattr(entry, "label", None)


def _choice(name: str, options: Mapping[str, Any]) -> Any:
    """A str field restricted to a vocabulary's keys, with the options in the error message."""

    def check(value: str) -> str:
        if value not in options:
            raise ValueError(f"'{value}' is not a known {name}; use one of: {', '.join(options)}")
        return value

    return Annotated[str, AfterValidator(check), Choice(name, options)]


MeasureName = _choice("measure", MEASURES)
UnitName = _choice("unit", UNITS)
StatusName = _choice("status", STATUSES)
ResponseName = _choice("response category", RESPONSE_CATEGORIES)
DesignName = _choice("design", DESIGNS)
RoleName = _choice("cohort role", COHORT_ROLES)
PublicationTypeName = _choice("publication type", PUBLICATION_TYPES)
AgentClassName = _choice("agent class", AGENT_CLASSES)
RefractoryClassName = _choice("refractory class", REFRACTORY_CLASSES)
GradeName = _choice("adverse event grade", ADVERSE_EVENT_GRADES)
SpreadName = _choice("kind of spread", SPREADS)
TrialStatusName = _choice("trial status", TRIAL_STATUSES)
EligibilityKindName = _choice("kind of criterion", ELIGIBILITY_KINDS)
EffectMeasureName = _choice("effect measure", EFFECT_MEASURES)
FindingScopeName = _choice("evidence type of a review finding", FINDING_SCOPES)
FindingStatisticName = _choice("statistic", FINDING_STATISTICS)
FindingUnitName = _choice("unit of a review finding", FINDING_UNITS)
ExposureName = _choice("prior exposure status", EXPOSURE_DEFINITIONS)
TitleStatusName = _choice("title status", TITLE_STATUSES)
