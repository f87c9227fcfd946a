"""One owner per output folder: an OS-level lock that ``climb run``, ``climb transfer`` and ``climb tune``
take before they write anything.

The lock is ``<folder>/.climb.lock``, held with ``fcntl.flock`` (exclusive, non-blocking) for the whole
run by the process that writes (the main process under data parallelism, the driver under Ray). The
operating system releases it when that process exits, however it exits (``kill -9`` included), so a
lock is never left behind: a later process simply takes it. The file also records who holds it (host,
process id, command, start time), so a second process is refused with one paragraph naming the owner;
when it finds the record of a process on this host that is no longer running (its lock already
released by the system), it says that it takes the folder over.

Network file systems that do not support ``flock`` (some NFS set-ups) make the lock advisory only:
:func:`acquire` then warns once and goes on.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from climb_harness.api.errors import RunError

__all__ = ["LOCK_FILE", "FolderLock", "FolderLockedError", "acquire"]

LOCK_FILE = ".climb.lock"


class FolderLockedError(RunError):
    """Another process holds the output folder's lock; the message names it."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _describe(owner: dict[str, Any]) -> str:
    command = " ".join(str(part) for part in owner.get("command", []))[:160]
    return (f"process {owner.get('pid', '?')} on {owner.get('host', '?')}, started {owner.get('started', '?')}"
            + (f" ({command})" if command else ""))


def _read_owner(handle: IO[str]) -> dict[str, Any]:
    handle.seek(0)
    try:
        owner = json.loads(handle.read(4096) or "{}")
    except (ValueError, RecursionError):
        return {}
    return owner if isinstance(owner, dict) else {}


class FolderLock:
    """A held lock; :meth:`release` (or the process's exit) gives it up."""

    def __init__(self, path: Path, handle: IO[str] | None) -> None:
        self.path = path
        self._handle = handle

    def release(self) -> None:
        if self._handle is None:
            return
        import fcntl

        try:
            self._handle.seek(0)
            self._handle.truncate()
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
        finally:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(folder: Path, what: str, warn: Callable[[str], None] | None = None) -> FolderLock:
    """Take ``folder``'s lock (creating the folder), or raise :class:`FolderLockedError` naming its owner.

    Args:
        folder: The output folder.
        what: What the caller is (``"climb run"``), for the message another process gets.
        warn: Where to say that a dead owner's folder is taken over (default: stderr).
    """
    say = warn or (lambda line: print(line, file=sys.stderr))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one writer per folder is then the user's to keep
        return FolderLock(path, None)
    try:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
    except OSError as exc:
        raise RunError(f"Cannot create the lock file {path} ({exc.strerror}); make {folder} writable or choose "
                       "another output folder.") from None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = _read_owner(handle)
        handle.close()
        raise FolderLockedError(
            f"{folder} is in use by another climb-harness process ({_describe(owner)}): two processes writing one "
            f"folder would mix their results. Nothing was written. Wait for it to finish (or stop it), or choose "
            f"another output folder for this {what}.") from None
    except OSError as exc:  # a file system without flock
        say(f"warning: cannot lock {path} ({exc.strerror}); make sure no other process writes {folder}.")
        return FolderLock(path, handle)
    previous = _read_owner(handle)
    if previous and previous.get("host") == socket.gethostname() and isinstance(previous.get("pid"), int) \
            and previous["pid"] != os.getpid() and not _alive(previous["pid"]):
        say(f"{what}: taking over {folder} from {_describe(previous)}, which is no longer running.")
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "command": sys.argv[:20],
                             "what": what, "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}))
    handle.flush()
    return FolderLock(path, handle)
