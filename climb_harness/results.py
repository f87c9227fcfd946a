"""results.json: atomic writing, reading back (validated), and the provenance every result carries.

Every file a run writes goes through :func:`atomic_write_bytes`: a reader, or a process killed
half-way, sees the old file or the new one, never half of one. A failed write (a full disk, a
read-only or unwritable folder) is a :class:`RunError` naming the file and the reason, with the
temporary file removed and the previous file untouched, so ``--resume`` continues once it is fixed.
"""

from __future__ import annotations

import datetime as _dt
import errno
import functools
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from climb_harness._version import __version__
from climb_harness.api import API_VERSION
from climb_harness.errors import ClimbError, PluginError, RunError

RESULTS_FILE = "results.json"
SCHEMA_VERSION = 1
T = TypeVar("T")

#: How atomic writes name their temporary files: ``.<file name>.<8 random characters>.tmp``.
TEMP_PREFIX, TEMP_SUFFIX = ".", ".tmp"
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$")

#: The fix a failed write suggests unless the caller knows a better one, and where else to write.
WRITE_FIX = "free space (or make the folder writable) and rerun with --resume"
ELSEWHERE = "choose another --output folder"


# --------------------------------------------------------------------------- messages
def clip(text: object, limit: int = 240) -> str:
    """``str(text)`` on one line, cut to ``limit`` characters: what an error echoes from files or plugins."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe_exception(exc: BaseException, limit: int = 240) -> str:
    """``TypeName: message``, bounded (an exception's text may quote a whole file or tensor)."""
    text = clip(exc, limit)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def os_reason(exc: OSError) -> str:
    """``[Errno 28] No space left on device`` for an OSError, bounded."""
    if exc.errno is None:
        return describe_exception(exc, 160)
    name = errno.errorcode.get(exc.errno, str(exc.errno))
    return f"[Errno {exc.errno} {name}] {clip(exc.strerror or os.strerror(exc.errno), 120)}"


def component_failure(kind: str, name: str, obj: object, hook: str, exc: BaseException,
                      source: str | None = None) -> PluginError:
    """A bounded PluginError naming the component, where its code comes from, the call and the exception."""
    origin = source or component_source(obj) or "distribution unknown"
    return PluginError(
        f"The {kind} {name!r} ({origin}) failed in {hook}: {describe_exception(exc, 300)}. This is a fault "
        f"of the {kind}'s plugin, not of the config; the run stopped, and the tasks it had completed are "
        f"checkpointed and resumable. Fix the plugin (or report it to its authors), then rerun with --resume."
    )


def blame(kind: str, name: str, obj: object, hook: str, call: Callable[[], T],
          source: str | None = None) -> T:
    """``call()``; an exception that is not already a ClimbError becomes :func:`component_failure`."""
    try:
        return call()
    except ClimbError:
        raise
    except Exception as exc:
        if is_out_of_memory(exc):
            raise out_of_memory(exc, f"{kind} {name!r} {hook}") from exc
        raise component_failure(kind, name, obj, hook, exc, source) from exc


def out_of_memory(exc: BaseException, where: str) -> RunError:
    """Running out of memory is the size of the run, not a plugin's fault: say what to shrink."""
    return RunError(
        f"Out of memory in {where} ({describe_exception(exc, 200)}). The tasks completed so far are "
        f"checkpointed. Fix: lower training.batch_size or training.eval_batch_size (or use a device with "
        f"more memory), then rerun with --resume."
    )


def is_out_of_memory(exc: BaseException) -> bool:
    # torch's OutOfMemoryError, recognised without importing torch (climb report must stay light)
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"


# --------------------------------------------------------------------------- writing
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
    from climb_harness.parallel import is_main_process

    if not is_main_process():  # data parallel: the main process writes, the others hold the same state
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

    from climb_harness.parallel import is_main_process

    if not is_main_process():
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


# --------------------------------------------------------------------------- reading
_REREAD_FIX = ("Fix: if a run wrote it, delete it (or move it away) and run the experiment again to "
               "recompute it (--resume cannot continue from it); otherwise restore a good copy.")


def schema_version_of(path: Path) -> Any:
    """The ``schema_version`` a results file declares, or None when it cannot be read (read_results says why)."""
    from climb_harness._bounded_json import load

    try:
        data = load(path)
    except (OSError, ValueError):
        return None
    return data.get("schema_version") if isinstance(data, dict) else None


def read_results(path: Path) -> dict[str, Any]:
    """``path`` parsed and checked against ``schemas/results.schema.json`` (and the matrix shapes).

    A missing file raises FileNotFoundError; an unreadable, unparsable or invalid one a RunError
    naming the file, the first problems (with their JSON paths) and the fix."""
    from climb_harness._bounded_json import load

    try:  # bounded: size, nesting depth and number limits; NaN and Infinity refused, naming line and column
        results = load(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        reason = os_reason(exc)
        raise RunError(f"{path} cannot be read ({reason}); it was left as it is. {_REREAD_FIX}") from None
    except ValueError as exc:
        reason = clip(exc, 300)
        raise RunError(f"{path} is not valid JSON ({reason}); it was left as it is. {_REREAD_FIX}") from None
    problems = results_problems(results)
    if problems:
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        raise RunError(f"{path} is not a valid climb-harness results file: {shown}. It was left as it is. "
                       f"{_REREAD_FIX}")
    return results


def write_results(path: Path, results: Mapping[str, Any]) -> None:
    """results.json, atomically, after checking it against its own schema: a results file the harness would
    refuse to read back (a score of 1e308 that a damaged input smuggled in, a NaN) is never written; the
    failure is the harness's, and names the file and the fields."""
    problems = results_problems(results)
    if problems:
        raise RunError(f"climb-harness built a results file for {path} that fails its own schema "
                       f"({clip('; '.join(problems[:3]), 400)}); nothing was written. This is a bug in the harness (an "
                       "input it read should have been refused first): please report it with the command you ran.")
    write_json(path, results)


def results_problems(results: Any) -> list[str]:
    """Schema violations (``$.path: message``, bounded) and shape problems of a results object."""
    from climb_harness.schemas import validate

    found = [f"{v.path}: {clip(v.message, 120)}" for v in validate("results", results)]
    if found or not isinstance(results, Mapping):
        return found
    return _shape_problems(results)


def _shape_problems(results: Mapping[str, Any]) -> list[str]:
    """What the schema cannot say: one score per task in every row, at most one row per task."""
    width = len(results["tasks"])
    found = [f"$.initial_scores: {len(results['initial_scores'])} scores for {width} tasks"] \
        if len(results["initial_scores"]) != width else []
    for key in ("accuracy_matrix", "accuracy_matrix_ci", "test_accuracy_matrix"):
        rows = results.get(key, [])
        if len(rows) > width:
            found.append(f"$.{key}: {len(rows)} rows for {width} tasks")
        found += [f"$.{key}[{i}]: {len(row)} entries for {width} tasks (rows must not be ragged)"
                  for i, row in enumerate(rows) if len(row) != width]
    return found


def validate_results(results: Mapping[str, Any]) -> list[str]:
    from climb_harness.schemas import validate

    return [str(v) for v in validate("results", dict(results))]


# --------------------------------------------------------------------------- provenance
def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _version_of(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.cache
def _distributions_of_packages() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def component_source(obj: object) -> str | None:
    """``"<distribution> <version>"`` that installed the code of ``obj``, else ``"module <name>"``."""
    module = getattr(obj, "__module__", None) or type(obj).__module__
    if not isinstance(module, str) or module == "builtins":
        return None
    dists = _distributions_of_packages().get(module.split(".")[0]) or []
    return f"{dists[0]} {_version_of(dists[0]) or '?'}" if dists else f"module {module}, distribution unknown"


def git_revision() -> str | None:
    """The harness checkout's commit, when it is installed from one (editable install)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def provenance(plugins: list[dict[str, str]], seed: int, device: str) -> dict[str, Any]:
    return {
        "harness_version": __version__,
        "api_version": API_VERSION,
        "plugins": plugins,
        "git_revision": git_revision(),
        "seed": seed,
        "device": device,
        "python": sys.version.split()[0],
        "torch": _version_of("torch"),
        "transformers": _version_of("transformers"),
        "platform": platform.platform(),
        "started_at": now(),
        "finished_at": None,
    }


