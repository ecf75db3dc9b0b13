"""The session a program drives over stdin (`--input-format stream-json`); see `sous.ui.control`
for the protocol. It opens its session through the runtime builder when the first prompt (or the
`initialize` request, which may add hooks and agent types) arrives, and changes it only through
the Session API."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from sous.core import AssistantMessage, ConfigError, MessageAdded, RunEnd
from sous.records import record, replace
from sous.runtime import RunRecord
from sous.store.ids import new_uuid

from .control import Channel, ControlError, Permissions, Prompt, stdin_lines, user_message
from .headless import HeadlessPrinter, timestamp
from .sdk_mcp import connect, split_sdk_servers


@record(frozen=False)
class DriveOptions:
    partial: bool = False
    prompt_stdio: bool = False
    """`--permission-prompt-tool stdio`: permission questions go to the program as `can_use_tool`."""
    fork: bool = False
    max_budget_usd: float | None = None
    replay: bool = False
    """`--replay-user-messages`: each prompt is echoed back, with its uuid, when its turn starts."""


class Driven:
    def __init__(self, opts: Any, drive: DriveOptions, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr):
        self.opts = opts
        self.drive = drive
        self.err = err
        timeout = float(os.environ.get("SOUS_SDK_REPLY_TIMEOUT_S") or 60)
        self.channel = Channel(out, timeout)
        self.session: Any = None
        self.printer: HeadlessPrinter | None = None
        self.permissions: Permissions | None = None
        self.relay: Any = None
        self.prompts: asyncio.Queue[Prompt | None] = asyncio.Queue()
        self.waiting: list[Prompt] = []
        self.started_model = ""
        self.spent_usd = 0.0
        self.failed = False
        self.opening: asyncio.Future[None] | None = None
        self.handlers: set[asyncio.Task[None]] = set()
        self.between_turns = asyncio.Event()
        """Set while no prompt runs: its turn, its end snapshot and all are done."""
        self.between_turns.set()
        self.run_over = True
        """The running prompt's result is out (what is left is its end snapshot)."""
        self.prompt_ids: dict[str, str] = {}
        """The uuid of each prompt run (the program's, or one sous gave it) → its message id (`rewind_files`)."""
        kept, self.sdk_servers = split_sdk_servers(list(opts.mcp_config))
        self.opts = replace(opts, mcp_config=kept)

    def _session_ready(self, hooks: Any = None, agents: Any = None) -> asyncio.Future[None]:
        """The session opening (started once, by `initialize` or whatever needs it first)."""
        if self.opening is None:
            self.opening = asyncio.ensure_future(self._open(hooks, agents))
        return self.opening

    # --- the session --------------------------------------------------------------------------

    async def _open(self, hooks: Any = None, agents: Any = None) -> None:
        from sous.runtime import open_session

        opts = self.opts
        if hooks:
            from .hook_relay import HookRelay

            self.relay = HookRelay(self.channel)
            await self.relay.start()
            opts = replace(opts, settings=json.dumps(_with_hooks(opts.settings, self.relay.settings(hooks))))
        if agents:
            if not isinstance(agents, dict):
                raise ValueError('"agents" must be an object of agent definitions')
            merged = {**(json.loads(opts.agents_json) if opts.agents_json else {}), **agents}
            opts = replace(opts, agents_json=json.dumps(merged))
        # a fork starts its own file from the start: the session it forks from is never written to
        session = open_session(replace(opts, fork_session=self.drive.fork))
        for server in self.sdk_servers:  # the program answers these while it waits for initialize
            try:
                session.set_tools(add=await connect(self.channel, server))
            except ControlError as e:
                self._problem(f"MCP server {server!r} (sdk) offers no tools: {e}")
        self.session = session
        self.started_model = session.model.name
        self.printer = HeadlessPrinter(
            session, "stream-json", out=self.channel.out, err=self.err, partial=self.drive.partial
        )
        for notice in session.notices:
            self.printer(notice)
        session.subscribe(self.printer)
        session.subscribe(self._count_cost)
        session.subscribe(self._run_ended)
        if self.drive.prompt_stdio:
            self.permissions = Permissions(session, self.channel)
            session.subscribe(self.permissions)
        await session.start()

    def _run_ended(self, event: Any) -> None:
        if isinstance(event, RunEnd):
            self.run_over = True

    def _count_cost(self, event: Any) -> None:
        """`--max-budget-usd`: stop the run whose model use passes the budget."""
        if self.drive.max_budget_usd is None or not isinstance(event, MessageAdded):
            return
        if isinstance(event.message, AssistantMessage):
            self.spent_usd += event.message.usage.cost_usd
            if self.spent_usd >= self.drive.max_budget_usd and self.session.running:
                spent = f"the budget of ${self.drive.max_budget_usd:g} is spent"
                if self.printer is not None:
                    self.printer.stopped_for = ("error_max_budget_usd", spent)
                self.session.interrupt(spent)

    # --- the loop -------------------------------------------------------------------------------

    async def run(self) -> int:
        lines = stdin_lines(asyncio.get_running_loop())
        worker = asyncio.ensure_future(self._work())
        number = 0
        try:
            while True:
                getter = asyncio.ensure_future(lines.get())
                await asyncio.wait({getter, worker}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():  # the session could not open: stop reading, say so, exit
                    getter.cancel()
                    break
                if (line := getter.result()) is None:
                    break
                number += 1
                if line.startswith("\0"):
                    self._problem(f"stdin could not be read: {line[1:]}")
                    break
                if line.strip():
                    await self._line(line, number)
            self.channel.close()
            if self.handlers:  # requests read before stdin ended are still answered
                await asyncio.wait(set(self.handlers))
            await self.prompts.put(None)
            await worker
        finally:
            if not worker.done():
                worker.cancel()
            if self.session is not None:
                await self.session.end("other")
                self.session.close()
            if self.relay is not None:
                self.relay.close()
        return 1 if self.failed else 0

    async def _work(self) -> None:
        """Run the prompts one after another, in one session; each starts with a system/init line
        (the model, mode and tools as they are now), as Claude Code's do."""
        while (prompt := await self.prompts.get()) is not None:
            if prompt in self.waiting:
                self.waiting.remove(prompt)
            try:
                await self._session_ready()
            except (ConfigError, ValueError, OSError) as e:
                self._problem(str(e))
                self.failed = True
                return
            assert self.printer is not None  # opening the session made it
            self.printer.init()
            if self.drive.max_budget_usd is not None and self.spent_usd >= self.drive.max_budget_usd:
                self._over_budget()
                continue
            self.printer.prompt_seen = False  # each prompt is the program's own: not echoed back
            uuid = prompt.uuid or new_uuid()
            self.prompt_ids[uuid] = prompt.message.id
            if self.drive.replay:
                self._replay(prompt, uuid)
            self.between_turns.clear()
            self.run_over = False
            try:
                await self.session.send(prompt.message)
            finally:
                self.between_turns.set()

    def _replay(self, prompt: Prompt, uuid: str) -> None:
        """Claude Code's echo of a prompt (`isReplay`): the program learns the uuid it can rewind to."""
        self.channel.line(
            {
                "type": "user",
                "message": {"role": "user", "content": prompt.content},
                "session_id": self.session.id,
                "parent_tool_use_id": None,
                "uuid": uuid,
                "timestamp": timestamp(),
                "isReplay": True,
            }
        )

    def _over_budget(self) -> None:
        self.channel.line(
            {
                "type": "result",
                "subtype": "error_max_budget_usd",
                "is_error": True,
                "duration_ms": 0,
                "duration_api_ms": 0,
                "num_turns": 0,
                "result": f"the budget of ${self.drive.max_budget_usd:g} is spent",
                "session_id": self.session.id,
                "total_cost_usd": round(self.spent_usd, 6),
                "usage": {},
                "permission_denials": [],
                "errors": [f"the budget of ${self.drive.max_budget_usd:g} is spent"],
                "stop_reason": None,
                "sous_changes": RunRecord().as_dict(),  # the prompt was not run: nothing changed
            }
        )

    async def _line(self, line: str, number: int) -> None:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            self._problem(f"stdin line {number} is not JSON ({e.msg}); it was skipped")
            return
        kind = obj.get("type") if isinstance(obj, dict) else None
        if kind == "user":
            try:
                prompt = user_message(obj)
            except ValueError as e:
                self._problem(f"stdin line {number}: {e}; it was skipped")
                return
            self.waiting.append(prompt)
            await self.prompts.put(prompt)
        elif kind == "control_request":
            # answered concurrently: opening the session may itself wait on the program (sdk servers)
            task = asyncio.ensure_future(self._control(obj))
            self.handlers.add(task)
            task.add_done_callback(self.handlers.discard)
        elif kind == "control_response":
            response = obj.get("response")
            if not isinstance(response, dict) or not self.channel.settle(response):
                self._problem(f"stdin line {number}: a control_response that answers no waiting request")
        elif kind in ("control_cancel_request", "keep_alive", "update_environment_variables"):
            return
        else:
            self._problem(f"stdin line {number}: unknown message type {kind!r}; it was skipped")

    async def _control(self, obj: dict[str, Any]) -> None:
        request_id = obj.get("request_id")
        request = obj.get("request")
        if not isinstance(request_id, str) or not isinstance(request, dict):
            self._problem('a control_request needs a "request_id" string and a "request" object')
            if isinstance(request_id, str):  # the program waits on this id: answer it
                self.channel.respond(request_id, error='a control_request needs a "request" object')
            return
        subtype = request.get("subtype")
        try:
            response = await self._answer(subtype, request)
        except (ConfigError, ValueError, ControlError, OSError) as e:
            self.channel.respond(request_id, error=f"{subtype}: {e}")
            return
        self.channel.respond(request_id, response)

    async def _answer(self, subtype: Any, request: dict[str, Any]) -> dict[str, Any]:
        if subtype == "initialize":
            if self.opening is not None:
                raise ValueError("the session is already initialized")
            self._add_servers(request.get("mcpServers"), request.get("sdkMcpServers"))
            self._set_prompt(request.get("systemPrompt"), request.get("appendSystemPrompt"))
            await self._session_ready(request.get("hooks"), request.get("agents"))
            agents = self.session.subagents.types if self.session.subagents is not None else {}
            return {
                "commands": [
                    {"name": name, "description": getattr(c, "description", ""), "argumentHint": ""}
                    for name, c in self.session.commands.items()
                ],
                "agents": [{"name": n, "description": getattr(a, "description", "")} for n, a in agents.items()],
                "output_style": "default",
                "available_output_styles": ["default"],
                "models": [],
                "hooks_applied": True,
                "mcp_servers_applied": True,
                "hook_on_failure_supported": True,
                "pid": os.getpid(),
            }
        if subtype not in ("interrupt", "set_permission_mode", "set_model", "rewind_files"):
            raise ValueError(f"unsupported control request subtype {subtype!r}")
        await self._session_ready()
        if subtype == "rewind_files":
            return await self._rewind_files(request)
        if subtype == "interrupt":
            self.session.interrupt()
            return {"still_queued": [p.uuid for p in self.waiting if p.uuid]}
        if subtype == "set_permission_mode":
            mode = request.get("mode")
            if not isinstance(mode, str):
                raise ValueError('needs a "mode" string')
            self.session.set_mode(mode)
            return {"mode": self.session.mode}
        model = request.get("model")
        if model is not None and not isinstance(model, str):
            raise ValueError('"model" must be a string or null')
        chosen = await self.session.switch_model(model or self.started_model, "sdk")  # null: the first model
        return {"model": chosen.name}

    async def _rewind_files(self, request: dict[str, Any]) -> dict[str, Any]:
        """The files as they were before the prompt with this uuid, from sous's checkpoints (the
        conversation stays as it is). Needs `CLAUDE_CODE_ENABLE_SDK_FILE_CHECKPOINTING`, which the
        SDK sets for `enable_file_checkpointing`, as in Claude Code."""
        from sous.checkpoints import CheckpointError

        uuid = request.get("user_message_id")
        if not isinstance(uuid, str) or not uuid:
            raise ValueError('needs a "user_message_id" string')
        environ = self.opts.environ
        enabled = _truthy(environ.get("CLAUDE_CODE_ENABLE_SDK_FILE_CHECKPOINTING")) and not _truthy(
            environ.get("CLAUDE_CODE_DISABLE_FILE_CHECKPOINTING")
        )
        if not enabled or not self.session.checkpointing:
            raise ValueError("File rewinding is not enabled.")
        message_id = self.prompt_ids.get(uuid)
        entry = next(
            (c for c in self.session.checkpoints() if message_id and c.message_id == message_id and c.kind == "turn"),
            None,
        )
        if entry is None:
            raise ValueError("No file checkpoint found for this message.")
        if not self.run_over:
            raise ValueError("a turn is running; interrupt it before rewinding files")
        await self.between_turns.wait()  # the turn's result is out, its end snapshot may still be under way
        try:
            if request.get("dry_run"):
                return {"canRewind": True, "filesChanged": await self.session.files_to_rewind(entry.id)}
            done = await self.session.rewind(entry.id, "code")
        except CheckpointError as e:
            raise ValueError(f"Failed to rewind: {e}") from e
        return {"canRewind": True, "message": done}

    def _add_servers(self, servers: Any, sdk_names: Any) -> None:
        """The MCP servers the npm SDK sends in `initialize` rather than as `--mcp-config`: the
        configurations of its other servers, and the names of its own (`sdkMcpServers`), whose tools
        are then listed over `mcp_message` like any sdk server's."""
        if sdk_names is not None and (
            not isinstance(sdk_names, list) or not all(isinstance(n, str) and n for n in sdk_names)
        ):
            raise ValueError('"sdkMcpServers" must be a list of server names')
        if servers is not None and not isinstance(servers, dict):
            raise ValueError('"mcpServers" must be an object of server configurations')
        self.sdk_servers += [n for n in sdk_names or [] if n not in self.sdk_servers]
        if not servers:
            return
        kept, sdk = split_sdk_servers([json.dumps({"mcpServers": servers})])
        self.opts = replace(self.opts, mcp_config=[*self.opts.mcp_config, *kept])
        self.sdk_servers += [n for n in sdk if n not in self.sdk_servers]

    def _set_prompt(self, system_prompt: Any, append: Any) -> None:
        """The system prompt the npm SDK sends in `initialize` (a string or a list of parts) rather
        than as `--system-prompt`, and its `appendSystemPrompt`."""
        if isinstance(system_prompt, str):
            system_prompt = [system_prompt]
        if system_prompt is not None and (
            not isinstance(system_prompt, list) or not all(isinstance(p, str) for p in system_prompt)
        ):
            raise ValueError('"systemPrompt" must be a string or a list of strings')
        if append is not None and not isinstance(append, str):
            raise ValueError('"appendSystemPrompt" must be a string')
        if system_prompt is not None:
            self.opts = replace(self.opts, system_prompt="\n\n".join(system_prompt))
        if append is not None:
            self.opts = replace(self.opts, append_system_prompt=append)

    def _problem(self, text: str) -> None:
        self.err.write(f"sous: {text}\n")
        self.err.flush()


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _with_hooks(settings: str | None, hooks: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The `--settings` layer with the program's hooks added after its own."""
    base: dict[str, Any] = {}
    if settings:
        text = settings if settings.lstrip().startswith("{") else Path(settings).read_text("utf-8")
        loaded = json.loads(text)
        if not isinstance(loaded, dict):
            raise ValueError("--settings must be a JSON object")
        base = loaded
    merged = dict(base.get("hooks") or {})
    for event, groups in hooks.items():
        merged[event] = [*merged.get(event, []), *groups]
    return {**base, "hooks": merged}


async def run_driven(opts: Any, drive: DriveOptions) -> int:
    return await Driven(opts, drive).run()
