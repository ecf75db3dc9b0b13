"""The HTTP side shared by the providers: one httpx client, error mapping and retries.

httpx is imported here and only here, so it loads when a provider first talks to the network
and never on `sous --version`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import httpx

from sous.core import (
    AssistantMessage, AuthError, ConnectionFailed, ContextOverflow, Emit, Overloaded, ProviderError,
    RateLimited, Retry,
)

from . import _sse

DEFAULT_MAX_RETRIES = 10
BASE_DELAY_S = 0.5
MAX_DELAY_S = 30.0
TIMEOUT = httpx.Timeout(connect=15.0, read=600.0, write=60.0, pool=15.0)
_CONTEXT_WORDS = ("context length", "context window", "prompt is too long", "maximum context", "too many tokens")


def client(base_url: str) -> httpx.AsyncClient:
    """A client honouring the usual proxy variables (HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE).

    Loading the certificate store costs ~50 ms; a plain-http endpoint (a local server such as
    Ollama or a test double) never uses it, so it is skipped there."""
    secure = not base_url.startswith("http://")
    return httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, verify=secure)


async def post_events(client_: httpx.AsyncClient, url: str, *, body: dict[str, Any], headers: dict[str, str],
                      key_hint: str) -> AsyncIterator[tuple[str, str]]:
    """POST `body` and yield the (event, data) pairs of the streamed answer, to its end."""
    async with client_.stream("POST", url, json=body, headers=headers) as response:
        await check(response, key_hint)
        async for event in _sse.events(response.aiter_lines()):
            yield event


def max_retries(environ: Mapping[str, str]) -> int:
    try:
        return max(int(environ.get("SOUS_MAX_RETRIES") or DEFAULT_MAX_RETRIES), 0)
    except ValueError:
        return DEFAULT_MAX_RETRIES


def _retry_after(headers: httpx.Headers) -> float | None:
    try:
        if ms := headers.get("retry-after-ms"):
            return float(ms) / 1000
        if seconds := headers.get("retry-after"):
            return float(seconds)
    except ValueError:
        return None
    return None


def _message(body: bytes) -> str:
    """The server's own error text, in one line."""
    try:
        data: Any = json.loads(body)
        error = data.get("error", data) if isinstance(data, dict) else data
        text = error.get("message") if isinstance(error, dict) else str(error)
    except (ValueError, AttributeError):
        text = body.decode("utf-8", errors="replace")
    return " ".join(str(text or "").split())[:500]


async def check(response: httpx.Response, key_hint: str) -> None:
    """Raise the fitting `ProviderError` for an error response (its body read first)."""
    if response.status_code < 400:
        return
    status = response.status_code
    text = _message(await response.aread()) or response.reason_phrase
    retry_after = _retry_after(response.headers)
    if status in (401, 403):
        raise AuthError(f"authentication failed ({status}): {text} — check {key_hint}", status=status)
    if status == 429:
        raise RateLimited(f"rate limited (429): {text}", status=status, retry_after=retry_after)
    if status in (408, 409) or status >= 500:
        raise Overloaded(f"server error ({status}): {text}", status=status, retry_after=retry_after)
    if status in (400, 413) and any(w in text.lower() for w in _CONTEXT_WORDS):
        raise ContextOverflow(f"the conversation does not fit the model's context window: {text}", status=status)
    raise ProviderError(f"request rejected ({status}): {text}", status=status)


def transport_error(error: httpx.HTTPError) -> ProviderError:
    """A network failure (refused connection, timeout, stream cut mid-way) as a retryable error."""
    kind = type(error).__name__
    return ConnectionFailed(f"connection problem ({kind}): {error or 'no details'}")


def backoff(attempt: int, retry_after: float | None) -> float:
    """Seconds to wait before retry number `attempt` (1-based): the server's retry-after when it
    gives one, else exponential with full jitter, capped."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_DELAY_S * 4)
    base = float(os.environ.get("SOUS_RETRY_BASE_DELAY", BASE_DELAY_S))
    return random.uniform(0.5, 1.0) * min(base * 2 ** (attempt - 1), MAX_DELAY_S)


async def with_retries(attempt: Callable[[], Awaitable[AssistantMessage]], *, emit: Emit,
                       retries: int) -> AssistantMessage:
    """Run `attempt` until it returns, retrying retryable failures with backoff.

    A stream cut mid-way is retried from the start: the text already shown is shown again, and
    the returned message holds the successful attempt only.
    """
    for n in range(retries + 1):
        try:
            return await attempt()
        except httpx.HTTPError as e:
            error: ProviderError = transport_error(e)
        except ProviderError as e:
            error = e
        if not error.retryable or n == retries:
            if n:
                error.args = (f"{error.args[0]} (after {n} retr{'y' if n == 1 else 'ies'})",)
            raise error
        delay = backoff(n + 1, error.retry_after)
        emit(Retry(attempt=n + 1, max_retries=retries, delay_s=delay, error=str(error)))
        await asyncio.sleep(delay)
    raise AssertionError("unreachable")
