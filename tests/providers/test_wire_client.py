"""sous's own HTTP client (`sous.models._wire`) against raw servers written byte by byte: the body
framings, keep-alive reuse, a dropped idle connection, TLS with a certificate of our own, a proxy
(handed to httpx), and servers that answer garbage, too much or nothing."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from sous.core import ProviderError, user
from sous.models import _wire
from sous.models._http import ProxiedClient, new_client
from sous.models.anthropic import AnthropicModel
from sous.testing import THREE_STEP_TASK
from sous.testing.server import ScriptedServer

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(handler: Handler, ssl_context=None) -> AsyncIterator[tuple[str, list[int]]]:
    """A server on 127.0.0.1 running `handler` per connection: (its base URL, connections seen)."""
    connections: list[int] = []

    async def serve(reader, writer):
        connections.append(1)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=ssl_context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}", connections
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in head[1:] if ": " in line)
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return head[0], headers, body


def answering(*answers: bytes, keep_open: bool = True) -> Handler:
    """A handler that answers each request on a connection with the next of `answers`."""

    async def handler(reader, writer):
        for answer in answers:
            await read_request(reader)
            writer.write(answer)
            await writer.drain()
        if keep_open:
            await reader.read()  # until the client hangs up

    return handler


async def text_of(client: _wire.Client, url: str) -> str:
    async with client.stream("POST", url, json={"q": 1}) as response:
        return "".join([t async for t in response.aiter_text()])


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\nhello world",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-t: 1\r\n\r\n",
        b"HTTP/1.0 200 OK\r\n\r\nhello world",  # read until the server closes
    ],
    ids=["content-length", "chunked", "read-to-close"],
)
async def test_each_body_framing_is_read_whole(answer):
    async with raw_server(answering(answer, keep_open=False)) as (url, _):
        client = _wire.Client(read_timeout=5)
        assert await text_of(client, url + "/v1/messages") == "hello world"
        await client.aclose()


async def test_the_request_is_one_well_formed_post():
    seen: list = []

    async def handler(reader, writer):
        seen.append(await read_request(reader))
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()

    async with raw_server(handler) as (url, _):
        client = _wire.Client(read_timeout=5)
        async with client.stream("POST", url + "/v1/messages?beta=true", json={"a": "é"}, headers={"X-Api-Key": "k"}):
            pass
    line, headers, body = seen[0]
    assert line == "POST /v1/messages?beta=true HTTP/1.1"
    assert headers["host"].startswith("127.0.0.1:") and headers["x-api-key"] == "k"
    assert headers["content-type"] == "application/json" and headers["accept-encoding"] == "identity"
    assert body == b'{"a": "\\u00e9"}' and headers["content-length"] == str(len(body))


async def test_a_finished_answer_leaves_its_connection_for_the_next_request():
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    async with raw_server(answering(ok, ok, ok)) as (url, connections):
        client = _wire.Client(read_timeout=5)
        for _ in range(3):
            assert await text_of(client, url) == "ok"
        assert len(connections) == 1
        await client.aclose()


async def test_an_answer_left_unread_or_saying_close_is_never_reused():
    close = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"
    async with raw_server(answering(close, keep_open=False)) as (url, connections):
        client = _wire.Client(read_timeout=5)
        assert await text_of(client, url) == "ok"
        assert await text_of(client, url) == "ok"
        assert len(connections) == 2
    long = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789"
    async with raw_server(answering(long, keep_open=False)) as (url, connections):
        client = _wire.Client(read_timeout=5)
        async with client.stream("POST", url) as response:
            assert response.status_code == 200  # the body is left unread: the connection goes
        assert not client._idle.get(("http", "127.0.0.1", int(url.rsplit(":", 1)[1])))


async def test_an_idle_connection_the_server_dropped_is_retried_once_on_a_fresh_one():
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    # the server answers once and then closes without saying so, as servers do with idle connections
    async with raw_server(answering(ok, keep_open=False)) as (url, connections):
        client = _wire.Client(read_timeout=5)
        assert await text_of(client, url) == "ok"
        await asyncio.sleep(0.05)
        assert await text_of(client, url) == "ok"
        assert len(connections) == 2


@pytest.mark.parametrize(
    "answer, said",
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n", "not an HTTP answer"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\nshort", "closed the connection before the answer ended"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: -5\r\n\r\n", "bad content-length"),
        (b"HTTP/1.1 200 OK\r\nx-flood: " + b"a" * 100_000 + b"\r\n\r\n", "connection broke"),
        (b"", "closed the connection without answering"),
    ],
    ids=["not-http", "short-body", "bad-chunk", "negative-length", "header-flood", "silent-close"],
)
async def test_a_broken_answer_is_one_transport_error_never_a_hang(answer, said):
    async with raw_server(answering(answer, keep_open=False)) as (url, _):
        client = _wire.Client(read_timeout=5)
        with pytest.raises(_wire.TransportError, match=said):
            await asyncio.wait_for(text_of(client, url), 10)


async def test_a_server_that_says_nothing_times_out_at_the_read_limit():
    async def silent(reader, writer):
        await read_request(reader)
        await asyncio.sleep(5)

    async with raw_server(silent) as (url, _):
        client = _wire.Client(read_timeout=0.2)
        with pytest.raises(_wire.ReadTimeout):
            await asyncio.wait_for(text_of(client, url), 5)


async def test_a_refused_connection_and_a_header_that_would_split_the_request():
    client = _wire.Client(read_timeout=1)
    with pytest.raises(_wire.ConnectFailed, match="cannot connect to 127.0.0.1:9"):
        await text_of(client, "http://127.0.0.1:9/")
    with pytest.raises(_wire.RequestRefused, match="x-api-key header holds a line break"):
        async with client.stream("POST", "http://127.0.0.1:9/", headers={"x-api-key": "k\r\nx-evil: 1"}):
            pass


async def test_a_key_with_a_line_break_is_said_once_and_not_retried():
    with ScriptedServer(THREE_STEP_TASK) as server:
        env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-a\nb", "SOUS_RETRY_BASE_DELAY": "0.001"}
        model = AnthropicModel("claude-sonnet-4-5", environ=env)
        from sous.core import CancelToken, ModelRequest

        events: list = []
        with pytest.raises(ProviderError, match="request not sent: the x-api-key header holds a line break"):
            await model.complete(
                ModelRequest(system="", messages=(user("hi"),), tools=()), events.append, CancelToken()
            )
        assert not [e for e in events if type(e).__name__ == "Retry"]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_trusts_ssl_cert_file_and_refuses_a_certificate_it_cannot_verify(certificate, monkeypatch):
    import ssl

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    async with raw_server(answering(ok, ok, keep_open=False), ssl_context=context) as (url, _):
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        with pytest.raises(_wire.ConnectFailed, match="CERTIFICATE_VERIFY_FAILED"):
            await text_of(_wire.Client(read_timeout=5), url)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        assert await text_of(_wire.Client(read_timeout=5), url) == "ok"


def test_a_proxy_variable_hands_the_endpoint_to_httpx_and_none_keeps_it_direct():
    api = "https://api.anthropic.com"
    assert isinstance(new_client(api, 5, {}), _wire.Client)
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        assert isinstance(new_client(api, 5, {name: "http://proxy:3128"}), ProxiedClient)
    # a proxy for the other scheme does not apply
    assert isinstance(new_client("http://localhost:11434", 5, {"HTTPS_PROXY": "http://p:1"}), _wire.Client)
    proxied = {"HTTPS_PROXY": "http://p:1"}
    for no_proxy in ("*", "api.anthropic.com", "anthropic.com", ".anthropic.com", "x.org, anthropic.com:443"):
        assert _wire.proxy_for(api, {**proxied, "NO_PROXY": no_proxy}) is None, no_proxy
    for no_proxy in ("pi.anthropic.com", "anthropic.co", "ic.com", ""):
        assert _wire.proxy_for(api, {**proxied, "no_proxy": no_proxy}) == "http://p:1", no_proxy


async def test_a_request_through_a_proxy_reaches_the_server_by_way_of_the_proxy():
    """A forwarding proxy for plain http (absolute-form request lines): the whole 3-step reply arrives."""
    seen: list[str] = []

    async def proxy(reader, writer):
        line, headers, body = await read_request(reader)
        seen.append(line)
        target = line.split()[1]  # http://127.0.0.1:PORT/v1/messages
        host, port = target.split("/")[2].split(":")
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        path = "/" + target.split("/", 3)[3]
        head = f"POST {path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items() if k not in ("connection", "proxy-connection")
        )
        up_writer.write(head.encode() + b"connection: close\r\n\r\n" + body)
        await up_writer.drain()
        writer.write(await up_reader.read())
        await writer.drain()
        up_writer.close()

    with ScriptedServer(THREE_STEP_TASK) as server:
        async with raw_server(proxy) as (proxy_url, _):
            from sous.core import CancelToken, ModelRequest

            env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "k", "HTTP_PROXY": proxy_url}
            model = AnthropicModel("claude-sonnet-4-5", environ=env)
            reply = await model.complete(
                ModelRequest(system="", messages=(user("hi"),), tools=()), lambda e: None, CancelToken()
            )
    assert seen and seen[0].startswith(f"POST {server.url}/v1/messages")
    assert reply.tool_calls or reply.text
