"""Credentials in the environment that sous was started with: the names people give them and the
URLs that carry a password, kept out of sandboxed commands; ordinary variables kept in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sous.core import ToolContext
from sous.tools import _sandbox
from sous.tools.bash import TOOL

pytestmark = pytest.mark.skipif(not _sandbox.usable(), reason="bubblewrap cannot run here")

HIDDEN = {
    "OPENAI_KEY": "sk-1",
    "STRIPE_KEY": "sk-2",
    "GH_PAT": "ghp-1",
    "MYSQL_PWD": "p1",
    "SMTP_PASS": "p2",
    "SENTRY_DSN": "https://abc@o1.ingest.sentry.io/1",
    "DATABASE_URL": "postgres://app:hunter2@db.internal:5432/app",
    "REDIS_URL": "redis://:hunter3@cache:6379/0",
    "HTTPS_PROXY": "http://me:hunter4@proxy.corp:3128",
    "PIP_INDEX_URL": "https://__token__:pypi-abc@pypi.corp/simple",
}
KEPT = {
    "PWD": "/somewhere",
    "OLDPWD": "/elsewhere",
    "KEYBOARD_LAYOUT": "us",
    "MONKEY": "banana",
    "PATH_EXTRA": "/opt/bin",
    "HOMEPAGE_URL": "https://example.com/a@b",
    "MIRROR": "https://pypi.org/simple",
}


async def test_credential_shaped_variables_are_not_passed_in(tmp_path: Path):
    ctx = ToolContext(
        cwd=str(tmp_path), project_dir=str(tmp_path), state={"sandbox": _sandbox.Sandbox(writable=(str(tmp_path),))}
    )
    ctx.environ = {**os.environ, **HIDDEN, **KEPT}
    result = await TOOL.run({"command": "env"}, ctx)
    seen = dict(line.split("=", 1) for line in result.data["stdout"].splitlines() if "=" in line)
    assert not set(HIDDEN) & set(seen), set(HIDDEN) & set(seen)
    assert not any("hunter" in value for value in seen.values())
    assert all(seen.get(k) == v for k, v in KEPT.items() if k not in ("PWD", "OLDPWD"))
    # bash sets PWD and OLDPWD itself: that they are not taken for secrets is seen before it starts
    assert _sandbox.Sandbox.environment({"PWD": "/a", "OLDPWD": "/b"}) == {"PWD": "/a", "OLDPWD": "/b"}
