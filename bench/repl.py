"""Benchmarks of the interactive terminal. Run: `python bench/repl.py [--runs N]` (after
`pip install -e '.[test]'`: it drives the real `sous` in a pseudo-terminal, reading the screen
with pyte, against the local scripted Anthropic endpoint).

Reports medians (these machines are shared and noisy):
- launch to an input prompt ready for typing (target < 300 ms);
- keystroke echo latency while a turn streams (time from a key press to its character on screen);
- RSS of the sous process at turns 100 and 1,000 of one long scripted session (flat, < 120 MB);
- a 5,000-line tool output and a 5,000-line answer: time to render, and keystroke echo meanwhile.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from ui.terminal import Terminal  # noqa: E402

from sous.testing.server import ScriptedServer  # noqa: E402


def _terminal(home: Path, server: ScriptedServer, *args: str) -> Terminal:
    project = home / "project"
    project.mkdir(exist_ok=True)
    return Terminal(
        ["--model", "anthropic:claude-sonnet-4-5", "--permission-mode", "bypassPermissions", *args],
        cwd=project,
        env={
            "HOME": str(home),
            "SOUS_HOME": str(home / "sous"),
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "bench",
        },
    )


def launch_to_prompt(runs: int) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as tmp, ScriptedServer([]) as server:
        for _ in range(runs):
            started = time.perf_counter()
            term = _terminal(Path(tmp), server)
            term.wait_for(r"^>$", timeout=30)
            times.append(time.perf_counter() - started)
            term.close()
    return times


def echo_latency(term: Terminal, count: int, until: str | None = None) -> list[float]:
    """Type `count` letters one by one, timing each until it shows on the prompt line."""
    latencies, typed = [], ""
    for i in range(count):
        letter = "abcdefghij"[i % 10]
        typed += letter
        started = time.perf_counter()
        term.type(letter)
        term.wait_for(rf"^> {typed}$", timeout=10)
        latencies.append(time.perf_counter() - started)
        time.sleep(0.05)
    return latencies


def streaming_echo(samples: int) -> list[float]:
    long_text = " ".join(f"word{i}" for i in range(6000))
    turns = [{"text": long_text + "\n\nEnd of the long answer."}]
    with tempfile.TemporaryDirectory() as tmp, ScriptedServer(turns, chunk_delay=0.005) as server:
        term = _terminal(Path(tmp), server)
        term.wait_for(r"^>$")
        term.line("talk a lot")
        term.wait_for(r"working")
        latencies = echo_latency(term, samples, until="stream")
        term.wait_for(r"End of the long answer\.", timeout=120)
        term.close()
    return latencies


def long_session_rss(turns_total: int) -> dict[int, float]:
    turns = [{"tool_calls": [{"name": "Read", "input": {"file_path": "data.txt"}}]}] * (turns_total - 1)
    turns = [*turns, {"text": "finished"}]
    rss: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp, ScriptedServer(turns) as server:
        (Path(tmp) / "project").mkdir()
        (Path(tmp) / "project" / "data.txt").write_text("some data\n" * 20)
        term = _terminal(Path(tmp), server, "--max-turns", str(turns_total + 5))
        term.wait_for(r"^>$")
        term.line("loop")
        pid = term.child.pid
        while len(server.requests) < turns_total:
            term._pump(0.05)
            n = len(server.requests)
            for mark in (100, 500, turns_total):
                if n >= mark and mark not in rss:
                    rss[mark] = _rss_mib(pid)
        term.wait_for(r"^finished$", timeout=60)
        rss[turns_total] = _rss_mib(pid)
        term.close()
    return rss


def big_output(kind: str) -> tuple[float, list[float]]:
    if kind == "tool":
        turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "seq 1 5000"}}]}, {"text": "counted"}]
        done = r"^counted$"
    else:
        text = "\n\n".join(f"Line {i} of a long answer with `code` and **bold**." for i in range(5000))
        turns = [{"text": text + "\n\ncounted"}]
        done = r"^counted$"
    with tempfile.TemporaryDirectory() as tmp, ScriptedServer(turns) as server:
        term = _terminal(Path(tmp), server)
        term.wait_for(r"^>$")
        started = time.perf_counter()
        term.line("go")
        latencies = echo_latency(term, 5, until="render")
        term.wait_for(done, timeout=300)
        elapsed = time.perf_counter() - started
        term.close()
    return elapsed, latencies


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--turns", type=int, default=1000)
    args = parser.parse_args()
    os.environ.pop("NO_COLOR", None)
    # As after `pip install`: bytecode compiled once, not recompiled on every start.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    import compileall

    compileall.compile_dir(str(ROOT / "src"), quiet=1)

    launch = launch_to_prompt(args.runs)
    print(
        f"launch to prompt:            median {statistics.median(launch) * 1000:.0f} ms "
        f"(min {min(launch) * 1000:.0f}, max {max(launch) * 1000:.0f}; target < 300)"
    )
    echo = streaming_echo(20)
    print(
        f"keystroke echo while streaming: median {statistics.median(echo) * 1000:.1f} ms, "
        f"max {max(echo) * 1000:.1f} ms ({len(echo)} keys)"
    )
    rss = long_session_rss(args.turns)
    print(
        "RSS over a long session:     "
        + ", ".join(f"turn {k}: {v:.1f} MB" for k, v in sorted(rss.items()))
        + " (target < 120, flat)"
    )
    for kind in ("tool", "answer"):
        elapsed, keys = big_output(kind)
        print(
            f"5,000-line {kind:6}:           shown in {elapsed:.2f} s; keystroke echo meanwhile median "
            f"{statistics.median(keys) * 1000:.1f} ms, max {max(keys) * 1000:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
