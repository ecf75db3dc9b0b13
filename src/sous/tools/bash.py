"""Bash, TaskOutput and TaskStop: shell commands, in the foreground or as background tasks.

Each call is a fresh `bash -c` in its own process group. The working directory carries over
between calls while it stays inside the project (an EXIT trap writes the final `pwd` to a file);
`export`s do not, as in Claude Code. A timeout or an interrupt kills the whole group. When an
editor drives sous and offers terminals (`_editor`), a foreground command runs in one of them
instead, unless the session has a sandbox.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sous.core import ToolContext, ToolResult
from sous.records import field, record

from . import _process
from ._base import builtin
from ._files import EditorError, added_dirs, editor, inside, record_read
from ._truncate import head_tail

if TYPE_CHECKING:  # imported only when an editor drives the session (`sous acp`)
    from ._editor import Editor

DEFAULT_TIMEOUT_MS = 120_000
MAX_TIMEOUT_MS = 600_000
OUTPUT_LIMIT = 30_000

# Exit code 1 means "nothing found" or "different", not failure, for these commands.
_EXIT_ONE_OK = {"grep", "rg", "egrep", "fgrep", "find", "diff", "test", "[", "cmp"}
_EXIT_ONE_OK_GIT = {"diff", "grep"}

BASH_SCHEMA = {
    "type": "object",
    "properties": {
        "command": {"type": "string", "description": "The command to execute"},
        "timeout": {"type": "number", "description": f"Optional timeout in milliseconds (max {MAX_TIMEOUT_MS})"},
        "description": {"type": "string", "description": "What this command does, in 5-10 words"},
        "run_in_background": {"type": "boolean", "description": "Run without waiting; read it with TaskOutput"},
        "dangerouslyDisableSandbox": {"type": "boolean", "description": "Run outside the sandbox (the user is asked)"},
    },
    "required": ["command"],
}


def _env_int(environ: Any, name: str, default: int) -> int:
    try:
        return int(environ.get(name) or default)
    except ValueError:
        return default


def _environment(ctx: ToolContext) -> dict[str, str]:
    env = without_own_venv(dict(ctx.environ or os.environ), ctx.project_dir)
    # Nothing may wait for a person: pagers and editors are turned off.
    env.update(
        {
            "SOUS": "1",
            "PAGER": "cat",
            "GIT_PAGER": "cat",
            "GIT_EDITOR": "true",
            "EDITOR": "true",
            "GIT_TERMINAL_PROMPT": "0",
        }
    )
    return env


def without_own_venv(
    env: dict[str, str], project_dir: str, prefix: str = sys.prefix, base_prefix: str = sys.base_prefix
) -> dict[str, str]:
    """The environment with sous's own virtual environment taken off PATH (and VIRTUAL_ENV), so
    that `python -m pytest` runs the project's Python, not the one sous was installed into. Kept
    when the project is that environment's home (sous installed in the project's own .venv)."""
    if prefix == base_prefix:
        return env  # sous runs from a plain interpreter: nothing of its own to hide
    venv = os.path.realpath(prefix)
    project = os.path.realpath(project_dir)
    if venv == project or venv.startswith(project + os.sep):
        return env
    own_bin = {os.path.join(venv, "bin"), os.path.join(venv, "Scripts")}
    kept = [p for p in env.get("PATH", "").split(os.pathsep) if p and os.path.realpath(p) not in own_bin]
    env["PATH"] = os.pathsep.join(kept)
    if env.get("VIRTUAL_ENV") and os.path.realpath(env["VIRTUAL_ENV"]) == venv:
        del env["VIRTUAL_ENV"]
        env.pop("VIRTUAL_ENV_PROMPT", None)
    return env


def _bash() -> str:
    return shutil.which("bash") or "/bin/bash"


def _exit_one_is_ok(command: str) -> bool:
    last = re.split(r"\|\||&&|[|;]", command.strip())[-1].split()
    if not last:
        return False
    while last and "=" in last[0] and not last[0].startswith("="):
        last = last[1:]  # VAR=value prefixes
    name = os.path.basename(last[0]) if last else ""
    return name in _EXIT_ONE_OK or (name == "git" and len(last) > 1 and last[1] in _EXIT_ONE_OK_GIT)


async def run_bash(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    command: str = args["command"]
    if not command.strip():
        return ToolResult(content="Error: the command is empty", is_error=True)
    if args.get("run_in_background"):
        return await _start_background(command, args.get("description", ""), ctx, outside=_leaves_sandbox(args, ctx))
    environ = ctx.environ or os.environ
    default = _env_int(environ, "BASH_DEFAULT_TIMEOUT_MS", DEFAULT_TIMEOUT_MS)
    ceiling = _env_int(environ, "BASH_MAX_TIMEOUT_MS", MAX_TIMEOUT_MS)
    timeout_ms = min(max(int(args.get("timeout") or default), 1), ceiling)
    limit = _env_int(environ, "BASH_MAX_OUTPUT_LENGTH", OUTPUT_LIMIT)

    fd, pwd_file = tempfile.mkstemp(prefix="pwd-", dir=_process.scratch_dir())
    os.close(fd)
    env = _environment(ctx)
    env["SOUS_PWD_FILE"] = pwd_file
    script = "trap 'pwd -P >| \"$SOUS_PWD_FILE\" 2>/dev/null' EXIT\n" + command
    sandbox = None if _leaves_sandbox(args, ctx) else ctx.state.get("sandbox")
    # The editor's terminal runs a command as the editor's child, outside bubblewrap: a session
    # with a sandbox configured keeps every command local, even one allowed to leave the sandbox.
    if (through := editor(ctx, "terminals")) is not None and ctx.state.get("sandbox") is None:
        try:
            return await _in_editor(through, command, env, timeout_ms, limit, pwd_file, ctx)
        finally:
            os.unlink(pwd_file)
    try:
        argv, proxy, fds = await _sandboxed([_bash(), "-c", script], sandbox, ctx)
        refused_before = len(proxy.refused) if proxy else 0
        try:
            proc = await _process.start(
                argv, cwd=ctx.cwd, env=sandbox.environment(env) if sandbox else env, pass_fds=fds
            )
        finally:
            _close(fds)
        stdout, stderr = _process.CappedBuffer(limit), _process.CappedBuffer(limit)
        readers = [
            asyncio.ensure_future(_process.pump(proc.stdout, stdout, ctx.progress)),
            asyncio.ensure_future(_process.pump(proc.stderr, stderr, ctx.progress)),
        ]
        timed_out = False
        try:
            await asyncio.wait_for(proc.wait(), timeout_ms / 1000)
        except TimeoutError:
            timed_out = True
            await _process.terminate(proc)
        except asyncio.CancelledError:
            _process.kill_now(proc)
            for reader in readers:
                reader.cancel()
            raise
        # The shell is done; its pipes close unless something it started in the background
        # still holds them. Give stragglers a moment, then stop reading.
        _, pending = await asyncio.wait(readers, timeout=0.5)
        for reader in pending:
            reader.cancel()
        if proc.returncode == 0:
            _record_viewed_files(command, ctx)
        notes = _carry_cwd(pwd_file, ctx)
    finally:
        os.unlink(pwd_file)
        if sandbox:
            _release_sandbox()
    out, err = stdout.text(limit), stderr.text(limit)
    if sandbox:
        notes += _sandbox_notes(proxy.refused[refused_before:] if proxy else [], proc.returncode, out + err, sandbox)
    return _result(command, proc.returncode, out, err, timed_out, timeout_ms, notes)


_EDITOR_STARTUP = """trap 'pwd -P >| "$SOUS_PWD_FILE" 2>/dev/null' EXIT
if [ -n "$SOUS_USER_BASH_ENV" ]; then . "$SOUS_USER_BASH_ENV"; fi
"""


async def _in_editor(
    through: Editor, command: str, env: dict[str, str], timeout_ms: int, limit: int, pwd_file: str, ctx: ToolContext
) -> ToolResult:
    """Run the command in one of the editor's terminals (it shows the output as it comes). The
    editor shows the command line too, so the EXIT trap that reports the final directory comes
    from a BASH_ENV start-up file (which then reads the user's own BASH_ENV) instead."""
    fd, startup = tempfile.mkstemp(prefix="bashenv-", dir=_process.scratch_dir())
    with os.fdopen(fd, "w") as f:
        f.write(_EDITOR_STARTUP)
    env = {**env, "BASH_ENV": startup, "SOUS_USER_BASH_ENV": env.get("BASH_ENV", "")}
    try:
        done = await through.run(
            [_bash(), "-c", command], cwd=ctx.cwd, env=env, timeout_s=timeout_ms / 1000, limit=limit
        )
    except EditorError as e:
        return ToolResult(content=f"The editor's terminal failed: {e}", is_error=True)
    finally:
        os.unlink(startup)
    if done.exit_code == 0:
        _record_viewed_files(command, ctx)
    notes = _carry_cwd(pwd_file, ctx)
    if done.truncated:
        notes.append("(the editor kept only the end of the output)")
    return _result(command, done.exit_code, head_tail(done.output, limit), "", done.timed_out, timeout_ms, notes)


_VIEWERS = {"cat", "head", "tail", "nl", "bat", "less", "more"}


def _record_viewed_files(command: str, ctx: ToolContext) -> None:
    """`cat file` (or head, tail, nl, bat) with no pipes or redirections shows the model the file,
    so it counts as a Read for the read-before-edit rule, as in Claude Code."""
    import shlex

    if any(ch in command for ch in "|;&<>`$\n"):
        return
    try:
        argv = shlex.split(command)
    except ValueError:
        return
    if not argv or os.path.basename(argv[0]) not in _VIEWERS:
        return
    for arg in argv[1:]:
        if not arg.startswith("-"):
            path = Path(os.path.normpath(os.path.join(ctx.cwd, os.path.expanduser(arg))))
            if path.is_file():
                record_read(ctx, path)


def _carry_cwd(pwd_file: str, ctx: ToolContext) -> list[str]:
    try:
        new_cwd = Path(pwd_file).read_text().strip()
    except OSError:
        new_cwd = ""
    if not new_cwd or new_cwd == os.path.realpath(ctx.cwd):
        return []
    if any(inside(new_cwd, root) for root in (ctx.project_dir, *added_dirs(ctx))) and os.path.isdir(new_cwd):
        ctx.cwd = new_cwd
        return []
    ctx.cwd = ctx.project_dir
    return [f"Shell cwd was reset to {ctx.project_dir}"]


def _result(
    command: str, code: int | None, out: str, err: str, timed_out: bool, timeout_ms: int, notes: list[str]
) -> ToolResult:
    out, err = out.rstrip("\n"), err.rstrip("\n")
    ok = not timed_out and (code == 0 or (code == 1 and not err and _exit_one_is_ok(command)))
    parts = [p for p in (out, err) if p]
    if timed_out:
        parts.append(f"Command timed out after {timeout_ms / 1000:g}s and was killed")
    elif code is None:
        parts.insert(0, "The command ended without an exit status")
    elif not ok:
        parts.insert(0, f"Exit code {code}" if code >= 0 else f"Killed by signal {-code}")
    parts += notes
    data = {
        "stdout": out,
        "stderr": err,
        "interrupted": timed_out,
        "isImage": False,
        "noOutputExpected": False,
        "returnCode": code,
        "backgroundTaskId": None,
    }
    return ToolResult(content="\n".join(parts) or "(no output)", is_error=not ok, data=data)


# --- background tasks ---------------------------------------------------------------------

_TASK_DIR: str | None = None


@record(frozen=False, kw_only=False)
class Job:
    id: str
    command: str
    description: str
    proc: asyncio.subprocess.Process
    output_path: str
    started: float = field(default_factory=time.time)
    read_offset: int = 0
    stopped: bool = False

    @property
    def status(self) -> str:
        code = self.proc.returncode
        if code is None:
            return "running"
        if self.stopped:
            return "killed"
        return "completed" if code == 0 else "failed"


def _jobs(ctx: ToolContext) -> dict[str, Job]:
    return ctx.state.setdefault("bash_jobs", {})


def list_jobs(state: dict[str, Any]) -> list[Job]:
    """The background tasks of one agent, oldest first (for `/tasks` and the UI)."""
    return list(state.get("bash_jobs", {}).values())


async def _sandboxed(argv: list[str], sandbox, ctx: ToolContext):
    """`argv` wrapped in the sandbox when there is one, the domain proxy it goes through, and the
    file descriptors to hand to the process (close them once it has started). A wrapped command
    must be followed by `_sandbox.release()` once it has ended."""
    if sandbox is None:
        return argv, None, ()
    from . import _sandbox

    proxy = None
    if not sandbox.network and sandbox.allowed_domains:
        from ._netproxy import proxy_for

        proxy = await proxy_for(ctx.state, sandbox.allowed_domains, _sandbox.sealed_dir())
    socket_path = proxy.socket_path if proxy else None
    fds = (_sandbox.filter_fd(sandbox.unix_sockets),) if sandbox.needs_filter_fd(socket_path) else ()
    return (
        sandbox.wrap(
            argv,
            ctx.cwd,
            socket_path,
            seccomp_fd=fds[0] if fds else None,
            project=ctx.project_dir,
            added=added_dirs(ctx),
        ),
        proxy,
        fds,
    )


def _release_sandbox() -> None:
    """A sandboxed command has ended. (`_sandbox` is imported only by a session that has a sandbox.)"""
    from . import _sandbox

    _sandbox.release()


def _leaves_sandbox(args: dict[str, Any], ctx: ToolContext) -> bool:
    """A call with `dangerouslyDisableSandbox` runs outside, unless the sandbox allows no way out."""
    sandbox = ctx.state.get("sandbox")
    return bool(args.get("dangerouslyDisableSandbox")) and (sandbox is None or sandbox.escape)


def _sandbox_notes(refused: list[str], returncode: int | None, output: str, sandbox: Any) -> list[str]:
    """What a sandboxed command's result says about the sandbox: the hosts it refused, else
    why the command may have failed."""
    from . import _sandbox

    if hosts := list(dict.fromkeys(refused)):
        return [_sandbox.note(_sandbox.REFUSED_NOTE, sandbox).format(hosts=", ".join(hosts))]
    return [_sandbox.note(_sandbox.NOTE, sandbox)] if returncode and _sandbox.looks_blocked(output) else []


def _close(fds: tuple[int, ...]) -> None:
    for fd in fds:
        os.close(fd)


_waiters: set[asyncio.Future] = set()
"""Background sandboxed commands being watched, to release the sandbox when they end."""


async def _release_when_done(proc: asyncio.subprocess.Process) -> None:
    try:
        await proc.wait()
    finally:
        _release_sandbox()


async def _start_background(command: str, description: str, ctx: ToolContext, *, outside: bool) -> ToolResult:
    global _TASK_DIR
    if _TASK_DIR is None:
        _TASK_DIR = tempfile.mkdtemp(prefix="sous-tasks-")
    jobs = _jobs(ctx)
    job_id = f"bash_{len(jobs) + 1}"
    output_path = os.path.join(_TASK_DIR, f"{job_id}-{os.getpid()}-{id(ctx)}.log")
    sandbox = None if outside else ctx.state.get("sandbox")
    with open(output_path, "wb") as sink:
        argv, _, fds = await _sandboxed([_bash(), "-c", command], sandbox, ctx)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=ctx.cwd,
                env=sandbox.environment(_environment(ctx)) if sandbox else _environment(ctx),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=sink,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                pass_fds=fds,
            )
        except BaseException:
            if sandbox:
                _release_sandbox()
            raise
        finally:
            _close(fds)
    _process._live.add(proc)
    if sandbox:
        waiter = asyncio.ensure_future(_release_when_done(proc))
        _waiters.add(waiter)
        waiter.add_done_callback(_waiters.discard)
    jobs[job_id] = Job(id=job_id, command=command, description=description, proc=proc, output_path=output_path)
    text = (
        f"Command running in background with ID: {job_id}. Output is being written to: {output_path}. "
        "Use TaskOutput to read it, TaskStop to stop it."
    )
    return ToolResult(
        content=text,
        data={
            "stdout": "",
            "stderr": "",
            "interrupted": False,
            "isImage": False,
            "returnCode": None,
            "backgroundTaskId": job_id,
        },
    )


