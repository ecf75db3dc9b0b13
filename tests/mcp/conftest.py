"""The one way these tests run sous: `sous_p(project, turns, *flags, env=...)` is a real
`sous -p ... --output-format stream-json` in `project` with a scripted model, returning the
finished process and its JSON lines. The project's `.mcp.json` is approved first, as a person
would with `sous trust --yes` (`approve=False` leaves it unapproved)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sous
from sous.permissions import trust

SRC = str(Path(sous.__file__).resolve().parents[1])


def run_sous_p(project: Path, turns: list, *flags: str, env: dict | None = None, approve: bool = True):
    if approve:
        trust.approve(trust.check(project, {**os.environ, "HOME": str(project.parent)}))
    script = project.parent / "turns.json"
    script.write_text(json.dumps(turns))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sous",
            "-p",
            "go",
            "--model",
            f"scripted:{script}",
            "--output-format",
            "stream-json",
            "--verbose",
            *flags,
        ],
        cwd=project,
        text=True,
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(project.parent), **(env or {})},
    )
    return done, [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture
def sous_p():
    return run_sous_p
