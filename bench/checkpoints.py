"""What checkpoints cost: snapshot time on a 10,000-file repository, and the disk they use.

    python bench/checkpoints.py [--files 10000] [--runs 15]

Builds a project of `--files` source files (~2 KB each, in 100 folders, plus a .gitignore'd
build folder), then times with the real git: the first snapshot; an incremental one with no
change; after editing one file; after a turn-sized change (10 edits, 2 new files, 1 deletion);
a whole turn (start + end snapshots) and a restore. Medians of `--runs`. Target: incremental
snapshot under 100 ms. Reports the shadow repository's size on disk, and the floor: one git
process stat-ing every tracked file (what any snapshot must do, with the machine's load then).
Then retention: every entry but the newest expires; the time to prune the log and the refs, the
time of `git gc`, and the disk before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sous.checkpoints import Checkpoints, retention  # noqa: E402


def make_project(root: Path, files: int) -> None:
    rng = random.Random(1)
    words = ["def", "return", "self", "value", "import", "class", "for", "in", "if", "else", "None", "0", "1"]
    for i in range(files):
        folder = root / f"pkg{i % 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        text = "\n".join(" ".join(rng.choice(words) for _ in range(10)) for _ in range(40))
        (folder / f"mod{i:05d}.py").write_text(text + "\n")
    (root / ".gitignore").write_text("build/\n")
    (root / "build").mkdir()
    for i in range(200):
        (root / "build" / f"obj{i}.o").write_bytes(os.urandom(4096))


def du(path: Path) -> int:
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file())


async def timed(coro) -> float:
    started = time.perf_counter()
    await coro
    return (time.perf_counter() - started) * 1000


async def bench(files: int, runs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp, "project")
        make_project(project, files)
        store = Checkpoints(str(project), environ={"SOUS_HOME": str(Path(tmp, "home"))})
        first = await timed(store.snapshot())
        unchanged, one, turn_sized, whole_turn, stat_pass = [], [], [], [], []
        rng = random.Random(2)
        for n in range(runs):
            # The floor: one git process stat-ing every tracked file, which any snapshot must do.
            stat_pass.append(await timed(store._git("ls-files", "-z", "--modified")))
            unchanged.append(await timed(store.snapshot()))
            target = project / f"pkg{n % 100:02d}" / f"mod{n:05d}.py"
            target.write_text(target.read_text() + f"# edit {n}\n")
            one.append(await timed(store.snapshot()))
            for k in range(10):
                f = project / f"pkg{k:02d}" / f"mod{rng.randrange(files):05d}.py"
                if f.exists():
                    f.write_text(f.read_text() + "# more\n")
            (project / f"new_{n}_a.py").write_text("x = 1\n")
            (project / f"new_{n}_b.py").write_text("y = 2\n")
            gone = project / "pkg99" / f"mod{files - 1 - n * 100:05d}.py"
            gone.unlink(missing_ok=True)
            turn_sized.append(await timed(store.snapshot()))
            entry = await store.turn_started(f"m{n}", f"turn {n}")
            (project / f"turn_{n}.py").write_text("z = 3\n")
            started = time.perf_counter()
            await store.turn_ended()
            whole_turn.append((time.perf_counter() - started) * 1000)
        restore = await timed(store.restore_code(entry))
        disk = du(store.git_dir)
        tracked = sum(1 for _ in project.rglob("*.py"))
        newest = store.list()[-1]
        started = time.perf_counter()
        dropped = retention.prune_log(store.log, newest.time)
        retention.keep_only_live_refs(store.git_dir, store.log)
        prune_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        retention.collect(store.git_dir, wait=True, grace="now")
        gc_ms = (time.perf_counter() - started) * 1000
        disk_after = du(store.git_dir)

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 1)

    return {
        "files": files,
        "tracked_py_files": tracked,
        "first_snapshot_ms": round(first, 1),
        "incremental_unchanged_ms": med(unchanged),
        "incremental_one_edit_ms": med(one),
        "incremental_turn_sized_change_ms": med(turn_sized),
        "turn_end_snapshot_ms": med(whole_turn),
        "restore_ms": round(restore, 1),
        "floor_one_stat_pass_ms": med(stat_pass),
        "load_average": round(os.getloadavg()[0], 1),
        "cpus": os.cpu_count(),
        "shadow_repo_disk_mib": round(disk / 2**20, 1),
        "retention_entries_dropped": dropped,
        "retention_prune_ms": round(prune_ms, 1),
        "retention_gc_ms": round(gc_ms, 1),
        "shadow_repo_disk_after_gc_mib": round(disk_after / 2**20, 1),
        "target_incremental_ms": 100,
        "ok": med(one) < 100 and med(turn_sized) < 100 and med(unchanged) < 100,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    figures = asyncio.run(bench(args.files, args.runs))
    print(json.dumps(figures, indent=2))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
