"""Clinical questions (content/questions.yaml) and the bottom line (content/bottom-line.md): reading, checking,
answering, exporting; every failure mode named by file, line and field."""

import csv
import re
import io

import pytest

from build_scripts.derive.bottom_line import CohortFigure, QuestionFigure, parse_bottom_line, resolve
from build_scripts.derive.checks import validate_tree
from build_scripts.derive.guide import read_guide, validate_with_guide
from build_scripts.derive.questions import parse_questions, read_questions
from build_scripts.derive.synthesis import synthesise
from build_scripts.derive.synthesis_types import MIN_COHORTS
from build_scripts.load.problems import EvidenceError
from build_scripts.publish.build import build_site
from build_scripts.render.csv_cells import to_csv
from build_scripts.render.export import synthesis_rows
from build_scripts.render.export_columns import SYNTHESIS_COLUMNS

from conftest import GUIDE, ROOT, VALID, evidence_tree, fixture_content, fixture_layout
from meta_reference import Z95, expit, hand_binomial_normal, hand_dersimonian_laird, hand_paule_mandel, logit_cells, \
    weighted


def problems_of(text):
    return [str(p) for p in parse_questions(text, "q.yaml")[1]]


QUESTION = """\
established_partner_classes: [imid]
questions:
  - id: one
    question: A question?
    short: One
    where:
{where}
"""


@pytest.mark.parametrize("where, line, field, words", [
    ("      colour: [red]", 7, "questions[0].where.colour", "unknown axis"),
    ("      prior_status: [sometimes]", 7, "questions[0].where.prior_status[0]", "not a value of this axis"),
    ("      prior_status: {any_of: [refractory]}", 7, "questions[0].where.prior_status", "one value per cohort"),
    ("      partner_classes: {any_of: [imid], none_of: [retinoid]}", 7, "questions[0].where.partner_classes",
     "exactly one"),
    ("      partner_classes: {none_of: [antibiotic]}", 7, "questions[0].where.partner_classes.none_of[0]",
     "not a value"),
    ("      partner_group: [imid+magic]", 7, "questions[0].where.partner_group[0]", "not a partner group"),
])
def test_a_bad_condition_is_reported_with_its_line_and_field(where, line, field, words):
    found = problems_of(QUESTION.format(where=where))
    assert len(found) == 1 and found[0].startswith(f"q.yaml:{line}:") and f" {field}: " in found[0], found
    assert words in found[0]


def test_a_missing_field_a_duplicate_id_and_an_unknown_class_are_each_reported():
    text = QUESTION.format(where="      prior_status: [refractory]") + """\
  - id: one
    question: Again?
    short: Again
    where: {prior_status: [refractory]}
"""
    found = problems_of(text.replace("[imid]", "[imid, magic]"))
    assert any("established_partner_classes[1]" in p and "not a partner class" in p for p in found), found
    assert any(p.startswith("q.yaml:8:") and "already used" in p for p in found), found
    missing = problems_of("established_partner_classes: [imid]\nquestions:\n  - id: two\n    short: Two\n"
                          "    where: {design: [randomised]}\n")
    assert any("questions[0].question" in p and "required" in p for p in missing), missing


def test_questions_match_only_retreatment_cohorts_with_every_condition():
    evidence = validate_tree(VALID)
    questions, problems = read_questions(GUIDE)
    assert problems == []
    answers = {a.question.id: a for a in synthesise(evidence, questions.items).answers}
    assert answers["refractory-with-imid"].members == (("fixture-dpd-retreatment", "refractory"),
                                                       ("fixture-dpd-retreatment", "refractory-early"))
    # the randomised trial's control arm is no retreatment; its experimental arm is
    assert answers["randomised-retreatment"].members == (("fixture-randomised", "dpd"),)
    orr = answers["refractory-with-imid"].analysis("orr")
    assert [(e.key, e.responders, e.n) for e in orr.used] == [("fixture-dpd-retreatment/refractory", 9, 30)]
    assert orr.primary is None and f"fewer than {MIN_COHORTS}" in orr.not_pooled


