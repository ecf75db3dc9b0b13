"""`sous batch`: many tasks in parallel, each in its own checkout and session, on this machine or
on a Ray cluster; resumable, measured, with a spending cap.

    tasks       the task file: parsing and strict validation
    checkout    a task's isolated checkout and its patch
    process     child commands in their own process groups
    runner      one task from checkout to verify (`sous -p` in a subprocess)
    results     the output folder: results.jsonl, patches/, transcripts/
    pool        the driver loop and the local backend
    ray_backend the Ray backend
    report      the live progress line and the summary table
    cli         the `sous batch` command
"""

from __future__ import annotations

from sous.batch.tasks import Task, TaskFileError, load_tasks

__all__ = ["Task", "TaskFileError", "load_tasks"]
