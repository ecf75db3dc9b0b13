"""Recognising "the prompt does not fit" in a provider's error text, and what it says of the limit.

Every server words it its own way; these are the wordings seen in the wild (each with where it
comes from), matched case-insensitively on the error's message:

    Anthropic     "prompt is too long: 210543 tokens > 200000 maximum"
                  "input length and `max_tokens` exceed context limit: 188240 + 21333 > 200000"
    OpenAI        code "context_length_exceeded"; "This model's maximum context length is 128000
                  tokens. However, your messages resulted in 130012 tokens"; Responses API "Your
                  input exceeds the context window of this model"
    OpenRouter    "This endpoint's maximum context length is 1048576 tokens. However, you requested ..."
    vLLM          "This model's maximum context length is 16384 tokens. However, you requested 122946
                  tokens"; "The prompt (total length 25938) is too long to fit into the model (context
                  length 4096)"; "Input prompt (35247 tokens) is too long and exceeds limit of 1000"
    llama.cpp     "request (4476 tokens) exceeds the available context size (4096 tokens)" (type
                  "exceed_context_size_error", with n_prompt_tokens and n_ctx); older builds "the
                  request exceeds the available context size, try increasing it"
    llama-cpp-python  "Requested tokens (5000) exceed context window of 4096"
    LM Studio     "The number of tokens to keep from the initial prompt is greater than the context length"
    Ollama        "the input length exceeds the context length"
"""

from __future__ import annotations

import re

from sous.core import ContextOverflow

WORDINGS = (
    "prompt is too long",
    "exceed context limit",
    "context_length_exceeded",
    "maximum context length",
    "exceeds the context window",
    "exceeds the available context size",
    "the request exceeds",
    "exceed_context_size_error",
    "too long to fit into the model",
    "is too long and exceeds limit",
    "exceed context window",
    "greater than the context length",
    "exceeds the context length",
    "context window exceeded",
    "context length exceeded",
)

# (pattern, group of the prompt's tokens or 0, group of the limit or 0). Compiled (and cached by `re`)
# at the first overflow, not at start-up.
_NUMBERS = (
    (r"(\d+) tokens > (\d+) maximum", 1, 2),
    (r"exceed context limit: (\d+) \+ \d+ > (\d+)", 1, 2),
    (r"\((\d+) tokens\) exceeds the available context size \((\d+) tokens\)", 1, 2),
    (r"maximum context length is (\d+) tokens.*?(?:resulted in|requested|has) (?:about )?(\d+)", 2, 1),
    (r"maximum context length is (\d+)", 0, 1),
    (r"total length (\d+)\) is too long to fit into the model \(context length (\d+)\)", 1, 2),
    (r"\((\d+) tokens\) is too long and exceeds limit of (\d+)", 1, 2),
    (r"requested tokens \((\d+)\) exceed context window of (\d+)", 1, 2),
)


def is_overflow(text: str) -> bool:
    """Does this error message say the request was too long for the model's window?"""
    lowered = text.lower()
    return any(w in lowered for w in WORDINGS)


def numbers(text: str) -> tuple[int | None, int | None]:
    """(the prompt's tokens, the window) as the message states them; None where it does not."""
    lowered = " ".join(text.lower().split())
    tokens = limit = None
    for pattern, tokens_group, limit_group in _NUMBERS:
        if match := re.search(pattern, lowered):
            tokens = tokens or (int(match.group(tokens_group)) if tokens_group else None)
            limit = limit or (int(match.group(limit_group)) if limit_group else None)
            if tokens and limit:
                break
    return tokens, limit


def overflow(text: str, status: int | None, *, n_ctx: int | None = None) -> ContextOverflow:
    """The `ContextOverflow` for this message, carrying the numbers it states (`n_ctx`: the
    window a llama.cpp server names in its error body)."""
    tokens, limit = numbers(text)
    error = ContextOverflow(f"the conversation does not fit the model's context window: {text}", status=status)
    error.tokens, error.limit = tokens, n_ctx or limit
    return error
