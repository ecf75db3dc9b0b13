"""Glob and Grep against bare ripgrep. Run: `python bench/search_vs_rg.py [--runs N] [--files N]`.

Builds (once, reused from /tmp) a tree of ~20,000 source files in nested folders, plus
.gitignore'd folders (node_modules/, build/) inside a git repository, then compares the median
wall time of each tool call with the bare `rg` command doing the same search (same flags, so the
difference is the tool's own cost: the asyncio subprocess, decoding, the mtime sort, paging).
Target: every ratio ≤ 1.2×. Glob's newest-first order needs one stat per matching path, which
bare `rg --files` never makes; with thousands of matches that alone passes the target (a second
row times rg doing the same sort itself, `--sortr modified`, for the like-for-like cost).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))  # this checkout's sous, so its imports come after this line

from sous.core import ToolContext  # noqa: E402
from sous.tools import BuiltinTool, _rg  # noqa: E402
from sous.tools.glob import TOOL as GLOB  # noqa: E402
from sous.tools.grep import TOOL as GREP  # noqa: E402
from sous.tools.grep import command as grep_command  # noqa: E402

PATTERN = r"def handle_\w+"
TARGET = 1.2


def build_tree(root: Path, files: int) -> Path:
    """A git repository with `files` tracked-looking files and two ignored folders; reused when
    a previous run left one of the same size."""
    marker = root / ".built"
    if marker.exists() and marker.read_text() == str(files):
        return root
    subprocess.run(["rm", "-rf", str(root)], check=True)
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".gitignore").write_text("node_modules/\nbuild/\n")
    suffixes = (".py", ".ts", ".md", ".txt", ".json")
    for i in range(files):
        folder = root / f"pkg{i % 20:02}" / f"mod{i // 20 % 10}" / f"sub{i // 200 % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        body = "".join(f"value_{i}_{n} = {n}  # some filler text for the search\n" for n in range(30))
        if i % 20 == 0:
            body += f"def handle_{i}(request):\n    return request\n"
        (folder / f"file{i}{suffixes[i % len(suffixes)]}").write_text(body)
        stamp = 1_600_000_000 + i * 7 % 99_991  # mixed mtimes so the sort has work to do
        os.utime(folder / f"file{i}{suffixes[i % len(suffixes)]}", (stamp, stamp))
    for ignored, count in (("node_modules", files // 5), ("build", files // 20)):
        for i in range(count):
            folder = root / ignored / f"lib{i % 50}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"dep{i}.py").write_text(f"def handle_dep{i}():\n    pass\n")
    marker.write_text(str(files))
    return root


def paired_medians(first: Callable[[], object], second: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median milliseconds of each, run alternately so load from other processes hits both alike."""
    first(), second()  # warm the page cache and the interpreter
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for fn, into in ((first, times[0]), (second, times[1])):
            started = time.perf_counter()
            fn()
            into.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--tree", default="/tmp/sous-bench-search-tree")
    opts = parser.parse_args()
    rg = _rg.rg_path()
    if rg is None:
        print(_rg.MISSING)
        return 1
    root = str(build_tree(Path(opts.tree), opts.files))
    ctx = ToolContext(cwd=root, project_dir=root, environ=dict(os.environ))
    loop = asyncio.new_event_loop()

    def tool(search: BuiltinTool, args: dict[str, object]) -> Callable[[], object]:
        return lambda: loop.run_until_complete(search.run(args, ctx))

    def bare(args: list[str]) -> Callable[[], object]:
        return lambda: subprocess.run([rg, "--no-config", *args], cwd=root, capture_output=True, check=False)

    def glob_flags(pattern: str) -> list[str]:
        return ["--files", "--hidden", "--glob", pattern, *_rg.vcs_excludes(), "--no-ignore", "--", root]

    cases = [
        ("Glob **/*.py (9k matches) vs rg --files", tool(GLOB, {"pattern": "**/*.py"}), bare(glob_flags("**/*.py"))),
        (
            "  same vs rg --files --sortr modified",
            tool(GLOB, {"pattern": "**/*.py"}),
            bare(["--sortr", "modified", *glob_flags("**/*.py")]),
        ),
        (
            "Glob pkg03/**/*.ts (200 matches) vs rg --files",
            tool(GLOB, {"pattern": "pkg03/**/*.ts"}),
            bare(glob_flags("pkg03/**/*.ts")),
        ),
        (
            "Grep files_with_matches vs rg -l",
            tool(GREP, {"pattern": PATTERN}),
            bare(grep_command({"pattern": PATTERN}, "files_with_matches", ".")),
        ),
        (
            "Grep content vs rg -n",
            tool(GREP, {"pattern": PATTERN, "output_mode": "content"}),
            bare(grep_command({"pattern": PATTERN}, "content", ".")),
        ),
        (
            "Grep count vs rg -c",
            tool(GREP, {"pattern": PATTERN, "output_mode": "count"}),
            bare(grep_command({"pattern": PATTERN}, "count", ".")),
        ),
    ]
    print(f"rg: {rg}\ntree: {root} ({opts.files} files + ignored folders), median of {opts.runs} runs")
    print("bare rg runs with the same flags as the tool; the tool adds the asyncio subprocess, decoding,")
    print("paging and, for Glob and files_with_matches, one stat per path for the newest-first sort.\n")
    print(f"{'case':50} {'rg ms':>8} {'tool ms':>8} {'ratio':>6}")
    over = []
    for name, run_tool, run_rg in cases:
        rg_ms, tool_ms = paired_medians(run_rg, run_tool, opts.runs)
        ratio = tool_ms / rg_ms
        if ratio > TARGET:
            over.append(name.strip())
        print(f"{name:50} {rg_ms:8.1f} {tool_ms:8.1f} {ratio:5.2f}x")
    loop.close()
    print(f"\ntarget ≤ {TARGET}x: " + ("all within" if not over else "over in: " + "; ".join(over)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
