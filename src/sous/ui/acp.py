"""`sous acp`: the Agent Client Protocol over stdio, for editors (Zed, JetBrains, Neovim, Emacs).

Each ACP session is a sous session opened by the runtime builder in the editor's folder: prompts
run with `Session.send`, `session/cancel` is `Session.interrupt`, `session/load` resumes a stored
session and replays its history. The session's events become `session/update` notifications
(message and thought chunks, tool calls with their status and output, diffs for edits, the todo
list as a plan), in order and all sent before the prompt's response. Permission questions become
`session/request_permission` with sous's grant choices (once, this session, always, reject; only
once and reject, with the reason, for what is asked every time: the safety floor, leaving the
sandbox, a plan); a cancelled or failed request denies. When the editor offers its file system and terminals
(`clientCapabilities`), Read, Write, Edit and Bash go through them (`acp_editor`); the checks
around the tools are the same either way.

The wire format is the `agent-client-protocol` package's (an optional dependency: `pip install
'sous[acp]'`).
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Any

from sous import __version__
from sous.core import (
    AssistantMessage,
    MessageAdded,
    PermissionRequest,
    TextDelta,
    ThinkingDelta,
    ToolEnd,
    ToolResultMessage,
    ToolStart,
    UserMessage,
)
from sous.records import replace

from . import acp_commands, asking
from .acp_editor import AcpEditor, offered, request_timeout

if TYPE_CHECKING:  # the `acp` package is imported only when `sous acp` runs
    from acp.helpers import ToolCallContentVariant
    from acp.schema import PermissionOptionKind, StopReason, ToolKind

    from sous.tools._editor import Capability

CHOICES: tuple[tuple[str, str, PermissionOptionKind], ...] = (
    ("once", "Allow once", "allow_once"),
    ("session", "Allow for this session", "allow_always"),
    ("always", "Always allow (saved to the project)", "allow_always"),
    ("reject", "Reject", "reject_once"),
)
ONCE_ONLY = ("safety", "sandbox", "plan")
"""Questions whose answer sous never remembers (`Decision.source`): the safety floor, leaving the
sandbox, a plan to approve."""
KINDS: dict[str, ToolKind] = {
    "Read": "read",
    "Edit": "edit",
    "Write": "edit",
    "MultiEdit": "edit",
    "NotebookEdit": "edit",
    "Bash": "execute",
    "Glob": "search",
    "Grep": "search",
    "WebFetch": "fetch",
    "WebSearch": "fetch",
    "TodoWrite": "think",
}
MODE_NAMES = {
    "default": "Ask before changes",
    "acceptEdits": "Accept edits",
    "plan": "Plan only",
    "dontAsk": "Refuse what would ask",
    "bypassPermissions": "Bypass permissions",
}
STOP: dict[str, StopReason] = {"end_turn": "end_turn", "aborted": "cancelled", "max_turns": "max_turn_requests"}


def _title(call: Any) -> str:
    args = call.arguments
    detail = args.get("command") or args.get("file_path") or args.get("pattern") or args.get("description") or ""
    return f"{call.name} {detail}".strip()[:200]


class Relay:
    """One ACP session: the sous session's events, in order, as `session/update`s."""

    def __init__(self, conn: Any, session: Any):
        self.conn = conn
        self.session = session
        self.updates: asyncio.Queue[Any] = asyncio.Queue()
        self.pump = asyncio.ensure_future(self._pump())
        self.asking: set[asyncio.Task[None]] = set()
        self.announced: set[str] = set()
        self.terminals: dict[str, str] = {}
        """The editor's terminal each running Bash call shows, by call id."""
        session.subscribe(self)

    async def _pump(self) -> None:
        while True:
            update = await self.updates.get()
            try:
                await self.conn.session_update(session_id=self.session.id, update=update)
            except Exception as e:  # an editor that rejects an update must not stop the session
                sys.stderr.write(f"sous: session/update failed: {e}\n")
            finally:
                self.updates.task_done()

    def __call__(self, event: Any) -> None:
        import acp

        if isinstance(event, TextDelta):
            self.updates.put_nowait(acp.update_agent_message_text(event.text))
        elif isinstance(event, ThinkingDelta):
            self.updates.put_nowait(acp.update_agent_thought_text(event.text))
        elif isinstance(event, MessageAdded) and isinstance(event.message, AssistantMessage):
            for call in event.message.tool_calls:
                self.announced.add(call.id)
                self.updates.put_nowait(
                    acp.start_tool_call(
                        call.id,
                        _title(call),
                        kind=KINDS.get(call.name, "other"),
                        status="pending",
                        raw_input=call.arguments,
                    )
                )
        elif isinstance(event, ToolStart):
            self.updates.put_nowait(acp.update_tool_call(event.call.id, status="in_progress"))
        elif isinstance(event, ToolEnd):
            self.updates.put_nowait(self._finished(event))
            if event.call.name == "TodoWrite" and not event.result.is_error:
                self.updates.put_nowait(
                    acp.update_plan(
                        acp.plan_entry(
                            str(t.get("content", "")),
                            priority="medium",
                            status=t.get("status")
                            if t.get("status") in ("pending", "in_progress", "completed")
                            else "pending",
                        )
                        for t in self.session.todos
                    )
                )
        elif isinstance(event, PermissionRequest):
            task = asyncio.ensure_future(self._ask(event))
            self.asking.add(task)
            task.add_done_callback(self.asking.discard)

    def advertise_commands(self) -> None:
        """List the slash commands once the editor knows the session: queued after the response
        of session/new or session/load, whose task writes it before this callback runs."""
        asyncio.get_running_loop().call_soon(self.updates.put_nowait, acp_commands.updates(self.session))

    def terminal_started(self, call_id: str, terminal_id: str) -> None:
        """A Bash call runs in the editor's terminal: the tool call shows it (a sub-agent's calls,
        which the editor is not shown, have no place for it)."""
        import acp

        if call_id in self.announced:
            self.terminals[call_id] = terminal_id
            self.updates.put_nowait(
                acp.update_tool_call(call_id, status="in_progress", content=[acp.tool_terminal_ref(terminal_id)])
            )

    def _finished(self, event: ToolEnd) -> Any:
        import acp

        call, result = event.call, event.result
        self.announced.discard(call.id)
        content: list[ToolCallContentVariant] = [acp.tool_content(acp.text_block(result.text or "(no output)"))]
        args = call.arguments
        if (terminal := self.terminals.pop(call.id, None)) is not None:
            # The released terminal still shows the output; a failure's own words go below it.
            content = [acp.tool_terminal_ref(terminal), *(content if result.is_error else [])]
        elif call.name in ("Edit", "Write") and not result.is_error and isinstance(args.get("file_path"), str):
            if call.name == "Write":
                content = [acp.tool_diff_content(args["file_path"], str(args.get("content", "")))]
            else:
                content = [
                    acp.tool_diff_content(
                        args["file_path"], str(args.get("new_string", "")), str(args.get("old_string", ""))
                    )
                ]
        return acp.update_tool_call(call.id, status="failed" if result.is_error else "completed", content=content)

    async def _ask(self, event: PermissionRequest) -> None:
        from acp.schema import PermissionOption, ToolCallUpdate

        from sous.permissions import Answer

        await self.updates.join()  # the editor has seen the tool call it is asked about
        call = event.call
        title = _title(call) + asking.who(
            self.session.askers(call.id, getattr(event.detail, "agent_id", "")), event.detail
        )
        choices = CHOICES
        source = getattr(event.detail, "source", "")
        if source in ONCE_ONLY:  # sous keeps no answer to these: offer none it would
            choices = tuple(c for c in CHOICES if c[0] in ("once", "reject"))
            title += f" — {event.detail.reason}" + ("" if source == "plan" else "; asked every time")
        try:
            reply = await self.conn.request_permission(
                session_id=self.session.id,
                tool_call=ToolCallUpdate(
                    tool_call_id=call.id,
                    # who asks: a sub-agent, or several asking the same at once (one answer for all)
                    title=title,
                    kind=KINDS.get(call.name, "other"),
                    status="pending",
                    raw_input=call.arguments,
                ),
                options=[PermissionOption(option_id=o, name=n, kind=k) for o, n, k in choices],
            )
            outcome = reply.outcome
            chosen = getattr(outcome, "option_id", None) if getattr(outcome, "outcome", "") == "selected" else None
        except Exception as e:  # no answer is a no
            sys.stderr.write(f"sous: session/request_permission failed: {e}\n")
            chosen = None
        if isinstance(chosen, str) and chosen in {c[0] for c in choices} - {"reject"}:
            answer = Answer(allow=True, duration=chosen)
        else:
            answer = Answer(allow=False, feedback="" if chosen == "reject" else "the permission request was cancelled")
        self.session.answer(event.request_id, answer)

    async def replay(self) -> None:
        """Send the stored history (session/load) as message chunks and finished tool calls."""
        import acp

        for message in self.session.messages:
            if isinstance(message, UserMessage) and message.text:
                self.updates.put_nowait(acp.update_user_message_text(message.text))
            elif isinstance(message, AssistantMessage):
                if message.text:
                    self.updates.put_nowait(acp.update_agent_message_text(message.text))
                for call in message.tool_calls:
                    self.updates.put_nowait(
                        acp.start_tool_call(
                            call.id,
                            _title(call),
                            kind=KINDS.get(call.name, "other"),
                            status="completed",
                            raw_input=call.arguments,
                        )
                    )
            elif isinstance(message, ToolResultMessage):
                self.updates.put_nowait(
                    acp.update_tool_call(
                        message.tool_call_id,
                        status="failed" if message.is_error else "completed",
                        content=[acp.tool_content(acp.text_block(message.text or "(no output)"))],
                    )
                )
        await self.updates.join()


