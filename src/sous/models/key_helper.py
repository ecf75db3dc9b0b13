"""`apiKeyHelper`: a command whose output is the key, as Claude Code runs it.

The command runs in `sh` with the session's environment; the first line of its stdout is sent
as both `x-api-key` and `Authorization: Bearer`. The value is kept for
`CLAUDE_CODE_API_KEY_HELPER_TTL_MS` milliseconds (5 minutes by default) and asked again after
that, or at once after the provider refuses it (401/403). A helper that fails, prints nothing or
takes longer than 30 s is an `AuthError` naming the setting, never an empty key. sous runs it only
from settings the person trusts (the runtime drops a project's helper until it is approved).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Mapping

from sous.core import AuthError

DEFAULT_TTL_MS = 5 * 60 * 1000
TIMEOUT_S = 30.0
MAX_KEY_CHARS = 16 * 1024


class KeyHelper:
    def __init__(self, command: str, *, cwd: str, environ: Mapping[str, str]):
        self.command = command
        self.cwd = cwd
        self.environ = dict(environ)
        try:
            self.ttl_s = int(environ.get("CLAUDE_CODE_API_KEY_HELPER_TTL_MS") or DEFAULT_TTL_MS) / 1000
        except ValueError:
            self.ttl_s = DEFAULT_TTL_MS / 1000
        self.runs = 0
        self._key = ""
        self._at = 0.0
        self._lock = threading.Lock()

    def get(self) -> str:
        """The key, from the cache or a new run; blocks while the command runs (call it in a
        thread from async code). Raises `AuthError`."""
        with self._lock:
            if self._key and time.monotonic() - self._at < self.ttl_s:
                return self._key
            self._key, self._at = self._run(), time.monotonic()
            return self._key

    def forget(self) -> None:
        """The provider refused the key: the next request runs the command again."""
        with self._lock:
            self._key = ""

    def _run(self) -> str:
        self.runs += 1
        try:
            done = subprocess.run(
                ["/bin/sh", "-c", self.command],
                cwd=self.cwd,
                env=self.environ,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=TIMEOUT_S,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired:
            raise AuthError(f"apiKeyHelper did not answer within {TIMEOUT_S:g}s") from None
        except OSError as e:
            raise AuthError(f"apiKeyHelper could not start: {e.strerror or e}") from None
        if done.returncode != 0:
            why = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise AuthError(
                f"apiKeyHelper failed with exit code {done.returncode}" + (f": {why[0][:200]}" if why else "")
            )
        lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
        key = lines[0].strip() if lines else ""
        if not key or len(key) > MAX_KEY_CHARS or any(not ch.isprintable() for ch in key):
            raise AuthError("apiKeyHelper printed no usable key (one line of printable text expected)")
        return key
