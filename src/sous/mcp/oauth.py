"""OAuth for MCP servers over HTTP and SSE, on the official SDK's `OAuthClientProvider`.

The SDK does discovery (RFC 9728 protected-resource metadata, RFC 8414 authorization-server
metadata), dynamic client registration (RFC 7591), the authorization code grant with PKCE and
refreshing. Around it sous adds:

- `TokenFile`, the SDK's `TokenStorage`: one JSON file per server under `<SOUS_HOME>/mcp-auth/`
  (`~/.sous/mcp-auth/` by default), named after the server and a digest of its URL, created with
  mode 0600 by `open` itself and swapped in with `os.replace`. It keeps the absolute expiry, so a
  token that expired while sous was not running is refreshed before it is sent.
- `ServerAuth`: on a 401, tokens another sous process stored meanwhile (it refreshed and rotated
  them) are tried first, then one refresh and a retry, before anything else (a token revoked or
  expired early is renewed without a login). Metadata that answers 200 but does not parse ends a
  login instead of letting the SDK go on with addresses guessed from the server's origin. These
  hooks use the provider's private steps (`_auth_flow`, `_initialize`, `_refresh_token`), as the
  SDK 2.x writes them.
- In a session nobody is at a browser: where a login would be needed, `ServerAuth` raises
  `LoginNeeded`, whose text names `sous mcp login NAME`; only `sous.mcp.login` runs the browser.

No token goes into a message, a log line or an error: every error text here is sous's own.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import secrets
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import ValidationError

from sous import paths

from .config import ServerSpec

PLACEHOLDER_REDIRECT = "http://127.0.0.1/callback"
"""The redirect URI a session gives the SDK, which wants one: a session never runs the
authorization step, so nothing is ever sent there."""


class AuthProblem(Exception):
    """An OAuth failure, as one line for the person (never carrying a token)."""


class LoginNeeded(AuthProblem):
    """The server wants a login that only `sous mcp login NAME` (or `/mcp login NAME`) can do."""


class RedirectRefused(AuthProblem):
    """The authorization's answer would go somewhere other than sous's listener on this machine."""


def is_loopback_uri(uri: str) -> bool:
    parts = urlsplit(uri)
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def check_authorization_url(url: str, redirect_uri: str) -> None:
    """Refuse an authorization URL whose answer would not come back to `redirect_uri` (sous's own
    loopback listener), or that would be fetched over plain HTTP from another machine."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback_uri(f"http://{parts.netloc}/")):
        raise RedirectRefused(f"the authorization page {parts.scheme}://{parts.netloc} is not served over https")
    sent_to = parse_qs(parts.query).get("redirect_uri", [""])[0]
    if sent_to != redirect_uri or not is_loopback_uri(sent_to):
        raise RedirectRefused(
            f"the login would send its answer to {sent_to or 'nowhere'!r}, not to sous on this machine"
        )


def token_path(spec: ServerSpec, environ: Mapping[str, str]) -> Path:
    digest = hashlib.sha256(f"{spec.type} {spec.url}".encode()).hexdigest()[:16]
    return paths.config_dir(environ) / "mcp-auth" / f"{_slug(spec.name)}-{digest}.json"


def stored_logins(name: str, environ: Mapping[str, str]) -> list[Path]:
    """Every token file of server `name`, whatever URL it had."""
    folder = paths.config_dir(environ) / "mcp-auth"
    return sorted(p for p in folder.glob(f"{_slug(name)}-*.json") if re.fullmatch(r"[0-9a-f]{16}", p.stem[-16:]))


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:80]


