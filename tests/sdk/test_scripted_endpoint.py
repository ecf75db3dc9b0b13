"""The scripted endpoint answers the request shapes real clients send (Claude Code adds `?beta=true`)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from sous.testing.server import ScriptedServer


def _post(url: str, body: dict) -> tuple[int, str]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_a_query_string_on_the_messages_path_still_takes_the_next_turn():
    with ScriptedServer([{"text": "beta hello"}]) as server:
        status, text = _post(f"{server.url}/v1/messages?beta=true", {"model": "m", "stream": True})
    assert status == 200 and "beta hello" in text and not server.turns


def test_an_unknown_path_with_a_query_is_still_a_404_and_keeps_the_turn():
    with ScriptedServer([{"text": "kept"}]) as server:
        status, text = _post(f"{server.url}/v1/models?beta=true", {})
    assert status == 404 and "no such endpoint" in text and server.turns == [{"text": "kept"}]
