"""MCP at scale: 100 configured servers. Run: `python bench/mcp_scale.py [--runs N] [--servers N]`.

Each server is a small stdio MCP server of our own (newline-delimited JSON-RPC, standard library
only) with five tools on one topic. Reports medians:
- time to the first prompt of the interactive terminal with no servers and with 100 (the prompt
  must not wait for them: target within 50 ms);
- `sous -p` with 100 servers: time to a first answer (it waits for every server, bounded);
- RSS of the terminal process once all servers are connected, against none;
- ToolSearch: for ten requests in plain words, is the right tool among the first results.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from ui.terminal import Terminal  # noqa: E402

from sous.testing.server import ScriptedServer  # noqa: E402

TOPICS = [
    "weather",
    "calendar",
    "github",
    "jira",
    "slack",
    "music",
    "database",
    "email",
    "maps",
    "translate",
    "payments",
    "docker",
    "kubernetes",
    "notes",
    "photos",
    "contacts",
    "stocks",
    "news",
    "recipes",
    "flights",
]
VERBS = {
    "get": "Fetch",
    "create": "Create a new",
    "update": "Change an existing",
    "delete": "Remove a",
    "search": "Find",
}

SERVER = r"""
import json, sys
topic, index = sys.argv[1], sys.argv[2]
verbs = VERBS_JSON
tools = [{"name": f"{verb}_{topic}_item", "description": f"{what} {topic} item ({topic} service #{index}).",
          "inputSchema": {"type": "object", "properties": {"id": {"type": "string", "description": "Item id"},
                          "text": {"type": "string", "description": "Free text"}}}} for verb, what in verbs.items()]
for line in sys.stdin:
    msg = json.loads(line)
    if "id" not in msg:
        continue
    method, result = msg.get("method"), {}
    if method == "initialize":
        result = {"protocolVersion": msg["params"]["protocolVersion"], "capabilities": {"tools": {}},
                  "serverInfo": {"name": f"{topic}{index}", "version": "1"}}
    elif method == "tools/list":
        result = {"tools": tools}
    elif method == "tools/call":
        result = {"content": [{"type": "text", "text": f"{msg['params']['name']} done"}]}
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}) + "\n")
    sys.stdout.flush()
""".replace("VERBS_JSON", json.dumps(VERBS))

QUERIES = [
    ("what's the weather tomorrow", "get_weather_item"),
    ("play a song", None),
    ("create a jira ticket", "create_jira_item"),
    ("send a slack message", "create_slack_item"),
    ("find flights to Lisbon", "search_flights_item"),
    ("delete a docker container", "delete_docker_item"),
    ("update my calendar event", "update_calendar_item"),
    ("search my email", "search_email_item"),
    ("get the stocks price", "get_stocks_item"),
    ("remove a photo", "delete_photos_item"),
]


def make_project(home: Path, servers: int) -> Path:
    project = home / "project"
    project.mkdir(parents=True, exist_ok=True)
    script = home / "tiny_server.py"
    script.write_text(SERVER)
    entries = {
        f"{TOPICS[i % len(TOPICS)]}{i}": {
            "command": sys.executable,
            "args": ["-S", str(script), TOPICS[i % len(TOPICS)], str(i)],
        }
        for i in range(servers)
    }
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": entries}))
    return project


def first_prompt(home: Path, server: ScriptedServer) -> tuple[float, Terminal]:
    started = time.perf_counter()
    term = Terminal(
        ["--model", "anthropic:claude-sonnet-4-5"],
        cwd=home / "project",
        env={
            "HOME": str(home),
            "SOUS_HOME": str(home / "sous"),
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "bench",
        },
    )
    term.wait_for(r"^>$", timeout=60)
    return time.perf_counter() - started, term


def rss_mib(pid: int) -> float:
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total = int(line.split()[1]) / 1024
    return total


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--servers", type=int, default=100)
    args = parser.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

    with (
        tempfile.TemporaryDirectory() as none_dir,
        tempfile.TemporaryDirectory() as many_dir,
        ScriptedServer([]) as endpoint,
    ):
        make_project(Path(none_dir), 0)
        make_project(Path(many_dir), args.servers)
        times: dict[str, list[float]] = {"none": [], "many": []}
        rss: dict[str, float] = {}
        for run in range(args.runs):
            for label, home in (("none", Path(none_dir)), ("many", Path(many_dir))):
                t0 = time.perf_counter()
                elapsed, term = first_prompt(home, endpoint)
                times[label].append(elapsed)
                if run == 0:
                    if label == "many":
                        last = f"{TOPICS[(args.servers - 1) % len(TOPICS)]}{args.servers - 1}"
                        deadline = time.monotonic() + 120
                        while time.monotonic() < deadline:
                            term.line("/mcp")
                            try:
                                term.wait_for(rf"^{last}: connected", timeout=2)
                                break
                            except AssertionError:
                                continue
                        print(f"all {args.servers} servers connected {time.perf_counter() - t0:.1f} s after launch")
                    time.sleep(1)
                    rss[label] = rss_mib(term.child.pid)
                term.close()
        none, many = statistics.median(times["none"]), statistics.median(times["many"])
        print(f"first prompt, no servers:   median {none * 1000:.0f} ms")
        print(
            f"first prompt, {args.servers} servers: median {many * 1000:.0f} ms "
            f"(difference {(many - none) * 1000:+.0f} ms; target within 50)"
        )
        print(
            f"RSS once connected:         {rss['many']:.1f} MB with {args.servers} servers, "
            f"{rss['none']:.1f} MB without"
        )

        turns = Path(many_dir) / "turns.json"
        turns.write_text(json.dumps([{"text": "ready"}]))
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "sous", "-p", "hi", "--model", f"scripted:{turns}", "--output-format", "json"],
            cwd=Path(many_dir) / "project",
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT / "src"),
                "HOME": many_dir,
                "SOUS_HOME": str(Path(many_dir) / "sous"),
            },
            timeout=300,
        )
        print(
            f"sous -p with {args.servers} servers:      {time.perf_counter() - started:.2f} s to the answer "
            f"(exit {done.returncode})"
        )

    from sous.mcp.search import schema_tokens, search

    class Fake:
        def __init__(self, name: str, description: str):
            self.name, self.description = name, description
            self.input_schema = {"type": "object", "properties": {"id": {"type": "string"}, "text": {"type": "string"}}}

    tools = [
        Fake(
            f"mcp__{TOPICS[i % len(TOPICS)]}{i}__{verb}_{TOPICS[i % len(TOPICS)]}_item",
            f"{what} {TOPICS[i % len(TOPICS)]} item ({TOPICS[i % len(TOPICS)]} service #{i}).",
        )
        for i in range(args.servers)
        for verb, what in VERBS.items()
    ]
    hits, timings = 0, []
    for query, expected in QUERIES:
        started = time.perf_counter()
        found = search(query, tools, 5)
        timings.append(time.perf_counter() - started)
        ok = (not found) if expected is None else any(t.name.endswith(expected) for t in found[:5])
        hits += ok
    print(
        f"ToolSearch over {len(tools)} tools (~{schema_tokens(tools):,} tokens of schemas, deferred): "
        f"{hits}/{len(QUERIES)} queries right, median {statistics.median(timings) * 1000:.2f} ms per search"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
