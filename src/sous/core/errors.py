"""Errors raised across sous's boundaries.

    SousError
    ├── ConfigError            bad settings, flags or files given by the user
    ├── ProviderError          a model provider failed (status and retryability attached)
    │   ├── AuthError          401/403: the key is missing or wrong; never retried
    │   ├── RateLimited        429: retried with backoff
    │   ├── Overloaded         5xx / 529: retried with backoff
    │   ├── ContextOverflow    the request does not fit the model's window
    │   └── ConnectionFailed   connect errors and streams cut mid-way: retried
    └── ToolError              a tool could not run; the loop turns it into an error result

Tool failures the model should see are results, not exceptions (see `ToolResult`).
"""

from __future__ import annotations


class SousError(Exception):
    """Base of every error sous raises on purpose."""


class ConfigError(SousError):
    pass


class ProviderError(SousError):
    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class AuthError(ProviderError):
    pass


class RateLimited(ProviderError):
    retryable = True


class Overloaded(ProviderError):
    retryable = True


class ContextOverflow(ProviderError):
    """The request does not fit the model's window; `tokens` and `limit` as the provider states them."""

    tokens: int | None = None
    limit: int | None = None


class ConnectionFailed(ProviderError):
    retryable = True


class ToolError(SousError):
    pass
