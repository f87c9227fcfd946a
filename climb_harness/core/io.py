"""Files written so that nothing is lost: atomic writes (a reader or a killed process sees the old file or the new
one, never half of one), folders created with a message naming what is in the way, orphan temporaries removed.

A failed write (a full disk, a read-only or unwritable folder) is a :class:`RunError` naming the file and the
reason, with the temporary file removed and the previous file untouched, so ``--resume`` continues once it is
fixed. A process whose files another process writes (data parallelism's other processes) turns its own writes
off with :func:`discard_writes`.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from climb_harness.api.errors import RunError
from climb_harness.core.messages import os_reason

__all__ = ["ELSEWHERE", "WRITE_FIX", "atomic_write_bytes", "discard_writes", "ensure_dir", "remove_orphan_temps",
           "write_json", "writes_enabled"]

#: How atomic writes name their temporary files: ``.<file name>.<8 random characters>.tmp``.
TEMP_PREFIX, TEMP_SUFFIX = ".", ".tmp"
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$")

#: The fix a failed write suggests unless the caller knows a better one, and where else to write.
WRITE_FIX = "free space (or make the folder writable) and rerun with --resume"
ELSEWHERE = "choose another --output folder"

_writes = True


def discard_writes() -> None:
    """From now on this process writes no file (its results are another process's to write)."""
    global _writes
    _writes = False


def writes_enabled() -> bool:
    """Whether this process writes files (true unless :func:`discard_writes` was called)."""
    return _writes


def _blocking_file(path: Path) -> Path | None:
    """The existing non-folder at or above ``path`` that stops ``path`` from being a folder."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return None if candidate.is_dir() else candidate
    return None


def ensure_dir(path: Path, what: str = "output folder", fix: str = WRITE_FIX,
               elsewhere: str = ELSEWHERE) -> None:
    """``mkdir -p path``, or a RunError naming what is in the way (a file, a read-only disk)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = _blocking_file(path)
        if blocker is not None:
            raise RunError(
                f"Cannot create the {what} {path}: {blocker} is a file, not a folder. Nothing was written "
                f"there. Fix: {elsewhere}, or move {blocker} away."
            ) from None
        raise RunError(
            f"Cannot create the {what} {path}: {os_reason(exc)}. Nothing was written there. "
            f"Fix: {fix}, or {elsewhere}."
        ) from None


@functools.cache
def _file_mode() -> int:
    """The mode a plain ``open()`` would give a new file (0o666 less the umask): mkstemp's 0o600 would make
    results and reports unreadable to the collaborators a shared folder is for."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _write_temp(tmp: str, fd: int, data: bytes) -> None:
    """Write ``data`` to the temporary file ``tmp`` (open as ``fd``, closed here) and fsync it."""
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fchmod(handle.fileno(), _file_mode())
        os.fsync(handle.fileno())


def atomic_write_bytes(path: Path, data: bytes, fix: str = WRITE_FIX, elsewhere: str = ELSEWHERE) -> None:
    """Write ``data`` to ``path`` so that a reader (or a killed process) sees the old file or the new
    one, never half of one: write a temporary file beside it, fsync, then rename over.

    An OSError (ENOSPC, EACCES, EROFS, ...) becomes a RunError naming ``path``, the reason and
    ``fix``; the temporary file is removed and the previous ``path`` is left as it was."""
    if not _writes:  # data parallel: the main process writes, the others hold the same state
        return
    ensure_dir(path.parent, "folder", fix, elsewhere)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMP_PREFIX}{path.name}.", suffix=TEMP_SUFFIX)
        _write_temp(tmp, fd, data)
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        if path.is_dir():
            raise RunError(f"Could not write {path}: a folder of that name is in the way. "
                           f"Fix: move it away, or {elsewhere}.") from None
        kept = "the previous version of it is intact" if path.exists() else "no partial file was left"
        raise RunError(f"Could not write {path}: {os_reason(exc)}; {kept}. Fix: {fix}.") from None
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp: str | None) -> None:
    if tmp is not None:
        try:
            Path(tmp).unlink(missing_ok=True)
        except OSError:
            pass  # the write already failed; its error is the one to report


def write_json(path: Path, obj: Any, fix: str = WRITE_FIX, elsewhere: str = ELSEWHERE) -> None:
    data = (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode("utf-8")
    atomic_write_bytes(path, data, fix, elsewhere)


def remove_orphan_temps(folders: Sequence[Path], owned: Sequence[str]) -> tuple[int, int]:
    """Delete the temporary files that killed atomic writes left in ``folders`` (not recursive).

    Only names of :func:`atomic_write_bytes`'s own pattern whose target file name matches one of the
    ``owned`` glob-like patterns (``fnmatch``) are touched. Returns ``(files, bytes)`` removed.
    Under data parallelism only the main process cleans up (another one would delete its writes in flight)."""
    from fnmatch import fnmatchcase

    if not _writes:  # another process's writes in flight must not be taken for orphans
        return 0, 0

    count = size = 0
    for folder in folders:
        try:
            children = list(folder.iterdir())
        except OSError:
            continue
        for child in children:
            match = _TEMP_NAME.match(child.name)
            if not match or not any(fnmatchcase(match["name"], p) for p in owned) or not child.is_file():
                continue
            try:
                length = child.stat().st_size
                child.unlink()
            except OSError:
                continue
            count, size = count + 1, size + length
    return count, size