def test_a_question_added_to_the_file_is_answered_and_exported(tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    text = (GUIDE / "questions.yaml").read_text() + """\
  - id: exposed-not-refractory
    question: Exposed but not refractory?
    short: Exposed
    where:
      prior_status: [exposed_not_refractory]
"""
    (content / "questions.yaml").write_text(text)
    questions, problems = read_questions(content)
    assert problems == [] and [q.id for q in questions.items][-1] == "exposed-not-refractory"
    rows = list(csv.DictReader(io.StringIO(to_csv(SYNTHESIS_COLUMNS, synthesis_rows(
        synthesise(validate_tree(VALID), questions.items))))))
    mine = [r for r in rows if r["question"] == "exposed-not-refractory"]
    assert {r["measure"] for r in mine} == {"orr", "vgpr_or_better", "cr_or_better", "pfs", "os"}
    assert all(r["partner_class"] == "" and r["prior_anti_cd38_status"] == "" for r in mine)
    assert any("fixture-dpd-retreatment/exposed-not-refractory: not_reported" in r["cohorts_excluded"] for r in mine)


# ---------------------------------------------------------------- the bottom line

def bottom(text):
    return parse_bottom_line(text, "b.md")


def test_a_typed_number_in_a_statement_is_refused_with_its_line():
    statements, problems = bottom("- One [[orr a/b]].\n- Two, in 42% of\n  patients, 3.5 months.\n- Three CD38.\n")
    messages = [str(p) for p in problems]
    assert len(messages) == 2 and messages[0].startswith("b.md:2:") and "'42'" in messages[0]
    assert messages[1].startswith("b.md:3:") and "'3.5'" in messages[1]


def test_a_malformed_reference_and_stray_text_are_refused():
    _, problems = bottom("- One [[orr]].\nloose text\n- Two.\n- Three.\n")
    messages = [str(p) for p in problems]
    assert any(m.startswith("b.md:1:7:") and "not a reference" in m for m in messages), messages
    assert any(m.startswith("b.md:2:1:") and "starts with '- '" in m for m in messages), messages


def test_the_bottom_line_holds_three_to_six_statements():
    assert "give 3 to 6" in str(bottom("- One.\n- Two.\n")[1][0])
    assert bottom("- One.\n- Two.\n- Three.\n")[1] == []


@pytest.mark.parametrize("reference, words", [
    ("[[orr fixture-dpd-retreatment/nobody]]", "names no cohort"),
    ("[[orr no-such-study/refractory]]", "names no cohort"),
    ("[[orr fixture-dpd-retreatment]]", "names a study, not a cohort"),
    ("[[orr fixture-dpd-retreatment/exposed-not-refractory]]", "gives no usable ORR"),
    ("[[height fixture-dpd-retreatment/refractory]]", "not a measure"),
    ("[[orr question:no-such-question]]", "no question"),
    ("[[pfs question:randomised-retreatment]]", "gives PFS"),
])
def test_a_reference_that_does_not_resolve_names_its_line_and_column(reference, words):
    evidence = validate_tree(VALID)
    questions, _ = read_questions(GUIDE)
    statements, problems = bottom(f"- First.\n- Second,\n  with {reference} here.\n- Third.\n")
    assert problems == []
    answers = {a.question.id: a for a in synthesise(evidence, questions.items).answers}
    _, found = resolve(statements, "b.md", evidence, answers.get, questions)
    assert len(found) == 1 and str(found[0]).startswith("b.md:3:8:") and words in str(found[0]), found


def test_references_resolve_to_the_figure_the_synthesis_uses():
    evidence = validate_tree(VALID)
    questions, _ = read_questions(GUIDE)
    _, statements, problems = read_guide_parts()
    answers = {a.question.id: a for a in synthesise(evidence, questions.items).answers}
    resolved, found = resolve(statements, "b.md", evidence, answers.get, questions)
    assert found == []
    figures = [p for statement in resolved for p in statement if not isinstance(p, str)]
    assert [(f.entry.responders, f.entry.n) for f in figures if isinstance(f, CohortFigure)][0] == (9, 30)
    assert [f.entry.value for f in figures if isinstance(f, CohortFigure)][1:] == [3.1, 8.4]
    assert isinstance(figures[1], QuestionFigure) and figures[1].analysis.k == 1


def read_guide_parts():
    guide, problems = read_guide(GUIDE)
    return guide, guide.statements, problems


def test_errors_of_the_records_and_of_the_guide_are_reported_together_and_no_site_is_written(tmp_path):
    evidence = evidence_tree(tmp_path, "dangling-reference")
    content = fixture_content(tmp_path)
    (content / "bottom-line.md").write_text("- One in 42 patients.\n- Two.\n- Three.\n")
    with pytest.raises(EvidenceError) as caught:
        validate_with_guide(evidence, content)
    paths = {p.path.rsplit("/", 1)[-1] for p in caught.value.problems}
    assert "bottom-line.md" in paths and any(path.endswith(".yaml") for path in paths), caught.value.report()
    layout = fixture_layout(tmp_path, evidence)
    with pytest.raises(EvidenceError):
        build_site(layout)
    assert not layout.site.exists()


def test_a_reference_to_a_missing_cohort_stops_the_build(tmp_path):
    content = fixture_content(tmp_path)
    (content / "bottom-line.md").write_text("- One [[orr fixture-dpd-retreatment/gone]].\n- Two.\n- Three.\n")
    layout = fixture_layout(tmp_path, evidence_tree(tmp_path))
    with pytest.raises(EvidenceError, match=r"bottom-line\.md:1:7: reference: 'fixture-dpd-retreatment/gone'"):
        build_site(layout)
    assert not layout.site.exists()


# ---------------------------------------------------------------- the real questions, computed independently

@pytest.fixture(scope="module")
def real():
    evidence, guide = validate_with_guide(ROOT / "evidence", ROOT / "content")
    return evidence, guide, synthesise(evidence, guide.questions.items)


def test_the_refractory_set_without_a_partner_gives_the_methodologists_dersimonian_laird(real):
    _, _, synthesis = real
    analysis = synthesis.answer("refractory-without-established-partner").analysis("orr")
    counts = sorted((e.responders, e.n) for e in analysis.used)
    assert counts == [(0, 18), (0, 32), (2, 44)]
    rows = [r for r in csv.DictReader(io.StringIO(to_csv(SYNTHESIS_COLUMNS, synthesis_rows(synthesis))))
            if r["question"] == "refractory-without-established-partner" and r["measure"] == "orr"]
    assert len(rows) == 1
    # DerSimonian-Laird on the logit scale, 0.5 added to zero cells: 3.4% (1.1-10.2), tau-squared 0, I-squared 0%.
    dl = next(e for e in analysis.estimates if e.method == "dl")
    assert (round(dl.value, 1), round(dl.ci_low, 1), round(dl.ci_high, 1)) == (3.4, 1.1, 10.2)
    assert (float(rows[0]["dl_value"]), float(rows[0]["dl_ci_low"]), float(rows[0]["dl_ci_high"])) == (
        round(dl.value, 2), round(dl.ci_low, 2), round(dl.ci_high, 2))
    assert float(rows[0]["dl_tau2"]) == 0 and float(rows[0]["i2"]) == 0 and rows[0]["k"] == "3"
    assert rows[0]["patients"] == "94"


def test_every_pooled_question_row_agrees_with_independent_computations(real):
    _, _, synthesis = real
    rows = [r for r in csv.DictReader(io.StringIO(to_csv(SYNTHESIS_COLUMNS, synthesis_rows(synthesis))))
            if r["question"] and r["method"] not in ("range",)]
    analyses = [a for answer in synthesis.answers for a in answer.analyses]
    assert len(rows) == len(analyses)
    checked = 0
    for analysis, row in zip(analyses, rows):
        assert (row["question"], row["measure"]) == (analysis.stratum.id, analysis.measure)
        if row["method"] == "not_pooled":
            assert analysis.k < MIN_COHORTS or all(e.responders in (0, e.n) for e in analysis.used), row
            continue
        counts = [(e.responders, e.n) for e in analysis.used]
        y, v = logit_cells(counts)
        bn = hand_binomial_normal(counts)
        dl_mean, dl_se, dl_tau2, _, _ = hand_dersimonian_laird(y, v)
        pm_tau2 = hand_paule_mandel(y, v)
        pm_mean, pm_se = weighted(y, v, pm_tau2)
        for prefix, (mean, se) in {"": (bn["mean"], bn["se"]), "dl_": (dl_mean, dl_se),
                                   "pm_": (pm_mean, pm_se)}.items():
            shown = tuple(float(row[prefix + column]) for column in ("value", "ci_low", "ci_high"))
            assert shown == pytest.approx((expit(mean), expit(mean - Z95 * se), expit(mean + Z95 * se)), abs=0.1)
        checked += 1
    assert checked >= 2  # the refractory set without a partner, and the refractory set with an IMiD


def test_every_question_of_the_real_file_matches_some_cohort(real):
    _, guide, synthesis = real
    assert len(guide.questions.items) >= 4
    assert all(answer.members for answer in synthesis.answers)


def test_the_guide_files_are_not_published_as_they_stand(fixture_site):
    assert not (fixture_site / "questions.yaml").exists() and not (fixture_site / "bottom-line").exists()
    assert not (fixture_site / "bottom-line.md").exists()
    assert (fixture_site / "questions" / "refractory-with-imid" / "index.html").is_file()



HOSTILE = '<img src=x onerror="alert(document.domain)"><script>alert(document.cookie)</script>'


def test_hostile_question_and_statement_text_shows_as_text(tmp_path):
    content = fixture_content(tmp_path)
    questions = (content / "questions.yaml").read_text()
    questions = questions.replace("question: Refractory, does retreatment with an IMiD work?",
                                  f"question: '{HOSTILE} works?'").replace(
        "short: Refractory; IMiD", f"short: '{HOSTILE}'\n    note: '{HOSTILE} **bold** &amp;'")
    (content / "questions.yaml").write_text(questions)
    bottom = (content / "bottom-line.md").read_text().replace("Naive patients", f"{HOSTILE} Naive patients")
    (content / "bottom-line.md").write_text(bottom)
    layout = fixture_layout(tmp_path, evidence_tree(tmp_path))
    build_site(layout)
    pages = [layout.site / "summary" / "index.html", layout.site / "questions" / "index.html",
             layout.site / "questions" / "refractory-with-imid" / "index.html"]
    for page in pages:
        html = page.read_text()
        assert "<script>alert" not in html and "<img src=x" not in html, page
        assert "&lt;script&gt;alert(document.cookie)" in html, page


def test_the_summary_keeps_a_randomised_arm_with_its_comparator_and_a_median_with_its_follow_up(real_site):
    html = (real_site / "summary" / "index.html").read_text()
    row = html.split('data-partner="proteasome_inhibitor"', 1)[1].split("</tr>", 1)[0]
    assert "(experimental arm) against Carfilzomib + dexamethasone (control): " in row
    assert '<a href="../studies/lynx/#cohort-kd">10.6 months</a>; trial terminated early: futility' in row
    assert ('not reached in FUSION-MM-005: median follow-up <a href="../studies/fusion-mm-005/#cohort-all-patients">'
            '2.9 months</a>') in html
    # a cell whose figure comes from another cohort than its neighbours' names it
    assert "atlas-cell-note\">from " in html


def test_every_summary_row_and_question_has_an_evidence_profile(real_site):
    summary = (real_site / "summary" / "index.html").read_text()
    details = (real_site / "summary" / "details" / "index.html").read_text()
    assert details.count('class="atlas-profile"') == summary.count("data-partner=") > 0
    for question in ("refractory-without-established-partner", "exposed-not-refractory"):
        page = (real_site / "questions" / question / "index.html").read_text()
        profile = page.split('class="atlas-profile"', 1)[1].split("</table>", 1)[0]
        for label in ("Studies and designs", "Follow-up", "Review appraisal", "Response criteria",
                      "Randomised comparisons", "Certainty"):
            assert f'<th scope="row">{label}</th>' in profile, (question, label)
    pooled = (real_site / "questions" / "refractory-without-established-partner" / "index.html").read_text()
    assert "Heterogeneity" in pooled and "MMAT" in pooled and "not rated" in pooled


def test_a_question_card_keeps_a_randomised_arm_with_its_comparator_and_never_counts_unknown_patients(real_site):
    html = (real_site / "summary" / "index.html").read_text()
    card = html.split('id="answer-with-proteasome-inhibitor"', 1)[1].split("</article>", 1)[0]
    assert ("median PFS 10.7 months (k = 1, patients not reported); LYNX, experimental arm against Carfilzomib +"
            " dexamethasone (control): 10.6 months, trial terminated early: futility") in card
    assert not re.search(r"[^0-9,]0 patients", html)


def test_a_chart_draws_a_stopped_trials_arms_together_each_saying_the_trial_stopped(real_site):
    chart = (real_site / "charts" / "pfs" / "index.html").read_text()
    arm = chart.index("LYNX: Daratumumab + carfilzomib + dexamethasone (n=NR); trial terminated early: futility")
    control = chart.index("LYNX, control arm, not retreatment: Carfilzomib + dexamethasone (control) (n=NR); trial"
                          " terminated early: futility")
    # the control arm's row follows its arm's in the chart's table
    assert 0 < control - arm < 2000


def test_a_reference_to_a_renamed_study_names_its_new_id(tmp_path):
    evidence = evidence_tree(tmp_path)
    old = evidence / "studies" / "fixture-dpd-retreatment.yaml"
    text = old.read_text().replace("id: fixture-dpd-retreatment",
                                   "id: fixture-dpd-study\nmoved_from: [fixture-dpd-retreatment]")
    old.unlink()
    (evidence / "studies" / "fixture-dpd-study.yaml").write_text(text)
    review = evidence / "reviews" / "fixture-review.yaml"
    review.write_text(review.read_text().replace("fixture-dpd-retreatment", "fixture-dpd-study"))
    with pytest.raises(EvidenceError) as caught:
        validate_with_guide(evidence, fixture_content(tmp_path))
    assert "study 'fixture-dpd-retreatment' is now 'fixture-dpd-study'; write fixture-dpd-study/refractory" in str(
        caught.value)