def _unknown(task_id: str, ctx: ToolContext) -> ToolResult:
    known = ", ".join(_jobs(ctx)) or "none"
    return ToolResult(content=f"No background task with ID {task_id!r}. Known tasks: {known}", is_error=True)


async def task_output(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    job = _jobs(ctx).get(args["task_id"])
    if job is None:
        return _unknown(args["task_id"], ctx)
    if args.get("block", True) and job.proc.returncode is None:
        wait_s = min(float(args.get("timeout") or 30_000), MAX_TIMEOUT_MS) / 1000
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(job.proc.wait()), wait_s)
    with open(job.output_path, "rb") as f:
        f.seek(job.read_offset)
        new = f.read()
    job.read_offset += len(new)
    limit = _env_int(ctx.environ or os.environ, "BASH_MAX_OUTPUT_LENGTH", OUTPUT_LIMIT)
    output = head_tail(new.decode("utf-8", errors="replace").rstrip("\n"), limit)
    lines = [f"Task {job.id} ({job.command}): {job.status}"]
    if job.proc.returncode is not None:
        lines.append(f"Exit code {job.proc.returncode}")
    lines.append(output if output else "(no new output)")
    return ToolResult(
        content="\n".join(lines),
        data={"task_id": job.id, "status": job.status, "exitCode": job.proc.returncode, "output": output},
    )


