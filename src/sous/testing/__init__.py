"""Helpers for testing sous and programs built on it: `ScriptedServer` (in `sous.testing.server`)
speaks the providers' wire protocols from a script of turns; `ScriptedModel` (in
`sous.models.scripted`) replays the same script in process."""

from sous.models.scripted import ScriptedModel, load_turns

__all__ = ["ScriptedModel", "load_turns"]
