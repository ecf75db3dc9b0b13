"""A chooser under the terminal's prompt: a list the typed text filters, Up/Down to pick, Enter
to take, Esc to close; and the two the terminal opens, `/resume`'s search box and the rewind
chooser (Esc twice at an empty prompt). It holds no terminal code: the terminal draws `lines()`
in its status area and sends the keys here, so it is tested as plain data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sous.records import field, record

ROWS = 8
"""Rows of the list shown at once (the selection scrolls within them)."""


@record
class Item:
    label: str
    value: Any
    matches: Callable[[list[str]], bool] | None = None
    """Does the item hold every one of these (lower-cased) words? Default: they are all in the label."""
    detail: Callable[[list[str]], str] | None = None
    """A line shown under the selected item while filtering (where the words were found)."""

    def holds(self, words: list[str]) -> bool:
        if self.matches is not None:
            return self.matches(words)
        label = self.label.lower()
        return all(w in label for w in words)


@record(frozen=False)
class Picker:
    title: str
    """What choosing does, shown above the list ("resume a session")."""
    prompt: str
    """The prompt's text while the picker is open ("search › ")."""
    items: list[Item]
    on_choose: Callable[[Any], Picker | None]
    """Called with the chosen item's value; may return the next chooser to open."""
    empty: str = "nothing matches"
    selected: int = 0
    _query: str = field(default="", repr=False)
    _shown: list[Item] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._shown = list(self.items)

    def filter(self, query: str) -> list[Item]:
        """The items holding every word of `query`, in their order; the selection stays in range."""
        if query != self._query:
            from sous.store.recall import terms

            self._query = query
            words = terms(query)
            self._shown = [item for item in self.items if item.holds(words)]
            self.selected = 0
        return self._shown

    def move(self, delta: int, query: str) -> None:
        shown = self.filter(query)
        if shown:
            self.selected = (self.selected + delta) % len(shown)

    def current(self, query: str) -> Item | None:
        shown = self.filter(query)
        return shown[self.selected] if shown else None

    def lines(self, query: str, width: int) -> list[str]:
        """What the terminal shows: the title, a window of the list with the selection marked, the keys."""
        from sous.store.recall import terms

        shown = self.filter(query)
        width = max(width, 20)
        out = [f"{self.title} ({len(shown)} of {len(self.items)})"]
        if not shown:
            out.append(f"  {self.empty}")
        first = min(max(0, self.selected - ROWS + 1), max(0, len(shown) - ROWS))
        for i, item in enumerate(shown[first : first + ROWS], first):
            mark = "›" if i == self.selected else " "
            out.append(_fit(f"{mark} {item.label}", width))
            if i == self.selected and query.strip() and item.detail is not None and (more := item.detail(terms(query))):
                out.append(_fit(f"    {more}", width))
        out.append("type to filter · ↑/↓ choose · Enter take · Esc close")
        return out


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width - 1 else text[: width - 2] + "…"


Run = Callable[[str], None]
"""Runs a command line as if typed (`/resume ID`, `/rewind N both`)."""


async def resume_chooser(session: Any, run: Run) -> Picker | str:
    """This folder's earlier sessions, newest first, filtered by what is typed (first prompt,
    summary, any message); choosing one runs `/resume ID`. A string when there are none."""
    from .slash import session_choices

    choices = await asyncio.to_thread(session_choices, session)
    if not choices:
        return "no earlier sessions in this folder"
    items = [
        Item(label=f"{c.number:>2}. {c.label}", value=c.session_id, matches=c.matches, detail=c.excerpt)
        for c in choices
    ]
    return Picker(
        title="resume a session",
        prompt="  search › ",
        items=items,
        on_choose=lambda session_id: run(f"/resume {session_id}"),
        empty="no session mentions that",
    )


REWIND_MODES = (
    ("both", "restore the code and the conversation"),
    ("conversation", "restore the conversation only"),
    ("code", "restore the code only"),
)


async def rewind_chooser(session: Any, run: Run) -> Picker | str:
    """The checkpoints, newest first; choosing one opens the choice of what to restore, and that
    runs `/rewind N MODE`. A string when checkpoints are off or there are none."""
    from sous.checkpoints.rewind import describe

    if not session.checkpointing:
        return "checkpoints are off for this session"
    entries = await asyncio.to_thread(session.checkpoints)
    if not entries:
        return "no checkpoints yet: one is taken at each prompt"

    def what(checkpoint_id: int) -> Picker:
        return Picker(
            title=f"rewind to before checkpoint #{checkpoint_id}",
            prompt="  restore › ",
            items=[Item(label=label, value=mode) for mode, label in REWIND_MODES],
            on_choose=lambda mode: run(f"/rewind {checkpoint_id} {mode}"),
        )

    items = [Item(label=describe(e), value=e.id) for e in reversed(entries[-100:])]
    return Picker(title="rewind to before a turn", prompt="  rewind › ", items=items, on_choose=what)


async def style_chooser(session: Any, run: Run) -> Picker | str:
    """The output styles, the current one first; choosing one runs `/output-style NAME`."""
    styles = list(session.output_styles().values())
    current = session.output_style.lower()
    styles.sort(key=lambda style: style.name.lower() != current)
    items = [
        Item(label=f"{style.name}{' (current)' if style.name.lower() == current else ''}: {style.description}",
             value=style.name)
        for style in styles
    ]  # fmt: skip
    return Picker(
        title="output style", prompt="  style › ", items=items, on_choose=lambda name: run(f"/output-style {name}")
    )
