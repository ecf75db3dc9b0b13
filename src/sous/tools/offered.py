"""What a session needs of a built-in tool before it is called: its schema and flags, and whether
it can work here. The tool's module is imported by its first call (`LazyBuiltin`), so a session
loads only the tools it uses. Every built-in is described here but Bash (its module stops the
background shells when a session closes) and ExitPlanMode (offered in plan mode only).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Mapping
from typing import Any

from ._base import LazyBuiltin

READ_SCHEMA = {
    "type": "object",
    "properties": {
        "file_path": {"type": "string", "description": "The path of the file to read (absolute is best)"},
        "offset": {"type": "integer", "description": "The line number to start reading from (1-based)"},
        "limit": {"type": "integer", "description": "The number of lines to read"},
        "pages": {"type": "string", "description": 'PDF page range, e.g. "1-5" (required over 10 pages)'},
    },
    "required": ["file_path"],
}


WRITE_SCHEMA = {
    "type": "object",
    "properties": {
        "file_path": {"type": "string", "description": "The path of the file to write (absolute is best)"},
        "content": {"type": "string", "description": "The whole new content of the file"},
    },
    "required": ["file_path", "content"],
}

_EDIT_FIELDS = {
    "old_string": {"type": "string", "description": "The exact text to replace"},
    "new_string": {"type": "string", "description": "The text to replace it with (must differ)"},
    "replace_all": {"type": "boolean", "description": "Replace every occurrence (default false)"},
}
EDIT_SCHEMA = {
    "type": "object",
    "properties": {"file_path": {"type": "string", "description": "The path of the file to modify"}, **_EDIT_FIELDS},
    "required": ["file_path", "old_string", "new_string"],
}
MULTI_EDIT_SCHEMA = {
    "type": "object",
    "properties": {
        "file_path": {"type": "string", "description": "The path of the file to modify"},
        "edits": {
            "type": "array",
            "minItems": 1,
            "description": "Edits applied in order, all or none",
            "items": {"type": "object", "properties": _EDIT_FIELDS, "required": ["old_string", "new_string"]},
        },
    },
    "required": ["file_path", "edits"],
}


GLOB_SCHEMA = {
    "type": "object",
    "properties": {
        "pattern": {"type": "string", "description": 'The glob pattern, e.g. "**/*.py" or "src/**/*.{ts,tsx}"'},
        "path": {"type": "string", "description": "The folder to search (default: the working directory)"},
    },
    "required": ["pattern"],
}


GREP_DEFAULT_HEAD_LIMIT = 250
GREP_MODES = ("content", "files_with_matches", "count")
GREP_SCHEMA = {
    "type": "object",
    "properties": {
        "pattern": {"type": "string", "description": "The regular expression to search for (ripgrep syntax)"},
        "path": {"type": "string", "description": "File or folder to search (default: the working directory)"},
        "glob": {"type": "string", "description": 'Only files matching this glob, e.g. "*.js" or "*.{ts,tsx}"'},
        "type": {"type": "string", "description": "Only files of this rg type, e.g. py, js, rust"},
        "output_mode": {
            "type": "string",
            "enum": list(GREP_MODES),
            "description": "content: matching lines; files_with_matches (default): paths; count: per file",
        },
        "-i": {"type": "boolean", "description": "Case insensitive"},
        "-n": {"type": "boolean", "description": "Line numbers in content mode (default true)"},
        "-A": {"type": "integer", "description": "Lines after each match (content mode)"},
        "-B": {"type": "integer", "description": "Lines before each match (content mode)"},
        "-C": {"type": "integer", "description": "Lines before and after each match (content mode)"},
        "head_limit": {
            "type": "integer",
            "description": f"Show only the first N entries (default {GREP_DEFAULT_HEAD_LIMIT}, 0 = all)",
        },
        "offset": {"type": "integer", "description": "Skip the first N entries"},
        "multiline": {"type": "boolean", "description": "Let . and patterns span lines"},
    },
    "required": ["pattern"],
}


TODO_SCHEMA = {
    "type": "object",
    "properties": {
        "todos": {
            "type": "array",
            "description": "The updated todo list",
            "items": {
                "type": "object",
                "properties": {
                    "content": {"type": "string", "description": 'The task, imperative: "Run the tests"'},
                    "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]},
                    "activeForm": {"type": "string", "description": 'Present continuous: "Running the tests"'},
                },
                "required": ["content", "status", "activeForm"],
            },
        }
    },
    "required": ["todos"],
}

WEB_FETCH_SCHEMA = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "format": "uri", "description": "The URL to fetch content from"},
        "prompt": {"type": "string", "description": "The prompt to run on the fetched content"},
    },
    "required": ["url", "prompt"],
    "additionalProperties": False,
}


WEB_SEARCH_SCHEMA = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "minLength": 2, "description": "The search query to use"},
        "allowed_domains": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Only include search results from these domains",
        },
        "blocked_domains": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Never include search results from these domains",
        },
    },
    "required": ["query"],
    "additionalProperties": False,
}


NOTEBOOK_EDIT_SCHEMA = {
    "type": "object",
    "properties": {
        "notebook_path": {"type": "string", "description": "The absolute path to the .ipynb file to edit"},
        "cell_id": {"type": "string", "description": "The cell to edit; an insert goes after it (first if absent)"},
        "new_source": {"type": "string", "description": "The new source for the cell"},
        "cell_type": {
            "type": "string",
            "enum": ["code", "markdown"],
            "description": "The cell's type; required for insert",
        },
        "edit_mode": {
            "type": "string",
            "enum": ["replace", "insert", "delete"],
            "description": "replace (default), insert or delete",
        },
    },
    "required": ["notebook_path", "new_source"],
    "additionalProperties": False,
}


SCREENSHOT_SCHEMA = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "description": "A local file path, file:// URL or http://localhost:PORT/... URL"},
        "width": {"type": "integer", "description": "Viewport width in pixels (default 1280)"},
        "height": {"type": "integer", "description": "Viewport height in pixels (default 800)"},
        "wait_for": {"type": "string", "description": "CSS selector to wait for before acting"},
        "actions": {
            "type": "array",
            "description": "Steps before the shot, in order",
            "items": {
                "type": "object",
                "properties": {
                    "action": {"type": "string", "enum": ["click", "type", "press", "wait"]},
                    "selector": {"type": "string", "description": "CSS selector (click, type, press)"},
                    "text": {"type": "string", "description": "Text to type, or key to press (e.g. Enter)"},
                    "ms": {"type": "integer", "description": "Milliseconds to wait"},
                },
                "required": ["action"],
            },
        },
        "full_page": {"type": "boolean", "description": "Capture the whole scrollable page"},
    },
    "required": ["url"],
    "additionalProperties": False,
}


SESSION_SEARCH_SCHEMA = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "minLength": 1, "description": 'Words to find (all of them), or a "phrase"'},
        "session_id": {"type": "string", "description": "Search only this past session (id or id prefix)"},
        "max_results": {"type": "integer", "description": "At most this many messages (default 10, at most 25)"},
    },
    "required": ["query"],
    "additionalProperties": False,
}


NOT_CONFIGURED = (
    "WebSearch: not offered: it needs the Anthropic provider, or a SearXNG instance in settings "
    '("webSearch": {"searxng": "http://localhost:8888"})'
)
ENABLE_HINT = (
    "Screenshot: not offered: it needs Chromium (apt-get install chromium, or SOUS_CHROMIUM=/path) "
    "and Playwright for Python (pip install playwright; no `playwright install` needed)"
)
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def web_search_backend(model_name: str, config: Any) -> tuple[str, str] | None:
    """("searxng", URL) or ("anthropic", "") for this session, or None."""
    if isinstance(config, Mapping) and isinstance(config.get("searxng"), str) and config["searxng"]:
        return "searxng", config["searxng"].rstrip("/")
    if model_name.startswith("anthropic:"):
        return "anthropic", ""
    return None


def web_search_unavailable(model_name: str, config: Any) -> str | None:
    return None if web_search_backend(model_name, config) else NOT_CONFIGURED


def chromium_path(environ: Mapping[str, str] = os.environ) -> str | None:
    if configured := environ.get("SOUS_CHROMIUM"):
        return shutil.which(configured) or (configured if os.access(configured, os.X_OK) else None)
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def screenshot_unavailable(environ: Mapping[str, str] = os.environ) -> str | None:
    """Why the tool cannot be offered here (one line for /status), or None."""
    if chromium_path(environ) is None or importlib.util.find_spec("playwright") is None:
        return ENABLE_HINT
    return None


READ = LazyBuiltin("Read", READ_SCHEMA, "sous.tools.read:run", read_only=True)
WRITE = LazyBuiltin("Write", WRITE_SCHEMA, "sous.tools.write:run")
EDIT = LazyBuiltin("Edit", EDIT_SCHEMA, "sous.tools.edit:run_edit")
MULTI_EDIT = LazyBuiltin("MultiEdit", MULTI_EDIT_SCHEMA, "sous.tools.edit:run_multi_edit")
GLOB = LazyBuiltin("Glob", GLOB_SCHEMA, "sous.tools.glob:run", read_only=True)
GREP = LazyBuiltin("Grep", GREP_SCHEMA, "sous.tools.grep:run", read_only=True)
TODO_WRITE = LazyBuiltin("TodoWrite", TODO_SCHEMA, "sous.tools.todo:run")
WEB_FETCH = LazyBuiltin("WebFetch", WEB_FETCH_SCHEMA, "sous.tools.web_fetch:run", concurrent=True)
WEB_SEARCH = LazyBuiltin("WebSearch", WEB_SEARCH_SCHEMA, "sous.tools.web_search:run", concurrent=True)
NOTEBOOK_EDIT = LazyBuiltin("NotebookEdit", NOTEBOOK_EDIT_SCHEMA, "sous.tools.notebook_edit:run")
SCREENSHOT = LazyBuiltin("Screenshot", SCREENSHOT_SCHEMA, "sous.tools.screenshot:run")
SESSION_SEARCH = LazyBuiltin("SessionSearch", SESSION_SEARCH_SCHEMA, "sous.tools.session_search:run", read_only=True)
