"""Page contexts for the clinical questions and the bottom line: each answer as a reader sees it, every figure linked.

Pure functions from the evidence, the synthesis's answers (synthesis.answer) and the resolved bottom line
(bottom_line.resolve) to the views the templates question.md.j2, questions_index.md.j2 and summary.md.j2 render.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from build_scripts.derive.bottom_line import CohortFigure, QuestionFigure, resolve
from build_scripts.derive.exact import clopper_pearson
from build_scripts.derive.facts import exposure_status
from build_scripts.derive.partners import index_switch, partners
from build_scripts.derive.synthesis_types import MIN_COHORTS, Analysis, Answer, Entry, MedianRange, Synthesis
from build_scripts.load.numbers import number
from build_scripts.load.vocabulary import (
    DESIGNS, MEASURES, POOLING_METHODS, PRIMARY_POOLING_METHOD, SYNTHESIS_EXCLUSIONS, WORDS, summary_pooled_measure,
)
from build_scripts.render.forest_rows import question_url, study_name
from build_scripts.render.links import QUESTIONS_URL, relative, url_of
from build_scripts.render.long_lists import cohort_href
from build_scripts.render.pages import SourceView, source_view
from build_scripts.render.profile import ArmComparison, ProfileLine, arm_comparison, evidence_profile, follow_up_text

if TYPE_CHECKING:
    from build_scripts.load.evidence import Evidence
    from build_scripts.derive.guide import Guide
    from build_scripts.load.model import Study
    from build_scripts.load.parts import Cohort


def questions_description() -> str:
    """The meta description of the clinical questions' index."""
    return (f"Clinical questions on {WORDS['question_cohort']} in {WORDS['disease_short']}, each answered from the"
            " atlas's records: the cohorts, their figures, pooled estimates where they can be made.")


def _find(evidence: Evidence, study_id: str, cohort_id: str) -> tuple[Study, Cohort]:
    study = evidence.studies[study_id]
    return study, next(c for c in study.cohorts if c.id == cohort_id)


@dataclass(frozen=True)
class CohortFigureView:
    """A cohort's figure as an answer or the bottom line shows it."""

    study: Study
    cohort: Cohort
    name: str  # 'Study: cohort'
    href: str
    entry: Entry
    text: str  # '0% (0/32)', '3.0 months (n = 31)', 'not reached (median follow-up 2.9 months)'
    interval: str | None  # the exact interval of a rate, where the source prints none: '0.0–10.9%'
    source: SourceView | None
    partners: str
    index_switch: str
    prior: str
    design: str
    comparison: ArmComparison | None
    follow_up: str


def entry_text(entry: Entry, measure_name: str) -> str:
    measure = MEASURES[measure_name]
    if measure.family == "time":
        if entry.value is None:
            return "not reached"
        return f"{number(entry.value)} months" + (f" (n = {entry.n})" if entry.n else "")
    counts = f"{entry.responders}/{entry.n}" if entry.responders is not None and entry.n else None
    if counts and (entry.n_from_cohort or entry.responders_derived):
        # the source prints a rate only: say where the counts come from, never pass them off as printed
        counts += "; n: cohort size" if entry.n_from_cohort else "; responders derived"
    shown = f"{number(entry.value)}%" if entry.value is not None else "?"
    if entry.figure_derived:
        shown += ", derived"
    return f"{shown} ({counts})" if counts else shown


def cohort_view(evidence: Evidence, entry: Entry, measure_name: str, page_url: str) -> CohortFigureView:
    study, cohort = _find(evidence, entry.study_id, entry.cohort_id)
    interval = None
    outcome = entry.outcome
    if outcome is not None and outcome.ci_low is not None and outcome.ci_high is not None:
        interval = f"{number(outcome.ci_low)}–{number(outcome.ci_high)}{'%' if MEASURES[measure_name].family == 'rate' else ' months'}"
    elif entry.responders is not None and entry.n:
        low, high = clopper_pearson(entry.responders, entry.n)
        interval = f"{low:.1f}–{high:.1f}% (exact, computed)"
    text = entry_text(entry, measure_name)
    if MEASURES[measure_name].family == "time" and entry.value is None:
        text += f" ({follow_up_text(study, cohort)})"
    return CohortFigureView(
        study=study, cohort=cohort, name=f"{study_name(study, evidence)}: {cohort.label}",
        href=cohort_href(page_url, study.id, cohort.id), entry=entry, text=text, interval=interval,
        source=source_view(evidence, outcome, page_url, url_of("study", study.id)) if outcome is not None else None,
        partners=partners(evidence, study, cohort).drugs_text or partners(evidence, study, cohort).label,
        index_switch=index_switch(evidence, study, cohort).text, prior=exposure_status(study, cohort).text,
        design=DESIGNS[study.design].label, comparison=arm_comparison(evidence, study, cohort, measure_name),
        follow_up=follow_up_text(study, cohort))


