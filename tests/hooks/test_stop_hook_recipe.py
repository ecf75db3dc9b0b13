"""The README's Stop-hook recipe, end to end: the hook script and settings are taken from the
README as written, the test command from AGENTS.md, and a real `sous -p` run with the scripted
model is kept working until the tests pass, or until the retries run out."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import sous
from sous.context import test_command
from sous.permissions import trust

ROOT = Path(sous.__file__).resolve().parents[2]
SRC = str(ROOT / "src")


def recipe() -> tuple[str, str]:
    """The hook script and the settings JSON, as the README gives them."""
    readme = (ROOT / "README.md").read_text("utf-8")
    script = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if ".claude/hooks/run_tests.py" in b)
    settings = next(b for b in re.findall(r"```json\n(.*?)```", readme, re.S) if "run_tests.py" in b)
    return script, settings


def make_project(tmp_path: Path) -> Path:
    project = tmp_path / "calc"
    (project / ".claude" / "hooks").mkdir(parents=True)
    (project / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (project / "test_calc.py").write_text("from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    (project / "AGENTS.md").write_text(f"# calc\n\nTest command: `{sys.executable} -m pytest -q -p no:cacheprovider`\n")
    script, settings = recipe()
    (project / ".claude" / "hooks" / "run_tests.py").write_text(script)
    (project / ".claude" / "settings.json").write_text(settings)
    trust.approve(trust.check(project, {**os.environ, "HOME": str(tmp_path)}))  # `sous trust --yes`, as the README says
    return project


def run(project: Path, turns: list[dict]) -> tuple[subprocess.CompletedProcess, list[dict]]:
    script = project.parent / "turns.json"
    script.write_text(json.dumps(turns))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sous",
            "-p",
            "make the tests pass",
            "--model",
            f"scripted:{script}",
            "--output-format",
            "stream-json",
            "--verbose",
            "--allowedTools",
            "Read,Edit",
        ],
        cwd=project,
        text=True,
        capture_output=True,
        timeout=240,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(project.parent)},
    )
    return done, [json.loads(line) for line in done.stdout.splitlines()]


def feedback(lines: list[dict]) -> list[str]:
    texts = []
    for line in lines:
        if line.get("type") == "user":
            content = line["message"]["content"]
            texts += [content] if isinstance(content, str) else [b.get("text", "") for b in content]
    return [t for t in texts if "Stop hook feedback" in t]


def test_failing_tests_keep_the_model_working_until_they_pass(tmp_path):
    project = make_project(tmp_path)
    calc = str(project / "calc.py")
    turns = [
        {"text": "All done."},
        {"tool_calls": [{"name": "Read", "input": {"file_path": calc}}]},
        {"tool_calls": [{"name": "Edit", "input": {"file_path": calc, "old_string": "a - b", "new_string": "a + b"}}]},
        {"text": "Fixed: add now adds."},
    ]
    done, lines = run(project, turns)
    assert done.returncode == 0, done.stderr
    assert lines[-1]["result"] == "Fixed: add now adds."
    (note,) = feedback(lines)
    assert "The tests fail" in note and "retry 1 of 3" in note
    assert "assert -1 == 5" in note  # pytest's own report reached the model
    assert "a + b" in (project / "calc.py").read_text()


def test_the_retries_are_bounded(tmp_path):
    project = make_project(tmp_path)
    turns = [{"text": f"Done, attempt {n}."} for n in range(1, 5)]  # never fixes anything
    done, lines = run(project, turns)
    assert done.returncode == 0, done.stderr
    notes = feedback(lines)
    assert [re.search(r"retry (\d) of 3", n).group(1) for n in notes] == ["1", "2", "3"]
    assert lines[-1]["result"] == "Done, attempt 4."


def test_the_test_command_is_guessed_and_read_back(tmp_path):
    assert test_command.guess(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    assert test_command.guess(tmp_path) == "python -m pytest"
    (tmp_path / "package.json").write_text(json.dumps({"scripts": {"test": 'echo "Error: no test specified"'}}))
    assert test_command.guess(tmp_path) == "python -m pytest"  # npm's placeholder is no test command
    (tmp_path / "package.json").write_text(json.dumps({"scripts": {"test": "vitest run"}}))
    assert test_command.guess(tmp_path) == "npm test"
    (tmp_path / "Makefile").write_text("build:\n\tcc x.c\n\ntest: build\n\t./run-tests\n")
    assert test_command.guess(tmp_path) == "make test"
    (tmp_path / "AGENTS.md").write_text("## Testing\n\n- **Test command:** `make test`\n")
    assert test_command.read(tmp_path / "AGENTS.md") == "make test"
    assert test_command.read(tmp_path / "missing.md") is None


async def test_init_asks_for_the_test_command_line_and_suggests_one(tmp_path):
    from sous.runtime import Options, open_session
    from sous.ui import slash

    (tmp_path / "Cargo.toml").write_text("[package]\nname = 'x'\n")
    script = tmp_path / "turns.json"
    script.write_text("[]")
    session = open_session(Options(cwd=str(tmp_path), model=f"scripted:{script}", persist=False))
    outcome = await slash.run(session, "/init")
    assert "Test command: `<command>`" in outcome.prompt
    assert "suggest the test command `cargo test`" in outcome.prompt
