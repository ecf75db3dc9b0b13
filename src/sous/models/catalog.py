"""What sous knows about models: context window, output limit and list prices.

Prices are US dollars per million tokens: (input, output, cache read, cache write). A model is
matched by the longest known prefix of its id, so dated ids (`claude-sonnet-4-5-20250929`) and
local variants find their family; an unknown model costs 0 and gets a default window.
"""

from __future__ import annotations

from sous.core import Usage
from sous.records import record


@record(kw_only=False)
class ModelInfo:
    context_window: int
    """Tokens of input plus output the model accepts."""
    max_output: int
    """The largest `max_tokens` the API takes for this model."""
    prices: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    """$ per million tokens: input, output, cache read, cache write (0 where there is no such charge)."""


DEFAULT = ModelInfo(context_window=128_000, max_output=16_000)

MODELS: dict[str, ModelInfo] = {
    "claude-opus-4-5": ModelInfo(200_000, 64_000, (5.0, 25.0, 0.5, 6.25)),
    "claude-opus-4": ModelInfo(200_000, 32_000, (15.0, 75.0, 1.5, 18.75)),
    "claude-sonnet-4": ModelInfo(200_000, 64_000, (3.0, 15.0, 0.3, 3.75)),
    "claude-3-7-sonnet": ModelInfo(200_000, 64_000, (3.0, 15.0, 0.3, 3.75)),
    "claude-haiku-4-5": ModelInfo(200_000, 64_000, (1.0, 5.0, 0.1, 1.25)),
    "claude-3-5-haiku": ModelInfo(200_000, 8_192, (0.8, 4.0, 0.08, 1.0)),
    "claude-3-5-sonnet": ModelInfo(200_000, 8_192, (3.0, 15.0, 0.3, 3.75)),
    "gpt-5": ModelInfo(400_000, 128_000, (1.25, 10.0, 0.125, 0.0)),
    "gpt-5-mini": ModelInfo(400_000, 128_000, (0.25, 2.0, 0.025, 0.0)),
    "gpt-5-nano": ModelInfo(400_000, 128_000, (0.05, 0.4, 0.005, 0.0)),
    "gpt-5.1-codex-mini": ModelInfo(400_000, 128_000, (0.25, 2.0, 0.025, 0.0)),
    "gpt-5.2": ModelInfo(400_000, 128_000, (1.75, 14.0, 0.175, 0.0)),
    "gpt-4.1": ModelInfo(1_047_576, 32_768, (2.0, 8.0, 0.5, 0.0)),
    "gpt-4.1-mini": ModelInfo(1_047_576, 32_768, (0.4, 1.6, 0.1, 0.0)),
    "gpt-4.1-nano": ModelInfo(1_047_576, 32_768, (0.1, 0.4, 0.025, 0.0)),
    "gpt-4o": ModelInfo(128_000, 16_384, (2.5, 10.0, 1.25, 0.0)),
    "gpt-4o-mini": ModelInfo(128_000, 16_384, (0.15, 0.6, 0.075, 0.0)),
    "o1": ModelInfo(200_000, 100_000, (15.0, 60.0, 7.5, 0.0)),
    "o1-mini": ModelInfo(128_000, 65_536, (1.1, 4.4, 0.55, 0.0)),
    "o3": ModelInfo(200_000, 100_000, (2.0, 8.0, 0.5, 0.0)),
    "o3-mini": ModelInfo(200_000, 100_000, (1.1, 4.4, 0.55, 0.0)),
    "o3-pro": ModelInfo(200_000, 100_000, (20.0, 80.0, 0.0, 0.0)),
    "o4-mini": ModelInfo(200_000, 100_000, (1.1, 4.4, 0.275, 0.0)),
    "gpt-4-turbo": ModelInfo(128_000, 4_096, (10.0, 30.0, 0.0, 0.0)),
    "gpt-4": ModelInfo(8_192, 8_192, (30.0, 60.0, 0.0, 0.0)),
    "gpt-3.5-turbo": ModelInfo(16_385, 4_096, (0.5, 1.5, 0.0, 0.0)),
    # Open models as local servers name them (Ollama tags, llama.cpp/vLLM ids): their native windows;
    # a local server caps the reply only by the window.
    "deepseek-chat": ModelInfo(128_000, 8_192, (0.28, 0.42, 0.028, 0.0)),
    "deepseek-reasoner": ModelInfo(128_000, 64_000, (0.28, 0.42, 0.028, 0.0)),
    "qwen2.5-coder": ModelInfo(32_768, 32_768),
    "qwen3-coder": ModelInfo(262_144, 262_144),
    "llama3.1": ModelInfo(131_072, 131_072),
    "llama-3.1": ModelInfo(131_072, 131_072),
    "gpt-oss": ModelInfo(131_072, 131_072),
}


def lookup(model_id: str) -> ModelInfo | None:
    """What is known of `model_id` (longest matching prefix, case-insensitive), or None."""
    model_id = model_id.rpartition("/")[2].lower()  # "openai/gpt-5" on routers such as OpenRouter
    best = max((k for k in MODELS if model_id.startswith(k)), key=len, default=None)
    return MODELS[best] if best else None


def info(model_id: str) -> ModelInfo:
    """What is known of `model_id` (longest matching prefix), or `DEFAULT`."""
    return lookup(model_id) or DEFAULT


def cost(model_id: str, usage: Usage) -> float:
    """US dollars at list price for `usage`; 0.0 for a model without known prices (local ones)."""
    price_in, price_out, price_read, price_write = info(model_id).prices
    return (
        usage.input_tokens * price_in
        + usage.output_tokens * price_out
        + usage.cache_read_tokens * price_read
        + usage.cache_write_tokens * price_write
    ) / 1_000_000


def context_window(model_id: str) -> int:
    """The model's window in tokens; 128k when the model is unknown."""
    return info(model_id).context_window
