"""The same batch on a local Ray cluster this module starts (2 CPUs), driven by the real
`sous batch --ray ADDRESS` in a subprocess, which ships sous to the workers itself."""

from __future__ import annotations

import json

import pytest

from tests.batch.conftest import USAGE, Expect, check_batch, pid_alive, read_results, sous_batch

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'sous[ray]' (or '.[test]')")


@pytest.fixture(scope="module")
def cluster():
    context = ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                       logging_level="ERROR")
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
            f.write(json.dumps({"id": task_id, "repo": "proj", "prompt": f"task {task_id}: make add() add",
                                "model": f"scripted:{script}", "setup": setup}) + "\n")
    batch.expect["dies-once"] = Expect("success", None, (), turns=1)
    batch.expect["dies-always"] = Expect("error", None, patch=False, turns=0, agent_status=None,
                                         error_has="ray: WorkerCrashedError")

    run = sous_batch(str(batch.tasks), "--out", "out", "--ray", cluster, "--ray-max-retries", "1", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    check_batch(batch, tmp_path / "out")
    assert flag.exists() and not pid_alive(int(batch.pidfile.read_text()))
    assert "success rate  55% (12/22)" in run.stdout
    assert {line["host"] for line in read_results(tmp_path / "out")} == {__import__("os").uname().nodename}
