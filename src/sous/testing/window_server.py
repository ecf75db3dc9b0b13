"""WindowServer: a model endpoint with a real context limit, for long-session tests and benchmarks.

It plays a model working through numbered steps (read `step_NN.txt`, then the next one) and
enforces a token limit the way providers do:

- Tokens are counted on the request's text (system prompt, messages, tool schemas) with a
  tokenizer-like split (short letter runs, digit groups, punctuation), not sous's own estimate.
- Over the limit it answers 400 with the provider's real error: Anthropic's
  `invalid_request_error` "prompt is too long: N tokens > M maximum", or llama.cpp's
  `exceed_context_size_error` "request (N tokens) exceeds the available context size (M tokens)"
  with `n_prompt_tokens` and `n_ctx` on the OpenAI wire. Each refusal is counted.
- The next step is picked from markers in the request (`STEP-MARKER n` in the files read), the
  highest one seen, so the run survives the history shrinking; a repeated or skipped step shows
  in `steps`.
- A summary request (its text says "Respond with TEXT ONLY") is answered with a summary that
  names the last step done.
- Usage is reported like Anthropic's (the unchanged prefix as cache reads) unless
  `report_usage=False`, which reports zeros as some OpenAI-compatible servers do. `GET /props`
  answers llama.cpp's `{"default_generation_settings": {"n_ctx": M}}` when `props=True`.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any

from .server import LocalServer, _anthropic_sse, anthropic_events, openai_chunks

MARKER = re.compile(r"STEP-MARKER (\d+)")
_TOKENS = re.compile(r"[A-Za-z]{1,6}|\d{1,3}|[^\sA-Za-z\d]")


def count_tokens(text: str) -> int:
    return len(_TOKENS.findall(text))


def request_text(body: dict[str, Any]) -> str:
    """Every piece of text a provider would tokenize, in order."""
    parts: list[str] = []
    system = body.get("system")
    parts.append(system if isinstance(system, str) else json.dumps(system or ""))
    parts.append(json.dumps(body.get("tools") or []))

    def walk(content: Any) -> None:
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            for block in content:
                walk(block)
        elif isinstance(content, dict):
            for key in ("text", "content", "thinking"):
                if key in content:
                    walk(content[key])
            if "input" in content:
                parts.append(json.dumps(content["input"]))
            for call in content.get("tool_calls") or []:
                parts.append(json.dumps(call))

    for message in body.get("messages") or []:
        walk(message)
    return "\n".join(parts)


class WindowServer(LocalServer):
    """See the module doc. `steps` lists the step numbers asked for, in order; `refused` counts
    over-limit requests; `summaries` counts summary requests; `peak` is the largest request."""

    def __init__(
        self,
        *,
        total_steps: int,
        folder: str,
        limit: int = 200_000,
        wire: str = "anthropic",
        report_usage: bool = True,
        props: bool = False,
    ):
        self.total_steps = total_steps
        self.folder = folder
        self.limit = limit
        self.wire = wire
        self.report_usage = report_usage
        self.props = props
        self.steps: list[int] = []
        self.refused = 0
        self.summaries = 0
        self.requests = 0
        self.peak = 0
        self._previous = 0
        self._lock = threading.Lock()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(status, turn or error) for one request."""
        text = request_text(body)
        tokens = count_tokens(text)
        with self._lock:
            self.requests += 1
            self.peak = max(self.peak, tokens)
            if tokens > self.limit:
                self.refused += 1
                return 400, {"tokens": tokens}
            cached = self._previous if self._previous <= tokens else 0
            self._previous = tokens
            done = max((int(n) for n in MARKER.findall(text)), default=0)
            last = body["messages"][-1] if body.get("messages") else {}
            usage = {"input_tokens": tokens - cached, "cache_read_tokens": cached, "output_tokens": 40}
            if not self.report_usage:
                usage = {}
            if "Respond with TEXT ONLY" in json.dumps(last):
                self.summaries += 1
                return 200, {
                    "text": f"Summary: the user asked to read step files one by one. Steps 1 to {done} "
                    f"are done (last read STEP-MARKER {done}). Next: step {done + 1}.",
                    "usage": usage,
                }
            if done >= self.total_steps:
                return 200, {"text": f"All {self.total_steps} steps are done.", "usage": usage}
            step = done + 1
            self.steps.append(step)
            return 200, {
                "text": f"Step {step}: reading the next file.",
                "usage": usage,
                "tool_calls": [
                    {
                        "name": "Read",
                        "id": f"toolu_{uuid.uuid4().hex[:16]}",
                        "input": {"file_path": f"{self.folder}/step_{step:02d}.txt"},
                    }
                ],
            }


def _handler(server: WindowServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, data: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if server.props and self.path.rstrip("/") == "/props":
                return self._send(
                    200,
                    json.dumps({"default_generation_settings": {"n_ctx": server.limit}}).encode(),
                    "application/json",
                )
            if self.path.rstrip("/").endswith("/models"):
                return self._send(
                    200,
                    json.dumps({"object": "list", "data": [{"id": "bench", "object": "model"}]}).encode(),
                    "application/json",
                )
            self._send(404, b"{}", "application/json")

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            status, turn = server.answer(body)
            anthropic = server.wire == "anthropic"
            if status == 400:
                tokens = turn["tokens"]
                if anthropic:
                    error = {
                        "type": "error",
                        "error": {
                            "type": "invalid_request_error",
                            "message": f"prompt is too long: {tokens} tokens > {server.limit} maximum",
                        },
                    }
                else:
                    error = {
                        "error": {
                            "code": 400,
                            "type": "exceed_context_size_error",
                            "n_prompt_tokens": tokens,
                            "n_ctx": server.limit,
                            "message": f"request ({tokens} tokens) exceeds the available "
                            f"context size ({server.limit} tokens)",
                        }
                    }
                return self._send(400, json.dumps(error).encode(), "application/json")
            model = body.get("model", "bench")
            if anthropic:
                payload = "".join(_anthropic_sse(name, data) for name, data in anthropic_events(turn, model))
            else:
                payload = "".join(f"data: {json.dumps(c)}\n\n" for c in openai_chunks(turn, model)) + "data: [DONE]\n\n"
            self._send(200, payload.encode(), "text/event-stream")

    return Handler


def write_step_files(folder: str, steps: int, size: int) -> None:
    """`step_NN.txt` files of about `size` bytes, each naming its step in a marker line."""
    import os
    import random

    rng = random.Random(7)
    words = [
        "def",
        "return",
        "value",
        "config",
        "index",
        "result",
        "buffer",
        "parse",
        "token",
        "self",
        "items",
        "stream",
        "handler",
        "request",
        "update",
        "=",
        "(",
        ")",
        ":",
        "+",
        "0",
        "42",
        "'text'",
        "None",
    ]
    os.makedirs(folder, exist_ok=True)
    for step in range(1, steps + 1):
        lines = [f"# STEP-MARKER {step}"]
        total = len(lines[0])
        while total < size:
            line = "    " + " ".join(rng.choice(words) for _ in range(rng.randint(6, 14)))
            lines.append(line)
            total += len(line) + 1
        with open(os.path.join(folder, f"step_{step:02d}.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
