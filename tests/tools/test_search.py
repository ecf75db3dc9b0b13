"""Glob and Grep against real ripgrep on real files."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from sous.core import ToolContext
from sous.tools import _rg
from sous.tools.glob import TOOL as GLOB
from sous.tools.grep import TOOL as GREP
from sous.tools.grep import split_globs


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


def test_rg_is_found_and_is_the_binary_not_a_shim():
    path = _rg.rg_path()
    assert path and os.access(path, os.X_OK)
    assert subprocess.run([path, "--version"], check=True, capture_output=True, text=True).stdout.startswith("ripgrep ")
    assert not _rg._is_script(path)


def test_a_shim_on_path_loses_to_the_real_binary(tmp_path):
    shim = tmp_path / "rg"
    shim.write_text("#!/bin/sh\nexit 3\n")
    shim.chmod(0o755)
    found = _rg.rg_path({"PATH": str(tmp_path)})
    assert found and found != str(shim) and not _rg._is_script(found)


async def test_sous_rg_path_wins_and_a_missing_rg_is_a_one_line_error(ctx):
    assert _rg.rg_path({"SOUS_RG_PATH": _rg.rg_path()}) == _rg.rg_path()
    nowhere = ToolContext(cwd=ctx.cwd, project_dir=ctx.cwd, environ={"SOUS_RG_PATH": "/nonexistent/rg"})
    for tool in (GLOB, GREP):
        result = await tool.run({"pattern": "x"}, nowhere)
        assert result.is_error
        assert result.content == "ripgrep (rg) not found: pip install ripgrep==14.1.0 or apt install ripgrep"


async def test_cancelling_a_search_kills_rg(tmp_path):
    pid_file = tmp_path / "pid"
    fake = tmp_path / "slow-rg"
    fake.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 30\n")
    fake.chmod(0o755)
    task = asyncio.ensure_future(_rg.run(["x"], cwd=str(tmp_path), environ={"SOUS_RG_PATH": str(fake)}))
    while not pid_file.exists() or not pid_file.read_text().strip():
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


async def test_output_past_the_limit_is_cut_at_a_line_end(tmp_path):
    (tmp_path / "many.txt").write_text("needle line\n" * 50_000)
    seen: list[str] = []
    out = await _rg.run(["--no-filename", "needle", "many.txt"], cwd=str(tmp_path), limit=100, on_lines=seen.extend)
    assert out.cut and out.stdout == b"needle line\n" * 8
    assert seen == ["needle line"] * 8


async def test_on_lines_sees_every_line_once_in_order(tmp_path):
    (tmp_path / "many.txt").write_text("".join(f"needle {i}\n" for i in range(200_000)))
    seen: list[str] = []
    out = await _rg.run(["--no-filename", "needle", "many.txt"], cwd=str(tmp_path), on_lines=seen.extend)
    assert not out.cut and out.code == 0
    assert seen == [f"needle {i}" for i in range(200_000)] == out.stdout.decode().splitlines()


async def test_glob_matches_newest_first_with_absolute_paths(ctx, tree):
    result = await GLOB.run({"pattern": "**/*.py"}, ctx)
    expected = [str(tree / p) for p in ("build/out.py", "src/deep/mod.py", "src/util.py", "app.py")]
    assert result.content.splitlines() == expected
    assert result.data["filenames"] == expected and result.data["numFiles"] == 4
    assert result.data["truncated"] is False and isinstance(result.data["durationMs"], int)


async def test_glob_order_follows_mtime_changes(ctx, tree):
    os.utime(tree / "app.py", (2_000_000, 2_000_000))
    result = await GLOB.run({"pattern": "**/*.py"}, ctx)
    assert result.content.splitlines()[0] == str(tree / "app.py")


async def test_glob_brace_sets_relative_path_and_hidden_files(ctx, tree):
    result = await GLOB.run({"pattern": "*.{ts,tsx}", "path": "web"}, ctx)
    assert result.content.splitlines() == [str(tree / "web/comp.tsx"), str(tree / "web/page.ts")]
    assert (await GLOB.run({"pattern": "**/*.yml"}, ctx)).content == str(tree / ".github/ci.yml")


async def test_glob_anchors_slashed_patterns_at_the_search_folder(ctx, tree):
    (tree / "web/src").mkdir()
    (tree / "web/src/nested.py").write_text("")
    result = await GLOB.run({"pattern": "src/**/*.py"}, ctx)
    assert sorted(result.content.splitlines()) == [str(tree / "src/deep/mod.py"), str(tree / "src/util.py")]


async def test_glob_takes_an_absolute_pattern(tmp_path, tree):
    elsewhere = ToolContext(cwd="/", project_dir="/")
    result = await GLOB.run({"pattern": f"{tree}/src/**/*.py"}, elsewhere)
    assert sorted(result.content.splitlines()) == [str(tree / "src/deep/mod.py"), str(tree / "src/util.py")]


async def test_glob_lists_gitignored_files_but_never_the_git_folder(ctx, tree):
    result = await GLOB.run({"pattern": "**/*"}, ctx)
    assert str(tree / "build/out.py") in result.content.splitlines()
    assert "/.git/" not in result.content


async def test_glob_honours_gitignore_when_asked(tree):
    ctx = ToolContext(cwd=str(tree), project_dir=str(tree), environ={"CLAUDE_CODE_GLOB_NO_IGNORE": "false"})
    result = await GLOB.run({"pattern": "**/*.py"}, ctx)
    assert str(tree / "build/out.py") not in result.content and str(tree / "app.py") in result.content


async def test_glob_caps_at_100_newest_with_a_note(ctx, tmp_path):
    for i in range(130):
        (tmp_path / f"f{i:03}.txt").write_text("x")
        os.utime(tmp_path / f"f{i:03}.txt", (1_000_000 + i, 1_000_000 + i))
    result = await GLOB.run({"pattern": "*.txt"}, ctx)
    lines = result.content.splitlines()
    assert len(lines) == 101 and "showing 100 of 130 files" in lines[-1]
    assert lines[0] == str(tmp_path / "f129.txt") and lines[99] == str(tmp_path / "f030.txt")
    assert result.data["truncated"] is True and result.data["numFiles"] == 100


async def test_glob_no_match_and_bad_paths(ctx, tree):
    none = await GLOB.run({"pattern": "*.nothing"}, ctx)
    assert none.content == "No files found" and not none.is_error and none.data["numFiles"] == 0
    missing = await GLOB.run({"pattern": "*", "path": "missing"}, ctx)
    assert missing.is_error and missing.content == f"Directory does not exist: {tree / 'missing'}"
    a_file = await GLOB.run({"pattern": "*", "path": "app.py"}, ctx)
    assert a_file.is_error and a_file.content == f"Path is not a directory: {tree / 'app.py'}"


async def test_grep_files_with_matches_newest_first_respecting_gitignore(ctx, tree):
    result = await GREP.run({"pattern": "hello"}, ctx)
    lines = result.content.splitlines()
    assert lines[0] == "Found 4 files"
    assert lines[1:] == [".github/ci.yml", "README.md", "web/page.ts", "src/util.py"]  # no build/
    assert result.data["mode"] == "files_with_matches" and result.data["filenames"] == lines[1:]
    assert result.data["numFiles"] == 4


async def test_grep_case_insensitive_type_filter_and_line_numbers(ctx, tree):
    result = await GREP.run({"pattern": "hello", "-i": True, "output_mode": "content", "type": "py"}, ctx)
    assert sorted(result.content.splitlines()) == [
        "app.py:2:print('Hello')",
        "src/deep/mod.py:1:HELLO = 1",
        "src/util.py:2:    return 'hello world'",
    ]
    assert result.data["numLines"] == 3
    plain = await GREP.run({"pattern": "HELLO", "output_mode": "content", "-n": False}, ctx)
    assert plain.content == "src/deep/mod.py:HELLO = 1"


async def test_grep_unknown_type_is_an_error(ctx, tree):
    result = await GREP.run({"pattern": "x", "type": "nosuchtype"}, ctx)
    assert result.is_error and "nosuchtype" in result.content


async def test_grep_context_lines(ctx, tmp_path):
    (tmp_path / "f.txt").write_text("one\ntwo\nthree\nfour\nfive\n")
    before = await GREP.run({"pattern": "three", "output_mode": "content", "-B": 1}, ctx)
    assert before.content.splitlines() == ["f.txt-2-two", "f.txt:3:three"]
    after = await GREP.run({"pattern": "three", "output_mode": "content", "-A": 2}, ctx)
    assert after.content.splitlines() == ["f.txt:3:three", "f.txt-4-four", "f.txt-5-five"]
    both = await GREP.run({"pattern": "three", "output_mode": "content", "-C": 1}, ctx)
    assert both.content.splitlines() == ["f.txt-2-two", "f.txt:3:three", "f.txt-4-four"]


async def test_grep_glob_filters_with_braces_and_lists(ctx, tree):
    result = await GREP.run({"pattern": "(?i)hello", "glob": "*.{ts,tsx}"}, ctx)
    assert sorted(result.content.splitlines()[1:]) == ["web/comp.tsx", "web/page.ts"]
    listed = await GREP.run({"pattern": "(?i)hello", "glob": "*.md, *.yml"}, ctx)
    assert sorted(listed.content.splitlines()[1:]) == [".github/ci.yml", "README.md"]
    assert split_globs("*.py, *.md") == ["*.py", "*.md"] and split_globs("*.{ts,tsx}") == ["*.{ts,tsx}"]
    assert split_globs("*.py *.{ts,tsx},*.md") == ["*.py", "*.{ts,tsx},*.md"]


async def test_grep_count_mode_has_a_total(ctx, tree):
    (tree / "many.txt").write_text("x\nx\nx\n")
    (tree / "one.txt").write_text("x\n")
    result = await GREP.run({"pattern": "x", "output_mode": "count", "glob": "*.txt"}, ctx)
    lines = result.content.splitlines()
    assert sorted(lines[:2]) == ["many.txt:3", "one.txt:1"]
    assert lines[-1] == "Found 4 total occurrences across 2 files."
    assert result.data["numMatches"] == 4 and result.data["numFiles"] == 2


async def test_grep_count_total_covers_entries_past_the_head_limit(ctx, tree):
    for i in range(3):
        (tree / f"c{i}.txt").write_text("x\n" * (i + 1))
    result = await GREP.run({"pattern": "x", "output_mode": "count", "glob": "c*.txt", "head_limit": 1}, ctx)
    assert len([line for line in result.content.splitlines() if line.startswith("c")]) == 1
    assert "Found 6 total occurrences across 3 files." in result.content
    assert "Showing entries 1-1 of 3; use offset=1 for more." in result.content


async def test_grep_multiline(ctx, tree):
    result = await GREP.run({"pattern": r"def helper\(\):.+return", "multiline": True}, ctx)
    assert result.content.splitlines()[1:] == ["src/util.py"]
    single = await GREP.run({"pattern": r"def helper\(\):.+return"}, ctx)
    assert single.content == "No files found"


async def test_grep_head_limit_and_offset_page_through(ctx, tmp_path):
    (tmp_path / "log.txt").write_text("".join(f"match {i}\n" for i in range(10)))
    first = await GREP.run({"pattern": "match", "output_mode": "content", "head_limit": 3, "-n": False}, ctx)
    assert first.content.splitlines()[:3] == ["log.txt:match 0", "log.txt:match 1", "log.txt:match 2"]
    assert first.content.splitlines()[3] == "(Showing entries 1-3 of 10; use offset=3 for more.)"
    assert first.data["appliedLimit"] == 3 and first.data["appliedOffset"] == 0
    second = await GREP.run(
        {"pattern": "match", "output_mode": "content", "head_limit": 3, "offset": 3, "-n": False}, ctx
    )
    assert second.content.splitlines()[0] == "log.txt:match 3"
    last = await GREP.run({"pattern": "match", "output_mode": "content", "offset": 8, "-n": False}, ctx)
    assert last.content.splitlines() == ["log.txt:match 8", "log.txt:match 9", "(Showing entries 9-10 of 10.)"]
    past = await GREP.run({"pattern": "match", "output_mode": "content", "offset": 50}, ctx)
    assert past.content.startswith("No entries at this offset") and not past.is_error


async def test_grep_default_cap_is_250_entries_and_zero_means_all(ctx, tmp_path):
    for i in range(300):
        (tmp_path / f"m{i:03}.txt").write_text("hit\n")
    capped = await GREP.run({"pattern": "hit"}, ctx)
    assert capped.content.splitlines()[0] == "Found 300 files" and capped.data["numFiles"] == 250
    assert "Showing entries 1-250 of 300; use offset=250 for more." in capped.content
    everything = await GREP.run({"pattern": "hit", "head_limit": 0}, ctx)
    assert everything.data["numFiles"] == 300 and "Showing" not in everything.content


async def test_grep_paths_outside_the_working_folder_are_absolute(tmp_path, tree):
    elsewhere = ToolContext(cwd=str(tree / "web"), project_dir=str(tree))
    result = await GREP.run({"pattern": "HELLO", "path": str(tree / "src")}, elsewhere)
    assert result.content.splitlines()[1:] == [str(tree / "src/deep/mod.py")]
    inside = await GREP.run({"pattern": "hello", "path": "page.ts", "output_mode": "content"}, elsewhere)
    assert inside.content == "page.ts:1:const hello = 1;"


async def test_grep_bad_regex_returns_ripgreps_error(ctx, tree):
    result = await GREP.run({"pattern": "foo("}, ctx)
    assert result.is_error and "regex parse error" in result.content
    assert len(result.content.splitlines()) <= 8


async def test_grep_missing_path_is_an_error(ctx):
    result = await GREP.run({"pattern": "x", "path": "nowhere"}, ctx)
    assert result.is_error and "does not exist" in result.content


async def test_grep_pattern_starting_with_a_dash(ctx, tmp_path):
    (tmp_path / "opts.txt").write_text("use --verbose here\n")
    result = await GREP.run({"pattern": "--verbose", "output_mode": "content"}, ctx)
    assert result.content == "opts.txt:1:use --verbose here"


async def test_grep_skips_binary_files_and_reports_no_matches(ctx, tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01needle\x00")
    (tmp_path / "text.txt").write_text("haystack\n")
    result = await GREP.run({"pattern": "needle", "output_mode": "content"}, ctx)
    assert result.content == "No matches found" and not result.is_error
    assert (await GREP.run({"pattern": "needle"}, ctx)).content == "No files found"


async def test_grep_searches_hidden_files_but_not_the_git_folder(ctx, tree):
    result = await GREP.run({"pattern": "repositoryformatversion", "output_mode": "count"}, ctx)
    assert result.content == "No matches found"
    assert ".github/ci.yml" in (await GREP.run({"pattern": "name:"}, ctx)).content


async def test_grep_long_lines_are_shortened(ctx, tmp_path):
    (tmp_path / "min.js").write_text("var a='needle';" + "x" * 5000 + "\n")
    result = await GREP.run({"pattern": "needle", "output_mode": "content"}, ctx)
    assert len(result.content) < 1000 and "needle" in result.content


async def test_grep_huge_content_is_capped_with_a_note(ctx, tmp_path):
    (tmp_path / "big.txt").write_text(("needle " + "x" * 400 + "\n") * 2000)
    result = await GREP.run({"pattern": "needle", "output_mode": "content", "head_limit": 2000}, ctx)
    assert len(result.content) < 31_000 and "truncated" in result.content
