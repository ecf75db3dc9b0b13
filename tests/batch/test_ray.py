"""The same batch on a local Ray cluster this module starts (2 CPUs), driven by the real
`sous batch --ray ADDRESS` in a subprocess, which ships sous to the workers itself."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from .conftest import USAGE, Expect, check_batch, make_repo, pid_alive, python_path, read_results, sous_batch

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'sous[ray]' (or '.[test]')")


@pytest.fixture(scope="module")
def cluster():
    # At most 2 tasks on the scripted provider at once, cluster-wide (as many as CPUs: the 20-task
    # batch is not slowed; the Ctrl-C test shows the limit).
    context = ray.init(
        address="local",
        num_cpus=2,
        resources={"sous_provider_scripted": 2},
        include_dashboard=False,
        log_to_driver=False,
        logging_level="ERROR",
    )
    yield context.address_info["gcs_address"]
    ray.shutdown()


def test_the_twenty_task_batch_runs_on_ray_and_a_task_whose_worker_dies_runs_again(batch, tmp_path, cluster):
    script = tmp_path / "nothing.json"
    script.write_text(json.dumps([{"text": "Nothing to do.", "usage": USAGE}]))
    flag = tmp_path / "killed-once"
    # A setup command's parent is the Ray worker running the task: these kill it, once or always.
    kill_once = f"test -f {flag} || {{ touch {flag}; kill -9 $PPID; sleep 30; }}"
    kill_always = "kill -9 $PPID; sleep 30"
    with batch.tasks.open("a") as f:
        for task_id, setup in (("dies-once", kill_once), ("dies-always", kill_always)):
            f.write(
                json.dumps(
                    {
                        "id": task_id,
                        "repo": "proj",
                        "prompt": f"task {task_id}: make add() add",
                        "model": f"scripted:{script}",
                        "setup": setup,
                    }
                )
                + "\n"
            )
    batch.expect["dies-once"] = Expect("success", None, (), turns=1)
    batch.expect["dies-always"] = Expect(
        "error", None, patch=False, turns=0, agent_status=None, error_has="ray: WorkerCrashedError"
    )

    try:
        run = sous_batch(str(batch.tasks), "--out", "out", "--ray", cluster, "--ray-max-retries", "1", cwd=tmp_path)
    finally:  # a killed worker cannot remove its task's temporary folder (the README says so)
        for leftover in Path(tempfile.gettempdir()).glob("sous-batch-dies-*"):
            shutil.rmtree(leftover, ignore_errors=True)
    assert run.returncode == 1, run.stderr
    check_batch(batch, tmp_path / "out")
    assert flag.exists() and not pid_alive(int(batch.pidfile.read_text()))
    assert "success rate  55% (12/22)" in run.stdout
    assert {line["host"] for line in read_results(tmp_path / "out")} == {os.uname().nodename}


def test_the_provider_resource_limits_a_ray_batch_and_ctrl_c_cancels_running_and_waiting_tasks(tmp_path, cluster):
    make_repo(tmp_path)
    rows = []
    for i in range(3):
        script = tmp_path / f"t{i}.json"
        script.write_text(
            json.dumps(
                [
                    {
                        "tool_calls": [
                            {
                                "name": "Bash",
                                "input": {"command": f"sleep 60 & echo $! > {tmp_path}/sleep-{i}.pid; wait"},
                            }
                        ]
                    },
                    {"text": "Done."},
                ]
            )
        )
        rows.append(
            {
                "id": f"t{i}",
                "repo": "proj",
                "prompt": "go",
                "model": f"scripted:{script}",
                "permission_mode": "bypassPermissions",
            }
        )
    (tmp_path / "tasks.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    # CPUs would let 4 tasks run and the driver hands out 3; the provider's resource lets 2 run.
    batch = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sous",
            "batch",
            "tasks.jsonl",
            "--out",
            "out",
            "--ray",
            cluster,
            "-j",
            "3",
            "--cpus-per-task",
            "0.5",
        ],
        cwd=tmp_path,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": python_path()},
    )
    deadline = time.monotonic() + 90
    while len(pids := list(tmp_path.glob("sleep-*.pid"))) < 2 or not all(p.read_text().strip() for p in pids):
        assert batch.poll() is None and time.monotonic() < deadline, batch.communicate()
        time.sleep(0.1)
    time.sleep(3)
    assert len(list(tmp_path.glob("sleep-*.pid"))) == 2, "a third task ran beside two on the same provider"
    batch.send_signal(signal.SIGINT)
    stdout, stderr = batch.communicate(timeout=60)
    assert batch.returncode == 130, stderr
    lines = read_results(tmp_path / "out")
    assert sorted((line["id"], line["status"]) for line in lines) == [
        ("t0", "interrupted"),
        ("t1", "interrupted"),
        ("t2", "interrupted"),
    ]
    assert "interrupted   3" in stdout
    for pidfile in pids:
        assert not pid_alive(int(pidfile.read_text())), "a cancelled task's command still runs"
