"""Run one task from start to end: checkout, setup, the agent, the patch, verify.

The agent is sous itself in a subprocess (`sous -p --output-format stream-json`), in the
task's checkout, with a SOUS_HOME of its own (a fresh folder holding only a copy of the user's
settings.json), so no session, grant or history passes between tasks. The prompt goes in on stdin
(a prompt starting with `-` cannot be mistaken for an option).

`sous -p` has no spending flag, so `max_budget_usd` is enforced here: the runner prices each
assistant message of the stream as it arrives (the list prices of `sous.models.catalog`, as the
result's `total_cost_usd` does) and stops the agent once the sum passes the budget, within
50 ms of the turn that passed it: a task overruns its budget by that turn (and by a next model
request only if the agent sends one within those 50 ms).

How a task ends (`status`):
    error        the checkout or a setup command failed, or the agent stopped on an error of its
                 own (provider failure, crash, no result)
    timeout      `timeout_s` passed during setup or the agent (the running command's group is killed)
    interrupted  the batch was stopped (Ctrl-C) while the task ran
    success      verify exited 0 — or, without verify, the agent ended its run normally
    failed       verify exited non-zero — or, without verify, the agent hit its turn or budget limit
Verify runs when the agent ended normally or at its turn or budget limit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import sous
from sous.batch.checkout import Checkout, CheckoutError
from sous.batch.process import MARKER, Child, Ended, sweep
from sous.batch.tasks import Task
from sous.records import record

TAIL_CHARS = 4000
"""How much of verify's (or a failed setup's) output a result line keeps: the end of it."""


@record
class Outcome:
    """What a finished task hands back to the driver (plain data: it crosses Ray too)."""

    record: dict[str, Any]
    """The task's results line, except `patch` and `transcript` (paths the driver writes)."""
    patch: bytes | None
    """The patch (None when the agent did not run)."""
    transcript: str | None
    """The agent's session file (None when the agent did not start)."""


class _Stream:
    """Reads `sous -p --output-format stream-json` as it comes: session id, running cost, result."""

    def __init__(self, budget: float | None):
        self.budget = budget
        self.cost = 0.0
        self.session_id: str | None = None
        self.result: dict[str, Any] | None = None
        self.init_at: float | None = None
        self._priced: set[str] = set()

    def read(self, pipe: IO[bytes]) -> None:
        for raw in pipe:
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict):
                self._take(obj)

    def _take(self, obj: dict[str, Any]) -> None:
        kind = obj.get("type")
        if kind == "system" and obj.get("subtype") == "init":
            self.init_at = time.monotonic()
            self.session_id = obj.get("session_id")
        elif kind == "assistant" and isinstance(message := obj.get("message"), dict):
            # One line per content block, each carrying the message's usage: price a message once.
            if (mid := str(message.get("id"))) not in self._priced:
                self._priced.add(mid)
                self.cost += _price(str(message.get("model") or ""), message.get("usage") or {})
        elif kind == "result":
            self.result = obj

    def over_budget(self) -> bool:
        return self.budget is not None and self.cost > self.budget


def _price(model: str, usage: dict[str, Any]) -> float:
    from sous.core import Usage
    from sous.models.catalog import cost

    def n(key: str) -> int:
        value = usage.get(key)
        return value if isinstance(value, int) else 0

    return cost(
        model,
        Usage(
            input_tokens=n("input_tokens"),
            output_tokens=n("output_tokens"),
            cache_read_tokens=n("cache_read_input_tokens"),
            cache_write_tokens=n("cache_creation_input_tokens"),
        ),
    )


# `python -m sous`, from the very sous running this batch, installed or not (a Ray worker gets it
# through the runtime environment). Its folder goes on the child's sys.path, not on PYTHONPATH,
# which setup, verify and the agent's own commands would inherit: for an installed sous that
# folder is site-packages, which would shadow the packages of the project under test.
_BOOT = "import sys; sys.path.insert(0, sys.argv.pop(1)); from sous.cli import main; sys.exit(main())"


