"""sous started as the Agent SDK starts it (stream-json in and out), for the tests that write the
protocol's lines by hand."""

from __future__ import annotations

import json
import os
import subprocess

FLAGS = ["--output-format", "stream-json", "--verbose", "--input-format", "stream-json"]


def start(cli, project, model, *extra, env=None) -> subprocess.Popen:
    """The `cli` (sous) on `model` in `project`, with pipes for the protocol's lines."""
    return subprocess.Popen(
        [cli, *FLAGS, "--model", model, *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=project,
        env={**os.environ, **(env or {})},
    )


def lines(text: str) -> list[dict]:
    """Each line of `text` as JSON."""
    return [json.loads(line) for line in text.splitlines()]
