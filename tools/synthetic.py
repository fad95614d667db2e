"""Synthetic but realistic evidence at any size, for benchmarks only: never mixed with the real evidence."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import yaml

from build_scripts.load.reader import TOPIC_NAME
from build_scripts.load.vocabulary import MEASURES

DESIGNS = ("single_arm", "randomised", "retrospective_real_world", "retrospective_real_world",
           "prospective_real_world", "case_series")
JOURNALS = ("Blood", "Blood Advances", "Haematologica", "Leukemia", "British Journal of Haematology",
            "Annals of Hematology", "HemaSphere", "Clinical Lymphoma, Myeloma and Leukemia")
SURNAMES = ("Smith", "Garcia", "Müller", "Rossi", "Tanaka", "Kowalski", "Dubois", "Nguyen", "Larsen", "Okafor",
            "Silva", "Cohen", "Novak", "Ivanova", "Papadopoulos", "Lindqvist")
LOCATIONS = ("Table 2", "Table 3", "Results, Efficacy", "Results, Survival", "Abstract", "Figure 2 legend")


def _dump(path: Path, data: dict) -> None:
    path.write_text("# Synthetic record for benchmarks; not evidence.\n"
                    + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")


def _outcome(rng: random.Random, measure: str, publication: str, n: int) -> dict:
    source = {"publication": publication, "location": rng.choice(LOCATIONS)}
    if MEASURES[measure].family == "rate":
        responders = rng.randint(0, n)
        return {"measure": measure, "value": round(100 * responders / n, 1), "unit": "percent",
                "responders": responders, "n": n, "source": source}
    median = round(rng.uniform(1.0, 24.0), 1)
    outcome = {"measure": measure, "value": median, "unit": "months", "n": n, "source": source}
    if measure != "follow_up" and rng.random() < 0.8:
        outcome.update(ci_low=round(median * rng.uniform(0.5, 0.95), 1), ci_level=95)
        if rng.random() < 0.15:
            outcome["ci_high_status"] = "not_estimable"
        else:
            outcome["ci_high"] = round(median * rng.uniform(1.05, 1.8), 1)
    return outcome


def generate(target: Path, studies: int, real_evidence: Path, seed: int = 38) -> dict[str, int]:
    """Write a synthetic evidence tree with the real topic, agents and regimens; returns record counts."""
    rng = random.Random(seed)
    if target.exists():
        shutil.rmtree(target)
    for folder in ("agents", "regimens"):
        shutil.copytree(real_evidence / folder, target / folder)
    shutil.copyfile(real_evidence / TOPIC_NAME, target / TOPIC_NAME)
    (target / "publications").mkdir(parents=True)
    (target / "studies").mkdir()
    regimens = sorted(path.stem for path in (target / "regimens").glob("*.yaml"))
    measures = ("orr", "pfs", "os", "cr_or_better", "vgpr_or_better", "follow_up", "dor", "cbr")
    publication_count = 0
    for index in range(1, studies + 1):
        study_id = f"synthetic-{index:05d}"
        publications = []
        for p in range(rng.randint(1, 3)):
            publication_id = f"{study_id}-pub{p + 1}"
            surname = rng.choice(SURNAMES)
            _dump(target / "publications" / f"{publication_id}.yaml", {
                "id": publication_id, "type": rng.choice(("article", "abstract")),
                "title": f"Synthetic report {p + 1} of anti-CD38 retreatment cohort {index}",
                "authors": [f"{surname} {rng.choice('ABCDEFGH')}{rng.choice('JKLMN')}", f"{rng.choice(SURNAMES)} A"],
                "journal": rng.choice(JOURNALS), "year": rng.randint(2016, 2025),
                "doi": f"10.99999/synthetic.{index}.{p + 1}",
            })
            publications.append(publication_id)
        publication_count += len(publications)
        n_total = rng.randint(10, 400)
        cohorts = []
        for c in range(rng.randint(1, 4)):
            n = max(5, n_total // (c + 1))
            chosen = rng.sample(measures, rng.randint(2, 6))
            cohorts.append({
                "id": f"cohort-{c + 1}", "label": f"Cohort {c + 1}", "role": "overall" if c == 0 else "subgroup",
                **({"parent": "cohort-1"} if c else {}),
                "regimen": rng.choice(regimens),
                "population": {"n": {"value": n, "source": {"publication": publications[0], "location": "Table 1"}},
                               "refractory": [{"to": "daratumumab", "percent": rng.choice((100, 90, 72, 40)),
                                               "source": {"publication": publications[0], "location": "Table 1"}}]},
                "outcomes": [_outcome(rng, measure, rng.choice(publications), n) for measure in chosen],
            })
        _dump(target / "studies" / f"{study_id}.yaml", {
            "id": study_id, "title": f"Synthetic retreatment study {index}", "design": rng.choice(DESIGNS),
            "registry_ids": [f"NCT9{index:07d}"], "publications": publications,
            "summary": "A synthetic study generated for the benchmark. Its numbers are random and mean nothing.",
            # The study's count is its overall cohort's (cohort-1); typing it here too would be an error.
            "population": {"prior_lines": {"median": rng.randint(1, 8), "low": 1, "high": 12,
                                           "source": {"publication": publications[0], "location": "Table 1"}}},
            "cohorts": cohorts,
        })
    return {"studies": studies, "publications": publication_count,
            "regimens": len(regimens), "agents": len(list((target / "agents").glob("*.yaml")))}
