"""Glob and Grep against real ripgrep on real files; TodoWrite's session list."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sous.core import ToolContext
from sous.tools import _rg
from sous.tools.glob import TOOL as GLOB
from sous.tools.grep import TOOL as GREP
from sous.tools.grep import split_globs
from sous.tools.todo import TOOL as TODO
from sous.tools.todo import current_todos


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=str(tmp_path), project_dir=str(tmp_path))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    files = {
        "app.py": "import os\nprint('Hello')\n",
        "src/util.py": "def helper():\n    return 'hello world'\n",
        "src/deep/mod.py": "HELLO = 1\n",
        "web/page.ts": "const hello = 1;\n",
        "web/comp.tsx": "export const Hello = () => null;\n",
        "README.md": "# hello\n",
        "build/out.py": "hello = 'generated'\n",
        ".github/ci.yml": "name: hello\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for i, name in enumerate(files):
        os.utime(tmp_path / name, (1_000_000 + i, 1_000_000 + i))  # later in the dict = newer
    (tmp_path / ".gitignore").write_text("build/\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def test_rg_is_found():
    assert _rg.rg_path() and os.access(_rg.rg_path(), os.X_OK)


async def test_glob_matches_newest_first_with_absolute_paths(ctx, tree):
    result = await GLOB.run({"pattern": "**/*.py"}, ctx)
    assert result.content.splitlines() == [str(tree / p) for p in ("build/out.py", "src/deep/mod.py", "src/util.py",
                                                                   "app.py")]
    assert result.data["numFiles"] == 4 and not result.data["truncated"]


async def test_glob_brace_sets_paths_and_hidden_files(ctx, tree):
    result = await GLOB.run({"pattern": "*.{ts,tsx}", "path": "web"}, ctx)
    assert sorted(result.content.splitlines()) == [str(tree / "web/comp.tsx"), str(tree / "web/page.ts")]
    assert (await GLOB.run({"pattern": "**/*.yml"}, ctx)).content == str(tree / ".github/ci.yml")


async def test_glob_honours_gitignore_when_asked(tree):
    ctx = ToolContext(cwd=str(tree), project_dir=str(tree), environ={"CLAUDE_CODE_GLOB_NO_IGNORE": "false"})
    result = await GLOB.run({"pattern": "**/*.py"}, ctx)
    assert str(tree / "build/out.py") not in result.content and str(tree / "app.py") in result.content


async def test_glob_caps_at_100_with_a_note(ctx, tmp_path):
    for i in range(130):
        (tmp_path / f"f{i:03}.txt").write_text("x")
    result = await GLOB.run({"pattern": "*.txt"}, ctx)
    lines = result.content.splitlines()
    assert len(lines) == 101 and "showing 100 of 130 files" in lines[-1]
    assert result.data["truncated"]


async def test_glob_no_match_and_bad_path(ctx, tree):
    assert (await GLOB.run({"pattern": "*.nothing"}, ctx)).content == "No files found"
    bad = await GLOB.run({"pattern": "*", "path": "missing"}, ctx)
    assert bad.is_error and "does not exist" in bad.content


async def test_grep_files_with_matches_respects_gitignore(ctx, tree):
    result = await GREP.run({"pattern": "hello"}, ctx)
    lines = result.content.splitlines()
    assert lines[0] == "Found 4 files"
    assert lines[1:] == [".github/ci.yml", "README.md", "web/page.ts", "src/util.py"]  # newest first, no build/


async def test_grep_case_insensitive_and_content_with_line_numbers(ctx, tree):
    result = await GREP.run({"pattern": "hello", "-i": True, "output_mode": "content", "type": "py"}, ctx)
    assert sorted(result.content.splitlines()) == ["app.py:2:print('Hello')", "src/deep/mod.py:1:HELLO = 1",
                                                   "src/util.py:2:    return 'hello world'"]


async def test_grep_context_lines(ctx, tree):
    result = await GREP.run({"pattern": "return", "output_mode": "content", "-B": 1, "path": "src"}, ctx)
    assert result.content.splitlines() == ["src/util.py-1-def helper():", "src/util.py:2:    return 'hello world'"]


async def test_grep_glob_filter_with_braces(ctx, tree):
    result = await GREP.run({"pattern": "(?i)hello", "glob": "*.{ts,tsx}"}, ctx)
    assert result.content.splitlines()[1:] == ["web/comp.tsx", "web/page.ts"]
    assert split_globs("*.py, *.md") == ["*.py", "*.md"] and split_globs("*.{ts,tsx}") == ["*.{ts,tsx}"]


async def test_grep_count_mode_has_a_total(ctx, tree):
    (tree / "many.txt").write_text("x\nx\nx\n")
    result = await GREP.run({"pattern": "x", "output_mode": "count", "glob": "*.txt"}, ctx)
    assert result.content.splitlines()[0] == "many.txt:3"
    assert "Found 3 total occurrences across 1 files." in result.content


async def test_grep_multiline(ctx, tree):
    result = await GREP.run({"pattern": r"def helper\(\):\s+return", "multiline": True,
                             "output_mode": "files_with_matches"}, ctx)
    assert result.content.splitlines()[1:] == ["src/util.py"]
    single = await GREP.run({"pattern": r"def helper\(\):\s+return"}, ctx)
    assert single.content == "No files found"


async def test_grep_head_limit_and_offset_page_through(ctx, tmp_path):
    (tmp_path / "log.txt").write_text("".join(f"match {i}\n" for i in range(10)))
    first = await GREP.run({"pattern": "match", "output_mode": "content", "head_limit": 3, "-n": False}, ctx)
    assert first.content.splitlines()[:3] == ["log.txt:match 0", "log.txt:match 1", "log.txt:match 2"]
    assert "Showing entries 1-3 of 10; use offset=3" in first.content
    second = await GREP.run({"pattern": "match", "output_mode": "content", "head_limit": 3, "offset": 3,
                             "-n": False}, ctx)
    assert second.content.splitlines()[0] == "log.txt:match 3"
    past = await GREP.run({"pattern": "match", "output_mode": "content", "offset": 50}, ctx)
    assert "No entries at this offset" in past.content


async def test_grep_bad_regex_returns_ripgreps_error(ctx, tree):
    result = await GREP.run({"pattern": "foo("}, ctx)
    assert result.is_error and "regex parse error" in result.content


async def test_grep_pattern_starting_with_a_dash(ctx, tmp_path):
    (tmp_path / "opts.txt").write_text("use --verbose here\n")
    result = await GREP.run({"pattern": "--verbose", "output_mode": "content"}, ctx)
    assert result.content == "opts.txt:1:use --verbose here"


async def test_grep_skips_binary_files_and_reports_no_matches(ctx, tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01needle\x00")
    (tmp_path / "text.txt").write_text("haystack\n")
    assert (await GREP.run({"pattern": "needle", "output_mode": "content"}, ctx)).content == "No matches found"


async def test_grep_huge_content_is_capped_with_a_note(ctx, tmp_path):
    (tmp_path / "big.txt").write_text(("needle " + "x" * 400 + "\n") * 2000)
    result = await GREP.run({"pattern": "needle", "output_mode": "content", "head_limit": 2000}, ctx)
    assert len(result.content) < 31_000 and "truncated" in result.content


async def test_todo_write_replaces_the_list(ctx):
    first = [{"content": "Write code", "status": "in_progress", "activeForm": "Writing code"},
             {"content": "Run tests", "status": "pending", "activeForm": "Running tests"}]
    result = await TODO.run({"todos": first}, ctx)
    assert result.content.startswith("Todos have been modified successfully")
    assert result.data == {"oldTodos": [], "newTodos": first}
    second = [{**first[0], "status": "completed"}, {**first[1], "status": "in_progress"}]
    result = await TODO.run({"todos": second}, ctx)
    assert result.data["oldTodos"] == first and current_todos(ctx.state) == second


async def test_todo_write_warns_about_two_in_progress_and_refuses_empty_tasks(ctx):
    two = [{"content": c, "status": "in_progress", "activeForm": c} for c in ("a", "b")]
    assert "more than one todo is in_progress" in (await TODO.run({"todos": two}, ctx)).content
    empty = await TODO.run({"todos": [{"content": " ", "status": "pending", "activeForm": "x"}]}, ctx)
    assert empty.is_error and current_todos(ctx.state) == two