async def task_stop(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    task_id = args.get("task_id") or args.get("shell_id") or ""
    job = _jobs(ctx).get(task_id)
    if job is None:
        return _unknown(task_id, ctx)
    if job.proc.returncode is not None:
        return ToolResult(content=f"Task {task_id} already finished ({job.status}, exit code {job.proc.returncode})")
    job.stopped = True
    await _process.terminate(job.proc)
    return ToolResult(
        content=f"Successfully killed task: {task_id} ({job.command})",
        data={"task_id": task_id, "command": job.command},
    )


def stop_all(state: dict[str, Any] | None = None) -> None:
    """Kill the background tasks of one agent (`state` of its ToolContext), or with no argument
    every command and task this process started (at exit)."""
    if state is None:
        _process.kill_all()
        return
    for job in list_jobs(state):
        if job.proc.returncode is None:
            job.stopped = True
            _process.kill_now(job.proc)


atexit.register(stop_all)

TOOL = builtin("Bash", BASH_SCHEMA, run_bash)
TASK_OUTPUT = builtin(
    "TaskOutput",
    {
        "type": "object",
        "properties": {
            "task_id": {"type": "string", "description": "The background task's ID"},
            "block": {"type": "boolean", "description": "Wait for the task to finish (default true)"},
            "timeout": {"type": "number", "description": "How long to wait, in ms (default 30000)"},
        },
        "required": ["task_id"],
    },
    task_output,
    read_only=True,
)
TASK_STOP = builtin(
    "TaskStop",
    {
        "type": "object",
        "properties": {
            "task_id": {"type": "string", "description": "The background task's ID"},
            "shell_id": {"type": "string", "description": "Deprecated: use task_id"},
        },
    },
    task_stop,
)
