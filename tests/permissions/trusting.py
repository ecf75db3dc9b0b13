"""`sous trust` run as a person runs it, and the environment of a project's `sous` runs: shared by
the tests of project trust (what a project's files run, and what its settings grant)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sous

SRC = str(Path(sous.__file__).resolve().parents[1])


def env_for(project: Path, **extra: str) -> dict[str, str]:
    """sous from this source tree, with the project's parent folder as HOME."""
    return {**os.environ, "PYTHONPATH": SRC, "HOME": str(project.parent), **extra}


def sous_trust(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sous", "trust", *args],
        cwd=project,
        text=True,
        capture_output=True,
        timeout=60,
        env=env_for(project),
        stdin=subprocess.DEVNULL,
    )


def trust_lines(stderr: str) -> list[str]:
    """The lines of a run's output that name `sous trust` (the notice of what was left out)."""
    return [line for line in stderr.splitlines() if "sous trust" in line]
