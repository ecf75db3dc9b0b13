"""The browser login to an MCP server (`sous mcp login NAME`, `/mcp login NAME`) and logout.

sous listens on 127.0.0.1 (a random port, or the entry's `oauth.callbackPort`) for the
authorization server's answer, prints the authorization address and opens a browser when there
is one (the `BROWSER` variable, or a desktop). It then connects to the server as a session would:
the server's 401 starts the SDK's flow (discovery, registration, PKCE), the answer's `state` must
match, and the tokens are stored (`sous.mcp.oauth.TokenFile`). Waiting for the browser is bounded
by `MCP_OAUTH_TIMEOUT` (seconds, 300 by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import sys
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs, urlsplit

from mcp.shared.auth import AuthorizationCodeResult

from .config import ServerSpec
from .oauth import AuthProblem, ServerAuth, TokenFile, check_authorization_url, stored_logins, token_path
from .transport import open_transport, wants_oauth


class LoginFailed(Exception):
    """One line saying why the login did not happen; nothing was stored."""


class CallbackListener:
    """A one-shot HTTP listener on 127.0.0.1 for the authorization server's redirect."""

    def __init__(self, name: str):
        self.name = name
        self.answer: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        self.server: asyncio.Server | None = None
        self.redirect_uri = ""

    async def start(self, port: int | None) -> CallbackListener:
        try:
            self.server = await asyncio.start_server(self._serve, "127.0.0.1", port or 0)
        except OSError as e:
            raise LoginFailed(f"cannot listen on 127.0.0.1:{port} for the login's answer: {e.strerror}") from e
        bound = self.server.sockets[0].getsockname()[1]
        self.redirect_uri = f"http://127.0.0.1:{bound}/callback"
        return self

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            method, target, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ") + ["", ""]
            parts = urlsplit(target)
            if method != "GET" or parts.path != "/callback":
                return self._reply(writer, 404, "Not the login's address.")
            if self.answer.done():
                return self._reply(writer, 409, "This login has already had its answer.")
            params = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if "code" not in params and "error" not in params:  # a stray visit does not end the login
                return self._reply(writer, 400, "This address waits for the authorization server's answer.")
            self.answer.set_result(params)
            if "error" in params:
                return self._reply(writer, 200, f"The login to {self.name} was refused: {params['error']}.")
            self._reply(writer, 200, f"sous has the answer for {self.name}; you can close this tab.")
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, UnicodeDecodeError):
            self._reply(writer, 400, "Bad request.")
        finally:
            with contextlib.suppress(Exception):
                await writer.drain()
            writer.close()

    @staticmethod
    def _reply(writer: asyncio.StreamWriter, status: int, text: str) -> None:
        body = f"<!doctype html><title>sous</title><p>{html.escape(text)}</p>\n".encode()
        writer.write(
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )


def browser_available(environ: Mapping[str, str]) -> bool:
    """A browser can be opened: `BROWSER` is set, or this is a desktop (not a bare Linux console,
    where `webbrowser` would start a text browser inside sous's own terminal)."""
    if environ.get("BROWSER"):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


async def login(
    spec: ServerSpec,
    environ: Mapping[str, str],
    *,
    say: Callable[[str], None],
    open_browser: bool = True,
    project_dir: str = ".",
) -> str:
    """Log in to `spec` in a browser; return the line to show. Raises `LoginFailed`."""
    if not wants_oauth(spec):
        why = "sets its own Authorization header" if spec.type != "stdio" else "is a stdio server"
        raise LoginFailed(f"{spec.name} {why}: there is nothing to log in to")
    try:
        timeout = float(environ.get("MCP_OAUTH_TIMEOUT") or 300)
    except ValueError:
        timeout = 300.0
    listener = await CallbackListener(spec.name).start(spec.oauth_callback_port)
    store = TokenFile(token_path(spec, environ), spec, fresh=True, redirect_uri=listener.redirect_uri)

    async def send_to_browser(url: str) -> None:
        check_authorization_url(url, listener.redirect_uri)
        say(f"To log in to {spec.name}, open this address in a browser:\n{url}")
        if open_browser and browser_available(environ):
            import webbrowser

            # off the loop: some browsers' commands wait, and the answer arrives on the loop
            await asyncio.to_thread(webbrowser.open, url)

    async def answer() -> AuthorizationCodeResult:
        try:
            params = await asyncio.wait_for(asyncio.shield(listener.answer), timeout)
        except TimeoutError:
            raise LoginFailed(f"no answer from the browser within {timeout:g}s") from None
        if "error" in params:
            detail = params.get("error_description", "")
            raise LoginFailed(
                f"the authorization server refused: {params['error']}" + (f" ({detail})" if detail else "")
            )
        return AuthorizationCodeResult(code=params.get("code", ""), state=params.get("state"), iss=params.get("iss"))

    auth = ServerAuth(spec, store, redirect_handler=send_to_browser, callback_handler=answer)
    try:
        tools = await asyncio.wait_for(_connect(spec, auth, project_dir), timeout + 60)
    except BaseException as e:  # every failure becomes one line; cancellation stays cancellation
        if isinstance(e, asyncio.CancelledError | KeyboardInterrupt):
            raise
        raise LoginFailed(explain(e, spec.url)) from None
    finally:
        await listener.close()
    if not store.saved:
        return f"{spec.name} answered without asking for a login; nothing was stored"
    return f"Logged in to {spec.name} ({tools} tool{'s' * (tools != 1)}); the login is kept in {store.path}"


async def _connect(spec: ServerSpec, auth: ServerAuth, project_dir: str) -> int:
    from mcp import ClientSession

    async with contextlib.AsyncExitStack() as stack:
        read, write = await open_transport(spec, stack, project_dir=project_dir, auth=auth)
        session = await stack.enter_async_context(ClientSession(read, write))
        await session.initialize()
        return len((await session.list_tools()).tools)


def explain(error: BaseException, url: str = "the server") -> str:
    """One line for a failed login, from sous's words: SDK messages can quote what they received."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    if isinstance(error, LoginFailed | AuthProblem):
        return str(error)
    from mcp.client.auth import OAuthFlowError, OAuthRegistrationError, OAuthTokenError
    from pydantic import ValidationError

    text = str(error).splitlines()[0][:200] if str(error) else ""
    if isinstance(error, TimeoutError):
        return "the login took too long"
    if isinstance(error, OAuthRegistrationError):
        return f"the authorization server did not register sous: {text}"
    if isinstance(error, OAuthTokenError):
        return "the authorization server did not issue a token" + (f": {text.split(': ', 1)[0]}" if text else "")
    if isinstance(error, OAuthFlowError):
        if "State parameter mismatch" in text:
            return "the answer that reached sous does not belong to this login (its state differs); refused"
        return f"the login failed: {text}"
    if isinstance(error, ValidationError):
        return f"the authorization server answered with malformed data ({error.error_count()} problems)"
    if isinstance(error, OSError) or type(error).__module__.startswith(("httpx", "httpcore")):
        return f"cannot reach {url}: {text or type(error).__name__}"
    return f"the login failed: {type(error).__name__}: {text}"


def logout(name: str, environ: Mapping[str, str]) -> str:
    """Forget every stored login of server `name`."""
    found = stored_logins(name, environ)
    for path in found:
        path.unlink(missing_ok=True)
    return f"Logged out of {name}: its tokens are deleted" if found else f"no stored login for {name}"
