"""The checks CI runs before the tests, run by the test command too: ruff's lint and format check
on the whole repository and mypy on `src/` (both configured in pyproject.toml)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> None:
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} is not installed: `pip install -e '.[test]'` brings it")


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("command", [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]])
def test_the_repository_passes(command):
    _tool(command[0])
    done = _run(*command)
    assert done.returncode == 0, f"`{' '.join(command)}` failed:\n{done.stdout}{done.stderr}"


def test_the_configuration_catches_what_it_is_for(tmp_path):
    """The same configuration, given a file with a lint error, a format error and a type error,
    reports each: the checks above cannot pass by checking nothing."""
    _tool("ruff")
    _tool("mypy")
    config = str(ROOT / "pyproject.toml")
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\ndef half(n: int) -> int:\n    return n / 2\n")
    lint = _run("ruff", "check", "--config", config, str(bad), cwd=tmp_path)
    assert lint.returncode == 1 and "F401" in lint.stdout, lint.stdout + lint.stderr
    layout = _run("ruff", "format", "--check", "--config", config, str(bad), cwd=tmp_path)
    assert layout.returncode == 1 and "bad.py" in layout.stdout + layout.stderr, layout.stdout + layout.stderr
    types = _run(
        "mypy",
        "--config-file",
        config,
        "--cache-dir",
        str(tmp_path / "cache"),
        "--no-error-summary",
        str(bad),
        cwd=tmp_path,
    )
    assert types.returncode == 1 and "bad.py:4: error" in types.stdout and "[return-value]" in types.stdout, (
        types.stdout + types.stderr
    )