def agent_argv(task: Task) -> list[str]:
    """The `sous -p` command line of a task (the prompt goes on stdin)."""
    src = str(Path(sous.__file__).resolve().parent.parent)
    argv = [sys.executable, "-c", _BOOT, src, "-p", "--output-format", "stream-json", "--verbose"]
    if task.model:
        argv += ["--model", task.model]
    if task.permission_mode:
        argv += ["--permission-mode", task.permission_mode]
    if task.max_turns:
        argv += ["--max-turns", str(task.max_turns)]
    argv += [f"--allowedTools={rule}" for rule in task.allowed_tools]
    return argv


def _tail(text: str) -> str:
    return text[-TAIL_CHARS:]


class _Run:
    """The state of one task run; `record` grows as it goes."""

    def __init__(self, task: Task, env: Mapping[str, str], should_stop: Callable[[], bool]):
        self.task = task
        self.should_stop = should_stop
        self.started = time.monotonic()
        self.deadline = self.started + task.timeout_s
        self.work = Path(tempfile.mkdtemp(prefix=f"sous-batch-{task.id}-"))
        self.home = self.work / "home"
        self.home.mkdir()
        self.marker = uuid.uuid4().hex
        self.env = {**env, "SOUS_HOME": str(self.home), MARKER: self.marker}
        self.record = blank_record(task)
        self.patch: bytes | None = None
        self.transcript: str | None = None

    def command(self, command: str, cwd: Path, deadline: float, log_name: str) -> tuple[Ended, str]:
        """Run a shell command (setup, verify) with its output, merged, appended to a log; return
        how it ended and the whole log (setup's commands share one)."""
        log = self.work / log_name
        with open(log, "ab") as out:
            child = Child(["bash", "-c", command], cwd=str(cwd), env=self.env, stdout=out, stderr=subprocess.STDOUT)
            ended = child.wait(deadline=deadline, should_stop=self.should_stop)
        return ended, log.read_bytes().decode("utf-8", "replace")

    def end(self, status: str, error: str | None = None) -> Outcome:
        self.record["status"] = status
        self.record["error"] = error
        self.record["duration_s"] = round(time.monotonic() - self.started, 3)
        return Outcome(record=self.record, patch=self.patch, transcript=self.transcript)


def _now_iso() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def blank_record(
    task: Task, status: str = "error", error: str | None = None, duration_s: float = 0.0
) -> dict[str, Any]:
    """A results line with nothing measured yet (also the driver's line for a task whose run was
    lost: cancelled or crashed on a Ray worker)."""
    return {
        "id": task.id,
        "status": status,
        "error": error,
        "verify_exit": None,
        "verify_output": None,
        "turns": 0,
        "usage": {},
        "cost_usd": 0.0,
        "duration_s": round(duration_s, 3),
        "agent_status": None,
        "agent_exit": None,
        "session_id": None,
        "model": task.model,
        "started_at": _now_iso(),
        "startup_s": None,
        "host": os.uname().nodename,
    }


