"""Hook overhead per tool call: the same scripted session with and without hooks.

Run: `python bench/hooks.py [--calls 60] [--runs 5]`. Each call is a Read of a small file (a cheap
tool, so the hook's cost stands out). Variants: no hooks; one no-op command hook (`true`) on
PreToolUse; the same on PreToolUse and PostToolUse. Reports the median extra milliseconds per
tool call over several runs (target < 15 ms for one hook).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

NOOP = {"type": "command", "command": "true"}
VARIANTS = {
    "none": {},
    "PreToolUse": {"PreToolUse": [{"matcher": "*", "hooks": [NOOP]}]},
    "Pre+PostToolUse": {
        "PreToolUse": [{"matcher": "*", "hooks": [NOOP]}],
        "PostToolUse": [{"matcher": "*", "hooks": [NOOP]}],
    },
}


async def session_seconds(calls: int, hooks: dict, work: str) -> float:
    from sous.runtime import Options, open_session

    script = [{"tool_calls": [{"name": "Read", "input": {"file_path": "notes.txt"}}]}] * calls + [{"text": "done"}]
    path = os.path.join(work, "script.json")
    Path(path).write_text(json.dumps(script))
    session = open_session(
        Options(
            cwd=work,
            model=f"scripted:{path}",
            permission_mode="bypassPermissions",
            settings=json.dumps({"hooks": hooks}),
            persist=False,
        )
    )
    started = time.perf_counter()
    end = await session.send("read it again and again")
    elapsed = time.perf_counter() - started
    session.close()
    assert end.num_turns == calls + 1, end
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, tempfile.TemporaryDirectory() as home:
        os.environ["SOUS_HOME"] = home
        Path(work, "notes.txt").write_text("a small file\n" * 10)
        times: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for _ in range(args.runs):  # interleaved, so machine noise hits every variant alike
            for name, hooks in VARIANTS.items():
                times[name].append(asyncio.run(session_seconds(args.calls, hooks, work)))
    base = statistics.median(times["none"]) / args.calls * 1000
    report = {"calls": args.calls, "runs": args.runs, "ms_per_call_without_hooks": round(base, 2)}
    for name in ("PreToolUse", "Pre+PostToolUse"):
        per_call = statistics.median(times[name]) / args.calls * 1000
        report[f"extra_ms_per_call_{name}"] = round(per_call - base, 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
