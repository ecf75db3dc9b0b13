"""The decisions around an MCP login, without a server: which redirects are refused, what the
`oauth` entry accepts, and how the token file is written and read when it is damaged."""

from __future__ import annotations

import json
import os
import stat

import pytest

from sous.mcp import ServerSpec, load

pytest.importorskip("mcp.client.auth")
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken  # noqa: E402

from sous.mcp.oauth import (  # noqa: E402
    RedirectRefused,
    TokenFile,
    check_authorization_url,
    is_loopback_uri,
    stored_logins,
    token_path,
)

OURS = "http://127.0.0.1:45123/callback"


@pytest.mark.parametrize(
    "url",
    [
        "https://auth.example/authorize?redirect_uri=https%3A%2F%2Fcollector.example%2Fcallback",
        "https://auth.example/authorize?redirect_uri=http%3A%2F%2F127.0.0.1.collector.example%2Fcallback",
        "https://auth.example/authorize?redirect_uri=http%3A%2F%2F127.0.0.1%3A9999%2Fcallback",  # not our port
        "https://auth.example/authorize?client_id=x",  # no redirect at all
        "http://auth.example/authorize?redirect_uri=http%3A%2F%2F127.0.0.1%3A45123%2Fcallback",  # plain http, remote
        "javascript:alert(1)?redirect_uri=http%3A%2F%2F127.0.0.1%3A45123%2Fcallback",
    ],
)
def test_authorization_addresses_that_would_not_come_back_here_are_refused(url):
    with pytest.raises(RedirectRefused):
        check_authorization_url(url, OURS)


def test_authorization_addresses_that_come_back_to_the_listener_pass():
    check_authorization_url(
        "https://auth.example/authorize?redirect_uri=http%3A%2F%2F127.0.0.1%3A45123%2Fcallback", OURS
    )
    check_authorization_url(
        "http://127.0.0.1:8000/authorize?redirect_uri=http%3A%2F%2F127.0.0.1%3A45123%2Fcallback", OURS
    )
    check_authorization_url(
        "http://localhost:8000/authorize?redirect_uri=http%3A%2F%2F127.0.0.1%3A45123%2Fcallback", OURS
    )


@pytest.mark.parametrize(
    ("uri", "loopback"),
    [
        ("http://127.0.0.1:1/cb", True),
        ("http://[::1]:8080/cb", True),
        ("http://localhost/cb", True),
        ("http://127.0.0.1.nip.io/cb", False),
        ("http://localhost.example/cb", False),
        ("https://127.0.0.1/cb", False),  # a loopback redirect is plain http (RFC 8252 §7.3)
        ("http://10.0.0.1/cb", False),
        ("file:///etc/passwd", False),
        ("", False),
    ],
)
def test_loopback_redirects(uri, loopback):
    assert is_loopback_uri(uri) is loopback


def test_the_oauth_entry_accepts_client_id_and_callback_port_and_reports_bad_values(tmp_path):
    servers = {
        "good": {"type": "http", "url": "https://a.example/mcp", "oauth": {"clientId": "abc", "callbackPort": 8123}},
        "port": {"type": "http", "url": "https://b.example/mcp", "oauth": {"callbackPort": "8123"}},
        "range": {"type": "sse", "url": "https://c.example/sse", "oauth": {"callbackPort": 70000}},
        "shape": {"type": "http", "url": "https://d.example/mcp", "oauth": ["clientId"]},
        "id": {"type": "http", "url": "https://e.example/mcp", "oauth": {"clientId": 7, "callbackPort": True}},
    }
    (tmp_path / ".claude.json").write_text(json.dumps({"mcpServers": servers}))
    config = load(str(tmp_path), {"HOME": str(tmp_path), "SOUS_HOME": str(tmp_path / "h")})
    good = config.servers["good"]
    assert (good.oauth_client_id, good.oauth_callback_port) == ("abc", 8123)
    assert all(config.servers[n].oauth_callback_port is None for n in ("port", "range", "shape", "id"))
    assert config.servers["id"].oauth_client_id == ""
    problems = " | ".join(config.problems)
    assert "'port': oauth.callbackPort must be a port number" in problems
    assert "'range': oauth.callbackPort must be a port number" in problems
    assert "'shape': oauth must be an object" in problems
    assert "'id': oauth.clientId must be a string" in problems and "'id': oauth.callbackPort" in problems


SPEC = ServerSpec(name="docs/site", type="http", url="https://docs.example/mcp")
TOKEN = OAuthToken(access_token="at-1", refresh_token="rt-1", expires_in=60)
CLIENT = OAuthClientInformationFull(client_id="c-1", redirect_uris=[OURS])  # type: ignore[list-item]


async def test_the_token_file_is_private_from_its_creation_whatever_the_umask(tmp_path):
    environ = {"SOUS_HOME": str(tmp_path)}
    path = token_path(SPEC, environ)
    assert path.parent == tmp_path / "mcp-auth" and "/" not in path.name.removesuffix(".json")
    store = TokenFile(path, SPEC, fresh=True, redirect_uri=OURS)
    old = os.umask(0)
    try:
        await store.set_client_info(CLIENT)
        assert not path.exists()  # a registration alone is not a login: nothing is written yet
        await store.set_tokens(TOKEN)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = TokenFile(path, SPEC)
    assert await again.get_tokens() == TOKEN
    assert (await again.get_client_info()).client_id == "c-1"
    assert 0 < again.expires_at() - __import__("time").time() <= 60
    assert stored_logins("docs/site", environ) == [path] and stored_logins("docs", environ) == []
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


async def test_a_new_login_ignores_the_old_one_until_it_succeeds(tmp_path):
    path = token_path(SPEC, {"SOUS_HOME": str(tmp_path)})
    await TokenFile(path, SPEC).set_tokens(TOKEN)
    before = path.read_text()
    fresh = TokenFile(path, SPEC, fresh=True, redirect_uri=OURS)
    assert await fresh.get_tokens() is None and await fresh.get_client_info() is None
    await fresh.set_client_info(CLIENT)
    assert path.read_text() == before  # a login that stops here changed nothing


@pytest.mark.parametrize("content", ["{not json", "[]", '{"tokens": {"token_type": "Bearer"}}', '{"tokens": 5}'])
async def test_a_damaged_token_file_reads_as_no_login(tmp_path, content):
    path = token_path(SPEC, {"SOUS_HOME": str(tmp_path)})
    path.parent.mkdir(parents=True)
    path.write_text(content)
    store = TokenFile(path, SPEC)
    assert await store.get_tokens() is None and await store.get_client_info() is None
    assert store.expires_at() is None


async def test_a_registration_pointing_off_this_machine_is_refused(tmp_path):
    store = TokenFile(token_path(SPEC, {"SOUS_HOME": str(tmp_path)}), SPEC, fresh=True, redirect_uri=OURS)
    foreign = OAuthClientInformationFull(client_id="c", redirect_uris=["https://collector.example/cb"])  # type: ignore[list-item]
    with pytest.raises(RedirectRefused, match="off this machine"):
        await store.set_client_info(foreign)


async def test_a_client_registered_beforehand_is_used_without_registration(tmp_path):
    spec = ServerSpec(name="pre", type="http", url="https://p.example/mcp", oauth_client_id="registered-id")
    store = TokenFile(token_path(spec, {"SOUS_HOME": str(tmp_path)}), spec, fresh=True, redirect_uri=OURS)
    client = await store.get_client_info()
    assert client is not None and client.client_id == "registered-id"
    assert [str(u) for u in client.redirect_uris or []] == [OURS]