def run_task(
    task: Task,
    *,
    env: Mapping[str, str] = os.environ,
    settings_seed: str | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Outcome:
    """Run `task` to its end and return its outcome; never raises for anything the task does.
    `settings_seed` is the text of the settings.json each task's SOUS_HOME starts with.
    `should_stop()` is polled: when it turns true the running command is stopped and the task
    ends `interrupted`. A KeyboardInterrupt (Ray's cancellation) stops the running command,
    removes the checkout and propagates."""
    run = _Run(task, env, should_stop)
    try:
        if settings_seed is not None:
            (run.home / "settings.json").write_text(settings_seed, "utf-8")
        return _run(run)
    except (CheckoutError, OSError, subprocess.SubprocessError) as e:
        return run.end("error", f"{type(e).__name__}: {e}")
    finally:
        sweep(run.marker)  # nothing a task started outlives it
        shutil.rmtree(run.work, ignore_errors=True)


def _run(run: _Run) -> Outcome:
    task = run.task
    try:
        checkout = Checkout.create(task.repo, task.ref, run.work / "repo")
    except CheckoutError as e:
        return run.end("error", f"checkout: {e}")
    for command in task.setup:
        ended, output = run.command(command, checkout.path, run.deadline, "setup.log")
        if ended.how != "exit":
            return run.end(ended.how, f"{ended.how} during setup: {command}")
        if ended.code != 0:
            return run.end("error", f"setup failed (exit {ended.code}): {command}\n{_tail(output)}")
    before = checkout.snapshot()
    ended, stream, stderr = _agent(run, checkout)
    run.patch = checkout.diff(before, checkout.snapshot())
    run.transcript = _transcript(run.home, stream.session_id)
    result = stream.result or {}
    run.record.update(
        agent_exit=ended.code,
        session_id=stream.session_id,
        turns=result.get("num_turns", 0),
        usage=result.get("usage") or {},
        cost_usd=round(max(float(result.get("total_cost_usd") or 0.0), stream.cost), 6),
        startup_s=round(stream.init_at - run.started, 3) if stream.init_at else None,
    )
    if ended.how == "timeout":
        run.record["agent_status"] = result.get("subtype")
        return run.end("timeout", f"timeout after {task.timeout_s:g} s, during the agent's run")
    if ended.how == "interrupted":
        return run.end("interrupted", "the batch was stopped")
    if ended.how == "limit":
        run.record["agent_status"] = "error_max_budget_usd"
    elif not stream.result:
        return run.end("error", f"the agent ended without a result (exit {ended.code}): {stderr[-1000:].strip()}")
    else:
        run.record["agent_status"] = result.get("subtype")
    limited = run.record["agent_status"] in ("error_max_turns", "error_max_budget_usd")
    if not limited and run.record["agent_status"] != "success":
        return run.end("error", f"the agent stopped on an error: {str(result.get('result'))[:1000]}")
    if task.verify is None:
        return (
            run.end("failed", f"the agent stopped at its limit ({run.record['agent_status']})")
            if limited
            else run.end("success")
        )
    ended, output = run.command(task.verify, checkout.path, time.monotonic() + task.timeout_s, "verify.log")
    run.record.update(verify_exit=ended.code, verify_output=_tail(output))
    if ended.how == "interrupted":
        return run.end("interrupted", "the batch was stopped during verify")
    if ended.how == "timeout":
        return run.end("failed", f"verify timed out after {task.timeout_s:g} s")
    return run.end("success" if ended.code == 0 else "failed")


def _agent(run: _Run, checkout: Checkout) -> tuple[Ended, _Stream, str]:
    stream = _Stream(run.task.max_budget_usd)
    errlog = run.work / "agent.stderr"
    with open(errlog, "wb") as err:
        child = Child(
            agent_argv(run.task),
            cwd=str(checkout.path),
            env=run.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
        )
        reader = threading.Thread(target=stream.read, args=(child.popen.stdout,), daemon=True)
        reader.start()
        try:
            assert child.popen.stdin is not None
            child.popen.stdin.write(run.task.prompt.encode())
            child.popen.stdin.close()
        except BrokenPipeError:  # sous exited before reading its prompt: its stderr says why
            pass
        ended = child.wait(deadline=run.deadline, should_stop=run.should_stop, over_limit=stream.over_budget)
        reader.join(timeout=10)
    return ended, stream, errlog.read_bytes().decode("utf-8", "replace")


def _transcript(home: Path, session_id: str | None) -> str | None:
    """The agent's session file: `<SOUS_HOME>/sessions/<project>/<session id>.jsonl`."""
    found = sorted((home / "sessions").glob(f"*/{session_id}.jsonl")) if session_id else []
    found = found or sorted((home / "sessions").glob("*/*.jsonl"))
    return found[0].read_text("utf-8", "replace") if found else None
