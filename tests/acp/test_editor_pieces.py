"""The pure pieces of `sous acp`'s editor bridge: time limits, capabilities, exit statuses."""

from __future__ import annotations

import signal

import pytest

pytest.importorskip("acp")
from acp.schema import ClientCapabilities, FileSystemCapabilities  # noqa: E402 - after the skip check

from sous.ui.acp_editor import DEFAULT_TIMEOUT_S, _exit_code, offered, request_timeout  # noqa: E402


@pytest.mark.parametrize("value", ["", "soon", "-5", "0", "nan", "inf", "1e400"])
def test_a_malformed_or_useless_time_limit_falls_back_to_the_default(value):
    assert request_timeout({"SOUS_ACP_TIMEOUT_MS": value}) == DEFAULT_TIMEOUT_S


def test_a_time_limit_is_read_in_milliseconds():
    assert request_timeout({"SOUS_ACP_TIMEOUT_MS": "1500"}) == 1.5
    assert request_timeout({}) == DEFAULT_TIMEOUT_S


def test_only_what_the_client_says_it_offers_is_used():
    assert offered(None) == set()
    assert offered(ClientCapabilities()) == set()
    reads_only = ClientCapabilities(fs=FileSystemCapabilities(read_text_file=True))
    assert offered(reads_only) == {"reads"}
    assert offered(ClientCapabilities(terminal=True)) == {"terminals"}


def test_an_exit_status_becomes_a_return_code_and_an_unknown_signal_stays_unknown():
    assert _exit_code(0, None) == 0 and _exit_code(3, "SIGTERM") == 3
    assert _exit_code(None, "SIGKILL") == -signal.SIGKILL
    assert _exit_code(None, "term") == -signal.SIGTERM
    assert _exit_code(None, "SIGNOPE") is None and _exit_code(None, None) is None
