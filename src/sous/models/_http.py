"""The HTTP side shared by the providers: one streamed POST, error mapping, retries, cancellation.

Requests go through sous's own small client (`_wire`), or through httpx when a proxy variable is
set (`ProxiedClient`); httpx is imported only then, on the first request.

Retries. 408, 409, 429, 5xx and 529 answers, refused connections, timeouts and streams cut
mid-way are retried with exponential backoff and jitter (or after the server's `retry-after-ms`/
`retry-after`), up to `SOUS_MAX_RETRIES` (default 10) times, each announced by a `Retry` event. A
stream cut mid-way restarts the turn from scratch: deltas already emitted are emitted again by the
next attempt (the `Retry` event in between tells a front end to drop them), and the returned
message is built from the successful attempt alone, so it never holds content twice. A server
saying `x-should-retry: false` (as Anthropic's does) is believed.

Stalls. A stream that sends nothing for `SOUS_STREAM_IDLE_TIMEOUT_MS` (default 120 s; the wait for
the response's first bytes counts too) is a cut stream, and is retried. A slow local server that
thinks longer than that before its first token needs the variable raised.

Wrong servers. A 200 answer that is not an event stream (an HTML page from a base URL pointing at
a web server, a JSON error body) is a configuration problem: it is said in one line naming the
URL and the variable to check, and not retried.

Cancellation. When the `CancelToken` fires mid-stream the connection is closed and the partial
message comes back with `stop_reason="aborted"`; while waiting to retry, the wait ends at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from sous.core import (
    AssistantMessage,
    AuthError,
    CancelToken,
    ConnectionFailed,
    Emit,
    Overloaded,
    ProviderError,
    RateLimited,
    Retry,
)
from sous.records import record

from . import _overflow, _sse, _wire

if TYPE_CHECKING:
    import httpx

    Response = _wire.Response | httpx.Response


class Parser(Protocol):
    """Turns one attempt's stream into an assistant message, emitting deltas as they arrive."""

    def feed(self, event: str, data: str) -> None:
        """Take one SSE event; may raise `ProviderError` for an error the server streamed."""

    def message(self) -> AssistantMessage:
        """The finished message; raises `ConnectionFailed` when the stream stopped short."""

    def partial(self) -> AssistantMessage:
        """What has arrived so far, without tool calls, with `stop_reason="aborted"`."""


DEFAULT_MAX_RETRIES = 10
DEFAULT_BASE_DELAY_S = 0.5
DEFAULT_IDLE_TIMEOUT_S = 120.0
NOT_A_STREAM = (
    "text/html",
    "application/xhtml+xml",
    "application/json",
    "application/problem+json",
    "text/xml",
    "application/xml",
)
"""Content types that are never an event stream: answers of the wrong server, not stream failures."""
MAX_LINE_CHARS = 16 * 2**20
"""The longest stream line kept (a large tool input arrives in many small events, never one line)."""
_LINE_END = re.compile(r"\r\n|\r|\n")


@record(kw_only=False)
class RetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRIES
    base_delay_s: float = DEFAULT_BASE_DELAY_S
    """First backoff; doubles per attempt up to `max_delay_s`. `SOUS_RETRY_BASE_DELAY` lowers it in tests."""
    max_delay_s: float = 30.0
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S
    """How long a stream may send nothing before it counts as cut (`SOUS_STREAM_IDLE_TIMEOUT_MS`)."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RetryPolicy:
        """Read `SOUS_MAX_RETRIES`, `SOUS_RETRY_BASE_DELAY` and `SOUS_STREAM_IDLE_TIMEOUT_MS`; bad
        values fall back to the defaults."""

        def number(name: str, default: float) -> float:
            try:
                value = float(environ.get(name) or default)
            except ValueError:
                return default
            return default if math.isnan(value) else max(value, 0.0)

        idle_ms = number("SOUS_STREAM_IDLE_TIMEOUT_MS", DEFAULT_IDLE_TIMEOUT_S * 1000)
        return cls(
            max_retries=int(min(number("SOUS_MAX_RETRIES", DEFAULT_MAX_RETRIES), 1000)),
            base_delay_s=number("SOUS_RETRY_BASE_DELAY", DEFAULT_BASE_DELAY_S),
            idle_timeout_s=idle_ms / 1000 if idle_ms > 0 else DEFAULT_IDLE_TIMEOUT_S,
        )

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before retry number `attempt` (1-based): the server's wish when it states one
        (within reason), else exponential backoff with jitter, capped."""
        import random  # here: only a retry needs it, and start-up does not pay for it

        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay_s * 4)
        return random.uniform(0.5, 1.0) * min(self.base_delay_s * 2 ** (attempt - 1), self.max_delay_s)


