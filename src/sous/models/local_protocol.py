"""How sous talks with a small local model: a protocol it can follow instead of JSON tool schemas.

A model of half a billion parameters is lost in a 3,000-token tool catalogue, so the offline model
gets a short instruction, a few worked exchanges, and one of two protocols:

- `json` (the default): a llama.cpp grammar forces every reply to be one object,
  `{"command": "ls"}` (Bash), `{"write": "a.py", "content": "..."}` (Write) or
  `{"answer": "..."}` (the end of the turn), so it always parses;
- `fenced`: a ```bash block runs a command, a ```write PATH block writes a file, plain text
  answers. Free text, so nothing forces the format.

Measured with bench/offline.py on ten small tasks with Qwen2.5-Coder-0.5B: both solve 5 of 10;
`json` answers in a steadier ~4 s per task, `fenced` ran away into long replies on some tasks.
Set `SOUS_LOCAL_PROTOCOL=fenced` to use the other. Tool results come back as user messages.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from sous.core import AssistantMessage, Message, Text, ToolCall, ToolResultMessage

FENCED = "fenced"
JSON = "json"
PROTOCOLS = (FENCED, JSON)

RESULT_CHARS = 1500
"""Tool output shown to the small model; its context window is short."""

_INSTRUCTIONS = {
    FENCED: """You are sous, a coding assistant working in a terminal, in the folder given below.
To run a shell command, reply with one block like this:
```bash
ls
```
To create or replace a file, reply with one block like this:
```write hello.py
print("hello")
```
Look at files before answering questions about them. After each block you will see its result; then go on.
When the task is done, answer in one short sentence without any block.""",
    JSON: """You are sous, a coding assistant working in a terminal, in the folder given below.
