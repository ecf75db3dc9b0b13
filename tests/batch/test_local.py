from __future__ import annotations

from .conftest import check_batch, pid_alive, read_results, sous_batch, tree_digest


def test_twenty_tasks_run_isolated_and_every_result_line_and_patch_is_right(batch, tmp_path, sous_home):
    before = tree_digest(batch.repo)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    run = sous_batch(str(batch.tasks), "--out", "out", "--concurrency", "4", cwd=tmp_path, env={"TMPDIR": str(scratch)})
    assert run.returncode == 1, run.stderr  # some tasks fail by design
    check_batch(batch, tmp_path / "out")
    assert tree_digest(batch.repo) == before, "the source repository changed"
    assert list(scratch.glob("sous-batch-*")) == [], "a task's checkout was left behind"
    assert not pid_alive(int(batch.pidfile.read_text())), "the timed-out task's command still runs"
    assert not (sous_home / "sessions").exists(), "a task wrote into the batch's own SOUS_HOME"
    summary = run.stdout
    assert "tasks         20" in summary and "success       11" in summary and "failed        6" in summary
    assert "timeout       1" in summary and "error         2" in summary and "success rate  55% (11/20)" in summary
    assert "slowest:\n  timeout " in summary
    # Not a terminal: one plain line per task.
    assert run.stderr.count(": success in ") == 11 and "fail-denied: failed in" in run.stderr


def test_a_rerun_skips_finished_tasks(batch, tmp_path):
    out = tmp_path / "out"
    tasks = batch.tasks.read_text().splitlines()[1:4]
    batch.tasks.write_text("\n".join(tasks) + "\n")
    assert sous_batch(str(batch.tasks), "--out", str(out), cwd=tmp_path).returncode == 0
    first = read_results(out)
    again = sous_batch(str(batch.tasks), "--out", str(out), cwd=tmp_path)
    assert again.returncode == 0 and "3 task(s) already finished" in again.stderr
    assert read_results(out) == first
