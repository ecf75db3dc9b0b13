"""Helpers for testing sous and programs built on it: `ScriptedServer` (in `sous.testing.server`)
speaks the providers' wire protocols from a script of turns; `ScriptedModel` (in
`sous.models.scripted`) replays the same script in process."""

from sous.models.scripted import ScriptedModel, load_turns

THREE_STEP_TASK = [
    {
        "text": "I'll create the file.",
        "tool_calls": [{"name": "Write", "input": {"file_path": "hello.py", "content": "print('hello')\n"}}],
        "usage": {"input_tokens": 1200, "output_tokens": 30},
    },
    {
        "text": "Now run it.",
        "tool_calls": [{"name": "Bash", "input": {"command": "python3 hello.py", "description": "Run hello.py"}}],
        "usage": {"input_tokens": 1300, "output_tokens": 20},
    },
    {"text": "Created hello.py and it prints hello.", "usage": {"input_tokens": 1400, "output_tokens": 10}},
]
"""Write a file, run it, answer: the task of Claude Code's reference stream-json sample, used by the
end-to-end tests and the benchmarks."""

__all__ = ["THREE_STEP_TASK", "ScriptedModel", "load_turns"]
