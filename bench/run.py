"""Benchmarks of the spine. Run: `python bench/run.py [--runs N]` (after `pip install -e .`).

Reports medians of several runs (these machines are shared and noisy):
- `sous --version` wall time (target < 60 ms);
- a 3-step scripted task (write a file, run it, answer) end to end: the real `sous -p` process
  talking the Anthropic wire protocol to a local scripted endpoint (target < 0.2 s), with the
  process's peak RSS (target < 80 MB);
- `python -X importtime` of that task: the imports' cumulative time (target < 80 ms);
- harness overhead per model turn, in process, with a scripted model and a no-op tool (< 5 ms);
- the size of the system prompt plus the default tool schemas (target < 4,000 tokens).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sous.testing import THREE_STEP_TASK as THREE_STEPS  # noqa: E402


def sous_command() -> list[str]:
    """The `sous` script installed with this interpreter (not a version manager's shim on PATH,
    which would add its own start-up time), else `python -m sous`."""
    exe = Path(sysconfig.get_path("scripts")) / "sous"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "sous"]


def peak_rss_kib(cmd: list[str], **kw) -> tuple[float, int, bytes, int]:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    out = proc.stdout.read()
    proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss, out, proc.returncode


def bench_version(runs: int) -> dict:
    times = []
    for _ in range(runs + 2):
        elapsed, _, out, code = peak_rss_kib([*sous_command(), "--version"])
        assert code == 0, out
        times.append(elapsed)
    times = times[2:]  # warm-up
    return {"median_ms": round(statistics.median(times) * 1000, 1), "min_ms": round(min(times) * 1000, 1)}


def bench_three_steps(runs: int) -> dict:
    from sous.testing.server import ScriptedServer

    times, rss = [], []
    for _ in range(runs + 1):
        with (
            tempfile.TemporaryDirectory() as work,
            tempfile.TemporaryDirectory() as home,
            ScriptedServer(THREE_STEPS) as server,
        ):
            # `python3` in the task resolves to this interpreter, as in an activated venv (a
            # version manager's shim would add ~100 ms that is not sous's).
            path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
            env = {
                **os.environ,
                "ANTHROPIC_BASE_URL": server.url,
                "ANTHROPIC_API_KEY": "bench",
                "SOUS_HOME": home,
                "PATH": path,
            }
            elapsed, peak, out, code = peak_rss_kib(
                [
                    *sous_command(),
                    "-p",
                    "write hello.py, run it and tell me",
                    "--model",
                    "anthropic:claude-sonnet-4-5",
                    "--dangerously-skip-permissions",
                    "--output-format",
                    "json",
                ],
                cwd=work,
                env=env,
            )
            result = json.loads(out)
            assert code == 0 and result["result"] == THREE_STEPS[-1]["text"], out
            assert (Path(work) / "hello.py").exists()
        times.append(elapsed)
        rss.append(peak)
    times, rss = times[1:], rss[1:]
    return {
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "peak_rss_mb_median": round(statistics.median(rss) / 1024, 1),
    }


IMPORT_TIME_TARGET_MS = 80


def bench_import_time(runs: int) -> dict:
    """`python -X importtime` of the 3-step `-p` task: the imports' cumulative time (the sum of the
    top-level entries), median of `runs`, with the ten costliest top-level imports of the last run."""
    from sous.testing.server import ScriptedServer

    totals, top = [], []
    for _ in range(runs):
        with (
            tempfile.TemporaryDirectory() as work,
            tempfile.TemporaryDirectory() as home,
            ScriptedServer(THREE_STEPS) as server,
        ):
            path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
            env = {
                **os.environ,
                "ANTHROPIC_BASE_URL": server.url,
                "ANTHROPIC_API_KEY": "bench",
                "SOUS_HOME": home,
                "PATH": path,
            }
            done = subprocess.run(
                [
                    sys.executable,
                    "-X",
                    "importtime",
                    "-m",
                    "sous",
                    "-p",
                    "write hello.py, run it and tell me",
                    "--model",
                    "anthropic:claude-sonnet-4-5",
                    "--dangerously-skip-permissions",
                    "--output-format",
                    "json",
                ],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
        rows = []
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
                continue
            _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            if not name.startswith(" ") and not line.split("|")[2].startswith("  "):
                rows.append((int(cumulative), name))
        totals.append(sum(us for us, _ in rows) / 1000)
        top = sorted(rows, reverse=True)[:10]
    return {
        "cumulative_ms_median": round(statistics.median(totals), 1),
        "target_ms": IMPORT_TIME_TARGET_MS,
        "top": [f"{name} {us / 1000:.1f} ms" for us, name in top],
    }


def bench_turn_overhead(turns: int = 300) -> dict:
    from sous.core import Agent, Conversation, ToolContext, ToolResult, ToolSet, user
    from sous.models.scripted import ScriptedModel

    class Noop:
        name, description, read_only, concurrent = "Noop", "does nothing", True, False
        input_schema = {"type": "object", "properties": {"n": {"type": "integer"}}}

        async def run(self, args, ctx):
            return ToolResult(content="ok")

    script = [
        {"text": "step", "tool_calls": [{"name": "Noop", "input": {"n": i}, "id": f"t{i}"}]} for i in range(turns - 1)
    ] + [{"text": "done"}]
    with tempfile.TemporaryDirectory() as work:
        agent = Agent(model=ScriptedModel(script), tools=ToolSet([Noop()]), ctx=ToolContext(cwd=work, project_dir=work))
        started = time.perf_counter()
        end = asyncio.run(agent.run(Conversation(system="s"), user("go")))
        elapsed = time.perf_counter() - started
    assert end.num_turns == turns
    return {"turns": turns, "ms_per_turn": round(elapsed / turns * 1000, 3)}


LONG_SESSION = r"""
import asyncio, json, os, resource, sys, time
from sous.runtime import Options, open_session
from sous.core import TurnStart

