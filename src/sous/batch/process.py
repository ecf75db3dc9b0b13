"""Child processes of a task, each in its own process group, stopped as a whole.

Every command a task runs (setup, the agent, verify) starts a new session, so a Ctrl-C at the
terminal reaches only the batch, and stopping a command means stopping its group: SIGTERM first
(sous -p then interrupts its run and writes its transcript, killing its tools' own groups), SIGKILL
after a grace period.

What a command leaves running (a server started by setup for the agent to use, a tool's process
in a session of its own) lives until the task ends; then `sweep` kills every process that carries
the task's marker in its environment, wherever it moved (process groups and sessions can be left;
an inherited environment is kept). On systems without /proc only the groups are stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Literal

from sous.records import record

Ending = Literal["exit", "timeout", "interrupted", "limit"]

GRACE_S = 5.0
"""How long a stopped command has between SIGTERM and SIGKILL."""


@record
class Ended:
    how: Ending
    """`exit` when the command ended by itself; otherwise why it was stopped."""
    code: int | None
    """Its exit code (negative: the signal that ended it)."""


class Child:
    """One command in its own process group."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: str,
        env: Mapping[str, str],
        stdout: int | IO[bytes],
        stderr: int | IO[bytes],
        stdin: int | None = subprocess.DEVNULL,
    ):
        self.popen = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdin=stdin, stdout=stdout, stderr=stderr, start_new_session=True
        )

    def wait(
        self,
        *,
        deadline: float,
        should_stop: Callable[[], bool],
        over_limit: Callable[[], bool] = lambda: False,
        poll_s: float = 0.05,
    ) -> Ended:
        """Wait for the command to end, stopping its group at `deadline` (a `time.monotonic()`
        value), when `should_stop()` or when `over_limit()` says so. A KeyboardInterrupt while
        waiting (Ray's cancellation) stops the group and propagates."""
        try:
            while True:
                try:
                    code = self.popen.wait(timeout=poll_s)
                except subprocess.TimeoutExpired:
                    pass
                else:
                    return Ended(how="exit", code=code)
                how: Ending | None = (
                    "timeout"
                    if time.monotonic() >= deadline
                    else "interrupted"
                    if should_stop()
                    else "limit"
                    if over_limit()
                    else None
                )
                if how is not None:
                    return Ended(how=how, code=self.stop())
        except BaseException:
            self.stop()
            raise

    def stop(self, grace_s: float = GRACE_S) -> int:
        """Stop the whole group (TERM, then KILL after `grace_s`); return the exit code."""
        self._signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.popen.wait()
        self._signal(signal.SIGKILL)  # what the group leader left behind
        return self.popen.returncode

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)


MARKER = "SOUS_BATCH_RUN"
"""The environment variable whose value names the task run a process belongs to."""


def sweep(marker: str) -> int:
    """SIGKILL every process of this user whose environment holds `MARKER=marker`; return how
    many were signalled. Never raises."""
    needle = f"{MARKER}={marker}".encode()
    killed = 0
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return 0
    for pid in pids:
        if pid == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except (OSError, ValueError):  # gone meanwhile, or another user's
            continue
    return killed
