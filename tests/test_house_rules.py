"""The written budgets of the house style, checked on every run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sous

SRC = Path(sous.__file__).resolve().parent


def _lines(path: Path) -> int:
    return len(path.read_text("utf-8").splitlines())


def test_core_imports_only_the_standard_library():
    code = ("import sys, json; before = set(sys.modules); import sous.core; "
            "print(json.dumps(sorted(set(sys.modules) - before)))")
    loaded = json.loads(subprocess.check_output([sys.executable, "-c", code], text=True))
    outside = {m.split(".")[0] for m in loaded} - set(sys.stdlib_module_names) - {"sous"}
    assert not outside, outside
    assert not [m for m in loaded if m.startswith("sous.") and not m.startswith("sous.core")], loaded


def test_core_size_budget():
    core = SRC / "core"
    assert _lines(core / "loop.py") <= 300
    assert sum(_lines(p) for p in core.glob("*.py")) <= 925  # 900 + the loop's retry after a too-long refusal


def test_version_imports_nothing_but_the_cli():
    code = ("import sys; from sous.cli import main; main(['--version']); "
            "print(sorted(m for m in sys.modules if m.startswith(('sous', 'httpx', 'asyncio', 'argparse'))))")
    out = subprocess.check_output([sys.executable, "-c", code], text=True).splitlines()
    assert out[0].endswith("(sous)")
    assert eval(out[1]) == ["sous", "sous.cli"]


def test_public_api_is_sorted_and_complete():
    assert sous.__all__ == sorted(sous.__all__)
    for name in sous.__all__:
        assert getattr(sous, name) is not None


def test_system_prompt_and_default_tool_schemas_fit_the_token_budget(tmp_path):
    from sous import tools
    from sous.context import system_prompt

    from sous.agents import BUILTIN
    from sous.tools.agent import agent_tool

    agent = agent_tool(BUILTIN)
    schemas = [*tools.toolset().schemas(), {"name": agent.name, "description": agent.description,
                                            "input_schema": agent.input_schema}]
    text = system_prompt.build(str(tmp_path)) + json.dumps(schemas)
    # ~3.5 characters per token is the usual estimate for English prose and JSON; it errs high.
    assert len(text) / 3.5 < 4000, len(text) / 3.5


def test_every_builtin_tool_loads_with_a_description_and_an_object_schema():
    from sous import tools

    for name in tools.BUILTINS:
        tool = tools.load(name)
        assert tool.name == name and tool.description.strip()
        assert tool.input_schema["type"] == "object"
