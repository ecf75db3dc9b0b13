"""The domain proxy as a way out: a request through it to an allowed host must not reach another
one that shares that host's server (a CDN routes by the Host header: domain fronting)."""

from __future__ import annotations

import contextlib
import http.server
import sys
import threading

import pytest

from sous.core import ToolContext
from sous.tools import _sandbox
from sous.tools.bash import TOOL

pytestmark = pytest.mark.skipif(not _sandbox.usable(), reason="bubblewrap cannot run here")


@pytest.fixture
def shared_server():
    """A server hosting many sites on one address, answering with the site the Host header asked for."""

    class Sites(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keeps connections open, as real servers do

        def do_GET(self):
            body = ("site=" + ",".join(self.headers.get_all("Host") or [])).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sites)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


# a raw request through the proxy the sandbox names in HTTP_PROXY, with Host headers of its choosing
_SEND = """
import os, socket, sys, urllib.parse
proxy = urllib.parse.urlsplit(os.environ["HTTP_PROXY"])
s = socket.create_connection((proxy.hostname, proxy.port), timeout=10)
request = "GET http://localhost:%s/ HTTP/1.1\\r\\n" % sys.argv[1] + sys.argv[2] + "Connection: close\\r\\n\\r\\n"
s.sendall(request.encode())
print(s.makefile("rb").read().decode().splitlines()[-1])
"""


@pytest.mark.parametrize(
    "headers",
    [
        "Host: attacker.example\\r\\n",
        "HOST: localhost\\r\\nHost: attacker.example\\r\\n",
        "host :attacker.example\\r\\n",
        "X-A: 1\\r\\nHost: localhost\\r\\n attacker.example\\r\\n",
        # a second request on the same connection, which the proxy would only pipe along
        "Connection: keep-alive\\r\\n\\r\\nGET / HTTP/1.1\\r\\nHost: attacker.example\\r\\n",
    ],
)
async def test_a_request_reaches_only_the_host_its_url_names(tmp_path, shared_server, headers):
    ctx = ToolContext(
        cwd=str(tmp_path),
        project_dir=str(tmp_path),
        state={"sandbox": _sandbox.Sandbox(writable=(str(tmp_path),), allowed_domains=("localhost",))},
    )
    (tmp_path / "send.py").write_text(_SEND)
    try:
        result = await TOOL.run({"command": f"{sys.executable} send.py {shared_server} $'{headers}'"}, ctx)
    finally:
        ctx.state["sandbox_proxy"].close()
    assert "attacker" not in result.content
    assert result.data["stdout"] == f"site=localhost:{shared_server}", result.content


@pytest.fixture
def tcp_server():
    """A TCP server that keeps the first bytes each connection sends (a TLS ClientHello, here)."""
    import socket

    received: list[bytes] = []
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.settimeout(5)
            with contextlib.suppress(OSError):
                received.append(conn.recv(65536))
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], received
    server.close()


_TLS = """
import os, socket, ssl, sys, urllib.parse
proxy = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])
s = socket.create_connection((proxy.hostname, proxy.port), timeout=10)
s.sendall(b"CONNECT localhost:%s HTTP/1.1\\r\\n\\r\\n" % sys.argv[1].encode())
s.recv(4096)
try:
    ssl.create_default_context().wrap_socket(s, server_hostname=sys.argv[2])
except (OSError, ssl.SSLError) as e:
    print("handshake ended:", type(e).__name__)
"""


async def test_a_tunnel_reaches_only_the_host_it_was_opened_for(tmp_path, tcp_server):
    port, received = tcp_server
    ctx = ToolContext(
        cwd=str(tmp_path),
        project_dir=str(tmp_path),
        state={"sandbox": _sandbox.Sandbox(writable=(str(tmp_path),), allowed_domains=("localhost",))},
    )
    (tmp_path / "tls.py").write_text(_TLS)
    try:
        fronted = await TOOL.run({"command": f"{sys.executable} tls.py {port} attacker.example"}, ctx)
        same = await TOOL.run({"command": f"{sys.executable} tls.py {port} localhost"}, ctx)
    finally:
        ctx.state["sandbox_proxy"].close()
    assert "refused network access to attacker.example" in fronted.content
    assert not any(b"attacker.example" in hello for hello in received)
    assert "handshake ended" in same.content and any(b"localhost" in hello for hello in received)


def _client_hello(name: str | None) -> bytes:
    import ssl

    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context()
    tls.check_hostname = name is not None
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.wrap_bio(incoming, outgoing, server_hostname=name).do_handshake()
    return outgoing.read()


def test_the_server_name_is_read_from_whole_hellos_only():
    from sous.tools._netproxy import _server_name

    hello = _client_hello("api.example.com")
    assert _server_name(hello) == "api.example.com"
    assert _server_name(_client_hello(None)) is None
    split = hello[:3] + (len(hello) - 5 - 40).to_bytes(2, "big") + hello[5:-40]  # the rest in a next record
    for malformed in (split, hello[:20], b"\x16\x03\x01\x00\x01\x02", b"\x16" + b"\xff" * 60):
        with pytest.raises(ValueError):
            _server_name(malformed)
