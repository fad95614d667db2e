"""Checks of one record's references to the others, which look the others up only through what they are given (so
that what each read can be recorded, and its result kept while that is unchanged)."""

from __future__ import annotations

from build_scripts.derive.facts import cohort_regimens, question_fit
from build_scripts.derive.record_checks import record_sources
from build_scripts.load.evidence import Evidence
from build_scripts.load.model import Regimen, Review, Study
from build_scripts.load.problems import Problem
from build_scripts.load.reader import FieldPath, RawRecord
from build_scripts.load.vocabulary import RECORD_KINDS, WORDS, index_class

Sources = tuple[tuple[FieldPath, str], ...]


class RecordLinks:
    """The evidence, the (kind, id) of records that failed their own checks (`failed`: references to them are not
    reported again as missing) and the publications of the reviews that include each study (`including`)."""

    def __init__(self, evidence: Evidence, failed: dict[tuple[str, str], bool], including: dict[str, tuple[str, ...]]):
        self.evidence, self.failed, self.including = evidence, failed, including

    def _exists(self, kind: str, record_id: str, raw: RawRecord, path: FieldPath) -> list[Problem]:
        if record_id in self.evidence.by_kind(kind) or (kind, record_id) in self.failed:
            return []
        return [raw.problem(path, f"no {kind} record '{record_id}' exists (expected evidence/"
                                  f"{RECORD_KINDS[kind].folder}/{record_id}.yaml)")]

    def of_study(self, raw: RawRecord, study: Study, sources: Sources | None) -> tuple[list[Problem], list[Problem]]:
        """A study's references (publications, sources, regimens, agents, related studies) and its typed questions:
        two lists, since a full report gives the second after the other records' references."""
        evidence, exists, problems = self.evidence, self._exists, []
        for i, publication_id in enumerate(study.publications):
            problems += exists("publication", publication_id, raw, ("publications", i))
        for i, publication_id in enumerate(study.cited_sources):
            problems += exists("publication", publication_id, raw, ("cited_sources", i))
        allowed_sources = set(study.publications) | set(study.cited_sources) | set(self.including.get(study.id, ()))
        for path, publication in sources if sources is not None else record_sources(study):
            if publication not in evidence.publications or ("publication", publication) in self.failed:
                problems += exists("publication", publication, raw, path + ("publication",))
            elif publication not in allowed_sources:
                problems.append(raw.problem(path + ("publication",),
                                            f"'{publication}' is not one of this study's publications (add it to"
                                            " 'publications'), a source it cites (add it to 'cited_sources') nor a"
                                            " review that includes this study"))
        problems += self._status_order(raw, study)
        for i, cohort in enumerate(study.cohorts):
            if cohort.regimen:
                problems += exists("regimen", cohort.regimen, raw, ("cohorts", i, "regimen"))
            for j, patient in enumerate(cohort.patients):
                for k, line in enumerate(patient.lines):
                    if line.regimen:
                        problems += exists("regimen", line.regimen, raw, ("cohorts", i, "patients", j, "lines", k, "regimen"))
        for path, population in (("population",), study.population), *(
                (("cohorts", i, "population"), c.population) for i, c in enumerate(study.cohorts)):
            if population is None or population.prior_exposure is None:
                continue
            for j, agent_id in enumerate(population.prior_exposure.agents):
                where = path + ("prior_exposure", "agents", j)
                agent = evidence.agents.get(agent_id)
                if agent is None:
                    problems += exists("agent", agent_id, raw, where)
                elif agent.agent_class != index_class():
                    problems.append(raw.problem(where, f"agent '{agent_id}' is not {WORDS['a_index_agent']} (its"
                                                       f" class is '{agent.agent_class}'); list only"
                                                       f" {WORDS['index_agents']} here"))
        for i, link in enumerate(study.related_studies):
            problems += exists("study", link.study, raw, ("related_studies", i, "study"))
            if link.study == study.id:
                problems.append(raw.problem(("related_studies", i, "study"), "a study cannot be related to itself"))
        return problems, self._typed_questions(raw, study)

    def of_regimen(self, raw: RawRecord, regimen: Regimen) -> list[Problem]:
        return [problem for i, agent_id in enumerate(regimen.agents)
                for problem in self._exists("agent", agent_id, raw, ("agents", i))]

    def of_review(self, raw: RawRecord, review: Review, sources: Sources | None) -> list[Problem]:
        exists = self._exists
        problems = exists("publication", review.publication, raw, ("publication",))
        for i, study_id in enumerate(review.included_studies):
            problems += exists("study", study_id, raw, ("included_studies", i))
        for i, discussed in enumerate(review.discussed_studies):
            problems += exists("study", discussed.study, raw, ("discussed_studies", i, "study"))
        covered = set(review.included_studies) | {d.study for d in review.discussed_studies}
        cited = [(("findings", i, "studies", j), study_id)
                 for i, finding in enumerate(review.findings) for j, study_id in enumerate(finding.studies)]
        cited += [(("conclusions", i, "studies", j), study_id)
                  for i, conclusion in enumerate(review.conclusions) for j, study_id in enumerate(conclusion.studies)]
        for path, study_id in cited:
            problems += exists("study", study_id, raw, path)
            if study_id in self.evidence.studies and study_id not in covered:
                problems.append(raw.problem(path, f"study '{study_id}' is neither included nor discussed by this review"))
        for path, publication in sources if sources is not None else record_sources(review):
            problems += exists("publication", publication, raw, path + ("publication",))
        return problems

    def _status_order(self, raw: RawRecord, study: Study) -> list[Problem]:
        """Trial statuses are listed oldest first: a status may not cite a source published before the previous one's."""
        problems, latest = [], None
        for i, status in enumerate(study.trial_status):
            publication = self.evidence.publications.get(status.source.publication)
            year = publication.year if publication is not None else None
            if year is None:
                continue
            if latest is not None and year < latest:
                problems.append(raw.problem(("trial_status", i, "source", "publication"),
                                            f"trial statuses are listed oldest first, but this one's source ({year}) is"
                                            f" older than an earlier entry's ({latest})"))
            latest = max(year, latest or year)
        return problems

    def _typed_questions(self, raw: RawRecord, study: Study) -> list[Problem]:
        """A typed answers_question that contradicts what the regimen and the prior status make of the cohort."""
        evidence, problems = self.evidence, []
        for i, cohort in enumerate(study.cohorts):
            if cohort.answers_question is None:
                continue
            regimens = [evidence.regimens.get(r) for r in cohort_regimens(study, cohort)]
            if any(r is None or any(a not in evidence.agents for a in r.agents) for r in regimens):
                continue  # a missing or invalid regimen or agent is reported on its own
            found = question_fit(evidence, study, cohort)
            if found.value != cohort.answers_question:
                typed = "true" if cohort.answers_question else "false"
                problems.append(raw.problem(
                    ("cohorts", i, "answers_question"),
                    f"typed {typed}, but this cohort is {'' if found.value else 'not '}"
                    f"{WORDS['a_question_cohort']}:"
                    f" {found.reason}. The flag is derived; delete it, or correct the regimen or the population's"
                    " prior_exposure"))
        return problems
