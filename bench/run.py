"""Benchmarks of the spine. Run: `python bench/run.py [--runs N] [--before REVISION] [--startup-only]`.

Reports medians of several runs (these machines are shared and noisy):
- `sous --version` wall time (target < 60 ms);
- a 3-step scripted task (write a file, run it, answer) end to end: the real `sous -p` process
  talking the Anthropic wire protocol to a local scripted endpoint (target < 0.2 s), with its CPU
  time (the process and its children) and peak RSS (target < 80 MB);
- `python -X importtime` of that task: the imports' cumulative time (target < 80 ms), their CPU
  time in a fresh interpreter, and the number of modules;
- these three start-up figures for this tree and for `--before` (by default the revision before
  the start-up work), one run of each in turn so that the machine's load falls on both alike;
- harness overhead per model turn, in process, with a scripted model and a no-op tool (< 5 ms);
- the size of the system prompt plus the default tool schemas (target < 4,000 tokens).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sous.testing import THREE_STEP_TASK as THREE_STEPS  # noqa: E402


def sous_command(src: Path | None = None) -> list[str]:
    """The `sous` script installed with this interpreter (not a version manager's shim on PATH,
    which would add its own start-up time), else `python -m sous`; always the latter for the
    source tree `src` (see `child_environ`)."""
    exe = Path(sysconfig.get_path("scripts")) / "sous"
    return [str(exe)] if exe.exists() and src is None else [sys.executable, "-m", "sous"]


def child_environ(src: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a measured process: this one's, but with bytecode caching on, as in an
    installed package (`PYTHONDONTWRITEBYTECODE` would make every run compile sous afresh), and
    sous imported from the source tree `src` when one is given."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return {**env, **extra}


@contextlib.contextmanager
def source_at(revision: str) -> Iterator[Path]:
    """The `src` folder of this repository at a git revision, in a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
        yield Path(folder) / "src"


@dataclass(frozen=True, slots=True, kw_only=True)
class Measured:
    wall_s: float
    cpu_s: float
    """User plus system time of the process and its children (the Bash tool's `python3`, git)."""
    peak_rss_kib: int
    out: bytes
    code: int


def measure(cmd: list[str], **kw) -> Measured:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    out = proc.stdout.read()
    proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    return Measured(
        wall_s=elapsed,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_kib=usage.ru_maxrss,
        out=out,
        code=os.waitstatus_to_exitcode(status),
    )


def bench_version(runs: int, src: Path | None = None) -> dict:
    times = []
    for _ in range(runs + 2):
        run = measure([*sous_command(src), "--version"], env=child_environ(src))
        assert run.code == 0, run.out
        times.append(run.wall_s)
    times = times[2:]  # warm-up
    return {"median_ms": round(statistics.median(times) * 1000, 1), "min_ms": round(min(times) * 1000, 1)}


TASK_ARGS = [
    "-p",
    "write hello.py, run it and tell me",
    "--model",
    "anthropic:claude-sonnet-4-5",
    "--dangerously-skip-permissions",
    "--output-format",
    "json",
]
"""The 3-step task as `sous` arguments, against a `ScriptedServer` replaying `THREE_STEPS`."""


@contextlib.contextmanager
def task_folder(src: Path | None = None) -> Iterator[tuple[str, dict[str, str]]]:
    """A fresh project folder and home, with a scripted endpoint for the 3-step task: (folder, environment)."""
    from sous.testing.server import ScriptedServer

    with (
        tempfile.TemporaryDirectory() as work,
        tempfile.TemporaryDirectory() as home,
        ScriptedServer(THREE_STEPS) as server,
    ):
        # `python3` in the task is the real interpreter, not a version manager's shim (pyenv's runs
        # ~30 shell processes, ~100 ms that are not sous's). Not this virtual environment's bin
        # folder: sous takes its own environment off a command's PATH.
        tools = Path(home) / "bin"
        tools.mkdir()
        (tools / "python3").symlink_to(os.path.realpath(sys.executable))
        path = os.pathsep.join([str(tools), os.environ.get("PATH", "")])
        yield (
            work,
            child_environ(src, ANTHROPIC_BASE_URL=server.url, ANTHROPIC_API_KEY="bench", SOUS_HOME=home, PATH=path),
        )


def bench_three_steps(runs: int, src: Path | None = None) -> dict:
    """The 3-step task end to end (one warm-up run first): wall time, CPU time (the process and its
    children: the task's `python3`, git for checkpoints) and peak RSS, medians of `runs`."""
    walls, cpus, rss = [], [], []
    for _ in range(runs + 1):
        with task_folder(src) as (work, env):
            run = measure([*sous_command(src), *TASK_ARGS], cwd=work, env=env)
            result = json.loads(run.out)
            assert run.code == 0 and result["result"] == THREE_STEPS[-1]["text"], run.out
            assert (Path(work) / "hello.py").exists()
        walls.append(run.wall_s)
        cpus.append(run.cpu_s)
        rss.append(run.peak_rss_kib)
    walls, cpus, rss = walls[1:], cpus[1:], rss[1:]
    return {
        "median_s": round(statistics.median(walls), 3),
        "min_s": round(min(walls), 3),
        "cpu_median_s": round(statistics.median(cpus), 3),
        "peak_rss_mb_median": round(statistics.median(rss) / 1024, 1),
        "target_s": THREE_STEP_TARGET_S,
    }


THREE_STEP_TARGET_S = 0.2
IMPORT_TIME_TARGET_MS = 80


BEFORE_REVISION = "1218263"
"""The last revision before the start-up work (its figures are the "before" of the report)."""
IMPORT_CPU = """
import importlib, sys, time
started = time.process_time()
for name in sys.argv[1:]:
    importlib.import_module(name)
print(time.process_time() - started)
"""


