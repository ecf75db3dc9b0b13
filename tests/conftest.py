from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def sous_home(tmp_path_factory, monkeypatch):
    """Every test gets its own SOUS_HOME, so sessions and settings never touch the real home."""
    home = tmp_path_factory.mktemp("sous_home")
    monkeypatch.setenv("SOUS_HOME", str(home))
    # the machine's managed policy, if it has one, must not change what the tests see
    monkeypatch.setenv("SOUS_MANAGED_SETTINGS", str(home / "no-managed-settings" / "managed-settings.json"))
    for var in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_MODEL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_MODEL",
        "SOUS_MODEL",
        "MAX_THINKING_TOKENS",
        "SOUS_LOCAL_MODEL",
        "SOUS_LOCAL_PROTOCOL",
    ):
        monkeypatch.delenv(var, raising=False)
    return home
