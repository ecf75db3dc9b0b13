"""Model providers, keyed by wire protocol and resolved on first use.

`resolve("anthropic:claude-sonnet-4-5")` imports only the adapter it needs. A bare model name is
matched to a provider by its prefix; with no name at all, the provider comes from the
environment (`ANTHROPIC_API_KEY`/`ANTHROPIC_BASE_URL`, then `OPENAI_API_KEY`/`OPENAI_BASE_URL`),
and failing those it is the built-in offline model (`local:qwen2.5-coder-0.5b`).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from typing import Any

from sous.core import ConfigError, Model

PROVIDERS: dict[str, str] = {
    "anthropic": "sous.models.anthropic:AnthropicModel",
    "openai": "sous.models.openai_chat:OpenAIChatModel",
    "scripted": "sous.models.scripted:ScriptedModel",
    "local": "sous.models.local:LocalModel",
}

DEFAULT_MODELS = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-5.1"}
ALIASES = {
    "sonnet": "anthropic:claude-sonnet-4-5",
    "opus": "anthropic:claude-opus-4-5",
    "haiku": "anthropic:claude-haiku-4-5",
}

NO_PROVIDER = (
    "no model provider is configured: set ANTHROPIC_API_KEY or OPENAI_API_KEY "
    "(or OPENAI_BASE_URL for a local server such as Ollama), or pass --model provider:model"
)
OFFLINE_NOTICE = (
    "no API key is set, so sous runs on its small built-in offline model ({name}); for a capable "
    "model set ANTHROPIC_API_KEY or OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)"
)


def split(spec: str | None, environ: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """Return (provider, model id) for a `--model` value, a settings value or nothing."""
    spec = ALIASES.get(spec or "", spec)
    if spec:
        provider, sep, model_id = spec.partition(":")
        if sep and provider in PROVIDERS:
            return provider, model_id
        if spec.startswith("claude"):
            return "anthropic", spec
        if spec.startswith(("gpt", "o1", "o3", "o4", "chatgpt")):
            return "openai", spec
        if sep:
            raise ConfigError(f"unknown model provider {provider!r} in {spec!r}; known: {', '.join(PROVIDERS)}")
    if environ.get("ANTHROPIC_API_KEY") or environ.get("ANTHROPIC_BASE_URL") or environ.get("ANTHROPIC_AUTH_TOKEN"):
        return "anthropic", spec or environ.get("ANTHROPIC_MODEL") or DEFAULT_MODELS["anthropic"]
    if environ.get("OPENAI_API_KEY") or environ.get("OPENAI_BASE_URL"):
        return "openai", spec or environ.get("OPENAI_MODEL") or DEFAULT_MODELS["openai"]
    if spec:
        raise ConfigError(f"cannot tell which provider serves {spec!r}; write it as provider:model, e.g. openai:{spec}")
    return "local", offline_default(environ)


def offline_default(environ: Mapping[str, str] = os.environ) -> str:
    """The local model used when no provider is configured (`SOUS_LOCAL_MODEL`: a built-in name,
    a .gguf path, or "off" to refuse instead); raises the how-to-configure error when there is none."""
    from .local import DEFAULT_NAME, available

    name = environ.get("SOUS_LOCAL_MODEL") or DEFAULT_NAME
    if name == "off" or not available(name):
        raise ConfigError(NO_PROVIDER)
    return name


def _without_httpx_cli() -> None:
    """`import httpx` imports its command-line client, and with it rich, click and pygments when
    they are installed (about a hundred modules sous never uses). Marking that one module absent
    before httpx is first imported makes httpx skip it, as it does when they are not installed."""
    if "httpx" not in sys.modules:
        # None in sys.modules makes an import fail (the import system's own rule); typeshed allows only modules.
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def resolve(spec: str | None, environ: Mapping[str, str] = os.environ, *, key_helper: Any = None) -> Model:
    """Build the model for `spec`; raises `ConfigError` with a one-line fix when it can't.
    `key_helper` (`key_helper.KeyHelper`, the `apiKeyHelper` setting) gives Anthropic models
    their key, and makes Anthropic the provider when none is named."""
    _without_httpx_cli()
    provider, model_id = split(spec, {**environ, "ANTHROPIC_AUTH_TOKEN": "helper"} if key_helper else environ)
    module, _, cls = PROVIDERS[provider].partition(":")
    factory = getattr(importlib.import_module(module), cls)
    if provider == "scripted":
        try:
            return factory.from_spec(model_id)
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot load scripted model {model_id!r}: {e}") from e
    if provider == "anthropic" and key_helper is not None:
        return factory(model_id, environ=environ, key_helper=key_helper)
    return factory(model_id, environ=environ)
