"""The HTTP side shared by the providers: one streamed POST, error mapping, retries, cancellation.

httpx is imported here and only here, on the first request: building a model costs nothing, and
`sous --version` never loads it.

Retries. 408, 409, 429, 5xx and 529 answers, refused connections, timeouts and streams cut
mid-way are retried with exponential backoff and jitter (or after the server's `retry-after-ms`/
`retry-after`), up to `SOUS_MAX_RETRIES` (default 10) times, each announced by a `Retry` event. A
stream cut mid-way restarts the turn from scratch: deltas already emitted are emitted again by the
next attempt (the `Retry` event in between tells a front end to drop them), and the returned
message is built from the successful attempt alone, so it never holds content twice. A server
saying `x-should-retry: false` (as Anthropic's does) is believed.

Cancellation. When the `CancelToken` fires mid-stream the connection is closed and the partial
message comes back with `stop_reason="aborted"`; while waiting to retry, the wait ends at once.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sous.core import (
    AssistantMessage, AuthError, CancelToken, ConnectionFailed, Emit, Overloaded, ProviderError,
    RateLimited, Retry,
)

from . import _overflow, _sse

if TYPE_CHECKING:
    import httpx


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


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRIES
    base_delay_s: float = DEFAULT_BASE_DELAY_S
    """First backoff; doubles per attempt up to `max_delay_s`. `SOUS_RETRY_BASE_DELAY` lowers it in tests."""
    max_delay_s: float = 30.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RetryPolicy:
        """Read `SOUS_MAX_RETRIES` and `SOUS_RETRY_BASE_DELAY`; bad values fall back to the defaults."""
        def number(name: str, default: float) -> float:
            try:
                return max(float(environ.get(name) or default), 0.0)
            except ValueError:
                return default
        return cls(max_retries=int(number("SOUS_MAX_RETRIES", DEFAULT_MAX_RETRIES)),
                   base_delay_s=number("SOUS_RETRY_BASE_DELAY", DEFAULT_BASE_DELAY_S))

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before retry number `attempt` (1-based): the server's wish when it states one
        (within reason), else exponential backoff with jitter, capped."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay_s * 4)
        return random.uniform(0.5, 1.0) * min(self.base_delay_s * 2 ** (attempt - 1), self.max_delay_s)


def new_client(base_url: str) -> httpx.AsyncClient:
    """A client honouring the usual proxy variables (HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE).

    Loading the certificate store costs ~50 ms; a plain-http endpoint (a local server such as
    Ollama or a test double) never uses it, so it is skipped there."""
    import httpx

    timeout = httpx.Timeout(connect=15.0, read=600.0, write=60.0, pool=15.0)
    return httpx.AsyncClient(timeout=timeout, follow_redirects=False, verify=not base_url.startswith("http://"))


class Endpoint:
    """One provider's base URL: a pooled client and the streamed, retried, cancellable POST."""

    def __init__(self, base_url: str, *, key_hint: str, environ: Mapping[str, str]):
        self.base_url = base_url.rstrip("/")
        self.key_hint = key_hint
        """The environment variable an authentication failure tells the user to check."""
        self.policy = RetryPolicy.from_environ(environ)
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def client(self) -> httpx.AsyncClient:
        # Pooled connections belong to the event loop that opened them; a new loop needs a new client.
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client, self._loop = new_client(self.base_url), loop
        return self._client

    async def stream(self, path: str, *, body: dict[str, Any], headers: dict[str, str],
                     parser: Callable[[], Parser], emit: Emit, cancel: CancelToken) -> AssistantMessage:
        """POST `body` to `path` and parse the streamed answer with a fresh `parser()` per attempt.

        Raises `ProviderError` when the request fails for good; returns the partial message
        (`stop_reason="aborted"`) when `cancel` fires first."""
        import httpx

        retries = self.policy.max_retries
        for n in range(retries + 1):
            current = parser()
            try:
                attempt = await cancel.race(self._attempt(path, body, headers, current))
                return attempt.result() if attempt is not None else current.partial()
            except httpx.HTTPError as e:
                error = transport_error(e)
            except ProviderError as e:
                error = e
            if not error.retryable or n == retries:
                if n:
                    error.args = (f"{error.args[0]} (after {n} retr{'y' if n == 1 else 'ies'})",)
                raise error
            delay = self.policy.delay(n + 1, error.retry_after)
            emit(Retry(attempt=n + 1, max_retries=retries, delay_s=delay, error=str(error)))
            if await cancel.race(asyncio.sleep(delay)) is None:
                return current.partial()
        raise AssertionError("unreachable")

    async def _attempt(self, path: str, body: dict[str, Any], headers: dict[str, str],
                       parser: Parser) -> AssistantMessage:
        async for event, data in self._events(path, body, headers):
            parser.feed(event, data)
        return parser.message()

    async def _events(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> AsyncIterator[tuple[str, str]]:
        async with self.client().stream("POST", self.base_url + path, json=body, headers=headers) as response:
            await check(response, self.key_hint)
            async for event in _sse.events(response.aiter_lines()):
                yield event


def decode(data: str) -> Any:
    """One event's JSON payload; garbage (a proxy's error page mid-stream) is a retryable failure."""
    try:
        return json.loads(data)
    except ValueError as e:
        raise ConnectionFailed(f"the response stream held invalid JSON: {' '.join(data.split())[:200]}") from e


def _retry_after(headers: httpx.Headers) -> float | None:
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


def error_for_status(status: int, text: str, key_hint: str, retry_after: float | None = None,
                     n_ctx: int | None = None) -> ProviderError:
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


async def check(response: httpx.Response, key_hint: str) -> None:
    """Raise the fitting `ProviderError` for an error response (its body read first)."""
    if response.status_code < 400:
        return
    text, fields = _error_body(await response.aread())
    n_ctx = fields.get("n_ctx") if isinstance(fields.get("n_ctx"), int) else None  # llama.cpp server
    error = error_for_status(response.status_code, text or response.reason_phrase, key_hint,
                             _retry_after(response.headers), n_ctx)
    should_retry = response.headers.get("x-should-retry", "").lower()
    if should_retry in ("true", "false") and not isinstance(error, AuthError):
        error.retryable = should_retry == "true"
    raise error


def transport_error(error: httpx.HTTPError) -> ProviderError:
    """A network failure (refused connection, timeout, stream cut mid-way) as a retryable error."""
    return ConnectionFailed(f"connection problem ({type(error).__name__}): {error or 'no details'}")
