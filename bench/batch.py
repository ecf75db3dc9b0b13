"""`sous batch` throughput: 40 scripted tasks at concurrency 1, 2, 4 and 8, locally and on Ray.

Run: `python bench/batch.py [--tasks 40] [--levels 1,2,4,8] [--no-ray]` (Ray: `pip install 'sous[ray]'`).

Every task is the real path: a shared clone of a small repository, `sous -p` in a subprocess with
its own SOUS_HOME, two model turns (write a file, answer) against a local endpoint speaking the
Anthropic wire protocol, a verify command, the patch and the transcript written to the output
folder. Reported per level: wall time, tasks per minute, and per task the overhead of each path:
  dispatch  the driver handing the task out -> the task's runner starting (threads, or Ray
            scheduling it on a worker)
  to_model  the runner starting -> the first model request (the checkout plus sous's start-up);
            of which to_sous_init is the runner starting -> sous's `system/init` line
(medians and 90th percentiles). Ray runs on a private local instance with 8 CPUs started once
(its start-up, and the first upload of sous in the runtime environment, are reported apart).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sous.testing.server import ScriptedServer  # noqa: E402

SCRIPT = [
    {
        "tool_calls": [{"name": "Write", "input": {"file_path": "out.txt", "content": "done\n"}}],
        "usage": {"input_tokens": 1000, "output_tokens": 20},
    },
    {"text": "Wrote out.txt.", "usage": {"input_tokens": 1100, "output_tokens": 10}},
]


class ConversationServer(ScriptedServer):
    """Serves many conversations at once: the answer to a request is the script's turn numbered by
    the assistant turns the request already holds, so parallel tasks each get the whole script. It
    notes when each task (named in its prompt) first asked."""

    def __init__(self, turns: list[dict[str, Any]]):
        super().__init__(turns)
        self.script = list(turns)
        self.first_request: dict[str, float] = {}

    def next_turn(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any] | None:
        now = time.time()
        messages = body.get("messages", [])
        first = messages[0].get("content") if messages else ""
        text = first if isinstance(first, str) else " ".join(b.get("text", "") for b in first if isinstance(b, dict))
        if found := re.search(r"bench task (\S+)", text):
            with self._lock:
                self.first_request.setdefault(found.group(1), now)
        n = sum(1 for m in messages if m.get("role") == "assistant")
        return self.script[n] if n < len(self.script) else None


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    for i in range(20):
        (repo / f"module_{i}.py").write_text(f"VALUE = {i}\n" * 50)
    ident = ["-c", "user.name=b", "-c", "user.email=b@b"]
    for args in (["init", "-q"], ["add", "."], [*ident, "commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    return repo


def make_tasks(root: Path, repo: Path, n: int):
    from sous.batch.tasks import load_tasks

    path = root / "tasks.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"t{i:03d}",
                    "repo": str(repo),
                    "prompt": f"bench task t{i:03d}",
                    "model": "anthropic:claude-sonnet-4-5",
                    "permission_mode": "acceptEdits",
                    "verify": "test -f out.txt",
                }
            )
            + "\n"
            for i in range(n)
        )
    )
    return load_tasks(path)


class Timed:
    """A backend wrapper noting when the driver handed out each task."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.submitted: dict[str, float] = {}

    def submit(self, task: Any) -> Any:
        self.submitted[task.id] = time.time()
        return self.inner.submit(task)

    def wait(self, timeout: float) -> Any:
        return self.inner.wait(timeout)

    def stop(self) -> Any:
        return self.inner.stop()

    def close(self) -> None:
        self.inner.close()


def _epoch(iso: str) -> float:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def _stats(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        "median_ms": round(statistics.median(values) * 1000),
        "p90_ms": round(values[int(len(values) * 0.9) - 1] * 1000),
    }


