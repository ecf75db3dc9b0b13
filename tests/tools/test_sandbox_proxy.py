"""The domain proxy as a way out: a request through it to an allowed host must not reach another
one that shares that host's server (a CDN routes by the Host header: domain fronting)."""

from __future__ import annotations

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
