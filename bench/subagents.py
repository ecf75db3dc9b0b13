"""Sub-agent overhead: spawning one (target < 20 ms) and running 8 in parallel.

Run: `python bench/subagents.py [--runs 20]`. In process, through a real session with the scripted
model: the extra time of a turn that delegates to a sub-agent (which answers at once) over a turn
that calls a cheap tool, and the wall time of 8 sub-agents that each take 0.2 s, in one turn.
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


async def timed(work: str, script: list) -> float:
    from sous.runtime import Options, open_session

    path = os.path.join(work, "script.json")
    Path(path).write_text(json.dumps(script))
    session = open_session(Options(cwd=work, model=f"scripted:{path}", permission_mode="bypassPermissions"))
    started = time.perf_counter()
    end = await session.send("go")
    elapsed = time.perf_counter() - started
    session.close()
    assert end.reason == "end_turn", end
    return elapsed


def agent(i: int) -> dict:
    return {"name": "Agent", "input": {"description": f"task {i}", "prompt": f"do task {i}"}, "id": f"a{i}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, tempfile.TemporaryDirectory() as home:
        os.environ["SOUS_HOME"] = home
        Path(work, "notes.txt").write_text("x\n")
        read = [{"tool_calls": [{"name": "Read", "input": {"file_path": "notes.txt"}}]}, {"text": "done"}]
        spawn = [{"tool_calls": [agent(0)]}, {"text": "child report"}, {"text": "done"}]
        base, with_agent = [], []
        for _ in range(args.runs):
            base.append(asyncio.run(timed(work, read)))
            with_agent.append(asyncio.run(timed(work, spawn)))
        eight = [{"tool_calls": [agent(i) for i in range(8)]}] + [{"text": "ok", "delay": 0.2}] * 8 + [{"text": "done"}]
        parallel = [asyncio.run(timed(work, eight)) for _ in range(3)]
    print(
        json.dumps(
            {
                "spawn_overhead_ms": round((statistics.median(with_agent) - statistics.median(base)) * 1000, 2),
                "eight_parallel_agents_of_0.2s_wall_s": round(statistics.median(parallel), 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
