"""The real `claude-agent-sdk` drives sous: `cli_path` is a small script that runs this tree's sous."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

import sous

pytest.importorskip("claude_agent_sdk")

SRC = Path(sous.__file__).resolve().parents[1]


@pytest.fixture
def cli(tmp_path) -> str:
    script = tmp_path / "bin" / "sous-cli"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\nPYTHONPATH="{SRC}" exec "{sys.executable}" -m sous "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


@pytest.fixture
def project(tmp_path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


@pytest.fixture
def script(tmp_path):
    """Write a scripted model's turns and return the `--model` value for them."""

    def write(turns: list[dict]) -> str:
        path = tmp_path / f"turns{len(list(tmp_path.glob('turns*.json')))}.json"
        path.write_text(json.dumps(turns))
        return f"scripted:{path}"

    return write


@pytest.fixture
def options(cli, project):
    from claude_agent_sdk import ClaudeAgentOptions

    def make(model: str, **extra):
        return ClaudeAgentOptions(
            cli_path=cli, model=model, cwd=str(project), env={"SOUS_HOME": os.environ["SOUS_HOME"]}, **extra
        )

    return make