turns, work = int(sys.argv[1]), sys.argv[2]
open(os.path.join(work, "notes.txt"), "w").write("a small file\n" * 20)
script = [{"text": "Reading again.", "tool_calls": [{"name": "Read", "input": {"file_path": "notes.txt"}}],
           "usage": {"input_tokens": 2000, "output_tokens": 20}}] * (turns - 1) + [{"text": "done"}]
json.dump(script, open(os.path.join(work, "script.json"), "w"))
rss = {}

def sample(event):
    if isinstance(event, TurnStart) and event.turn in (100, turns):
        rss[event.turn] = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

async def main():
    session = open_session(Options(cwd=work, model="scripted:" + os.path.join(work, "script.json"),
                                   permission_mode="bypassPermissions"))
    session.subscribe(sample)
    started = time.perf_counter()
    end = await session.send("read notes.txt over and over")
    elapsed = time.perf_counter() - started
    session.close()
    assert end.num_turns == turns, end
    print(json.dumps({"turns": turns, "ms_per_turn": round(elapsed / turns * 1000, 3),
                      "rss_mb_at_turn_100": round(rss[100], 1), f"rss_mb_at_turn_{turns}": round(rss[turns], 1)}))

asyncio.run(main())
"""


def bench_long_session(turns: int = 1000) -> dict:
    """A whole session (transcript, permissions, the real Read tool) over many turns, in a fresh
    process: time per turn and resident memory early and late. Growth should be the history only."""
    with tempfile.TemporaryDirectory() as work, tempfile.TemporaryDirectory() as home:
        out = subprocess.check_output(
            [sys.executable, "-c", LONG_SESSION, str(turns), work],
            env={**os.environ, "SOUS_HOME": home, "PYTHONPATH": str(ROOT / "src")},
        )
    return json.loads(out)


def prompt_budget() -> dict:
    from sous import tools
    from sous.context import system_prompt
    from sous.core import ToolSet

    with tempfile.TemporaryDirectory() as work:
        system = system_prompt.build(work)
    from sous.mcp.search import ToolSearch

    deferred = {n: tools.load(n) for n in tools.DEFERRED_TOOLS}  # offered through ToolSearch
    schemas = json.dumps([*tools.toolset().schemas(), *ToolSet([ToolSearch(deferred, print)]).schemas()])
    chars = len(system) + len(schemas)
    # No tokenizer is reachable offline; 3.5 characters per token is a conservative estimate for
    # English prose and JSON with Claude's and GPT's tokenizers.
    return {"system_chars": len(system), "tool_schema_chars": len(schemas), "estimated_tokens": round(chars / 3.5)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    report = {
        "version": bench_version(args.runs),
        "three_step_task": bench_three_steps(args.runs),
        "import_time": bench_import_time(args.runs),
        "turn_overhead": bench_turn_overhead(),
        "long_session": bench_long_session(),
        "prompt_budget": prompt_budget(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
