from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC
from pathlib import Path

import pytest

from sous.testing.server import ScriptedServer

from .conftest import make_repo, pid_alive, python_path, read_results, sous_batch


def _write_tasks(root: Path, rows: list[dict]) -> Path:
    path = root / "tasks.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_ctrl_c_kills_running_tasks_records_them_interrupted_and_a_rerun_finishes_the_rest(tmp_path):
    make_repo(tmp_path)
    flag = tmp_path / "go-fast"
    rows = []
    for i in range(1, 7):
        # A new file each: overwriting a file outside the project asks even in bypassPermissions.
        command = "true" if i <= 2 else f"test -f {flag} || {{ sleep 60 & echo $! > {tmp_path}/sleep-{i}.pid; wait; }}"
        script = tmp_path / f"t{i}.json"
        script.write_text(
            json.dumps(
                [
                    {"tool_calls": [{"name": "Bash", "input": {"command": command}}]},
                    {"tool_calls": [{"name": "Write", "input": {"file_path": f"t{i}.txt", "content": "done\n"}}]},
                    {"text": "Done."},
                ]
            )
        )
        rows.append(
            {
                "id": f"t{i}",
                "repo": "proj",
                "prompt": f"task {i}",
                "model": f"scripted:{script}",
                "permission_mode": "bypassPermissions",
                "verify": f"test -f t{i}.txt",
            }
        )
    tasks = _write_tasks(tmp_path, rows)
    out = tmp_path / "out"
    batch = subprocess.Popen(
        [sys.executable, "-m", "sous", "batch", str(tasks), "--out", str(out), "-j", "2"],
        cwd=tmp_path,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": python_path()},
    )
    deadline = time.monotonic() + 60
    while not (
        len(pids := list(tmp_path.glob("sleep-*.pid"))) == 2
        and (out / "results.jsonl").exists()
        and len(read_results(out)) == 2
    ):
        assert batch.poll() is None and time.monotonic() < deadline, batch.communicate()
        time.sleep(0.1)
    batch.send_signal(signal.SIGINT)
    stdout, stderr = batch.communicate(timeout=30)
    assert batch.returncode == 130, stderr
    assert "stopped; rerun the same command to go on" in stderr
    first = {line["id"]: line for line in read_results(out)}
    assert {k: v["status"] for k, v in first.items()} == {
        "t1": "success",
        "t2": "success",
        "t3": "interrupted",
        "t4": "interrupted",
    }
    for task_id in ("t3", "t4"):
        assert first[task_id]["error"] == "the batch was stopped" and first[task_id]["verify_exit"] is None
    assert "interrupted   2" in stdout and "not started   2" in stdout
    for pidfile in pids:
        assert not pid_alive(int(pidfile.read_text())), "an interrupted task's command still runs"

    flag.touch()
    again = sous_batch(str(tasks), "--out", str(out), "-j", "2", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "2 task(s) already finished" in again.stderr
    lines = read_results(out)
    assert Counter(line["id"] for line in lines) == {"t1": 1, "t2": 1, "t3": 2, "t4": 2, "t5": 1, "t6": 1}
    assert all(line["status"] == "success" for line in lines[4:])
    assert "success       6" in again.stdout and "success rate  100% (6/6)" in again.stdout


def _priced_turn(**extra) -> dict:
    return {"text": "Done.", "usage": {"input_tokens": 1_000_000, "output_tokens": 0}, **extra}  # $3 on sonnet


@pytest.fixture
def priced(tmp_path):
    def start(turns: list[dict]):
        server = ScriptedServer(turns)
        server.__enter__()
        started.append(server)
        return server, {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test"}

    started: list[ScriptedServer] = []
    yield start
    for server in started:
        server.__exit__(None, None, None)


def test_the_batch_cost_cap_stops_starting_tasks_and_a_rerun_with_a_higher_cap_goes_on(tmp_path, priced):
    make_repo(tmp_path)
    server, env = priced([_priced_turn() for _ in range(4)])
    tasks = _write_tasks(
        tmp_path,
        [{"id": f"c{i}", "repo": "proj", "prompt": "go", "model": "anthropic:claude-sonnet-4-5"} for i in range(4)],
    )
    run = sous_batch(str(tasks), "--out", "out", "-j", "1", "--max-cost-usd", "5", cwd=tmp_path, env=env)
    assert run.returncode == 1, run.stderr
    assert [(line["id"], line["status"], line["cost_usd"]) for line in read_results(tmp_path / "out")] == [
        ("c0", "success", 3.0),
        ("c1", "success", 3.0),
    ]
    assert "cost cap ($5) is reached: 2 task(s) not started" in run.stderr
    assert "not started   2" in run.stdout and "$6.00" in run.stdout
    again = sous_batch(str(tasks), "--out", "out", "-j", "1", "--max-cost-usd", "20", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert len(server.requests) == 4


def test_a_task_over_its_budget_is_stopped_after_the_turn_that_passed_it(tmp_path, priced):
    make_repo(tmp_path)
    server, env = priced(
        [_priced_turn(tool_calls=[{"name": "Bash", "input": {"command": "sleep 20"}}]), _priced_turn()]
    )
    tasks = _write_tasks(
        tmp_path,
        [
            {
                "id": "b",
                "repo": "proj",
                "prompt": "go",
                "model": "anthropic:claude-sonnet-4-5",
                "permission_mode": "bypassPermissions",
                "max_budget_usd": 1,
            }
        ],
    )
    started = time.monotonic()
    run = sous_batch(str(tasks), "--out", "out", cwd=tmp_path, env=env)
    assert time.monotonic() - started < 15
    (line,) = read_results(tmp_path / "out")
    assert run.returncode == 1
    assert line["status"] == "failed" and line["agent_status"] == "error_max_budget_usd"
    assert line["cost_usd"] == 3.0 and "error_max_budget_usd" in line["error"]
    assert len(server.requests) == 1


def test_per_provider_limits_how_many_tasks_of_one_provider_run_at_once(tmp_path):
    make_repo(tmp_path)
    script = tmp_path / "slow.json"
    script.write_text(json.dumps([{"text": "Done.", "delay": 0.5}]))
    tasks = _write_tasks(
        tmp_path, [{"id": f"p{i}", "repo": "proj", "prompt": "go", "model": f"scripted:{script}"} for i in range(3)]
    )
    run = sous_batch(str(tasks), "--out", "out", "-j", "3", "--per-provider", "1", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    spans = sorted(
        (_epoch(line["started_at"]), _epoch(line["started_at"]) + line["duration_s"])
        for line in read_results(tmp_path / "out")
    )
    assert all(end <= next_start + 0.01 for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False)), spans


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def test_an_output_folder_that_cannot_be_used_is_one_line_and_two_batches_never_share_one(tmp_path):
    make_repo(tmp_path)
    script = tmp_path / "slow.json"
    script.write_text(json.dumps([{"text": "Done.", "delay": 30}]))
    tasks = _write_tasks(tmp_path, [{"id": "s", "repo": "proj", "prompt": "go", "model": f"scripted:{script}"}])
    (tmp_path / "a-file").write_text("")
    run = sous_batch(str(tasks), "--out", "a-file", cwd=tmp_path)
    assert (run.returncode, run.stderr) == (2, "sous batch: cannot use a-file as the output folder: File exists\n")

    first = subprocess.Popen(
        [sys.executable, "-m", "sous", "batch", str(tasks), "--out", "out"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": python_path()},
    )
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "out" / ".lock").exists():
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        second = sous_batch(str(tasks), "--out", "out", cwd=tmp_path)
        assert (second.returncode, second.stderr) == (
            2,
            "sous batch: cannot use out as the output folder: another sous batch is writing there\n",
        )
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 130
    (line,) = read_results(tmp_path / "out")
    assert line["status"] == "interrupted"


def test_a_damaged_results_file_is_read_around_with_a_warning(tmp_path):
    from sous.batch.results import Results

    out = tmp_path / "out"
    out.mkdir()
    good = {"id": "a", "status": "success", "cost_usd": 1.0}
    earlier = {"id": "a", "status": "interrupted", "cost_usd": 0.5}
    (out / "results.jsonl").write_text(
        json.dumps(earlier)
        + "\n"
        + json.dumps(good)
        + "\n"
        + '{"id": "b", "status": "succ'
        + "\n"
        + json.dumps({"id": "c", "status": "weird"})
        + "\n"
        + json.dumps({"id": "d", "status": "interrupted"})
        + "\n"
    )
    results = Results(out)
    assert results.latest == {"a": good, "d": {"id": "d", "status": "interrupted"}}
    assert results.warnings == [
        f"{out}/results.jsonl:3: not a result line; ignored",
        f"{out}/results.jsonl:4: not a result line; ignored",
    ]
    assert results.spent == {"a": 1.5, "d": 0.0}  # the interrupted run's money counts towards a cap
    assert results.finished("a") and not results.finished("d") and not results.finished("b")
