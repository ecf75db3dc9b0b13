"""Tasks as Ray tasks on a cluster (`sous batch --ray auto|local|ADDRESS`, `pip install 'sous[ray]'`).

Each task is one Ray task running the same `run_task` as the local path, on whichever node Ray
picks, with the resources it asks for:

- `num_cpus` (`--cpus-per-task`, default 1): Ray starts no more tasks on a node than it has CPUs.
- a per-provider limit that holds across every driver on the cluster: when the cluster defines a
  custom resource `sous_provider_<provider>` (`ray start --resources '{"sous_provider_anthropic": 4}'`),
  each task on that provider takes one unit of it. The driver's `--per-provider` limit applies too.
- `max_retries` (`--ray-max-retries`, default 3): a task whose worker or node dies is run again
  from the start, on a fresh checkout, on another worker. A task that fails on its own is not.

sous itself travels in the job's runtime environment (`py_modules`: the sous package this driver
imports, so workers run exactly the driver's sous, installed or not); its dependencies must be
installed on the nodes (`pip install 'sous[ray]'` there, or a cluster image with it). The
provider settings of the driver's environment (`ANTHROPIC_*`, `OPENAI_*`, `SOUS_*` but
`SOUS_HOME`, proxies) go along as the runtime environment's `env_vars`. Patches, transcripts and
result lines come back to the driver as task return values and are written to `--out` there.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sous
from sous.batch.process import GRACE_S
from sous.batch.runner import Outcome, blank_record
from sous.batch.tasks import Task

_FORWARD = re.compile(r"(ANTHROPIC_|OPENAI_|SOUS_|CLAUDE_CODE_).*|(HTTPS?|NO|ALL)_PROXY|(https?|no|all)_proxy")


def forwarded_env(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The driver's variables that workers need to reach the same providers as it would."""
    return {k: v for k, v in environ.items() if _FORWARD.fullmatch(k) and k != "SOUS_HOME"}


def provider_resource(provider: str) -> str:
    """The name of the Ray custom resource that limits tasks on `provider`."""
    return "sous_provider_" + re.sub(r"[^A-Za-z0-9_]", "_", provider)


def _run_on_worker(task: dict[str, Any], settings_seed: str | None) -> dict[str, Any]:
    from sous.batch.runner import run_task
    from sous.batch.tasks import Task

    outcome = run_task(Task.from_json(task), settings_seed=settings_seed)
    return {"record": outcome.record, "patch": outcome.patch, "transcript": outcome.transcript}


class RayBackend:
    """A `sous.batch.pool.Backend` on a Ray cluster. Connecting raises `RuntimeError` with a
    one-line reason when Ray is missing or the cluster cannot be reached. When this process is
    already connected (`ray.init()` was called), that connection and its runtime environment are
    used as they are, and left open by `close()`."""

    def __init__(
        self,
        address: str,
        *,
        cpus_per_task: float = 1.0,
        max_retries: int = 3,
        settings_seed: str | None = None,
        environ: Mapping[str, str] = os.environ,
        local_cpus: int | None = None,
    ):
        try:
            import ray
        except ImportError:
            raise RuntimeError("--ray needs Ray: pip install 'sous[ray]'") from None
        self.ray = ray
        runtime_env = {
            "py_modules": [str(Path(sous.__file__).resolve().parent)],
            "excludes": ["__pycache__", "*.pyc"],
            "env_vars": forwarded_env(environ),
        }
        kwargs: dict[str, Any] = {"runtime_env": runtime_env, "logging_level": logging.ERROR, "log_to_driver": False}
        if address == "local":  # a private Ray instance for this batch alone
            kwargs.update(address="local", num_cpus=local_cpus, include_dashboard=False)
        else:
            kwargs["address"] = address
        started = time.monotonic()
        # A program that already called ray.init() (a notebook, the benchmark) keeps its connection.
        self.owns_connection = not ray.is_initialized()
        try:
            if self.owns_connection:
                ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as e:
            first = str(e).strip().splitlines()
            raise RuntimeError(
                f"cannot connect to the Ray cluster at {address}: {first[0] if first else type(e).__name__}"
            ) from None
        self.connect_s = time.monotonic() - started
        self.resources = ray.cluster_resources()
        self.remote = ray.remote(_run_on_worker)
        self.options: dict[str, Any] = {
            "num_cpus": cpus_per_task,
            "max_retries": max_retries,
            "retry_exceptions": False,
        }
        self.settings_seed = settings_seed
        self.running: dict[Any, tuple[Task, float]] = {}

    def cluster_cpus(self) -> int:
        return int(self.resources.get("CPU", 1))

    def submit(self, task: Task) -> Any:
        resource = provider_resource(task.provider)
        options = {**self.options, "name": f"sous-batch:{task.id}"}
        if resource in self.resources:
            options["resources"] = {resource: 1}
        ref = self.remote.options(**options).remote(task.to_json(), self.settings_seed)
        self.running[ref] = (task, time.monotonic())
        return ref

    def wait(self, timeout: float) -> list[tuple[object, Outcome | None]]:
        if not self.running:
            return []
        refs = list(self.running)
        ready, _ = self.ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:
            ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0)
        return [(ref, self._get(ref)) for ref in ready]

    def stop(self) -> list[tuple[object, Outcome | None]]:
        """Cancel every running task: Ray raises KeyboardInterrupt in each, whose runner stops
        its command's process group. What finished before the cancellation keeps its outcome."""
        refs = list(self.running)
        for ref in refs:
            self.ray.cancel(ref)
        self.ray.wait(refs, num_returns=len(refs), timeout=GRACE_S + 10)
        out: list[tuple[object, Outcome | None]] = []
        for ref in refs:
            out.append((ref, self._get(ref, cancelled=True)))
        return out

    def _get(self, ref: Any, *, cancelled: bool = False) -> Outcome | None:
        exceptions = self.ray.exceptions
        task, t0 = self.running.pop(ref)
        try:
            data = self.ray.get(ref, timeout=0 if cancelled else None)
        except exceptions.TaskCancelledError:  # by us, or by someone stopping the job
            return None
        except exceptions.GetTimeoutError:  # only when cancelled: still stopping after the grace
            self.ray.cancel(ref, force=True)
            return None
        except exceptions.RayError as e:  # the worker died past its retries, or the runner raised
            first = str(e).strip().splitlines()
            return Outcome(
                record=blank_record(
                    task, "error", f"ray: {type(e).__name__}: {first[0] if first else ''}", time.monotonic() - t0
                ),
                patch=None,
                transcript=None,
            )
        return Outcome(record=data["record"], patch=data["patch"], transcript=data["transcript"])

    def close(self) -> None:
        if self.owns_connection:
            self.ray.shutdown()
