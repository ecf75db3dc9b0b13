"""A small real HTTP server on 127.0.0.1 for the web tools' tests: routes are functions of the
handler, so a test can answer with a page, a redirect, a huge body or a stall."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Route = Callable[[BaseHTTPRequestHandler], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up early (a size cap, a timeout) are expected here


class WebServer:
    """`with WebServer({"/page": send_html("<p>hi</p>")}) as server: server.url + "/page"`;
    `server.hits` lists the paths asked for."""

    def __init__(self, routes: dict[str, Route]):
        self.routes = routes
        self.hits: list[str] = []
        routes_, hits = routes, self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                path = urlsplit(self.path).path
                hits.append(path)
                route = routes_.get(path)
                if route is None:
                    send(self, 404, b"not found", "text/plain")
                else:
                    route(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = _Server(("127.0.0.1", 0), Handler)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> WebServer:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def send(
    handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> None:
    handler.send_response(status)
    handler.send_header("content-type", content_type)
    handler.send_header("content-length", str(len(body)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(body)


def html(text: str) -> Route:
    return lambda h: send(h, 200, text.encode(), "text/html; charset=utf-8")


def json_route(payload_for: Callable[[BaseHTTPRequestHandler], Any]) -> Route:
    return lambda h: send(h, 200, json.dumps(payload_for(h)).encode(), "application/json")


def redirect(location: str, status: int = 302) -> Route:
    return lambda h: send(h, status, b"", "text/plain", {"location": location})
