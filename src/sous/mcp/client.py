"""Connecting to MCP servers with the official SDK and offering their tools as sous tools.

Servers start concurrently, each bounded by a start-up timeout (`MCP_TIMEOUT`, 30 s); one that
fails or hangs is reported and skipped without holding up the others. Tools are named
`mcp__<server>__<tool>` and go through permissions and hooks like any other. A call to a server
that died gets an error result at once; a call is bounded by `MCP_TOOL_TIMEOUT`. Output past
`MAX_MCP_OUTPUT_TOKENS` (25,000; ~4 characters each) is cut with a note; images stay images.
The SDK (and pydantic under it) is imported only here, only when a server is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sous.core import Image, Text, ToolContext, ToolResult
from sous.records import field, record

from .config import ServerSpec

MAX_RESTARTS = 5


class McpError(Exception):
    """A resource or prompt could not be had; the message is one line for the person."""


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    """An attribute under its SDK 2.x (snake_case) or 1.x (camelCase) name."""
    for name in names:
        if hasattr(obj, name):
            return getattr(obj, name)
    return default


def _innermost(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _reason(error: BaseException) -> str:
    """One line for a failure, looking inside the SDK's exception groups. A login problem
    (`sous.mcp.oauth.AuthProblem`) is already a line for the person."""
    error = _innermost(error)
    if type(error).__name__ in ("LoginNeeded", "RedirectRefused", "AuthProblem"):
        return str(error)
    return f"{type(error).__name__}: {error}".strip()[:300]


def _needs_login(error: BaseException) -> bool:
    return type(_innermost(error)).__name__ == "LoginNeeded"


def tool_name(server: str, tool: str) -> str:
    return "mcp__" + re.sub(r"[^A-Za-z0-9_-]", "_", server) + "__" + re.sub(r"[^A-Za-z0-9_-]", "_", tool)


@record(frozen=False, kw_only=False)
class Server:
    spec: ServerSpec
    state: str = "starting"
    """"starting", "connected", "restarting" (after a crash, with backoff), "needs-auth" (no usable
    login: `sous mcp login NAME`) or "failed"."""
    error: str = ""
    session: Any = None
    tools: list[McpTool] = field(default_factory=list)
    stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    task: asyncio.Task | None = None
    """Owns the connection: the SDK's transports must be closed by the task that opened them."""
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    broken: asyncio.Event = field(default_factory=asyncio.Event)
    """Set by a call that found the server dead, so its task tears down and restarts it."""
    restartable: bool = False
    """Set once it has connected (or on a manual reconnect): a crash then means a restart."""
    resources: list[dict[str, str]] = field(default_factory=list)
    """What it offers to `@server:uri`: uri, name, description."""
    prompts: list[dict[str, Any]] = field(default_factory=list)
    """What it offers as `/mcp__server__prompt`: name, description, arguments (names, in order)."""
    auth: Any = None
    """The OAuth provider of its current connection (`sous.mcp.oauth.ServerAuth`), for HTTP and SSE."""


@record(frozen=False, kw_only=False)
class McpTool:
    """One server tool as a sous Tool."""

    name: str
    description: str
    input_schema: dict[str, Any]
    server: Server
    remote_name: str
    read_only: bool = False
    concurrent: bool = False
    output_chars: int = 100_000
    call_timeout_s: float | None = None

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        server = self.server
        if server.state != "connected" or server.session is None:
            why = f"{server.state}: {server.error}" if server.error else server.state
            return ToolResult(content=f"MCP server {server.spec.name!r} is not connected ({why})", is_error=True)
        try:
            result = await asyncio.wait_for(server.session.call_tool(self.remote_name, args), self.call_timeout_s)
        except TimeoutError:
            return ToolResult(content=f"MCP tool {self.name} timed out after {self.call_timeout_s:g}s", is_error=True)
        except Exception as e:  # the server died or broke the protocol: say so; its task restarts it
            server.error, server.state = _reason(e), "restarting"
            server.broken.set()
            if problem := getattr(server.auth, "problem", None):  # the login ran out during the call
                server.error = str(problem)
                return ToolResult(content=f"MCP server {server.spec.name!r} {problem}", is_error=True)
            return ToolResult(
                content=f"MCP server {server.spec.name!r} failed during the call: {server.error}", is_error=True
            )
        return self._result(result)

    def _result(self, result: Any) -> ToolResult:
        blocks: list[Any] = []
        for item in _get(result, "content", default=[]) or []:
            kind = getattr(item, "type", "")
            if kind == "text":
                blocks.append(Text(text=item.text))
            elif kind == "image":
                blocks.append(
                    Image(media_type=_get(item, "mime_type", "mimeType", default="image/png"), data=item.data)
                )
            elif kind == "resource":
                resource = item.resource
                blocks.append(
                    Text(text=getattr(resource, "text", None) or f"[resource {getattr(resource, 'uri', '')}]")
                )
            else:
                blocks.append(Text(text=f"[{kind} content]"))
        text_size = sum(len(b.text) for b in blocks if isinstance(b, Text))
        if text_size > self.output_chars:
            joined = "".join(b.text for b in blocks if isinstance(b, Text))
            cut = joined[: self.output_chars]
            blocks = [
                Text(
                    text=f"{cut}\n[... MCP output truncated: {text_size - self.output_chars} of {text_size} "
                    f"characters cut (MAX_MCP_OUTPUT_TOKENS)]"
                ),
                *(b for b in blocks if isinstance(b, Image)),
            ]
        is_error = bool(_get(result, "is_error", "isError", default=False))
        structured = _get(result, "structured_content", "structuredContent")
        return ToolResult(content=tuple(blocks) or "(no output)", is_error=is_error, data=structured)


