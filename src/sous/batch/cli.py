"""`sous batch TASKS.jsonl --out DIR`: many tasks, each in its own checkout, locally or on Ray.

Exit codes: 0 every task of the file succeeded; 1 some did not (or were not started: the cost
cap); 2 the batch could not start (a bad task file or option, Ray unreachable); 130 stopped by
Ctrl-C or SIGTERM (running tasks are killed and recorded `interrupted`; rerun to go on).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from sous.batch.tasks import PERMISSION_MODES, Defaults, TaskFileError, load_tasks


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sous batch",
        description="Run many sous tasks in parallel, each in its own "
        "checkout; resumable (rerun to skip the finished ones).",
    )
    p.add_argument("tasks", help="the task file: one JSON object per line (see the README)")
    p.add_argument("--out", required=True, help="output folder: results.jsonl, patches/, transcripts/")
    p.add_argument(
        "--concurrency",
        "-j",
        type=_positive_int,
        help="tasks at once (default: CPUs here, or the cluster's CPUs / --cpus-per-task on Ray)",
    )
    p.add_argument("--per-provider", type=_positive_int, metavar="N", help="at most N tasks at once per provider")
    p.add_argument(
        "--max-cost-usd", type=_positive_float, metavar="USD", help="start no task once the batch has spent this much"
    )
    p.add_argument("--model", help="model of the tasks that name none")
    p.add_argument("--permission-mode", choices=PERMISSION_MODES, help="mode of the tasks that name none")
    p.add_argument("--max-turns", type=_positive_int, help="turn limit of the tasks that set none")
    p.add_argument(
        "--timeout",
        type=_positive_float,
        default=1800.0,
        metavar="S",
        help="timeout_s of the tasks that set none (default 1800)",
    )
    p.add_argument("--check", action="store_true", help="validate the task file and stop")
    p.add_argument(
        "--ray",
        metavar="auto|local|ADDRESS",
        help="run on Ray: auto (RAY_ADDRESS or the cluster `ray start` began here), local (a "
        "private instance), or a cluster address (host:port, ray://host:10001)",
    )
    p.add_argument("--cpus-per-task", type=_positive_float, default=1.0, help="Ray: CPUs each task takes")
    p.add_argument(
        "--ray-max-retries", type=int, default=3, metavar="N", help="Ray: runs of a task whose worker died (default 3)"
    )
    return p


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _settings_seed() -> str | None:
    """The user's sous settings.json, which every task's own SOUS_HOME starts with."""
    from sous.paths import config_dir

    path = config_dir() / "settings.json"
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def main(argv: list[str]) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # before the batch's own handlers are in place (connecting to Ray...)
        print("\nsous batch: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    defaults = Defaults(
        model=args.model, permission_mode=args.permission_mode, timeout_s=args.timeout, max_turns=args.max_turns
    )
    try:
        tasks = load_tasks(args.tasks, defaults)
    except TaskFileError as e:
        for problem in e.problems:
            print(f"sous batch: {problem}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{len(tasks)} task(s), all valid")
        return 0
    from sous.batch.pool import Limits, LocalBackend, run_batch
    from sous.batch.report import Progress, summary
    from sous.batch.results import Results

    try:
        results = Results(args.out)
        results.lock()
    except OSError as e:
        print(f"sous batch: cannot use {args.out} as the output folder: {e.strerror or e}", file=sys.stderr)
        return 2
    for warning in results.warnings:
        print(f"sous batch: {warning}", file=sys.stderr)
    seed = _settings_seed()
    backend: object
    if args.ray:
        from sous.batch.ray_backend import RayBackend

        try:
            backend = RayBackend(
                args.ray,
                cpus_per_task=args.cpus_per_task,
                max_retries=args.ray_max_retries,
                settings_seed=seed,
                local_cpus=args.concurrency,
            )
        except RuntimeError as e:
            print(f"sous batch: {e}", file=sys.stderr)
            return 2
        concurrency = args.concurrency or max(1, int(backend.cluster_cpus() // args.cpus_per_task))
    else:
        concurrency = args.concurrency or os.cpu_count() or 1
        backend = LocalBackend(concurrency, settings_seed=seed)
    todo = sum(not results.finished(t.id) for t in tasks)
    progress = Progress(len(tasks), skipped=len(tasks) - todo)
    if todo < len(tasks):
        progress.note(f"{len(tasks) - todo} task(s) already finished in {results.path}; running {todo}")
    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        end = run_batch(
            tasks,
            backend,
            results,
            progress,
            Limits(concurrency=concurrency, per_provider=args.per_provider, max_cost_usd=args.max_cost_usd),
            stop,
        )
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    lines = [results.latest[t.id] for t in tasks if t.id in results.latest]
    print(summary(lines, wall_s=end.wall_s, not_started=len(tasks) - len(lines)))
    print(f"results: {results.path}")
    if end.interrupted:
        print("sous batch: stopped; rerun the same command to go on", file=sys.stderr)
        return 130
    return 0 if all(line["status"] == "success" for line in lines) and len(lines) == len(tasks) else 1
