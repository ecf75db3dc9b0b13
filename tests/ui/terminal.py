"""A terminal for tests: the real `sous` in a pseudo-terminal (pexpect), its output drawn on a
virtual screen (pyte), so tests read what a person would see, as tmux's capture-pane would."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pexpect
import pyte

import sous

SRC = str(Path(sous.__file__).resolve().parents[1])
KEYS = {
    "enter": "\r",
    "esc": "\x1b",
    "tab": "\t",
    "ctrl-c": "\x03",
    "ctrl-d": "\x04",
    "alt-enter": "\x1b\r",
    "up": "\x1b[A",
    "shift-tab": "\x1b[Z",
    "down": "\x1b[B",
    "ctrl-u": "\x15",
}


class Terminal:
    def __init__(self, args: list[str], *, cwd: Path, env: dict[str, str], rows: int = 120, cols: int = 100):
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "sous", *args],
            cwd=str(cwd),
            env={**os.environ, "PYTHONPATH": SRC, **env},
            dimensions=(rows, cols),
        )
        self.child.delaybeforesend = None  # pexpect sleeps 50 ms before each send by default
        self.raw = b""

    def _pump(self, timeout: float) -> None:
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            raise AssertionError(f"sous exited; the screen was:\n{self.text()}") from None
        self.raw += data
        for piece in re.split(rb"(\x1b\[6n)", data):
            self.stream.feed(piece)
            if piece == b"\x1b[6n":  # a cursor position request: answer as a real terminal does
                self.child.send(f"\x1b[{self.screen.cursor.y + 1};{self.screen.cursor.x + 1}R")

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display).rstrip()

    def wait_for(self, pattern: str, timeout: float = 20.0) -> re.Match:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern, re.M)
        while True:
            if match := regex.search(self.text()):
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} did not appear; the screen was:\n{self.text()}")
            self._pump(0.05)

    def settle(self, quiet: float = 0.3) -> None:
        """Read until the output has been still for `quiet` seconds."""
        last = time.monotonic()
        while time.monotonic() - last < quiet:
            before = len(self.raw)
            self._pump(0.05)
            if len(self.raw) != before:
                last = time.monotonic()

    def resize(self, rows: int, cols: int) -> None:
        self.screen.resize(rows, cols)
        self.child.setwinsize(rows, cols)

    def type(self, text: str) -> None:
        self.child.send(text)

    def press(self, key: str) -> None:
        self.child.send(KEYS[key])

    def line(self, text: str) -> None:
        self.type(text)
        time.sleep(0.05)
        self.press("enter")

    def close(self) -> None:
        if self.child.isalive():
            self.child.sendcontrol("d")
            try:
                self.child.expect(pexpect.EOF, timeout=5)
            except pexpect.TIMEOUT:
                self.child.terminate(force=True)
        self.child.close()
