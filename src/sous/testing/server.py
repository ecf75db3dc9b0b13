"""ScriptedServer: a local HTTP endpoint that answers from a script in both providers' wire
protocols, for testing the adapters end to end and for benchmarks.

    with ScriptedServer(turns) as server:     # turns: the ScriptedModel format (see models/scripted.py)
        env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test"}
        ...                                    # or OPENAI_BASE_URL=server.openai_url
        server.requests                        # what the client sent: path, headers, body

`POST /v1/messages` answers as the Anthropic Messages API streams (SSE events), and
`POST /v1/chat/completions` as OpenAI Chat Completions does. Each request takes the next turn.
Beyond the ScriptedModel format a turn may hold:

    "cut": true                                  the stream stops mid-event and the connection drops
    "error": {"status": 429, "message": "...",   an HTTP error with the provider's JSON error body
              "retry_after": 0, "retry_after_ms": 5}   (and those headers, when given)
    "stream_error": {"type": "overloaded_error", "message": "..."}
                                                 half the stream, then the provider's error event
    "stall": 5                                   half the stream, then nothing for 5 seconds, then the cut
    "answer": {"status": 200, "content_type": "text/html", "body": "<html>..."}
                                                 a raw answer, as a server that is not the provider gives
    "server_blocks": [{"type": "server_tool_use", ...}, {"type": "web_search_tool_result", ...}]
                                                 Anthropic server-tool blocks, sent before the text
                                                 (a server_tool_use's input as input_json_delta)

When the turns run out the answer is a 500 saying so, with `x-should-retry: false` so that
clients fail at once instead of retrying.

`python -m sous.testing.server TURNS.json` serves a script until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from sous.models.scripted import Turn, load_turns, tool_calls_of

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def anthropic_events(turn: Turn, model: str) -> list[tuple[str, dict[str, Any]]]:
    """The SSE events of one turn, as the Messages API sends them."""
    usage = turn.get("usage", {})
    calls = tool_calls_of(turn)
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": f"msg_{uuid.uuid4().hex[:20]}",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": usage.get("input_tokens", 0),
                        "output_tokens": 1,
                        "cache_creation_input_tokens": usage.get("cache_write_tokens", 0),
                        "cache_read_input_tokens": usage.get("cache_read_tokens", 0),
                    },
                },
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    if thinking := turn.get("thinking"):
        blocks.append(
            (
                {"type": "thinking", "thinking": ""},
                [{"type": "thinking_delta", "thinking": p} for p in _pieces(thinking, 16)]
                + [{"type": "signature_delta", "signature": turn.get("signature", "sig-" + uuid.uuid4().hex)}],
            )
        )
    for block in turn.get("server_blocks", []):
        if block.get("type") == "server_tool_use":
            blocks.append(
                (
                    {**block, "input": {}},
                    [{"type": "input_json_delta", "partial_json": json.dumps(block.get("input", {}))}],
                )
            )
        else:
            blocks.append((block, []))
    if text := turn.get("text"):
        blocks.append(({"type": "text", "text": ""}, [{"type": "text_delta", "text": p} for p in _pieces(text, 12)]))
    for call in calls:
        raw = call.raw_arguments if call.raw_arguments is not None else json.dumps(call.arguments)
        blocks.append(
            (
                {"type": "tool_use", "id": call.id, "name": call.name, "input": {}},
                [{"type": "input_json_delta", "partial_json": p} for p in _pieces(raw, max(len(raw) // 3, 1))],
            )
        )
    for index, (start, deltas) in enumerate(blocks):
        events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": start}))
        events += [("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    stop = turn.get("stop_reason") or ("tool_use" if calls else "end_turn")
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": usage.get("output_tokens", 0)},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def openai_chunks(turn: Turn, model: str) -> list[dict[str, Any]]:
    """The stream chunks of one turn, as Chat Completions sends them (before `[DONE]`)."""
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:20]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    if thinking := turn.get("thinking"):
        chunks += [chunk({"reasoning_content": p}) for p in _pieces(thinking, 16)]
    if text := turn.get("text"):
        chunks += [chunk({"content": p}) for p in _pieces(text, 12)]
    calls = tool_calls_of(turn)
    for index, call in enumerate(calls):
        raw = call.raw_arguments if call.raw_arguments is not None else json.dumps(call.arguments)
        chunks.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": ""},
                        }
                    ]
                }
            )
        )
        chunks += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": p}}]})
            for p in _pieces(raw, max(len(raw) // 3, 1))
        ]
    stop = turn.get("stop_reason")
    finish = {"max_tokens": "length", "tool_use": "tool_calls", "end_turn": "stop"}.get(stop or "") or (
        "tool_calls" if calls else "stop"
    )
    chunks.append(chunk({}, finish))
    usage = turn.get("usage", {})
    cached = usage.get("cache_read_tokens", 0)
    prompt = usage.get("input_tokens", 0) + cached
    chunks.append(
        {
            **base,
            "choices": [],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": usage.get("output_tokens", 0),
                "total_tokens": prompt + usage.get("output_tokens", 0),
                "prompt_tokens_details": {"cached_tokens": cached},
            },
        }
    )
    return chunks


def _anthropic_sse(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def _stream_error(error: dict[str, Any], anthropic: bool) -> str:
    """The error event a provider sends when it fails after answering 200."""
    kind, message = error.get("type", "overloaded_error"), error.get("message", "Overloaded")
    if anthropic:
        return _anthropic_sse("error", {"type": "error", "error": {"type": kind, "message": message}})
    return f"data: {json.dumps({'error': {'message': message, 'type': kind, 'code': None}})}\n\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients may hang up; that is no error
            super().handle_error(request, client_address)


class LocalServer:
    """A threaded HTTP server on 127.0.0.1, on a free port, for the lifetime of a `with` block.
    Subclasses give the request handler class (`_handler`)."""

    _httpd: _Server | None = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start the server first (use it as a context manager)"
        host, port = self._httpd.server_address[:2]
        assert isinstance(host, str)  # an IPv4 address; only Unix-socket servers have bytes
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()


class ScriptedServer(LocalServer):
    """A threaded HTTP server on 127.0.0.1 (a free port) answering each request with the next turn.

    `url` is the Anthropic base URL, `openai_url` the OpenAI one; `requests` holds one dict per
    request received (`path`, lower-cased `headers`, parsed JSON `body`), turn or no turn."""

    def __init__(self, turns: list[Turn] | str, *, chunk_delay: float = 0.0):
        self.turns = load_turns(turns)
        self.chunk_delay = chunk_delay
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    def next_turn(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Turn | None:
        with self._lock:
            self.requests.append({"path": path, "headers": headers, "body": body})
            return self.turns.pop(0) if self.turns else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)


def _handler_for(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Many small writes: without this, delayed ACKs stall each event by up to 40 ms.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            route = self.path.split("?", 1)[0].rstrip("/")  # clients may add a query (`?beta=true`)
            anthropic = route.endswith("/messages")
            if not anthropic and not route.endswith("/chat/completions"):
                return self._error(404, f"no such endpoint: {self.path}", anthropic=True)
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            except ValueError as e:
                return self._error(400, f"the request body is not JSON: {e}", anthropic)
            turn = server.next_turn(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            if turn is None:
                return self._error(
                    500, "the scripted server has no more turns; add turns to the script", anthropic, should_retry=False
                )
            if answer := turn.get("answer"):
                return self._raw(
                    int(answer.get("status", 200)), answer.get("content_type", "text/html"), str(answer.get("body", ""))
                )
            if error := turn.get("error"):
                return self._error(
                    int(error.get("status", 500)),
                    error.get("message", "scripted error"),
                    anthropic,
                    retry_after=error.get("retry_after"),
                    retry_after_ms=error.get("retry_after_ms"),
                )
            model = body.get("model", "scripted")
            if anthropic:
                payloads = [_anthropic_sse(name, data) for name, data in anthropic_events(turn, model)]
            else:
                payloads = [f"data: {json.dumps(c)}\n\n" for c in openai_chunks(turn, model)] + ["data: [DONE]\n\n"]
            if failure := turn.get("stream_error"):
                payloads = payloads[: max(len(payloads) // 2, 1)] + [_stream_error(failure, anthropic)]
            self._stream(
                payloads, cut=bool(turn.get("cut")) or bool(turn.get("stall")), stall=float(turn.get("stall") or 0)
            )

        def _raw(self, status: int, content_type: str, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, payloads: list[str], cut: bool, stall: float = 0.0) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.send_header("cache-control", "no-cache")
            self.end_headers()
            if cut:  # half the events, then half of the next one
                half = max(len(payloads) // 2, 1)
                payloads = (
                    payloads[:half] + [payloads[half][: len(payloads[half]) // 2]]
                    if half < len(payloads)
                    else payloads[:half]
                )
            for payload in payloads:
                data = payload.encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
                if server.chunk_delay:
                    time.sleep(server.chunk_delay)
            if stall:  # a server that hangs: the client must give up on its own
                time.sleep(stall)
            if cut:  # drop the connection without the final chunk, as a dying proxy would
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _error(
            self,
            status: int,
            message: str,
            anthropic: bool,
            *,
            retry_after: float | None = None,
            retry_after_ms: float | None = None,
            should_retry: bool | None = None,
        ) -> None:
            kind = _ERROR_TYPES.get(status, "api_error")
            payload = (
                {"type": "error", "error": {"type": kind, "message": message}}
                if anthropic
                else {"error": {"message": message, "type": kind, "code": status}}
            )
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            if retry_after is not None:
                self.send_header("retry-after", str(retry_after))
            if retry_after_ms is not None:
                self.send_header("retry-after-ms", str(retry_after_ms))
            if should_retry is not None:
                self.send_header("x-should-retry", str(should_retry).lower())
            self.end_headers()
            self.wfile.write(data)

    return Handler


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m sous.testing.server TURNS.json", file=sys.stderr)
        return 2
    with ScriptedServer(argv[0]) as server:
        print(
            f"{server.url}  (Anthropic: ANTHROPIC_BASE_URL={server.url}; OpenAI: OPENAI_BASE_URL={server.openai_url})",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
