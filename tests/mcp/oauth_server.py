"""An MCP server protected by OAuth, built with the SDK's server-side auth, for the login tests.

    python oauth_server.py PORT [--transport http|sse] [--lifetime SECONDS] [--mode MODE]

It is its own authorization server (dynamic registration, PKCE, refresh) with a consent page:
GET /authorize redirects to /consent?request=ID, and POST /consent (approve=yes) redirects to the
client's redirect_uri with the code. MODE: `normal`; `bad-metadata` (both well-known documents are
not metadata); `foreign-redirect` (registration answers with a redirect_uri off this machine).
Admin routes, for the tests to change the world: POST /admin/revoke-refresh, POST
/admin/expire-access, GET /admin/stats.
"""

from __future__ import annotations

import argparse
import secrets
import time

import uvicorn
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response


class Provider:
    def __init__(self, base: str, lifetime: int, mode: str):
        self.base, self.lifetime, self.mode = base, lifetime, mode
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.pending: dict[str, tuple[str, AuthorizationParams]] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.stats = {"registrations": 0, "code_exchanges": 0, "refreshes": 0, "tool_calls": 0}

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        self.stats["registrations"] += 1
        if self.mode == "foreign-redirect":  # RFC 7591 lets a server change metadata; this one misbehaves
            client_info.redirect_uris = [AnyUrl("https://collector.example/callback")]
        assert client_info.client_id
        self.clients[client_info.client_id] = client_info

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        request_id = secrets.token_urlsafe(16)
        self.pending[request_id] = (client.client_id or "", params)
        return f"{self.base}/consent?request={request_id}"

    def approve(self, request_id: str) -> str:
        client_id, params = self.pending.pop(request_id)
        code = secrets.token_urlsafe(24)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [],
            expires_at=time.time() + 300,
            client_id=client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(self, client: OAuthClientInformationFull, code: str) -> AuthorizationCode | None:
        return self.codes.get(code)

    def _issue(self, client_id: str, scopes: list[str]) -> OAuthToken:
        access, refresh = "at-" + secrets.token_urlsafe(24), "rt-" + secrets.token_urlsafe(24)
        expires = int(time.time()) + self.lifetime
        self.access[access] = AccessToken(token=access, client_id=client_id, scopes=scopes, expires_at=expires)
        self.refresh[refresh] = RefreshToken(token=refresh, client_id=client_id, scopes=scopes)
        return OAuthToken(access_token=access, expires_in=self.lifetime, refresh_token=refresh, scope=" ".join(scopes))

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, code: AuthorizationCode
    ) -> OAuthToken:
        self.codes.pop(code.code, None)
        self.stats["code_exchanges"] += 1
        return self._issue(code.client_id, code.scopes)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        return self.refresh.get(refresh_token)

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        if self.refresh.pop(refresh_token.token, None) is None:
            raise TokenError(error="invalid_grant", error_description="refresh token revoked")
        self.stats["refreshes"] += 1
        return self._issue(refresh_token.client_id, scopes or refresh_token.scopes)

    async def load_access_token(self, token: str) -> AccessToken | None:
        found = self.access.get(token)
        if found is None or (found.expires_at is not None and found.expires_at < time.time()):
            return None
        return found

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        self.access.pop(token.token, None)
        self.refresh.pop(token.token, None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--transport", choices=("http", "sse"), default="http")
    parser.add_argument("--lifetime", type=int, default=3600)
    parser.add_argument("--mode", choices=("normal", "bad-metadata", "foreign-redirect"), default="normal")
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    provider = Provider(base, args.lifetime, args.mode)
    resource = f"{base}/mcp" if args.transport == "http" else f"{base}/sse"
    app = MCPServer(
        "guarded",
        auth_server_provider=provider,
        auth=AuthSettings(
            issuer_url=base,  # type: ignore[arg-type]
            resource_server_url=resource,  # type: ignore[arg-type]
            client_registration_options=ClientRegistrationOptions(enabled=True),
            validate_token_resource=False,
        ),
    )

    @app.tool()
    def shout(text: str) -> str:
        """Upper-cases text."""
        provider.stats["tool_calls"] += 1
        return text.upper()

    @app.custom_route("/consent", methods=["GET", "POST"])
    async def consent(request: Request) -> Response:
        if request.method == "GET":
            request_id = request.query_params.get("request", "")
            return HTMLResponse(
                f'<form method="post"><input type="hidden" name="request" value="{request_id}">'
                '<button name="approve" value="yes">Allow</button></form>'
            )
        form = await request.form()
        if str(form.get("request")) not in provider.pending:
            return HTMLResponse("no such request", status_code=400)
        if form.get("approve") != "yes":  # the person said no: the client hears access_denied
            _, params = provider.pending.pop(str(form["request"]))
            denied = construct_redirect_uri(str(params.redirect_uri), error="access_denied", state=params.state)
            return RedirectResponse(denied, status_code=302)
        return RedirectResponse(provider.approve(str(form["request"])), status_code=302)

    @app.custom_route("/admin/revoke-refresh", methods=["POST"])
    async def revoke_refresh(request: Request) -> Response:
        provider.refresh.clear()
        return JSONResponse({"ok": True})

    @app.custom_route("/admin/expire-access", methods=["POST"])
    async def expire_access(request: Request) -> Response:
        provider.access.clear()
        return JSONResponse({"ok": True})

    @app.custom_route("/admin/stats", methods=["GET"])
    async def stats(request: Request) -> Response:
        return JSONResponse(provider.stats)

    inner = app.streamable_http_app() if args.transport == "http" else app.sse_app()

    async def asgi(scope, receive, send) -> None:
        if args.mode == "bad-metadata" and scope["type"] == "http" and scope["path"].startswith("/.well-known/"):
            await JSONResponse({"resource": 17, "authorization_servers": "not a list"})(scope, receive, send)
            return
        await inner(scope, receive, send)

    uvicorn.run(asgi, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