class TokenFile:
    """The SDK's `TokenStorage` on one file. With `fresh` (a new login) what is stored is not
    offered, and the file is rewritten only once the login has its tokens: a login that fails
    leaves the earlier one as it was."""

    def __init__(self, path: Path, spec: ServerSpec, *, fresh: bool = False, redirect_uri: str = ""):
        self.path = path
        self.spec = spec
        self.fresh = fresh
        self.redirect_uri = redirect_uri
        self.pending_client: dict[str, Any] | None = None
        self.saved = False
        """Tokens were stored during this connection (a login happened or a token was refreshed)."""

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def expires_at(self) -> float | None:
        value = self.read().get("expires_at") if not self.fresh else None
        return float(value) if isinstance(value, int | float) else None

    async def get_tokens(self) -> OAuthToken | None:
        raw = None if self.fresh and not self.saved else self.read().get("tokens")
        try:
            return OAuthToken.model_validate(raw) if isinstance(raw, dict) else None
        except ValidationError:
            return None

    async def set_tokens(self, tokens: OAuthToken) -> None:
        data = {} if self.fresh and not self.saved else self.read()
        if self.pending_client is not None:
            data["client"], self.pending_client = self.pending_client, None
        data |= {
            "server": {"name": self.spec.name, "url": self.spec.url},
            "tokens": tokens.model_dump(mode="json", exclude_none=True),
            "expires_at": time.time() + tokens.expires_in if tokens.expires_in else None,
        }
        self._write(data)
        self.saved = True

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        if self.spec.oauth_client_id:  # registered beforehand: no dynamic registration
            return OAuthClientInformationFull(
                client_id=self.spec.oauth_client_id,
                redirect_uris=[self.redirect_uri or PLACEHOLDER_REDIRECT],  # type: ignore[list-item]
                token_endpoint_auth_method="none",
            )
        if self.pending_client is not None:
            raw: Any = self.pending_client
        else:
            raw = None if self.fresh and not self.saved else self.read().get("client")
        try:
            return OAuthClientInformationFull.model_validate(raw) if isinstance(raw, dict) else None
        except ValidationError:
            return None

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        for uri in map(str, client_info.redirect_uris or []):
            if not is_loopback_uri(uri):
                raise RedirectRefused(
                    f"the authorization server registered sous with the redirect {uri!r}, off this machine"
                )
        self.pending_client = client_info.model_dump(mode="json", exclude_none=True)

    def _write(self, data: dict[str, Any]) -> None:
        """Created 0600 by `open`, never widened afterwards; renamed over the old file in one step."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2)
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


class ServerAuth(OAuthClientProvider):
    """The SDK's provider, with the stored expiry, a refresh on 401, and (without `redirect_handler`)
    `LoginNeeded` wherever the SDK would start a browser login."""

    def __init__(
        self,
        spec: ServerSpec,
        store: TokenFile,
        *,
        redirect_handler: Callable[[str], Awaitable[None]] | None = None,
        callback_handler: Callable[[], Awaitable[AuthorizationCodeResult]] | None = None,
    ):
        metadata = OAuthClientMetadata(
            client_name="sous",
            redirect_uris=[store.redirect_uri or PLACEHOLDER_REDIRECT],  # type: ignore[list-item]
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        )
        self.spec, self.store, self.interactive = spec, store, redirect_handler is not None
        self.problem: LoginNeeded | None = None
        """The last `LoginNeeded` raised: the transport reports only that its connection closed."""
        super().__init__(
            spec.url,
            metadata,
            store,
            redirect_handler=redirect_handler or self._no_browser,
            callback_handler=callback_handler,
        )

    def needs_login(self, why: str = "needs a login") -> LoginNeeded:
        self.problem = LoginNeeded(f"{why}: run `sous mcp login {self.spec.name}`")
        return self.problem

    async def _no_browser(self, url: str) -> None:
        raise self.needs_login()

    async def _initialize(self) -> None:
        await super()._initialize()
        self.context.token_expiry_time = self.store.expires_at()

    async def _auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
        flow = super()._auth_flow(request)
        refreshed = False
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield outgoing
                if outgoing is not request:
                    await self._check_metadata(outgoing, response)
                elif response.status_code == 401:
                    if not refreshed and (newer := await self._newer_stored_tokens()):
                        # another sous process refreshed (and rotated) the tokens meanwhile: use theirs
                        self.context.current_tokens, self.context.token_expiry_time = newer, self.store.expires_at()
                        self._add_auth_header(request)
                        response = yield request
                    had_token = "Authorization" in request.headers
                    if response.status_code == 401 and had_token and not refreshed and self.context.can_refresh_token():
                        refreshed = True
                        answer = yield await self._refresh_token()
                        if await self._handle_refresh_response(answer):
                            self._add_auth_header(request)
                            response = yield request
                    if response.status_code == 401 and not self.interactive:
                        stored = had_token or bool(self.store.read().get("tokens"))
                        again = "needs a new login (the stored one expired or was revoked)"
                        raise self.needs_login(again if stored else "needs a login")
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await flow.aclose()

    async def _newer_stored_tokens(self) -> OAuthToken | None:
        stored, current = await self.store.get_tokens(), self.context.current_tokens
        if stored is None or (current is not None and stored.access_token == current.access_token):
            return None
        return stored

    async def _check_metadata(self, sent: Any, response: Any) -> None:
        """Metadata that answers 200 but is not metadata ends the login: the SDK would go on with
        guessed addresses on the server's origin, and a person would be sent to them."""
        from mcp.shared.auth import OAuthMetadata, ProtectedResourceMetadata

        path = sent.url.path
        if response.status_code != 200 or "/.well-known/" not in path:
            return
        model: Any = ProtectedResourceMetadata if "oauth-protected-resource" in path else OAuthMetadata
        try:
            model.model_validate_json(await response.aread())
        except ValidationError:
            where = str(sent.url.copy_with(query=None))
            raise AuthProblem(f"the OAuth metadata at {where} is malformed; sous cannot log in with it") from None