def _modes(session: Any) -> Any:
    """The permission modes, advertised as ACP session modes (`session/set_mode` switches)."""
    from acp.schema import SessionMode, SessionModeState

    return SessionModeState(
        current_mode_id=session.mode, available_modes=[SessionMode(id=m, name=n) for m, n in MODE_NAMES.items()]
    )


class SousAgent:
    """The ACP agent: the `acp` package calls these methods for the editor's requests."""

    def __init__(self, base: Any):
        self.base = base
        self.conn: Any = None
        self.relays: dict[str, Relay] = {}
        self.capabilities: set[Capability] = set()
        """What the editor offers of its file system and terminals (from `initialize`)."""

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    async def initialize(
        self, protocol_version: int, client_capabilities: Any = None, client_info: Any = None, **kwargs: Any
    ) -> Any:
        from acp import PROTOCOL_VERSION
        from acp.schema import AgentCapabilities, Implementation, InitializeResponse, PromptCapabilities

        self.capabilities = offered(client_capabilities)
        return InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(
                load_session=True, prompt_capabilities=PromptCapabilities(image=False, embedded_context=True)
            ),
            agent_info=Implementation(name="sous", title="sous", version=__version__),
        )

    async def _open(self, cwd: str, resume: str | None = None) -> Relay:
        from acp import RequestError

        from sous.core import ConfigError
        from sous.runtime import open_session

        editor = None
        if self.capabilities:
            editor = AcpEditor(self.conn, self.capabilities, request_timeout(self.base.environ))
        options = replace(self.base, cwd=cwd, resume=resume, answers_permissions=True, editor=editor)
        try:
            session = open_session(options)
        except ConfigError as e:
            raise RequestError.invalid_params({"message": str(e)}) from e
        await session.start()
        relay = Relay(self.conn, session)
        if editor is not None:
            editor.session_id = session.id
            editor.on_terminal = relay.terminal_started
        self.relays[session.id] = relay
        return relay

    async def new_session(self, cwd: str, mcp_servers: Any = None, **kwargs: Any) -> Any:
        from acp.schema import NewSessionResponse

        relay = await self._open(cwd)
        relay.advertise_commands()
        return NewSessionResponse(session_id=relay.session.id, modes=_modes(relay.session))

    async def load_session(self, cwd: str, session_id: str, mcp_servers: Any = None, **kwargs: Any) -> Any:
        from acp.schema import LoadSessionResponse

        relay = await self._open(cwd, resume=session_id)
        await relay.replay()
        relay.advertise_commands()
        return LoadSessionResponse(modes=_modes(relay.session))

    def _relay(self, session_id: str) -> Relay:
        from acp import RequestError

        relay = self.relays.get(session_id)
        if relay is None:
            raise RequestError.invalid_params({"message": f"no session {session_id!r}"})
        return relay

    async def prompt(self, session_id: str, prompt: list[Any], **kwargs: Any) -> Any:
        import acp
        from acp import RequestError
        from acp.schema import PromptResponse

        relay = self._relay(session_id)
        parts = []
        for block in prompt:
            if getattr(block, "type", "") == "text":
                parts.append(block.text)
            elif getattr(block, "type", "") == "resource" and hasattr(block.resource, "text"):
                parts.append(f'<file uri="{block.resource.uri}">\n{block.resource.text}\n</file>')
            elif getattr(block, "type", "") == "resource_link":
                parts.append(f"@{block.uri.removeprefix('file://')}")
        text = "\n\n".join(parts)
        command = await acp_commands.run(relay.session, text) if text.startswith("/") else None
        if command is not None and command.text:
            relay.updates.put_nowait(acp.update_agent_message_text(command.text))
        if command is not None and command.prompt is None:
            await relay.updates.join()
            return PromptResponse(stop_reason="end_turn")
        end = await relay.session.send(command.prompt if command is not None and command.prompt else text)
        await relay.updates.join()
        if end.reason in ("error", "blocked"):
            error = end.last_message.error if end.last_message is not None else end.reason
            raise RequestError.internal_error({"message": str(error)})
        return PromptResponse(stop_reason=STOP.get(end.reason, "end_turn"))

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        relay = self.relays.get(session_id)
        if relay is not None:
            relay.session.interrupt()

    async def set_session_mode(self, session_id: str, mode_id: str, **kwargs: Any) -> Any:
        from acp import RequestError
        from acp.helpers import update_current_mode

        from sous.core import ConfigError

        relay = self._relay(session_id)
        try:
            relay.session.set_mode(mode_id)
        except ConfigError as e:
            raise RequestError.invalid_params({"message": str(e)}) from e
        relay.updates.put_nowait(update_current_mode(relay.session.mode))
        await relay.updates.join()
        return None

    async def close(self) -> None:
        for relay in self.relays.values():
            relay.pump.cancel()
            await relay.session.end("other")
            relay.session.close()


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="sous acp", description="Speak the Agent Client Protocol on stdio.")
    parser.add_argument("--model")
    parser.add_argument("--permission-mode")
    args = parser.parse_args(argv)
    try:
        import acp
    except ImportError:
        print("sous: sous acp needs the agent-client-protocol package: pip install 'sous[acp]'", file=sys.stderr)
        return 2
    from sous.runtime import Options

    agent = SousAgent(Options(model=args.model, permission_mode=args.permission_mode))

    async def serve() -> None:
        try:
            # acp looks each method up by name and answers "method not found" for those an agent
            # leaves out; its Agent protocol lists them all.
            await acp.run_agent(agent)  # type: ignore[arg-type]
        finally:
            await agent.close()

    asyncio.run(serve())
    return 0