def comparisons_text(figures: tuple[CohortFigureView, ...]) -> str:
    """'; LYNX, experimental arm against Kd: 10.6 months, trial terminated early: futility' for each figure of a
    randomised arm: the comparator and the trial's stop go wherever the arm's figure goes."""
    out = ""
    for f in figures:
        c = f.comparison
        if c is not None:
            out += (f"; {study_name(f.study)}, {c.role} arm against {c.other.label}: {c.figure}"
                    + (f", trial {c.stopped.lower()}" if c.stopped else ""))
    return out


@dataclass(frozen=True)
class LeftOut:
    name: str
    href: str
    reason: str
    detail: str


@dataclass(frozen=True)
class RangeView:
    """A median's range over a question's independent cohorts."""

    measure: Any
    figures: tuple[CohortFigureView, ...]  # with a median, lowest first
    not_reached: tuple[CohortFigureView, ...]
    low: float | None
    high: float | None

    @property
    def k(self) -> int:
        return len(self.figures) + len(self.not_reached)

    @property
    def patients_text(self) -> str:
        """'56 patients'; 'at least 56 patients' or 'patients not reported' where cohorts do not report theirs."""
        counts = [f.entry.n for f in self.figures + self.not_reached]
        known, missing = sum(n for n in counts if n is not None), counts.count(None)
        if missing == len(counts):
            return "patients not reported"
        return f"at least {known} patients" if missing else f"{known} patients"

    @property
    def headline(self) -> str:
        if not self.figures and not self.not_reached:
            return f"no cohort gives a median {self.measure.short}"
        parts = []
        if self.figures:
            span = (f"{number(self.low)} months" if self.low == self.high
                    else f"{number(self.low)}–{number(self.high)} months")
            parts.append(span)
        if self.not_reached:
            parts.append(f"not reached in {len(self.not_reached)}")
        return (f"median {self.measure.short} " + "; ".join(parts) + f" (k = {self.k}, {self.patients_text})"
                + comparisons_text(self.figures + self.not_reached))


@dataclass(frozen=True)
class AnswerView:
    """A question and its answer, as its page and the tables of questions show it."""

    answer: Answer
    href: str
    measure: Any
    analysis: Analysis
    sensitivity: Analysis | None
    cohorts: tuple[CohortFigureView, ...]  # the cohorts the rate's analysis uses, highest first
    left_out: tuple[LeftOut, ...]
    ranges: tuple[RangeView, ...]
    profile: tuple[ProfileLine, ...]
    members: int

    @property
    def question(self):  # noqa: ANN201 - questions.Question
        return self.answer.question

    @property
    def pooled(self):  # noqa: ANN201 - synthesis_types.Estimate
        return self.analysis.primary

    @property
    def headline(self) -> str:
        """The answer in one line: the pooled estimate, else the range or the one figure, with k and patients."""
        a, short = self.analysis, self.measure.short
        arms = comparisons_text(self.cohorts)
        if a.primary is not None:
            e = a.primary
            return (f"{short} pooled {e.value:.1f}% (95% CI {e.ci_low:.1f}–{e.ci_high:.1f}; k = {a.k},"
                    f" {a.patients} patients; exploratory){arms}")
        if not a.used:
            return f"no cohort gives {short} with its patients"
        if a.k == 1:
            return f"{short} {self.cohorts[0].text} in one cohort (k = 1, {a.patients} patients; not pooled){arms}"
        return (f"{short} {number(a.low)}–{number(a.high)}% across cohorts (k = {a.k}, {a.patients} patients;"
                f" not pooled: fewer than {MIN_COHORTS} independent cohorts){arms}")


def range_view(evidence: Evidence, part: MedianRange, page_url: str) -> RangeView:
    figures = tuple(sorted((cohort_view(evidence, e, part.measure, page_url) for e in part.used),
                           key=lambda f: f.entry.value or 0))
    return RangeView(MEASURES[part.measure], figures,
                     tuple(cohort_view(evidence, e, part.measure, page_url) for e in part.not_reached),
                     part.low, part.high)


