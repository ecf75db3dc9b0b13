"""The `sous` command line as a newcomer meets it: help that lists every command, bare commands
that explain themselves, a config that names the model, one-line start-up failures (exit 2) and
a suggestion for a mistyped flag. Each runs the real `sous` in a clean environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import sous
from sous import cli

SRC = str(Path(sous.__file__).resolve().parents[1])


def _sous(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    clean = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "SOUS_HOME": str(tmp_path / "sous-home"),
        "PYTHONPATH": SRC,
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "sous", *args],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def _dispatched() -> set[str]:
    """The words `sous.cli.main` dispatches on, read from its source (so a command added later
    without a line in --help fails here)."""
    source = Path(cli.__file__).read_text()
    lines = [line for line in source.splitlines() if "argv[:1]" in line and ("==" in line or " in " in line)]
    return {word for line in lines for word in re.findall(r'\["([a-z][a-z-]*)"\]', line)}


def test_help_lists_every_subcommand_main_dispatches(tmp_path):
    words = _dispatched()
    assert {"config", "hooks", "mcp", "team"} <= words
    out = _sous(tmp_path, "--help")
    assert out.returncode == 0
    for word in words:
        assert re.search(rf"^  {word} +\S", out.stdout, re.M), f"--help does not list {word}:\n{out.stdout}"
    assert set(cli.SUBCOMMANDS) == words


def test_bare_mcp_shows_its_usage_not_an_argparse_error(tmp_path):
    out = _sous(tmp_path, "mcp")
    assert out.returncode == 2
    assert "usage: sous mcp" in out.stderr and "add-json" in out.stderr and "error:" not in out.stderr
    hooks = _sous(tmp_path, "hooks")
    assert hooks.returncode == 2 and "usage:" in hooks.stderr  # the same convention for every bare command
    assert _sous(tmp_path, "config", "--help").returncode == 0


def test_config_names_the_model_and_why(tmp_path):
    keyed = _sous(tmp_path, "config", env={"ANTHROPIC_API_KEY": "k"})
    assert "# model: anthropic:claude-sonnet-4-5 (ANTHROPIC_API_KEY found" in keyed.stdout
    openai = _sous(tmp_path, "config", env={"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"})
    assert "# model: openai:gpt-5.1 (OPENAI_BASE_URL found" in openai.stdout
    refused = _sous(tmp_path, "config", env={"SOUS_LOCAL_MODEL": "off"})
    assert re.search(r"^# model: none: no model provider is configured", refused.stdout, re.M)
    chosen = tmp_path / ".claude"
    chosen.mkdir()
    (chosen / "settings.json").write_text('{"model": "openai:gpt-4.1"}')
    assert "# model: openai:gpt-4.1 (the model setting" in _sous(tmp_path, "config", env={"OPENAI_API_KEY": "k"}).stdout


def test_config_on_a_fresh_machine_says_the_offline_model_is_used(tmp_path):
    from sous.models.local import DEFAULT_NAME, available

    out = _sous(tmp_path, "config")
    assert out.returncode == 0
    if available(DEFAULT_NAME):
        assert f"# model: local:{DEFAULT_NAME} (no API key found" in out.stdout
    else:
        assert "# model: none:" in out.stdout


def test_hooks_list_says_when_there_are_none(tmp_path):
    out = _sous(tmp_path, "hooks", "list")
    assert out.returncode == 0 and out.stdout.strip() == "no hooks configured"
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text(
        '{"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "true"}]}]}}'
    )
    listed = _sous(tmp_path, "hooks", "list")
    assert "no hooks" not in listed.stdout and "PreToolUse\tBash\tcommand\ttrue" in listed.stdout


def test_a_missing_key_is_a_one_line_start_up_failure_exit_2(tmp_path):
    for model, name in (("anthropic:claude-sonnet-4-5", "ANTHROPIC_API_KEY"), ("openai:gpt-5.1", "OPENAI_API_KEY")):
        headless = _sous(tmp_path, "--model", model, "-p", "hi")
        assert headless.returncode == 2, headless
        assert headless.stderr.count("\n") == 1 and name in headless.stderr and headless.stdout == ""
        plain = _sous(tmp_path, "--model", model, env={"SOUS_UI": "plain"})
        assert plain.returncode == 2 and name in plain.stderr


def test_a_mistyped_flag_gets_the_closest_known_one(tmp_path):
    for typed, meant in (
        ("--modle", "--model"),
        ("--permision-mode", "--permission-mode"),
        ("--alowedTools", "--allowedTools"),
        ("--outputformat=json", "--output-format"),
    ):
        out = _sous(tmp_path, typed, "x", "-p", "hi")
        assert out.returncode == 2
        assert f"(did you mean {meant}?)" in out.stderr, out.stderr
    unknown = _sous(tmp_path, "--zzzzzz", "-p", "hi")
    assert unknown.returncode == 2 and "did you mean" not in unknown.stderr
