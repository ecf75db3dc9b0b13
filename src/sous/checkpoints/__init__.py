"""Checkpoints: the working tree as it was before each user turn, and rewinding to it.

Snapshots live outside the project, in a shadow git repository of the data folder
(`<data>/checkpoints/<project-hash>.git`, with its own index), whatever the project's own version
control: `git add -A` on that index sees every change, Bash's and sub-agents' as much as Edit's
and Write's. The project's `.gitignore` files, its `.git/info/exclude` and the user's global
excludes are honoured; files over `max_file_bytes` (5 MiB) are left out. An unchanged tree makes
no new commit. A snapshot costs one git process walking the index (`ls-files`) and one more
hashing what changed (`update-index`); the trees, the commit and the refs are read and written
in-process where git's formats allow it (`sous.checkpoints._gitfiles`; see bench/checkpoints.py).

`Checkpoints.turn_started()` and `turn_ended()` bracket every user turn: each turn gets an entry
(in `<project-hash>.jsonl` beside the repository) naming the commit before it and after it.

`restore_code(entry)` makes the tree what it was before that turn:

- It changes only paths that differ between the tree now and the checkpoint; ignored files,
  files over the size cap, and anything else the snapshots do not cover are never touched.
- It refuses (`RewindRefused`, naming the files) when a path it would write or delete was
  changed since sous's last snapshot by something other than sous, unless `force=True`.
- It first records the tree as it is now as an entry of its own ("rewind"), so a rewind can be
  rewound.

`rewind_conversation(messages, entry)` gives the history as it was before that turn's prompt.
Only git (2.25 or later) is needed; every git call is an asyncio subprocess.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib
import itertools
import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sous.records import field, fields, record, replace

from . import _gitfiles

MAX_FILE_BYTES = 5 * 1024 * 1024
LOCK_WAITS = (0.01, 0.02, 0.05, 0.1, 0.1, 0.2, 0.2, 0.3, 0.5, 0.5)
"""Pauses before trying a git command again after a failure that passes (`PASSING_FAILURES`)."""
PASSING_FAILURES = (".lock': File exists", "short read while indexing")
"""git's words for a lock of the store another sous process holds, and for a file that changed
size while it was read (a build writing it, another process's snapshot): tried again."""
MAX_NEW_FILES = 100_000
"""More new files than this in one snapshot (sous started in a home folder, say): checkpoints
refuse rather than copy them all."""
PROMPT_CHARS = 200
_REF = "refs/sous/checkpoints"
KEPT_REFS = "refs/sous/kept/"
"""One ref per checkpoint commit keeps it (commits have no parents, so a commit whose entries
have all expired becomes unreachable, and `git gc` frees it: see `sous.checkpoints.retention`)."""


class CheckpointError(Exception):
    """A checkpoint could not be taken or restored (git missing or failing); one line."""


class RewindRefused(CheckpointError):
    """Restoring would overwrite changes made outside sous; `paths` lists them."""

    def __init__(self, message: str, paths: Sequence[str]):
        super().__init__(message)
        self.paths = list(paths)


@record
class Checkpoint:
    """One user turn's entry."""

    id: int
    """1, 2, ... in this project, across sessions."""
    session_id: str
    message_id: str
    """The id of the turn's prompt (`UserMessage.id`): the conversation rewinds to before it."""
    prompt: str
    """The prompt's first line, shortened, for lists."""
    before: str
    """The commit of the tree before the turn."""
    after: str = ""
    """The commit of the tree when the turn ended ("" while it runs, or if it never ended)."""
    time: float = 0.0
    kind: str = "turn"
    """"turn", or "rewind" for the state saved just before a rewind (restoring it undoes that rewind)."""

    @property
    def changed(self) -> bool:
        """Did the turn change files (as far as its end snapshot tells)?"""
        return bool(self.after) and self.after != self.before


@record
class Restored:
    """What `restore_code` did."""

    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Paths the checkpoint holds but that exist now outside the snapshots (ignored, too big): left alone."""
    undo: Checkpoint | None = None
    """The entry saved just before restoring: restore it to undo this rewind."""


def project_key(project_dir: str) -> str:
    return hashlib.sha256(os.path.realpath(project_dir).encode()).hexdigest()[:16]


def store_dir(environ: Mapping[str, str] = os.environ) -> Path:
    from sous.paths import data_dir

    return data_dir(environ) / "checkpoints"


class Checkpoints:
    """The checkpoints of one project (see the module doc). Not safe for two processes writing
    the same project at once: each takes its own snapshots, and the last index write wins."""

    def __init__(
        self,
        project_dir: str,
        *,
        session_id: str = "",
        environ: Mapping[str, str] = os.environ,
        max_file_bytes: int = MAX_FILE_BYTES,
        root: Path | None = None,
    ):
        self.project_dir = os.path.realpath(project_dir)
        self.session_id = session_id
        self.max_file_bytes = max_file_bytes
        base = Path(os.path.abspath(root or store_dir(environ)))
        key = project_key(project_dir)
        self.git_dir = base / f"{key}.git"
        self.log = base / f"{key}.jsonl"
        self._env = {k: v for k, v in environ.items() if not k.startswith("GIT_")}
        self._env.update(
            GIT_DIR=str(self.git_dir),
            GIT_WORK_TREE=self.project_dir,
            GIT_AUTHOR_NAME="sous",
            GIT_AUTHOR_EMAIL="sous@localhost",
            GIT_COMMITTER_NAME="sous",
            GIT_COMMITTER_EMAIL="sous@localhost",
            GIT_TERMINAL_PROMPT="0",
            LC_ALL="C",
        )
        self._open: Checkpoint | None = None
        self._ready = False
        self._cached: tuple[tuple[int, int, int], str] | None = None
        """(the index file's stamp, the commit of its tree): unchanged index and tree → no git call."""
        self._trees: dict[str, str] = {}
        """Commit → its tree, for the commits this object has seen."""

    # --- git -----------------------------------------------------------------------------------

    async def _git(self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None) -> bytes:
        """Run git on the store; a command that fails in passing (another sous process in the project
        holds the store's index lock, a file is being written) is tried again for up to ~2 s."""
        for delay in (*LOCK_WAITS, None):
            try:
                return await self._git_once(*args, stdin=stdin, env=env)
            except CheckpointError as e:
                if delay is None or not any(passing in str(e) for passing in PASSING_FAILURES):
                    raise
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _git_once(self, *args: str, stdin: bytes | None, env: Mapping[str, str] | None) -> bytes:
        try:
            proc = await asyncio.create_subprocess_exec(
                "git",
                *args,
                cwd=self.project_dir,
                env={**self._env, **(env or {})},
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # Ctrl-C in a plain terminal interrupts the run, not the snapshot
            )
        except FileNotFoundError as e:
            raise CheckpointError("checkpoints need git, which is not installed") from e
        out, err = await proc.communicate(stdin)
        if proc.returncode != 0:
            message = " ".join(err.decode(errors="replace").split())[:300]
            raise CheckpointError(f"git {args[0]} failed for checkpoints: {message}")
        return out

    async def _make_store(self) -> None:
        """Make the store in a folder of its own, then move it into place: another sous process in
        the same project (a second terminal) either finds no store or a whole one, never one half made."""
        self.git_dir.parent.mkdir(parents=True, exist_ok=True)
        fresh = self.git_dir.with_name(f".{self.git_dir.name}.{os.getpid()}.new")
        shutil.rmtree(fresh, ignore_errors=True)
        # No template: nothing of the user's `init.templateDir` (an info/exclude would hide files from every
        # snapshot), and no sample hooks to write (about 2 ms of the first snapshot).
        await self._git("init", "-q", "--template=", env={"GIT_DIR": str(fresh)})
        # Written at once rather than by five `git config` processes. No gc: nothing is ever unreferenced.
        with open(fresh / "config", "a", encoding="utf-8") as f:
            f.write(
                "[core]\n\tautocrlf = false\n\tuntrackedCache = true\n\tquotepath = false\n"
                "[gc]\n\tauto = 0\n[commit]\n\tgpgSign = false\n"
            )
        try:
            os.rename(fresh, self.git_dir)
        except OSError:  # another process made the store first: theirs is used
            shutil.rmtree(fresh, ignore_errors=True)
            if not (self.git_dir / "HEAD").exists():  # a folder in the way that is no store: made in place
                await self._git("init", "-q", "--template=")

    async def _setup(self) -> None:
        if self._ready:
            return
        if not (self.git_dir / "HEAD").exists():
            await self._make_store()
        self._mirror_info_exclude()
        self._ready = True

    def _mirror_info_exclude(self) -> None:
        """The project's `.git/info/exclude`, copied to the store's own: there git ranks it as in
        the project (under `.gitignore`, over the user's `core.excludesFile`, which applies too)."""
        try:
            wanted = Path(self.project_dir, ".git", "info", "exclude").read_bytes()
        except OSError:
            wanted = b""
        mirror = self.git_dir / "info" / "exclude"
        try:
            current: bytes | None = mirror.read_bytes()
        except OSError:
            current = None
        if current != wanted and (wanted or current):
            _gitfiles.write_atomic(mirror, wanted)

    async def snapshot(self) -> str:
        """Commit the working tree as it is (a new commit only when it changed); returns its id.

        One walk of the tree (`ls-files` against the shadow index's stat cache) finds what
        changed; only those paths are hashed (`update-index`), so an unchanged tree costs one git
        process and a change two, whatever the project's size. The trees, the commit and its refs
        are written, and the ref read, in-process (`_gitfiles`), git being asked only when the
        files are not the plain ones it reads without doubt."""
        await self._setup()
        listed = await self._git("ls-files", "-z", "--others", "--modified", "--exclude-standard")
        # "dir/" is a nested repository: not the checkpoints' to copy.
        names = sorted({p for p in listed.decode("utf-8", "surrogateescape").split("\0") if p and not p.endswith("/")})
        index = self.git_dir / "index"
        if not names and self._cached and self._cached[0] == _stamp(index):
            return self._cached[1]
        if len(names) > MAX_NEW_FILES:
            raise CheckpointError(
                f"checkpoints are off here: {len(names):,} new files in {self.project_dir} "
                f"(more than {MAX_NEW_FILES:,}); is this a project folder?"
            )
        too_big = set()
        for name in names:
            try:
                if os.lstat(os.path.join(self.project_dir, name)).st_size > self.max_file_bytes:
                    too_big.add(name)
            except OSError:
                continue  # deleted: update-index --remove drops it
        keep = [n for n in names if n not in too_big]
        if keep:  # many new files (the first snapshot) go straight into one pack instead of loose objects
            bulk = ("-c", "core.bigFileThreshold=1") if len(keep) > 200 else ()
            await self._git(
                *bulk,
                "update-index",
                "--add",
                "--remove",
                "-z",
                "--stdin",
                stdin="\0".join(keep).encode("utf-8", "surrogateescape"),
            )
        if too_big:  # a tracked file that grew past the cap leaves the snapshots
            await self._git(
                "update-index",
                "--force-remove",
                "-z",
                "--stdin",
                stdin="\0".join(sorted(too_big)).encode("utf-8", "surrogateescape"),
            )
        tree = _gitfiles.index_tree(self.git_dir) or (await self._git("write-tree")).decode().strip()
        parent = await self._head()
        if parent and parent not in self._trees:
            self._trees[parent] = _gitfiles.commit_tree(self.git_dir, parent) or (
                (await self._git("rev-parse", f"{parent}^{{tree}}")).decode().strip()
            )
        if parent and self._trees[parent] == tree:
            self._cached = (_stamp(index), parent)
            return parent
        commit = self._write_commit(tree)
        self._trees[commit] = tree
        self._cached = (_stamp(index), commit)
        return commit

    def _write_commit(self, tree: str) -> str:
        """Write the commit object and its refs in-process: what `commit-tree` and `update-ref`
        would do, without more processes on every turn. The commit has no parent: each is kept by
        a ref of its own, so expired ones can be freed without rewriting the others."""
        stamp = f"sous <sous@localhost> {int(time.time())} +0000"
        body = f"tree {tree}\nauthor {stamp}\ncommitter {stamp}\n\nsous checkpoint\n".encode()
        commit = _gitfiles.write_object(self.git_dir, "commit", body)
        _gitfiles.write_atomic(self.git_dir / KEPT_REFS / commit, f"{commit}\n".encode())
        _gitfiles.write_atomic(self.git_dir / _REF, f"{commit}\n".encode())
        return commit

    async def _head(self) -> str:
        """The newest checkpoint commit ("" before the first): read from the ref's file, loose or
        packed, without a git process; git is asked only when the file is not a plain ref."""
        found = _gitfiles.read_ref(self.git_dir, _REF)
        if found is not None:
            return found
        try:
            return (await self._git("rev-parse", "--verify", "-q", _REF)).decode().strip()
        except CheckpointError:
            return ""

    async def _diff(self, old: str, new: str) -> list[tuple[str, str]]:
        """(status, path) for each path differing from `old` to `new` (A: only in new, D: only in old)."""
        if old == new:
            return []
        out = (
            (await self._git("diff-tree", "-r", "-z", "--no-renames", "--name-status", old, new))
            .decode("utf-8", "surrogateescape")
            .split("\0")
        )
        return [(out[i][0], out[i + 1]) for i in range(0, len(out) - 1, 2) if out[i]]

    # --- entries -------------------------------------------------------------------------------

    def _append(self, record: dict[str, Any]) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with log_lock(self.log):  # never lost to a pruning rewrite
            self._write_line(record)

    def _write_line(self, record: dict[str, Any]) -> None:
        from sous.store.transcript import json_line

        with open(self.log, "ab") as f:
            f.write(json_line(record))

    def list(self, session_id: str | None = None) -> list[Checkpoint]:
        """Every entry of this project (of one session when `session_id` is given), oldest first."""
        entries: dict[int, Checkpoint] = {}
        try:
            lines = self.log.read_text("utf-8").splitlines()
        except FileNotFoundError:
            return []
        for line in lines:
            try:
                record = json.loads(line)
                if record.pop("type") == "after":
                    entries[record["id"]] = replace(entries[record["id"]], after=record["after"])
                else:
                    entries[record["id"]] = Checkpoint(**record)
            except (ValueError, KeyError, TypeError):
                continue  # a torn or foreign line
        return [e for e in entries.values() if session_id is None or e.session_id == session_id]

    def get(self, checkpoint_id: int) -> Checkpoint:
        for entry in self.list():
            if entry.id == checkpoint_id:
                return entry
        raise CheckpointError(f"no checkpoint #{checkpoint_id} in this project (`sous rewind --list` shows them)")

    def _record(self, *, message_id: str, prompt: str, before: str, kind: str) -> Checkpoint:
        first_line = (prompt.strip().splitlines() or [""])[0]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with log_lock(self.log):  # the id is chosen and written under one lock: two sous processes never share one
            entry = Checkpoint(
                id=max((e.id for e in self.list()), default=0) + 1,
                session_id=self.session_id,
                message_id=message_id,
                prompt=first_line[:PROMPT_CHARS],
                before=before,
                time=time.time(),
                kind=kind,
            )
            self._write_line({"type": "entry", **{f.name: getattr(entry, f.name) for f in fields(entry)}})
        return entry

    def _ended(self, entry: Checkpoint, after: str) -> None:
        self._append({"type": "after", "id": entry.id, "after": after})

    # --- the session's moments -----------------------------------------------------------------

    async def turn_started(self, message_id: str, prompt: str) -> Checkpoint:
        """Snapshot the tree before a user turn and record the turn's entry."""
        self._open = self._record(message_id=message_id, prompt=prompt, before=await self.snapshot(), kind="turn")
        return self._open

    async def turn_ended(self) -> Checkpoint | None:
        """Snapshot the tree the turn left and note it on the turn's entry; returns the entry."""
        if self._open is None:
            return None
        entry, self._open = self._open, None
        after = await self.snapshot()
        self._ended(entry, after)
        return replace(entry, after=after)

    async def line_changes(self, old: str, new: str) -> builtins.list[tuple[str, int, int]]:
        """(path, lines added, lines removed) for each file differing from commit `old` to `new`;
        a binary file counts 0 and 0."""
        if old == new:
            return []
        out = (await self._git("diff-tree", "-r", "-z", "--no-renames", "--numstat", old, new)).decode(
            "utf-8", "surrogateescape"
        )
        changes = []
        for row in out.split("\0"):
            added, _, rest = row.partition("\t")
            removed, _, path = rest.partition("\t")
            if path:
                changes.append((path, int(added) if added.isdigit() else 0, int(removed) if removed.isdigit() else 0))
        return changes

    # --- rewinding -----------------------------------------------------------------------------

    # In this class `list` names the method, hence `builtins.list`.
    async def outside_changes(self, since: Checkpoint | None = None, now: str = "") -> builtins.list[str]:
        """Paths changed by something other than sous since `since` (else since sous's last
        snapshot): between the end of one turn and the start of the next, and since the last."""
        entries = self.list()
        entries = [e for e in entries if e.id >= since.id] if since is not None else entries[-1:]
        if not entries:
            return []
        now = now or await self.snapshot()
        paths: set[str] = set()
        for done, following in itertools.pairwise(entries):
            if done.after and done.after != following.before:  # no end snapshot: the turn died; unknown
                paths.update(path for _, path in await self._diff(done.after, following.before))
        last = entries[-1]
        paths.update(path for _, path in await self._diff(last.after or last.before, now))
        return sorted(paths)

    async def would_restore(self, entry: Checkpoint) -> builtins.list[str]:
        """The paths `restore_code(entry)` would write or delete, changing nothing but the snapshots."""
        now = await self.snapshot()
        return sorted(path for _, path in await self._diff(now, entry.before))

    async def restore_code(self, entry: Checkpoint, *, force: bool = False) -> Restored:
        """Make the working tree what it was before `entry`'s turn (see the module doc). Raises
        `RewindRefused` (nothing changed) when that would overwrite changes made outside sous."""
        now = await self.snapshot()
        changes = await self._diff(now, entry.before)
        if not force:
            outside = set(await self.outside_changes(entry, now))
            clash = sorted(outside & {path for _, path in changes})
            if clash:
                shown = ", ".join(clash[:5]) + (f" and {len(clash) - 5} more" if len(clash) > 5 else "")
                raise RewindRefused(
                    f"not restored: {len(clash)} file(s) changed outside sous since its last "
                    f"checkpoint would be overwritten ({shown}); confirm to restore anyway",
                    clash,
                )
        undo = self._record(
            message_id="", prompt=f"(the files before rewinding to checkpoint #{entry.id})", before=now, kind="rewind"
        )
        write = [p for status, p in changes if status != "D"]
        gone = [p for status, p in changes if status == "D"]
        # A path the checkpoint holds but the tree now lacks yet has on disk is outside the snapshots now
        # (ignored, or grown past the cap): leave it alone.
        skipped = [p for status, p in changes if status == "A" and os.path.lexists(os.path.join(self.project_dir, p))]
        write = [p for p in write if p not in set(skipped)]
        if write:
            index = str(self.git_dir / "index.restore")
            try:
                await self._git("read-tree", entry.before, env={"GIT_INDEX_FILE": index})
                await self._git(
                    "checkout-index",
                    "-f",
                    "-z",
                    "--stdin",
                    env={"GIT_INDEX_FILE": index},
                    stdin="\0".join(write).encode("utf-8", "surrogateescape"),
                )
            finally:
                Path(index).unlink(missing_ok=True)
        for path in gone:
            full = Path(self.project_dir, path)
            full.unlink(missing_ok=True)
            _prune_empty(full.parent, Path(self.project_dir))
        # The restored tree is sous's own doing: noted, so that it never counts as an outside change.
        after = await self.snapshot()
        self._ended(undo, after)
        return Restored(written=write, deleted=gone, skipped=skipped, undo=replace(undo, after=after))


@contextlib.contextmanager
def log_lock(log: Path) -> Iterator[None]:
    """Hold the lock of a project's checkpoint log (`<log>.lock`): appending an entry and
    rewriting the log when pruning take it, so that neither loses the other's lines."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): appends and prunes are not serialised
        yield
        return
    with open(log.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _stamp(path: Path) -> tuple[int, int, int]:
    """What tells one version of a file from the next: git writes its index anew and renames it into
    place, so its inode changes even when the clock is too coarse to tell two writes apart."""
    try:
        st = path.stat()
    except OSError:
        return (0, 0, 0)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _prune_empty(folder: Path, root: Path) -> None:
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def rewind_conversation(messages: Sequence[Any], entry: Checkpoint) -> list[Any]:
    """The history as it was before `entry`'s prompt. Raises `CheckpointError` when the prompt is
    no longer in it (compacted away, or another session's)."""
    for i, message in enumerate(messages):
        if entry.message_id and getattr(message, "id", None) == entry.message_id:
            return list(messages[:i])
    raise CheckpointError(
        f"checkpoint #{entry.id}'s prompt is not in this conversation (compacted away, or "
        "from another session); only the code can be restored"
    )


# The middleware that takes a session's checkpoints, by concept in its own module.
from .recorder import Recorder as Recorder  # noqa: E402
from .recorder import attach as attach  # noqa: E402