Reply with one JSON object. To run a shell command: {"command": "ls"}
To create or replace a file: {"write": "hello.py", "content": "print('hello')\\n"}
When the task is done: {"answer": "what you did or found"}""",
}

JSON_GRAMMAR = r"""
root   ::= "{" ws ( command | write | answer ) ws "}"
command ::= "\"command\"" ws ":" ws string
write  ::= "\"write\"" ws ":" ws string ws "," ws "\"content\"" ws ":" ws string
answer ::= "\"answer\"" ws ":" ws string
string ::= "\"" ( [^"\\] | "\\" ["\\/bfnrt] )* "\""
ws     ::= [ \t\n]*
"""

_BLOCK = re.compile(r"```[ \t]*([^\n`]*)\n(.*?)(?:\n```|$)", re.DOTALL)
_SHELLS = {"bash", "sh", "shell", "console", "zsh", ""}


_EXCHANGES = [
    (
        "Create notes.txt containing: buy milk",
        ("write", "notes.txt", "buy milk"),
        "File created successfully at: notes.txt",
        "I created notes.txt.",
    ),
    (
        "What is the name in setup.cfg?",
        ("command", "cat setup.cfg"),
        "[metadata]\nname = demo",
        "The name in setup.cfg is demo.",
    ),
    ("In app.py change the port from 80 to 8080", ("command", "cat app.py"), "PORT = 80\nprint(PORT)", None),
    (
        None,
        ("write", "app.py", "PORT = 8080\nprint(PORT)"),
        "The file app.py has been updated successfully.",
        "I changed the port in app.py to 8080.",
    ),
    ("Remove the folder tmp", ("command", "rm -r tmp"), "(no output)", "I removed the folder tmp."),
]


def _examples(protocol: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for request, (kind, target, *content), result, answer in _EXCHANGES:
        if request:
            out.append(("user", request))
        if protocol == JSON:
            action = json.dumps(
                {"command": target} if kind == "command" else {"write": target, "content": content[0] + "\n"}
            )
        else:
            action = f"```bash\n{target}\n```" if kind == "command" else f"```write {target}\n{content[0]}\n```"
        out += [("assistant", action), ("user", f"Result:\n```\n{result}\n```")]
        if answer:
            out.append(("assistant", json.dumps({"answer": answer}) if protocol == JSON else answer))
    return out


EXAMPLES = {protocol: _examples(protocol) for protocol in PROTOCOLS}
"""Two worked exchanges shown before the real conversation: small models copy a pattern far
more reliably than they follow a description of it."""


def instructions(protocol: str, environment: str) -> str:
    return f"{_INSTRUCTIONS[protocol]}\n\n# Environment\n{environment.strip()}"


def _call(name: str, arguments: dict[str, Any]) -> ToolCall:
    return ToolCall(id=f"local_{uuid.uuid4().hex[:12]}", name=name, arguments=arguments)


def complete_block(text: str) -> bool:
    """Whether `text` already holds a finished block, so generation can stop there."""
    return re.search(r"```[^\n`]*\n.*?\n```", text, re.DOTALL) is not None


def parse(text: str, protocol: str = FENCED) -> tuple[str, list[ToolCall]]:
    """Split a reply into (words for the person, tool calls)."""
    if protocol == JSON:
        return _parse_json(text)
    match = _BLOCK.search(text)
    if match is None:
        return text.strip(), []
    lang, body = match.group(1).strip(), match.group(2)
    prose = text[: match.start()].strip()
    head, _, rest = lang.partition(" ")
    if head.lower() == "write" and rest.strip():
        return prose, [_call("Write", {"file_path": rest.strip(), "content": body.rstrip("\n") + "\n"})]
    if head.lower() in _SHELLS and body.strip():
        return prose, [_call("Bash", {"command": body.strip()})]
    return text.strip(), []  # a code block in some other language is part of the answer


def _parse_json(text: str) -> tuple[str, list[ToolCall]]:
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip(), []
    if not isinstance(data, dict):
        return text.strip(), []
    if isinstance(data.get("command"), str) and data["command"].strip():
        return "", [_call("Bash", {"command": data["command"].strip()})]
    if isinstance(data.get("write"), str) and isinstance(data.get("content"), str):
        return "", [_call("Write", {"file_path": data["write"], "content": data["content"]})]
    return str(data.get("answer", text)).strip(), []


def _render_call(call: ToolCall, protocol: str) -> str:
    if protocol == JSON:
        if call.name == "Write":
            return json.dumps(
                {"write": call.arguments.get("file_path", ""), "content": call.arguments.get("content", "")}
            )
        return json.dumps({"command": call.arguments.get("command", "")})
    if call.name == "Write":
        return f"```write {call.arguments.get('file_path', '')}\n{call.arguments.get('content', '').rstrip()}\n```"
    return f"```bash\n{call.arguments.get('command', '')}\n```"


def to_chat(system: str, messages: tuple[Message, ...], protocol: str = FENCED) -> list[dict[str, str]]:
    """The conversation as chat messages for the model's own chat template."""
    chat = [{"role": "system", "content": system}]
    chat += [{"role": role, "content": content} for role, content in EXAMPLES.get(protocol, [])]

    def add(role: str, content: str) -> None:
        if chat[-1]["role"] == role and role != "system":
            chat[-1]["content"] += "\n\n" + content
        else:
            chat.append({"role": role, "content": content})

    for message in messages:
        if isinstance(message, AssistantMessage):
            parts = [message.text] if message.text else []
            parts += [_render_call(c, protocol) for c in message.tool_calls]
            if parts:
                add("assistant", "\n".join(parts))
        elif isinstance(message, ToolResultMessage):
            output = message.text
            if len(output) > RESULT_CHARS:
                output = output[: RESULT_CHARS // 2] + "\n[...]\n" + output[-RESULT_CHARS // 2 :]
            label = "Error" if message.is_error else "Result"
            add("user", f"{label}:\n```\n{output.strip() or '(no output)'}\n```")
        else:
            add("user", "".join(b.text for b in message.content if isinstance(b, Text)))
    return chat


def visible_prose(text: str, protocol: str) -> str:
    """The part of a reply still being generated that a person may see: the answer's words, never
    the protocol around them. JSON: the decoded value of `"answer"` so far (a command or a file
    to write shows as a tool call once the reply is complete, not as raw JSON); fenced: the words
    before the first block. Grows monotonically as `text` grows, so deltas can be streamed."""
    if protocol != JSON:
        fence = text.find("```")
        prose = text if fence < 0 else text[:fence]
        # Hold back a trailing partial fence ("`" or "``") until we know it is not one.
        return prose.rstrip("`") if fence < 0 else prose.rstrip()
    match = re.match(r'\s*\{\s*"answer"\s*:\s*"', text)
    if match is None:
        return ""
    out: list[str] = []
    i = match.end()
    escapes = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
    while i < len(text):
        char = text[i]
        if char == '"':
            break
        if char == "\\":
            if i + 1 >= len(text):
                break  # an escape cut in half: wait for the rest
            out.append(escapes.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out).lstrip()


_CLAIM = re.compile(
    r"\b(?:I(?:'ve| have)?|has been|have been|was|were|is now|are now)\s+(?:\w+\s+)?"
    r"(?:fixed|changed|updated|renamed|added|created|removed|deleted|edited|modified|wrote|written|"
    r"replaced|refactored|implemented|moved|corrected|rewrote|rewritten|appended|inserted)\b"
    # "set" and "made" only after I: "VERSION was set to 1.4.2" describes a file, it claims nothing.
    r"|\bI(?:'ve| have)?\s+(?:\w+\s+)?(?:set|made|turned)\b",
    re.IGNORECASE,
)


def claims_change(answer: str) -> bool:
    """Whether a final answer says that files were changed ("I fixed the bug in mean()",
    "the function has been renamed")."""
    return _CLAIM.search(answer) is not None


_READERS = {
    "cat",
    "ls",
    "head",
    "tail",
    "grep",
    "rg",
    "find",
    "wc",
    "pwd",
    "echo",
    "which",
    "file",
    "stat",
    "tree",
    "diff",
    "less",
    "more",
    "nl",
    "sort",
    "uniq",
    "type",
    "git",
}
_GIT_READERS = {"status", "log", "diff", "show", "branch", "ls-files", "blame", "rev-parse"}


def only_reads(command: str) -> bool:
    """A rough reading of a small model's command: every part starts with a reading command and
    nothing is redirected into a file. Used only to decide whether to warn, never to allow."""
    if re.search(r"(?<![0-9&])>(?!&)|\btee\b|-i\b|--in-place", command):
        return False
    for part in re.split(r"&&|\|\||[;|\n]", command):
        words = part.split()
        if not words:
            continue
        if words[0] not in _READERS or (words[0] == "git" and (len(words) < 2 or words[1] not in _GIT_READERS)):
            return False
    return True
