"""What `sous -p` imports: the 3-step task (write a file, run it, answer) over the Anthropic wire
protocol, in a subprocess that lists its modules as it exits.

A budget on *which* modules load, not on time (timings belong to `bench/run.py`): the heavy ones a
`-p` run has no use for stay out, and the count of modules has a ceiling, so that a new import on
the way shows up here as a failure rather than as a slower start nobody measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sous
from sous.testing import THREE_STEP_TASK

SRC = str(Path(sous.__file__).resolve().parents[1])

# Runs sous's `-p` path as `python -m sous` would, then writes the names in sys.modules to a file.
LISTING = """
import atexit, json, runpy, sys
listing = sys.argv.pop(1)
# A name mapped to None is a module kept out on purpose (httpx's command-line client), not loaded.
names = lambda: sorted(name for name, module in sys.modules.items() if module is not None)
atexit.register(lambda: open(listing, "w").write(json.dumps(names())))
sys.argv[0] = "sous"
runpy.run_module("sous", run_name="__main__", alter_sys=True)
"""

NEVER_IN_PRINT_MODE = {
    # front ends and their libraries: -p prints plain text or JSON
    "sous.ui.repl",
    "sous.ui.plain",
    "prompt_toolkit",
    "rich",
    "pygments",
    "click",
    # httpx and its stack: a model request without a proxy goes through sous.models._wire
    "httpx",
    "httpcore",
    "anyio",
    "h11",
    # features this run does not use
    "sous.hooks",  # no hooks configured
    "sous.mcp.client",  # no MCP server configured: the config files are read by sous.mcp.sources
    "sous.mcp.config",
    "mcp",
    "sous.worktree",  # no sub-agent in a worktree
    "sous.team",
    "sous.batch",
    "sous.permissions.auto",  # auto mode is not on: the judge is made when first needed
    "sous.permissions.judge",
    "sous.runtime.queue",  # nobody answers permission questions
    "sous.context.compact",  # no compaction happens (measuring the requests is sous.context.measure)
    "sous.context.commands",  # no custom command or skill
    # tools the run does not call: the prompt needs their descriptions only (sous.tools.offered)
    "sous.tools.read",
    "sous.tools.edit",
    "sous.tools.glob",
    "sous.tools.grep",
    "sous.tools.todo",
    "sous.tools.web_fetch",
    "sous.tools.web_search",
    "sous.tools.screenshot",
    "sous.tools.notebook_edit",
    "sous.tools._notebook",
    "sous.tools.session_search",
    "sous.tools._side_model",
    "sous.tools._rg",  # no Glob or Grep call
    "sous.tools._sandbox",  # the sandbox is not enabled
    "sous.tools._editor",  # no editor drives the session (sous acp)
    # libraries and heavy standard modules nothing on the way needs
    "yaml",  # frontmatter is read only when agent, command or skill files exist
    "pydantic",
    "platform",
    "zipfile",
    "difflib",
    "importlib.readers",
    "glob",  # only for a command with a wildcard
    "secrets",
}

MODULE_CEILING = 268
"""Modules in sys.modules at exit: 265 when this was written (Python 3.11; 260 before project trust
was checked for every session again, which the grants of a project's own settings need), 276
before the features a run does not use were kept out (see `NEVER_IN_PRINT_MODE`); 408 while model
requests went through httpx, whose stack (httpcore, anyio, h11 and their helpers) was about 130."""
SOUS_MODULE_CEILING = 88
"""sous's own modules among them: 86 when this was written, with records (how value types are
declared), checkpoints._gitfiles (the store's files read in-process), the Bash checks split by
concept (permissions.program_files, hidden_code, sed) and permissions.trust with project_grants
(the grants of a project's own settings are left out until it is trusted); 96 before the
features a run does not use were kept out (the judge of auto mode, the permission queue,
compaction, custom commands, MCP's configuration, the tools not called and their helpers), 87 at
first. Splitting a module by concept adds one; raise the ceiling then, and say why in the commit."""


def print_mode_modules(tmp_path: Path, *args: str) -> list[str]:
    from sous.testing.server import ScriptedServer

    project, home, listing = tmp_path / "project", tmp_path / "home", tmp_path / "modules.json"
    project.mkdir()
    with ScriptedServer(THREE_STEP_TASK) as server:
        run = subprocess.run(
            [sys.executable, "-c", LISTING, str(listing), "-p", "write hello.py, run it and tell me", *args],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])),
                "ANTHROPIC_BASE_URL": server.url,
                "ANTHROPIC_API_KEY": "test",
                "SOUS_HOME": str(home),
            },
        )
    assert run.returncode == 0, run.stderr
    assert (project / "hello.py").exists()
    return json.loads(listing.read_text())


def test_the_three_step_task_leaves_heavy_modules_alone(tmp_path):
    modules = print_mode_modules(
        tmp_path, "--model", "anthropic:claude-sonnet-4-5", "--dangerously-skip-permissions", "--output-format", "json"
    )
    loaded = set(modules)
    assert "sous.models._wire" in loaded and "sous.runtime.build" in loaded  # the listing saw the real run
    present = sorted(m for m in NEVER_IN_PRINT_MODE if m in loaded)
    assert not present, f"imported by the -p path: {present}"
    assert len(modules) <= MODULE_CEILING, f"{len(modules)} modules (ceiling {MODULE_CEILING})"
    own = [m for m in modules if m == "sous" or m.startswith("sous.")]
    assert len(own) <= SOUS_MODULE_CEILING, f"{len(own)} sous modules (ceiling {SOUS_MODULE_CEILING}): {own}"