def answer_view(evidence: Evidence, answer: Answer, page_url: str) -> AnswerView:
    answer_measure = summary_pooled_measure()  # the rate each answer leads with; medians follow
    analysis = answer.analysis(answer_measure)
    assert analysis is not None  # every answer analyses every pooled measure
    members = [_find(evidence, s, c) for s, c in answer.members]
    names = {(study.id, cohort.id): f"{study_name(study, evidence)}: {cohort.label}" for study, cohort in members}
    cohorts = tuple(sorted((cohort_view(evidence, e, answer_measure, page_url) for e in analysis.used),
                           key=lambda v: (-(v.entry.value or 0), v.name)))
    left_out = tuple(LeftOut(names.get((x.study_id, x.cohort_id), x.key),
                             cohort_href(page_url, x.study_id, x.cohort_id), SYNTHESIS_EXCLUSIONS[x.reason], x.detail)
                     for x in analysis.excluded)
    ranges = tuple(range_view(evidence, r, page_url) for r in answer.ranges)
    return AnswerView(answer=answer, href=relative(page_url, question_url(answer.question.id)),
                      measure=MEASURES[answer_measure], analysis=analysis,
                      sensitivity=answer.analysis(answer_measure, sensitivity=True), cohorts=cohorts,
                      left_out=left_out, ranges=ranges,
                      profile=evidence_profile(evidence, members, analysis, answer.ranges), members=len(members))


def answers_context(evidence: Evidence, synthesis: Synthesis, page_url: str) -> list[AnswerView]:
    return [answer_view(evidence, answer, page_url) for answer in synthesis.answers]


def question_pages(evidence: Evidence, synthesis: Synthesis) -> list[tuple[str, dict[str, Any]]]:
    """Each question's page (path, context), and the index of questions."""
    pages = [(f"{QUESTIONS_URL}index.md", {"page_url": QUESTIONS_URL,
                                           "answers": answers_context(evidence, synthesis, QUESTIONS_URL)})]
    for answer in synthesis.answers:
        url = question_url(answer.question.id)
        pages.append((f"{url}index.md", {"page_url": url, "view": answer_view(evidence, answer, url),
                                         "pooling_methods": POOLING_METHODS,
                                         "primary_pooling_method": PRIMARY_POOLING_METHOD,
                                         "questions_href": relative(url, QUESTIONS_URL)}))
    return pages


# ---------------------------------------------------------------- the bottom line

@dataclass(frozen=True)
class BottomFigure:
    """A figure of the bottom line: its text (value, k and n), where it links, and its source."""

    text: str
    href: str
    title: str
    value: str  # the value alone, as the linked page shows it
    source: SourceView | None


def bottom_figure(evidence: Evidence, figure: CohortFigure | QuestionFigure, page_url: str) -> BottomFigure:
    if isinstance(figure, CohortFigure):
        view = cohort_view(evidence, figure.entry, figure.reference.measure, page_url)
        value = "not reached" if figure.entry.value is None else number(figure.entry.value)
        return BottomFigure(view.text, view.href, view.name, value, view.source)
    answer_href = relative(page_url, question_url(figure.answer.question.id))
    part = figure.analysis
    if MEASURES[figure.reference.measure].family == "rate" and part.primary is not None:
        e = part.primary
        return BottomFigure(f"{e.value:.1f}% (95% CI {e.ci_low:.1f}–{e.ci_high:.1f}; k = {part.k}, n = {part.patients})",
                            answer_href, figure.answer.question.question, f"{e.value:.1f}", None)
    low, high = part.low, part.high
    unit = "%" if MEASURES[figure.reference.measure].family == "rate" else " months"
    span = f"{number(low)}{unit}" if low == high else f"{number(low)}–{number(high)}{unit}"
    k = len(part.used) + len(getattr(part, "not_reached", ()))
    n = "n not reported" if part.patients is None else f"n = {part.patients}"
    return BottomFigure(f"{span} (k = {k}, {n})", answer_href, figure.answer.question.question,
                        number(low), None)


def bottom_line_context(evidence: Evidence, guide: Guide, synthesis: Synthesis,
                        page_url: str) -> list[list[str | BottomFigure]]:
    """The bottom line's statements, each a list of plain text and figures (references already checked)."""
    resolved, problems = resolve(guide.statements, guide.bottom_line_path, evidence, synthesis.answer,
                                 guide.questions)
    if problems:  # checked when the guide was read; a page never shows a half-resolved statement
        raise ValueError("; ".join(str(p) for p in problems))
    return [[part if isinstance(part, str) else bottom_figure(evidence, part, page_url) for part in statement]
            for statement in resolved]


def review_quotes(evidence: Evidence, page_url: str) -> list[dict[str, Any]]:
    """Each review's conclusions as the bottom line sets them beside it: the review, its quotations and locations."""
    out = []
    for review in sorted(evidence.reviews.values(), key=lambda r: r.id):
        if not review.conclusions:
            continue
        out.append({"review": review, "href": relative(page_url, url_of("review", review.id)),
                    "conclusions": [{"conclusion": c, "source": source_view(evidence, c, page_url)}
                                    for c in review.conclusions]})
    return out