def new_client(
    base_url: str, idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S, environ: Mapping[str, str] | None = None
) -> Client:
    """A client for `base_url`; a read that waits `idle_timeout_s` for a byte fails with
    `_wire.ReadTimeout`. Behind a proxy (HTTPS_PROXY, ALL_PROXY..., unless NO_PROXY names the host)
    it is httpx's, which knows proxies. The certificate store (~50 ms) is loaded at the first
    https request: a plain-http endpoint (Ollama, a test double) never pays for it."""
    if proxy := _wire.proxy_for(base_url, os.environ if environ is None else environ):
        return ProxiedClient(proxy, idle_timeout_s)
    return _wire.Client(read_timeout=idle_timeout_s, verify=not base_url.startswith("http://"))


class ProxiedClient:
    """httpx behind `_wire.Client`'s interface: its failures become `_wire.TransportError`s."""

    def __init__(self, proxy: str, idle_timeout_s: float):
        from . import _without_httpx_cli

        _without_httpx_cli()
        import httpx

        timeout = httpx.Timeout(connect=15.0, read=idle_timeout_s, write=60.0, pool=15.0)
        # trust_env off: the proxy is the one the session's environment names (`_wire.proxy_for`), and
        # certificates come from SSL_CERT_FILE/SSL_CERT_DIR as for direct requests.
        self._client = httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, verify=_wire.tls_context(), proxy=proxy, trust_env=False
        )

    @contextlib.asynccontextmanager
    async def stream(self, method: str, url: str, **options: Any) -> AsyncIterator[httpx.Response]:
        with _translated():
            async with self._client.stream(method, url, **options) as response:
                yield response

    async def get(self, url: str, **options: Any) -> httpx.Response:
        with _translated():
            return await self._client.get(url, **options)

    async def aclose(self) -> None:
        await self._client.aclose()


Client = _wire.Client | ProxiedClient


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    import httpx

    try:
        yield
    except httpx.ReadTimeout as e:
        raise _wire.ReadTimeout(str(e) or "no data in time") from e
    except httpx.ConnectError as e:
        raise _wire.ConnectFailed(str(e) or "cannot connect") from e
    except httpx.HTTPError as e:
        raise _wire.TransportError(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__) from e


