"""A long headless session against a window-limited endpoint: does sous finish it by compacting?

    python bench/long_session.py [--steps 60] [--kib 28] [--limit 200000] [--wire anthropic|openai]

The endpoint (`sous.testing.window_server.WindowServer`) enforces a token limit with the
provider's real 400 answer and plays a model reading one ~28 KB file per step, choosing its next
step from markers in the request. `sous -p` runs as a real process (Anthropic wire, model
claude-sonnet-4-5, whose 200k window sous knows from its catalog). Passes when every step was
asked for once, in order, the run ended well, and no request went over the limit. Prints
compactions, summary requests, over-limit requests, wall time and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sous.testing.window_server import WindowServer, write_step_files  # noqa: E402


def run(
    steps: int,
    kib: int,
    limit: int,
    *,
    wire: str = "anthropic",
    model: str = "claude-sonnet-4-5",
    report_usage: bool = True,
    props: bool = False,
    settings: dict | None = None,
    extra_env: dict | None = None,
    timeout: float = 900,
) -> dict:
    """Run one long session; returns the figures and the checks' outcomes."""
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp, "project")
        files = project / "steps"
        write_step_files(str(files), steps, kib * 1024)
        home = Path(tmp, "home")
        with WindowServer(
            total_steps=steps, folder=str(files), limit=limit, wire=wire, report_usage=report_usage, props=props
        ) as server:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_"))}
            env.update(SOUS_HOME=str(home), HOME=tmp, PYTHONPATH=str(ROOT / "src"), SOUS_MAX_RETRIES="0")
            if wire == "anthropic":
                env.update(ANTHROPIC_BASE_URL=server.url, ANTHROPIC_API_KEY="bench")
                spec = f"anthropic:{model}"
            else:
                env.update(OPENAI_BASE_URL=server.url + "/v1", OPENAI_API_KEY="bench")
                spec = f"openai:{model}"
            env.update(extra_env or {})
            cmd = [
                sys.executable,
                "-m",
                "sous",
                "-p",
                f"Read the {steps} step files in order, one per turn.",
                "--model",
                spec,
                "--output-format",
                "json",
                "--allowedTools",
                "Read",
            ]
            if settings:
                cmd += ["--settings", json.dumps(settings)]
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            started = time.monotonic()
            proc = subprocess.run(
                cmd, cwd=project, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
            wall = time.monotonic() - started
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            sessions = list(home.glob("sessions/*/*.jsonl"))
            records = [json.loads(line) for path in sessions for line in path.read_text().splitlines()]
            compactions = [r for r in records if r.get("type") == "compact"]
        try:
            result = json.loads(proc.stdout)
        except ValueError:
            result = {"is_error": True, "result": proc.stdout[-500:] + proc.stderr[-1500:]}
    return {
        "ok": proc.returncode == 0
        and not result.get("is_error")
        and server.steps == list(range(1, steps + 1))
        and server.refused == 0,
        "exit": proc.returncode,
        "result": str(result.get("result", ""))[:300],
        "steps": server.steps,
        "in_order": server.steps == list(range(1, steps + 1)),
        "refused": server.refused,
        "compactions": len(compactions),
        "triggers": [c.get("trigger") for c in compactions],
        "summary_requests": server.summaries,
        "requests": server.requests,
        "peak_request_tokens": server.peak,
        "wall_s": round(wall, 2),
        "peak_rss_mib": round(max(peak, before) / 1024, 1),
        "stderr": proc.stderr[-2000:],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--kib", type=int, default=28)
    parser.add_argument("--limit", type=int, default=200_000)
    parser.add_argument("--wire", choices=("anthropic", "openai"), default="anthropic")
    args = parser.parse_args()
    figures = run(args.steps, args.kib, args.limit, wire=args.wire)
    steps = figures.pop("steps")
    stderr = figures.pop("stderr")
    print(json.dumps(figures, indent=2))
    print(f"steps asked for: {len(steps)} ({'in order' if figures['in_order'] else 'OUT OF ORDER: ' + str(steps)})")
    if not figures["ok"]:
        print(stderr, file=sys.stderr)
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