def import_cpu_ms(modules: list[str], src: Path | None = None) -> float:
    """The CPU time a fresh interpreter takes to import `modules` (the task's top-level imports, in
    their order): the import cost without the wall clock's noise on a shared machine."""
    modules = [m for m in modules if m not in ("__main__", "sous.__main__")]
    out = subprocess.check_output([sys.executable, "-c", IMPORT_CPU, *modules], env=child_environ(src), text=True)
    return float(out) * 1000


IMPORTTIME_LAUNCHER = """
import importlib, runpy, sys
# `-X importtime` reports what import statements load, but not the module `importlib.import_module`
# itself names (sous loads tool and provider modules by name): only its imports would be logged, as if
# top-level. `__import__` takes the import statement's path, so every module loaded is reported.
by_name = importlib.import_module
importlib.import_module = lambda name, package=None: (
    by_name(name, package) if name.startswith(".") else __import__(name, fromlist=["__name__"])
)
sys.argv[0] = "sous"
runpy.run_module("sous", run_name="__main__", alter_sys=True)
"""
"""Runs `python -m sous` with every module load visible to `-X importtime`."""


def bench_import_time(runs: int, src: Path | None = None) -> dict:
    """`python -X importtime` of the 3-step `-p` task: the imports' cumulative time (the sum of the
    top-level entries), the CPU time of the same imports in a fresh interpreter (`import_cpu_ms`)
    and the number of modules imported, medians of `runs` after a warm-up run
    (which also writes the bytecode caches), with the ten costliest top-level imports of the last run."""
    totals, counts, cpus, top = [], [], [], []
    for _ in range(runs + 1):
        with task_folder(src) as (work, env):
            done = subprocess.run(
                [sys.executable, "-X", "importtime", "-c", IMPORTTIME_LAUNCHER, *TASK_ARGS],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
        rows, modules = [], 0
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
                continue
            modules += 1
            _, cumulative, name = line.removeprefix("import time:").split("|")
            if not name.startswith("  "):  # a top-level entry: its cumulative time covers its children
                rows.append((int(cumulative), name.strip()))
        totals.append(sum(us for us, _ in rows) / 1000)
        counts.append(modules)
        cpus.append(import_cpu_ms([name for _, name in rows], src))
        top = sorted(rows, reverse=True)[:10]
    totals, counts, cpus = totals[1:], counts[1:], cpus[1:]
    return {
        "cumulative_ms_median": round(statistics.median(totals), 1),
        "cpu_ms_median": round(statistics.median(cpus), 1),
        "modules": round(statistics.median(counts)),
        "target_ms": IMPORT_TIME_TARGET_MS,
        "top": [f"{name} {us / 1000:.1f} ms" for us, name in top],
    }


def bench_turn_overhead(turns: int = 300) -> dict:
    from sous.core import Agent, Conversation, ToolContext, ToolResult, ToolSet, user
    from sous.models.scripted import ScriptedModel
    from sous.tools.schema import validate

    class Noop:
        name, description, read_only, concurrent = "Noop", "does nothing", True, False
        input_schema = {"type": "object", "properties": {"n": {"type": "integer"}}}

        async def run(self, args, ctx):
            return ToolResult(content="ok")

    script = [
        {"text": "step", "tool_calls": [{"name": "Noop", "input": {"n": i}, "id": f"t{i}"}]} for i in range(turns - 1)
    ] + [{"text": "done"}]
    with tempfile.TemporaryDirectory() as work:
        agent = Agent(
            model=ScriptedModel(script),
            tools=ToolSet([Noop()], validate=validate),
            ctx=ToolContext(cwd=work, project_dir=work),
        )
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


def interleaved(bench: Callable[[int, Path | None], dict], runs: int, trees: dict[str, Path | None]) -> dict:
    """`bench` on each source tree in turn, one run at a time, so that a change of load on a shared
    machine falls on both alike: per tree, the median of each figure over the rounds (the least of
    the `min_` ones)."""
    rounds: dict[str, list[dict]] = {label: [] for label in trees}
    for _ in range(runs):
        for label, src in trees.items():
            rounds[label].append(bench(1, src))

    def merged(key: str, done: list[dict]) -> Any:
        values = [r[key] for r in done]
        if not isinstance(values[-1], float | int) or key.startswith("target"):
            return values[-1]
        return round(min(values) if key.startswith("min") else statistics.median(values), 3)

    return {label: {key: merged(key, done) for key in done[-1]} for label, done in rounds.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--before",
        metavar="REVISION",
        default=BEFORE_REVISION,
        help="also measure start-up (version, 3-step task, import time) at this git revision, for comparison "
        f"(default {BEFORE_REVISION}, before the start-up work; '' to skip)",
    )
    parser.add_argument("--startup-only", action="store_true", help="measure only the start-up figures")
    args = parser.parse_args()
    report: dict = {}
    with contextlib.ExitStack() as stack:
        trees = {"after": None}
        if args.before:
            trees = {"before": stack.enter_context(source_at(args.before)), "after": ROOT / "src"}
        for name, bench in (
            ("version", bench_version),
            ("three_step_task", bench_three_steps),
            ("import_time", bench_import_time),
        ):
            figures = interleaved(bench, args.runs, trees)
            report[name] = figures if args.before else figures["after"]
    if args.startup_only:
        print(json.dumps(report, indent=2))
        return
    report |= {
        "turn_overhead": bench_turn_overhead(),
        "long_session": bench_long_session(),
        "prompt_budget": prompt_budget(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
