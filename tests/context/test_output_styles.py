"""Output styles: the built-ins, the user's and the project's files, the `outputStyle` setting
and `/output-style`, seen in the system prompt the model is sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sous
from sous.context import output_styles, system_prompt
from sous.testing.server import ScriptedServer

SRC = str(Path(sous.__file__).resolve().parents[1])


def _system(request: dict) -> str:
    system = request["body"].get("system")
    return system if isinstance(system, str) else "".join(block["text"] for block in system)


def _style(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def test_builtins_and_files_with_the_project_winning_over_the_user(tmp_path):
    home, project = tmp_path / "home", tmp_path / "project"
    _style(home / ".claude" / "output-styles", "terse.md", "---\nname: Terse\ndescription: mine\n---\nUser terse.\n")
    _style(project / ".claude" / "output-styles", "t.md", "---\nname: terse\ndescription: ours\n---\nProject terse.\n")
    _style(project / ".claude" / "output-styles", "bare.md", "No frontmatter at all.\n")
    _style(project / ".claude" / "output-styles", "bad.md", "---\nname: default\n---\nsneaky\n")
    styles, problems = output_styles.discover(str(project), {"HOME": str(home)})
    assert {"default", "explanatory", "learning", "terse", "bare"} <= set(styles)
    assert styles["terse"].body == "Project terse." and styles["terse"].description == "ours"
    assert styles["bare"].name == "bare" and not styles["bare"].keep_coding_instructions
    assert styles["explanatory"].keep_coding_instructions and styles["explanatory"].source == "built-in"
    assert len(problems) == 1 and "cannot be named 'default'" in problems[0]


def test_a_style_that_keeps_coding_instructions_is_added_and_one_that_does_not_replaces_them(tmp_path):
    base = system_prompt.build(str(tmp_path))
    kept = output_styles.apply(base, output_styles.OutputStyle(name="k", description="", body="STYLE TEXT"))
    assert "# How to work" in kept and "STYLE TEXT" in kept and kept.index("STYLE TEXT") < kept.index("# Environment")
    replaced = output_styles.apply(
        base, output_styles.OutputStyle(name="r", description="", body="STYLE TEXT", keep_coding_instructions=False)
    )
    assert "# How to work" not in replaced and "STYLE TEXT" in replaced and f"Working directory: {tmp_path}" in replaced
    assert output_styles.apply(base, None) == base


def _run_p(tmp_path: Path, server: ScriptedServer, settings: dict) -> subprocess.CompletedProcess:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "sous", "-p", "hi", "--model", "anthropic:claude-sonnet-4-5",
         "--settings", json.dumps(settings)],
        cwd=project, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(tmp_path), "SOUS_HOME": str(tmp_path / "sh"),
             "ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test"},
    )  # fmt: skip


def test_the_output_style_setting_reaches_the_system_prompt(tmp_path):
    with ScriptedServer([{"text": "a"}, {"text": "b"}, {"text": "c"}]) as server:
        assert _run_p(tmp_path, server, {"outputStyle": "Explanatory"}).returncode == 0
        assert _run_p(tmp_path, server, {}).returncode == 0
        result = _run_p(tmp_path, server, {"outputStyle": "Pirate"})
        assert result.returncode == 0
    explanatory, default, unknown = (_system(r) for r in server.requests)
    assert "# Output style: explanatory" in explanatory and "# How to work" in explanatory
    assert "Output style" not in default and "# How to work" in default
    assert unknown == default
    assert "outputStyle 'Pirate': no such output style" in result.stderr


def test_the_default_style_keeps_the_prompt_within_its_budget(tmp_path):
    base = system_prompt.build(str(tmp_path))
    styles, _ = output_styles.discover(str(tmp_path), {"HOME": str(tmp_path)})
    assert output_styles.apply(base, styles["default"]) == base
