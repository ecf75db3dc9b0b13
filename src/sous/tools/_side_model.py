"""The small, fast model a tool may ask for a side job (WebFetch applying its prompt to a page).

The composition root puts a getter of the session's current model in `ctx.state["session_model"]`.
Its provider decides:

- Anthropic: a Haiku model through the same endpoint and key (`claude-haiku-4-5`, or
  `ANTHROPIC_DEFAULT_HAIKU_MODEL` / `ANTHROPIC_SMALL_FAST_MODEL` when set);
- the scripted model: the session's model itself, so that tests script the side answer too;
- any other provider (OpenAI-compatible servers, the offline model): none, and the tool does
  its job without a model.
"""

from __future__ import annotations

from sous.core import ConfigError, Model, ToolContext

HAIKU = "claude-haiku-4-5"


def small_fast_model(ctx: ToolContext) -> Model | None:
    """The side model for this context, or None when the provider has no small one."""
    current = ctx.state.get("session_model")
    model = current() if current is not None else None
    name = getattr(model, "name", "")
    if name.startswith("scripted:"):
        return model
    if name.startswith("anthropic:"):
        from sous.models.anthropic import AnthropicModel

        model_id = (
            ctx.environ.get("ANTHROPIC_DEFAULT_HAIKU_MODEL") or ctx.environ.get("ANTHROPIC_SMALL_FAST_MODEL") or HAIKU
        )
        try:
            return AnthropicModel(model_id, environ=ctx.environ)
        except ConfigError:
            return None
    return None