class McpManager:
    def __init__(
        self,
        specs: Mapping[str, ServerSpec],
        *,
        environ: Mapping[str, str],
        project_dir: str,
        notify: Callable[[str], None] | None = None,
        elicit: Callable[[str, dict[str, Any]], Awaitable[tuple[str, dict[str, Any] | None]]] | None = None,
    ):
        self.servers = {name: Server(spec=spec) for name, spec in specs.items()}
        self.elicit = elicit
        """Answers a server's request for input (server name, request) with an action and content;
        None: sous does not offer servers elicitation at all."""
        self.environ = environ
        self.project_dir = project_dir
        self.notify = notify or (lambda text: None)
        """Lines for the person while something runs (a login's address)."""

    def _seconds(self, name: str, default: float) -> float | None:
        try:
            value = float(self.environ.get(name) or default * 1000) / 1000
        except ValueError:
            value = default
        return value or None

    async def start(self) -> list[str]:
        """Connect every server at once; return one line per server that could not be used."""
        timeout = self._seconds("MCP_TIMEOUT", 30.0)
        servers = list(self.servers.values())
        if servers:
            # The SDK takes a second or more to import: that is sous's cost, not the servers', so it
            # is paid before their start-up clock runs.
            import mcp  # noqa: F401
        for server in servers:
            server.task = asyncio.ensure_future(self._serve(server))
        if servers:
            await asyncio.wait([asyncio.ensure_future(s.ready.wait()) for s in servers], timeout=timeout)
        for server in servers:
            if not server.ready.is_set():
                server.state, server.error = "failed", f"it did not start within {timeout:g}s"
                assert server.task is not None
                server.task.cancel()
        return [
            f"MCP server {s.spec.name!r} " + (s.error if s.state == "needs-auth" else f"is not available: {s.error}")
            for s in servers
            if s.state != "connected"
        ]

    async def _serve(self, server: Server) -> None:
        """Hold the connection open until `close()`; after a crash, restart it with backoff."""
        attempt = 0
        while not server.stop.is_set():
            was_connected = False
            try:
                async with contextlib.AsyncExitStack() as stack:
                    server.stack = stack
                    await self._open(server)
                    server.state, server.error, attempt, was_connected = "connected", "", 0, True
                    server.restartable = True
                    server.ready.set()
                    waiters = [asyncio.ensure_future(server.stop.wait()), asyncio.ensure_future(server.broken.wait())]
                    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                    for waiter in waiters:
                        waiter.cancel()
                    if server.stop.is_set():
                        return
                    server.broken.clear()
                    raise ConnectionError(server.error or "the server stopped answering")
            except asyncio.CancelledError:
                return
            except BaseException as e:  # a server that fails is reported, never fatal
                server.error = _reason(e)
                if _needs_login(e):  # retrying cannot help until the person logs in
                    server.state = "needs-auth"
                    server.session = None
                    server.ready.set()
                    return
            finally:
                server.session = None
                server.ready.set()
            if not was_connected and attempt == 0 and not server.restartable:
                server.state = "failed"  # it never came up: report it rather than retry forever
                return
            attempt += 1
            if attempt > MAX_RESTARTS:
                server.state = "failed"
                return
            server.state = "restarting"
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wake.wait(), min(2 ** (attempt - 1), 30))
            server.wake.clear()

    def reconnect(self, name: str) -> bool:
        """Restart a server now (`/mcp reconnect NAME`)."""
        server = self.servers.get(name)
        if server is None or server.task is None:
            return False
        server.restartable = True
        if server.task.done():
            server.ready.clear()
            server.task = asyncio.ensure_future(self._serve(server))
        else:
            server.wake.set()
        return True

    async def login(self, name: str, *, open_browser: bool = True) -> str:
        """`/mcp login NAME`: the browser login (its address goes out through `notify`), then the
        server is connected again with it. Raises `McpError` with the reason."""
        from .login import LoginFailed, login

        server = self.servers.get(name)
        if server is None:
            raise McpError(f"no MCP server named {name!r}")
        try:
            line = await login(
                server.spec, self.environ, say=self.notify, open_browser=open_browser, project_dir=self.project_dir
            )
        except LoginFailed as e:
            raise McpError(f"login to {name} failed: {e}") from None
        self._restart(server, "logged in again")
        deadline = asyncio.get_running_loop().time() + (self._seconds("MCP_TIMEOUT", 30.0) or 30.0)
        while server.state not in ("failed", "needs-auth") and not (server.state == "connected" and server.session):
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.05)  # until the connection with the new login is up (or has failed)
        if server.state != "connected":
            return f"{line}; but it did not connect: {server.error or server.state}"
        return line

    def logout(self, name: str) -> str:
        """`/mcp logout NAME`: forget its tokens and drop the connection that used them."""
        from .login import logout

        server = self.servers.get(name)
        if server is None:
            raise McpError(f"no MCP server named {name!r}")
        line = logout(name, self.environ)
        self._restart(server, "logged out")
        return line

    def _restart(self, server: Server, why: str) -> None:
        was, server.state = server.state, "restarting"
        if was == "connected":  # its connection holds the old token: drop it
            server.error = why
            server.broken.set()
        else:
            self.reconnect(server.spec.name)

    async def _open(self, server: Server) -> None:
        from mcp import ClientSession

        from .transport import open_transport, wants_oauth

        spec = server.spec
        auth = None
        if wants_oauth(spec):
            from .oauth import ServerAuth, TokenFile, token_path

            auth = ServerAuth(spec, TokenFile(token_path(spec, self.environ), spec))
        server.auth = auth
        streams = await open_transport(spec, server.stack, project_dir=self.project_dir, auth=auth)
        answering = self._elicitation(spec.name) if self.elicit is not None else None
        session = await server.stack.enter_async_context(
            ClientSession(streams[0], streams[1], elicitation_callback=answering)
        )
        initialized = await session.initialize()
        listing = await session.list_tools()
        capabilities = _get(initialized, "capabilities")
        if _get(capabilities, "resources") is not None:
            with contextlib.suppress(Exception):  # a listing that fails costs the feature, not the server
                server.resources = [
                    {"uri": str(r.uri), "name": r.name or "", "description": r.description or ""}
                    for r in (await session.list_resources()).resources
                ]
        if _get(capabilities, "prompts") is not None:
            with contextlib.suppress(Exception):
                server.prompts = [
                    {
                        "name": p.name,
                        "description": p.description or "",
                        "arguments": [a.name for a in p.arguments or []],
                        "required": [a.name for a in p.arguments or [] if a.required],
                    }
                    for p in (await session.list_prompts()).prompts
                ]
        output_chars = int(self.environ.get("MAX_MCP_OUTPUT_TOKENS") or 25_000) * 4
        call_timeout = spec.timeout_s or self._seconds("MCP_TOOL_TIMEOUT", 0) or None
        server.session = session
        server.tools = [
            McpTool(
                name=tool_name(spec.name, t.name),
                description=(t.description or t.name)[:2048],
                input_schema=_get(t, "input_schema", "inputSchema", default=None) or {"type": "object"},
                server=server,
                remote_name=t.name,
                output_chars=output_chars,
                call_timeout_s=call_timeout,
                read_only=bool(_get(_get(t, "annotations"), "read_only_hint", "readOnlyHint", default=False)),
            )
            for t in listing.tools
        ]

    def _elicitation(self, name: str) -> Any:
        """The SDK's callback for server `name`'s requests for input, answered by `self.elicit`."""
        from mcp import types

        async def answer(context: Any, params: Any) -> Any:
            assert self.elicit is not None
            request = {
                "message": _get(params, "message", default=""),
                "mode": _get(params, "mode", default=None) or "form",
                "url": _get(params, "url", default=None),
                "elicitation_id": _get(params, "elicitation_id", "elicitationId", default=None),
                "requested_schema": _get(params, "requested_schema", "requestedSchema", default=None),
            }
            action, content = await self.elicit(name, request)
            if action == "accept":
                return types.ElicitResult(action="accept", content=content)
            return types.ElicitResult(action="cancel" if action == "cancel" else "decline")

        return answer

    @property
    def tools(self) -> list[McpTool]:
        return [tool for server in self.servers.values() if server.state == "connected" for tool in server.tools]

    def _connected(self, name: str) -> Server:
        server = self.servers.get(name)
        if server is None:
            raise McpError(f"no MCP server named {name!r}")
        if server.state != "connected" or server.session is None:
            raise McpError(f"MCP server {name!r} is not connected ({server.state})")
        return server

    async def read_resource(self, name: str, uri: str) -> str:
        """The text of resource `uri` of server `name` (binary parts described, not dumped)."""
        server = self._connected(name)
        try:
            result = await asyncio.wait_for(server.session.read_resource(uri), 60)
        except Exception as e:
            raise McpError(f"reading {name}:{uri} failed: {_reason(e)}") from e
        parts = []
        for item in _get(result, "contents", default=[]) or []:
            text = getattr(item, "text", None)
            parts.append(
                text
                if text is not None
                else f"[binary {getattr(item, 'mimeType', '') or 'data'} "
                f"of {len(getattr(item, 'blob', '') or '') * 3 // 4:,} bytes]"
            )
        return "\n".join(parts)

    async def get_prompt(self, name: str, prompt: str, arguments: dict[str, str]) -> str:
        """The text of a server prompt, its messages joined, for `/mcp__server__prompt args`."""
        server = self._connected(name)
        try:
            result = await asyncio.wait_for(server.session.get_prompt(prompt, arguments), 60)
        except Exception as e:
            raise McpError(f"the prompt {prompt!r} of {name!r} failed: {_reason(e)}") from e
        texts = []
        for message in _get(result, "messages", default=[]) or []:
            content = message.content
            texts.append(
                getattr(content, "text", None)
                or getattr(getattr(content, "resource", None), "text", "")
                or f"[{getattr(content, 'type', 'content')}]"
            )
        return "\n\n".join(t for t in texts if t)

    def find_prompt(self, command: str) -> tuple[str, dict[str, Any]] | None:
        """(server name, prompt) for a command name `mcp__server__prompt`."""
        for name, server in self.servers.items():
            for prompt in server.prompts:
                if tool_name(name, prompt["name"]) == command:
                    return name, prompt
        return None

    def prompt_commands(self) -> list[tuple[str, str]]:
        return [
            (tool_name(name, p["name"]), p["description"])
            for name, s in self.servers.items()
            if s.state == "connected"
            for p in s.prompts
        ]

    def resource_mentions(self) -> list[tuple[str, str]]:
        """`server:uri` and a label, for `@` completion."""
        return [
            (f"{name}:{r['uri']}", r["name"] or r["description"])
            for name, s in self.servers.items()
            if s.state == "connected"
            for r in s.resources
        ]

    def describe(self) -> list[str]:
        """One line per server: state, tool count or the reason it failed (for `/mcp`)."""

        def offers(s: Server) -> str:
            extra = [f"{len(x)} {what}" for x, what in ((s.resources, "resources"), (s.prompts, "prompts")) if x]
            return f", {len(s.tools)} tools" + "".join(f", {e}" for e in extra)

        return [
            f"{name}: {s.state}" + (offers(s) if s.state == "connected" else f" ({s.error})" if s.error else "")
            for name, s in self.servers.items()
        ]

    async def close(self) -> None:
        tasks = [s.task for s in self.servers.values() if s.task is not None]
        for server in self.servers.values():
            server.stop.set()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=5)
            for task in stuck:
                task.cancel()
        for server in self.servers.values():
            server.state = "closed"
