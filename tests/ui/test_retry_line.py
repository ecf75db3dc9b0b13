"""The terminal says each retry while it waits, as one dim line."""

from __future__ import annotations

from pathlib import Path

from sous.testing.server import ScriptedServer

from .terminal import Terminal


def test_each_retry_is_one_dim_line_with_attempt_delay_and_status(tmp_path: Path):
    project = tmp_path / "project"
    project.mkdir()
    turns = [{"error": {"status": 503, "message": "busy right now"}}, {"text": "Back again."}]
    with ScriptedServer(turns) as server:
        term = Terminal(
            ["--model", "anthropic:claude-sonnet-4-5"],
            cwd=project,
            cols=100,
            env={
                "HOME": str(tmp_path),
                "SOUS_HOME": str(tmp_path / "home"),
                "ANTHROPIC_BASE_URL": server.url,
                "ANTHROPIC_API_KEY": "test",
                "TERM": "xterm-256color",
                "SOUS_RETRY_BASE_DELAY": "0.2",
            },
        )
        term.wait_for(r"^>$")
        term.line("hello")
        term.wait_for(r"Back again\.")
        lines = [line for line in term.text().splitlines() if "retrying in" in line]
        assert len(lines) == 1 and "(attempt 1 of 10, 503): server error (503): busy right now" in lines[0]
        assert b"\x1b[2m  retrying in" in term.raw  # dim
        term.close()
