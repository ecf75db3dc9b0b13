"""bench/sdk_side_by_side.py keeps working: its sous column, and its verdict when Claude Code is absent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sdk_side_by_side.py"


def test_the_bench_passes_sous_and_says_when_claude_code_is_missing(tmp_path):
    run = subprocess.run(
        [sys.executable, str(BENCH), "--claude", str(tmp_path / "no-claude"), "--only", "query", "can_use_tool deny"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Claude Code is not installed" in run.stdout and "sous: 2/2 PASS" in run.stdout
    rows = [line.split() for line in run.stdout.splitlines() if line.startswith(("query", "can_use_tool deny"))]
    assert [row[-1] for row in rows] == ["PASS", "PASS"]


def test_an_unknown_feature_name_runs_nothing_and_says_so(tmp_path):
    run = subprocess.run(
        [sys.executable, str(BENCH), "--claude", str(tmp_path / "no-claude"), "--only", "no such feature"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "no such feature" in run.stderr
