"""The batch driver: which task starts when, what is recorded, and how a batch stops.

One driver loop serves both places tasks run: `LocalBackend` (threads on this machine, each
running its task's commands as child processes) and `sous.batch.ray_backend.RayBackend` (Ray
tasks on a cluster). The driver keeps at most `concurrency` tasks in flight, at most
`per_provider` of them on one provider, starts no task once `max_cost_usd` is spent, and records
every outcome as it arrives.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Protocol

from sous.batch.report import Progress
from sous.batch.results import Results
from sous.batch.runner import Outcome, blank_record, run_task
from sous.batch.tasks import Task
from sous.records import record


class Backend(Protocol):
    """Where tasks run. Called from the driver's thread only."""

    def submit(self, task: Task) -> object:
        """Start `task`; return a handle for it."""
        ...

    def wait(self, timeout: float) -> list[tuple[object, Outcome | None]]:
        """Wait up to `timeout` seconds; return the handles that finished, with their outcomes:
        a task that failed inside the backend comes back as an `error` outcome, one cancelled
        from outside as None (recorded `interrupted`); never an exception."""
        ...

    def stop(self) -> list[tuple[object, Outcome | None]]:
        """Stop every running task (their commands' process groups are killed) and wait for them;
        return each handle with its outcome, or None when the backend lost it."""
        ...

    def close(self) -> None: ...


class LocalBackend:
    """Tasks in threads of this process; each thread waits on its task's child processes."""

    def __init__(self, concurrency: int, *, env: Mapping[str, str] = os.environ, settings_seed: str | None = None):
        self.env = dict(env)
        self.settings_seed = settings_seed
        self.stopping = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sous-batch")
        self.running: dict[Future[Outcome], tuple[Task, float]] = {}

    def submit(self, task: Task) -> Future[Outcome]:
        future = self.pool.submit(
            run_task, task, env=self.env, settings_seed=self.settings_seed, should_stop=self.stopping.is_set
        )
        self.running[future] = (task, time.monotonic())
        return future

    def wait(self, timeout: float) -> list[tuple[object, Outcome | None]]:
        done, _ = wait(self.running, timeout=timeout, return_when=FIRST_COMPLETED)
        return [(future, self._outcome(future)) for future in done]

    def stop(self) -> list[tuple[object, Outcome | None]]:
        self.stopping.set()
        done, _ = wait(self.running)
        return [(future, self._outcome(future)) for future in done]

    def _outcome(self, future: Future[Outcome]) -> Outcome:
        task, started = self.running.pop(future)
        try:
            return future.result()
        except Exception as e:  # a bug in the runner: this task's line says so, the batch goes on
            return Outcome(
                record=blank_record(task, "error", f"internal error: {e!r}", time.monotonic() - started),
                patch=None,
                transcript=None,
            )

    def close(self) -> None:
        self.stopping.set()  # nothing runs after a normal end; after an exception, nothing must
        self.pool.shutdown(wait=True)


@record
class Limits:
    concurrency: int
    """Tasks in flight at once."""
    per_provider: int | None = None
    """Tasks in flight at once on one provider (`Task.provider`)."""
    max_cost_usd: float | None = None
    """No task starts once the batch's recorded cost reaches this."""


@record
class BatchEnd:
    ran: int
    """Tasks run (recorded) by this invocation."""
    skipped: int
    """Tasks already finished in an earlier run."""
    not_started: int
    """Tasks left unstarted: the cost cap was reached or the batch was stopped."""
    interrupted: bool
    cost_capped: bool
    wall_s: float


def run_batch(
    tasks: list[Task], backend: Backend, results: Results, progress: Progress, limits: Limits, stop: threading.Event
) -> BatchEnd:
    """Run the tasks not yet finished in `results`, recording each outcome as it arrives. Setting
    `stop` (the signal handler does) stops the running tasks, records them `interrupted`, and
    returns."""
    started = time.monotonic()
    ids = {task.id for task in tasks}
    pending = [task for task in tasks if not results.finished(task.id)]
    skipped = len(tasks) - len(pending)
    spent = sum(cost for task_id, cost in results.spent.items() if task_id in ids)
    running: dict[object, tuple[Task, float]] = {}
    per_provider: dict[str, int] = {}
    ran = 0
    capped = False

    def record(handle: object, outcome: Outcome | None) -> None:
        nonlocal spent, ran
        task, t0 = running.pop(handle)
        per_provider[task.provider] -= 1
        if outcome is None:
            outcome = Outcome(
                record=blank_record(task, "interrupted", "the batch was stopped", time.monotonic() - t0),
                patch=None,
                transcript=None,
            )
        line = results.record(outcome)
        spent += line.get("cost_usd") or 0.0  # money spent stays spent, whatever the status
        ran += 1
        progress.finished_task(line)

    try:
        while True:
            if stop.is_set():
                for handle, outcome in backend.stop():
                    record(handle, outcome)
                break
            capped = limits.max_cost_usd is not None and spent >= limits.max_cost_usd
            while pending and not capped and len(running) < limits.concurrency:
                task = next(
                    (
                        t
                        for t in pending
                        if limits.per_provider is None or per_provider.get(t.provider, 0) < limits.per_provider
                    ),
                    None,
                )
                if task is None:
                    break
                pending.remove(task)
                running[backend.submit(task)] = (task, time.monotonic())
                per_provider[task.provider] = per_provider.get(task.provider, 0) + 1
                progress.started_task(task.id)
            if not running:
                break
            for handle, outcome in backend.wait(0.25):
                record(handle, outcome)
            progress.draw()
    finally:
        backend.close()
        progress.close()
    capped = limits.max_cost_usd is not None and spent >= limits.max_cost_usd
    if capped and pending and not stop.is_set():
        progress.note(f"the batch's cost cap (${limits.max_cost_usd:g}) is reached: {len(pending)} task(s) not started")
    return BatchEnd(
        ran=ran,
        skipped=skipped,
        not_started=len(pending),
        interrupted=stop.is_set(),
        cost_capped=capped and bool(pending),
        wall_s=time.monotonic() - started,
    )
