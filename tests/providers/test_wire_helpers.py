"""The pieces under the adapters: SSE framing, the model catalog, retry timing and the server's CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from sous.core import Usage
from sous.models import _sse, catalog
from sous.models._http import RetryPolicy


async def parse(text: str) -> list[tuple[str, str]]:
    async def lines():
        for line in text.split("\n"):
            yield line

    return [event async for event in _sse.events(lines())]


async def test_sse_events_names_multi_line_data_and_comments():
    text = (
        ": keep-alive comment\n"
        'event: message_start\ndata: {"a": 1}\n\n'
        "id: 7\nretry: 100\ndata: first line\ndata:second line\n\n"
        "\n\n"
        "event: ping\ndata\n\n"
    )
    assert await parse(text) == [("message_start", '{"a": 1}'), ("message", "first line\nsecond line"), ("ping", "")]


async def test_sse_drops_an_event_the_stream_ended_in():
    assert await parse('data: {"done": true}\n\ndata: {"half": ') == [("message", '{"done": true}')]


def test_catalog_matches_dated_and_routed_ids_by_prefix():
    assert catalog.info("claude-sonnet-4-5-20250929") == catalog.MODELS["claude-sonnet-4"]
    assert catalog.info("claude-opus-4-5-20251101").prices[0] == 5.0
    assert catalog.info("claude-opus-4-1").prices[0] == 15.0
    assert catalog.info("openai/gpt-5-mini").prices[:2] == (0.25, 2.0)
    assert catalog.info("o3-mini").prices[0] == 1.1 and catalog.info("o3").prices[0] == 2.0


def test_cost_and_context_window():
    usage = Usage(
        input_tokens=2_000_000, output_tokens=1_000_000, cache_read_tokens=1_000_000, cache_write_tokens=1_000_000
    )
    assert catalog.cost("claude-haiku-4-5", usage) == pytest.approx(2 * 1.0 + 5.0 + 0.1 + 1.25)
    assert catalog.cost("qwen2.5-coder:7b", usage) == 0.0
    assert catalog.context_window("gpt-4.1") == 1_047_576
    assert catalog.context_window("some-local-model") == catalog.DEFAULT.context_window


def test_retry_policy_reads_the_environment_and_backs_off_exponentially_with_a_cap():
    policy = RetryPolicy.from_environ({"SOUS_MAX_RETRIES": "3", "SOUS_RETRY_BASE_DELAY": "1"})
    assert (policy.max_retries, policy.base_delay_s) == (3, 1.0)
    assert RetryPolicy.from_environ({"SOUS_MAX_RETRIES": "many"}).max_retries == 10
    assert 0.5 <= policy.delay(1, None) <= 1.0 and 4.0 <= policy.delay(4, None) <= 8.0
    assert all(policy.delay(20, None) <= policy.max_delay_s for _ in range(20))
    assert policy.delay(3, 2.5) == 2.5 and policy.delay(1, 10_000) == policy.max_delay_s * 4


def test_server_cli_serves_a_script_until_stopped(tmp_path):
    script = tmp_path / "turns.json"
    script.write_text(json.dumps([{"text": "from the CLI"}]))
    process = subprocess.Popen(
        [sys.executable, "-m", "sous.testing.server", str(script)], stdout=subprocess.PIPE, text=True
    )
    try:
        url = process.stdout.readline().split()[0]
        request = urllib.request.Request(
            f"{url}/v1/chat/completions", method="POST", data=json.dumps({"model": "m", "messages": []}).encode()
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read().decode()
        assert '"content": "from the CLI"' in body and body.rstrip().endswith("data: [DONE]")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
        assert caught.value.code == 500 and b"no more turns" in caught.value.read()
    finally:
        process.terminate()
        process.wait(5)