def run_level(where: str, concurrency: int, tasks: list, server: ConversationServer, work: Path) -> dict[str, Any]:
    from sous.batch.pool import Limits, LocalBackend, run_batch
    from sous.batch.report import Progress
    from sous.batch.results import Results

    server.first_request.clear()
    out = work / f"out-{where}-{concurrency}"
    if where == "ray":
        from sous.batch.ray_backend import RayBackend

        inner: Any = RayBackend("auto")
    else:
        inner = LocalBackend(concurrency)
    backend = Timed(inner)
    results = Results(out)
    with open(os.devnull, "w") as quiet:
        progress = Progress(len(tasks), out=quiet, live=False)
        started = time.monotonic()
        end = run_batch(tasks, backend, results, progress, Limits(concurrency=concurrency), threading.Event())
        wall = time.monotonic() - started
    lines = [results.latest[t.id] for t in tasks]
    assert end.ran == len(tasks) and all(line["status"] == "success" for line in lines), [
        line for line in lines if line["status"] != "success"
    ][:2]
    dispatch = [_epoch(line["started_at"]) - backend.submitted[line["id"]] for line in lines]
    to_model = [server.first_request[line["id"]] - _epoch(line["started_at"]) for line in lines]
    to_init = [line["startup_s"] for line in lines]
    return {
        "where": where,
        "concurrency": concurrency,
        "tasks": len(tasks),
        "wall_s": round(wall, 2),
        "tasks_per_min": round(len(tasks) / wall * 60, 1),
        "dispatch": _stats(dispatch),
        "to_model": _stats(to_model),
        "to_sous_init": _stats(to_init),
        "task_s_median": round(statistics.median(line["duration_s"] for line in lines), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--levels", default="1,2,4,8")
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    work = Path(tempfile.mkdtemp(prefix="sous-bench-batch-"))
    os.environ["SOUS_HOME"] = str(work / "home")
    rows = []
    with ConversationServer(SCRIPT) as server:
        os.environ.update(ANTHROPIC_BASE_URL=server.url, ANTHROPIC_API_KEY="bench")
        tasks = make_tasks(work, make_repo(work), args.tasks)
        for level in levels:
            rows.append(run_level("local", level, tasks, server, work))
            print(json.dumps(rows[-1]), flush=True)
        if not args.no_ray:
            import ray

            started = time.monotonic()
            ray.init(
                address="local",
                num_cpus=max(levels),
                include_dashboard=False,
                log_to_driver=False,
                logging_level="ERROR",
                runtime_env={
                    "py_modules": [str(ROOT / "src" / "sous")],
                    "excludes": ["__pycache__"],
                    "env_vars": {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "bench"},
                },
            )
            init_s = time.monotonic() - started
            # The first task on a fresh runtime environment pays for shipping sous to the workers.
            warm = time.monotonic()
            (work / "warm").mkdir()
            run_level("ray", 1, make_tasks(work / "warm", make_repo(work / "warm"), 1), server, work / "warm")
            print(
                json.dumps({"ray_init_s": round(init_s, 2), "first_task_s": round(time.monotonic() - warm, 2)}),
                flush=True,
            )
            for level in levels:
                rows.append(run_level("ray", level, tasks, server, work))
                print(json.dumps(rows[-1]), flush=True)
            ray.shutdown()
    print()
    print(
        f"{'where':<6} {'conc':>4} {'wall s':>7} {'tasks/min':>9} {'dispatch ms':>12} {'to model ms':>12} {'task s':>7}"
    )
    for r in rows:
        print(
            f"{r['where']:<6} {r['concurrency']:>4} {r['wall_s']:>7} {r['tasks_per_min']:>9} "
            f"{r['dispatch']['median_ms']:>5}/{r['dispatch']['p90_ms']:<6} {r['to_model']['median_ms']:>5}/"
            f"{r['to_model']['p90_ms']:<6} {r['task_s_median']:>7}"
        )
    print("(dispatch and to-model: median/p90 per task)")


if __name__ == "__main__":
    main()