class Endpoint:
    """One provider's base URL: a pooled client and the streamed, retried, cancellable POST."""

    def __init__(self, base_url: str, *, key_hint: str, environ: Mapping[str, str], url_hint: str = "the base URL"):
        self.environ = environ
        self.base_url = base_url.rstrip("/")
        self.key_hint = key_hint
        """The environment variable an authentication failure tells the user to check."""
        self.url_hint = url_hint
        """The environment variable a wrong server (an HTML page, say) tells the user to check."""
        self.policy = RetryPolicy.from_environ(environ)
        self._client: Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def client(self) -> Client:
        # Pooled connections belong to the event loop that opened them; a new loop needs a new client.
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client, self._loop = new_client(self.base_url, self.policy.idle_timeout_s, self.environ), loop
        return self._client

    async def stream(
        self,
        path: str,
        *,
        body: dict[str, Any],
        headers: dict[str, str],
        parser: Callable[[], Parser],
        emit: Emit,
        cancel: CancelToken,
    ) -> AssistantMessage:
        """POST `body` to `path` and parse the streamed answer with a fresh `parser()` per attempt.

        Raises `ProviderError` when the request fails for good; returns the partial message
        (`stop_reason="aborted"`) when `cancel` fires first."""
        retries = self.policy.max_retries
        for n in range(retries + 1):
            current = parser()
            try:
                attempt = await cancel.race(self._attempt(path, body, headers, current))
                return attempt.result() if attempt is not None else current.partial()
            except _wire.TransportError as e:
                error = transport_error(e, self.policy.idle_timeout_s)
            except ProviderError as e:
                error = e
            if not error.retryable or n == retries:
                if n:
                    error.args = (f"{error.args[0]} (after {n} retr{'y' if n == 1 else 'ies'})",)
                raise error
            delay = self.policy.delay(n + 1, error.retry_after)
            emit(Retry(attempt=n + 1, max_retries=retries, delay_s=delay, error=str(error), status=error.status))
            if await cancel.race(asyncio.sleep(delay)) is None:
                return current.partial()
        raise AssertionError("unreachable")

    async def _attempt(
        self, path: str, body: dict[str, Any], headers: dict[str, str], parser: Parser
    ) -> AssistantMessage:
        async for event, data in self._events(path, body, headers):
            parser.feed(event, data)
        return parser.message()

    async def _events(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> AsyncIterator[tuple[str, str]]:
        async with self.client().stream("POST", self.base_url + path, json=body, headers=headers) as response:
            await check(response, self.key_hint)
            await self._check_stream(response)
            first: list[str] = []

            async def lines() -> AsyncIterator[str]:
                async for line in _lines(response, self.base_url):
                    if not first and line.strip():
                        first.append(line.strip())
                    yield line

            seen = False
            async for event in _sse.events(lines()):
                seen = True
                yield event
            # A server that does not say what it sends, and sent no event at all: judge by the body.
            if not seen and first and first[0].startswith("<"):
                raise self._not_a_stream("an HTML page", response.status_code)
            if not seen and first and first[0].startswith("{"):
                raise self._not_a_stream("JSON", response.status_code)

    def _not_a_stream(self, what: str, status: int) -> ProviderError:
        hint = " (does it support streaming?)" if what == "JSON" else ""
        return ProviderError(
            f"the server at {self.base_url} answered with {what}, not an event stream{hint}: check {self.url_hint}",
            status=status,
        )

    async def _check_stream(self, response: Response) -> None:
        """Raise a non-retryable `ProviderError` when a success answer is not an event stream."""
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in NOT_A_STREAM:
            return  # an event stream, or a server that does not say: the events are judged as they come
        if "html" in content_type or "xml" in content_type:
            raise self._not_a_stream("an HTML page" if "html" in content_type else "XML", response.status_code)
        body = (await response.aread())[:100_000]
        try:
            is_error = isinstance(data := json.loads(body), dict) and "error" in data
        except ValueError:
            is_error = False
        if is_error:
            raise ProviderError(
                f"the server at {self.base_url} answered {response.status_code} with an error: {_error_body(body)[0]}",
                status=response.status_code,
            )
        raise self._not_a_stream("JSON", response.status_code)


async def _lines(response: Response, base_url: str) -> AsyncIterator[str]:
    """The body's lines (SSE ends them with CRLF, LF or CR), none longer than `MAX_LINE_CHARS`:
    a server sending bytes without a line end must not fill memory."""
    pieces: list[str] = []  # the unfinished line, kept in pieces so a long one is not copied over and over
    size, after_cr = 0, False
    async for text in response.aiter_text():
        if after_cr and text.startswith("\n"):  # the second half of a CRLF split across chunks
            text = text[1:]
        after_cr = text.endswith("\r")
        start = 0
        for match in _LINE_END.finditer(text):
            pieces.append(text[start : match.start()])
            yield "".join(pieces)
            pieces, size, start = [], 0, match.end()
        pieces.append(text[start:])
        size += len(text) - start
        if size > MAX_LINE_CHARS:
            raise ProviderError(
                f"the server at {base_url} sent a line over {MAX_LINE_CHARS // 2**20} MB "
                "without an end: not an event stream"
            )
    if line := "".join(pieces):
        yield line


def decode(data: str) -> Any:
    """One event's JSON payload; garbage (a proxy's error page mid-stream) is a retryable failure."""
    try:
        return json.loads(data)
    except ValueError as e:
        raise ConnectionFailed(f"the response stream held invalid JSON: {' '.join(data.split())[:200]}") from e


def _retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        if ms := headers.get("retry-after-ms"):
            return float(ms) / 1000
        if seconds := headers.get("retry-after"):
            return float(seconds)
    except ValueError:  # an HTTP date: rare enough to fall back to our own backoff
        return None
    return None


def _error_body(body: bytes) -> tuple[str, dict[str, Any]]:
    """The server's own error text in one line, and its error object (fields beside the message)."""
    error: Any = {}
    try:
        data: Any = json.loads(body)
        error = data.get("error", data) if isinstance(data, dict) else data
        text = error.get("message") if isinstance(error, dict) else str(error)
        if isinstance(error, dict) and error.get("code") == "context_length_exceeded" and text:
            text = f"{text} (context_length_exceeded)"
    except (ValueError, AttributeError):
        text = body.decode("utf-8", errors="replace")
    return " ".join(str(text or "").split())[:500], error if isinstance(error, dict) else {}


def error_for_status(
    status: int, text: str, key_hint: str, retry_after: float | None = None, n_ctx: int | None = None
) -> ProviderError:
    """The `ProviderError` for an HTTP error status, with a one-line message. A 400/413 saying
    the prompt is too long (any wording in `_overflow`) is a `ContextOverflow`."""
    if status in (401, 403):
        return AuthError(f"authentication failed ({status}): {text} — check {key_hint}", status=status)
    if status == 429:
        return RateLimited(f"rate limited (429): {text}", status=status, retry_after=retry_after)
    if status in (408, 409) or status >= 500:
        return Overloaded(f"server error ({status}): {text}", status=status, retry_after=retry_after)
    if status in (400, 413) and _overflow.is_overflow(text):
        return _overflow.overflow(text, status, n_ctx=n_ctx)
    return ProviderError(f"request rejected ({status}): {text}", status=status)


async def check(response: Response, key_hint: str) -> None:
    """Raise the fitting `ProviderError` for an error response (its body read first)."""
    if response.status_code < 400:
        return
    text, fields = _error_body(await response.aread())
    n_ctx = fields.get("n_ctx") if isinstance(fields.get("n_ctx"), int) else None  # llama.cpp server
    error = error_for_status(
        response.status_code, text or response.reason_phrase, key_hint, _retry_after(response.headers), n_ctx
    )
    should_retry = response.headers.get("x-should-retry", "").lower()
    if should_retry in ("true", "false") and not isinstance(error, AuthError):
        error.retryable = should_retry == "true"
    raise error


def transport_error(error: _wire.TransportError, idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S) -> ProviderError:
    """A network failure (refused connection, timeout, stream cut mid-way) as a retryable error;
    a request that cannot be sent as asked as one that is not retried."""
    if isinstance(error, _wire.RequestRefused):
        return ProviderError(f"request not sent: {error}")
    if isinstance(error, _wire.ReadTimeout):
        return ConnectionFailed(
            f"the server sent nothing for {idle_timeout_s:g}s; the stream counts as cut "
            "(SOUS_STREAM_IDLE_TIMEOUT_MS sets the limit)"
        )
    return ConnectionFailed(f"connection problem ({type(error).__name__}): {error or 'no details'}")
