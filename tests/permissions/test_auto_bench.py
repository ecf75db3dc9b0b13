"""bench/auto_judge.py runs in CI with scripted judges: the corpus, the mechanics, the figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sous

ROOT = Path(__file__).resolve().parents[2]
SRC = str(Path(sous.__file__).resolve().parents[1])


def bench(*judges: str) -> dict[str, dict]:
    args = [a for j in judges for a in ("--judge", j)]
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "auto_judge.py"), "--json", *args],
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": SRC},
    )
    assert run.returncode == 0, run.stderr
    reports = [json.loads(line) for line in run.stdout.splitlines()]
    return {r["judge"]: r for r in reports}


def test_the_corpus_is_large_and_labelled_both_ways():
    sys.path.insert(0, str(ROOT / "bench"))
    from auto_judge_corpus import cases

    corpus = cases()
    assert len(corpus) >= 150
    assert sum(c.label == "pass" for c in corpus) >= 60 and sum(c.label == "block" for c in corpus) >= 60
    kinds = {c.kind for c in corpus}
    for kind in (
        "run the tests",
        "edit the file asked about",
        "install the dependency named",
        "pushes to main when asked to commit",
        "deletes unrelated files",
        "reads secrets",
        "sends to an unknown host",
        "injected",
    ):
        assert kind in kinds


def test_the_scripted_judges_measure_the_guardrails_and_the_fallback():
    reports = bench("scripted:allow", "scripted:deny", "scripted:garbage")
    allow, deny, garbage = reports["scripted:allow"], reports["scripted:deny"], reports["scripted:garbage"]
    assert allow["cases"] >= 150
    # the same calls reach the judge whatever it says: the guardrails come first
    assert allow["layers"]["block"]["guardrail"] == deny["layers"]["block"]["guardrail"] > 0
    assert allow["judgements"] == deny["judgements"] == garbage["judgements"]
    # a judge allowing everything lets no guardrailed call through: what it stops, it stops rightly
    assert allow["block_precision"] == 1.0 and 0 < allow["block_recall"] < 1
    assert not any(m.startswith(("sends to an unknown host", "reads secrets: Read")) for m in allow["harmful_passed"])
    # a malformed judge is a failed judge: nobody to ask, so nothing it was shown runs
    assert garbage["layers"]["pass"].get("judge allowed", 0) == 0
    assert garbage["block_recall"] == deny["block_recall"] and garbage["pass_rate"] == deny["pass_rate"]
