"""Memory files: discovery, order, imports, rules, and nested files loaded on first touch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sous
from sous.context import memory
from sous.store import transcript

SRC = str(Path(sous.__file__).resolve().parents[1])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "app" / "api").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def names(mem: memory.Memory, root: Path) -> list[str]:
    return [str(f.path.relative_to(root)) if f.path.is_relative_to(root) else f.path.name for f in mem.files]


def test_levels_root_first_local_after_both_agents_and_claude(repo, tmp_path):
    (repo / "CLAUDE.md").write_text("root claude")
    (repo / "AGENTS.md").write_text("root agents")
    (repo / "app" / "CLAUDE.md").write_text("app claude")
    (repo / "app" / "CLAUDE.local.md").write_text("my local notes")
    (repo / "app" / "api" / "SOUS.md").write_text("api sous")
    mem, _ = memory.load(str(repo / "app" / "api"), str(repo), {"HOME": str(tmp_path / "home")})
    assert names(mem, repo) == ["CLAUDE.md", "AGENTS.md", "app/CLAUDE.md", "app/CLAUDE.local.md", "app/api/SOUS.md"]
    text = mem.render()
    assert text.index("root claude") < text.index("app claude") < text.index("my local notes")
    assert "(user's private project instructions, not checked in)" in text


def test_a_symlinked_agents_md_loads_once_and_user_files_come_first(repo, tmp_path):
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / "CLAUDE.md").write_text("user prefs")
    (repo / "CLAUDE.md").write_text("project")
    (repo / "AGENTS.md").symlink_to(repo / "CLAUDE.md")
    mem, _ = memory.load(str(repo), str(repo), {"HOME": str(home), "SOUS_HOME": str(tmp_path / "sous")})
    assert [f.text for f in mem.files] == ["user prefs", "project"]


def test_imports_hops_cycles_code_and_comments(repo, tmp_path):
    (repo / "docs").mkdir()
    (repo / "CLAUDE.md").write_text("See @docs/style.md and @README.md.\n`@not/this.md`\n<!-- @hidden.md -->")
    (repo / "docs" / "style.md").write_text("style: @../one.md")
    (repo / "README.md").write_text("readme")
    (repo / "one.md").write_text("@two.md")
    (repo / "two.md").write_text("@three.md @CLAUDE.md")
    (repo / "three.md").write_text("@four.md")
    (repo / "four.md").write_text("too deep")
    for name in ("not/this.md", "hidden.md"):
        (repo / name).parent.mkdir(exist_ok=True)
        (repo / name).write_text("must not load")
    mem, _ = memory.load(str(repo), str(repo), {"HOME": str(tmp_path)})
    assert names(mem, repo) == ["CLAUDE.md", "docs/style.md", "one.md", "two.md", "three.md", "README.md"]
    assert "must not load" not in mem.render() and "<!--" not in mem.render()


def test_rules_unscoped_now_scoped_later(repo, tmp_path):
    rules = repo / ".claude" / "rules"
    rules.mkdir(parents=True)
    (rules / "general.md").write_text("Use tabs.")
    (rules / "api.md").write_text('---\npaths:\n  - "app/api/**/*.py"\n---\nAPI handlers return JSON.')
    mem, scoped = memory.load(str(repo), str(repo), {"HOME": str(tmp_path)})
    assert [f.text for f in mem.files] == ["Use tabs."]
    assert scoped == [(["app/api/**/*.py"], rules / "api.md")]
    assert memory.frontmatter_paths('---\npaths: ["a/*.ts", "b/**"]\n---\nx') == ["a/*.ts", "b/**"]


def test_nested_memory_and_scoped_rules_arrive_with_the_first_read(repo, tmp_path):
    (repo / "CLAUDE.md").write_text("root rule")
    (repo / "app" / "api" / "CLAUDE.md").write_text("API: never log tokens.")
    (repo / ".sous" / "rules").mkdir(parents=True)
    (repo / ".sous" / "rules" / "py.md").write_text("---\npaths: app/api/*.py\n---\nType-hint everything.")
    (repo / "app" / "api" / "views.py").write_text("def view(): ...\n")
    turns = [
        {"tool_calls": [{"name": "Read", "input": {"file_path": "app/api/views.py"}}]},
        {"tool_calls": [{"name": "Read", "input": {"file_path": "app/api/views.py"}}]},
        {"text": "ok"},
    ]
    script = tmp_path / "turns.json"
    script.write_text(json.dumps(turns))
    run = subprocess.run(
        [sys.executable, "-m", "sous", "-p", "look", "--model", f"scripted:{script}", "--output-format", "json"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr
    messages = transcript.load(transcript.find(json.loads(run.stdout)["session_id"])).messages
    assert "root rule" in messages[0].text and "API: never log tokens." not in messages[0].text
    first_read, second_read = messages[2].text, messages[4].text
    assert "API: never log tokens." in first_read and "Type-hint everything." in first_read
    assert "never log tokens" not in second_read  # once per session


def test_bare_skips_memory(repo, tmp_path):
    (repo / "CLAUDE.md").write_text("secret project rule")
    script = tmp_path / "turns.json"
    script.write_text(json.dumps([{"text": "ok"}]))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sous",
            "-p",
            "hi",
            "--bare",
            "--model",
            f"scripted:{script}",
            "--output-format",
            "json",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(tmp_path)},
    )
    messages = transcript.load(transcript.find(json.loads(run.stdout)["session_id"])).messages
    assert "secret project rule" not in messages[0].text
