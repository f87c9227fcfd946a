"""The data helpers every task uses: data folders, the cache folder, fingerprints, low-shot samples, images."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from climb_harness.api._datapaths import DEFAULT_MAX_PIXELS
from climb_harness.api._tasks import ImageLike
from climb_harness.api.errors import UnreadableImageError

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

#: The environment variable naming the folder that holds every task's data folder.
DATA_ROOT_ENV = "CLIMB_DATA_ROOT"


def data_dir(given: str | os.PathLike[str] | None, folder: str, task: str | None = None) -> Path:
    """A task's data folder: the ``data_dir`` option if given, else ``$CLIMB_DATA_ROOT/<folder>``.

    No absolute path lives in code: a user points at the data with the option or the variable.

    Args:
        given: The task's ``data_dir`` option (``None``: use the environment variable).
        folder: The task's folder under the data root (conventionally its registry name; tasks
            reading one release may share it).
        task: The task's registry name, for the command the error suggests (default: ``folder``).

    Returns:
        The folder (not checked for existence).

    Raises:
        FileNotFoundError: When neither is set; the message says how to set either.

    Example:
        >>> str(data_dir("/data/vqa", "vqav2"))
        '/data/vqa'
    """
    if given:
        return Path(given).expanduser()
    root = os.environ.get(DATA_ROOT_ENV)
    if not root:
        raise FileNotFoundError(
            f"no data folder for {task or folder!r}: set the task's data_dir option, or the environment "
            f"variable {DATA_ROOT_ENV} to a folder DIR holding {folder}/ (`climb data check {task or folder} "
            f"--data-root DIR` says what is expected under DIR/{folder}/)"
        )
    return Path(root).expanduser() / folder


def cache_dir(*parts: str) -> Path:
    """The harness's cache folder (``$CLIMB_CACHE_DIR``, else ``$XDG_CACHE_HOME/climb-harness``, else
    ``~/.cache/climb-harness``), or a subfolder of it, created if missing.

    Plugins keep derived data here (e.g. an answer vocabulary), keyed by the contents they derive from.

    Args:
        *parts: Subfolder names (e.g. ``"vqav2"``).

    Returns:
        The folder.
    """
    if env := os.environ.get("CLIMB_CACHE_DIR"):
        root = Path(env)
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "climb-harness"
    folder = root.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def files_fingerprint(paths: Iterable[Path | str]) -> str:
    """A short hash of files' names, sizes and modification times (``missing`` for an absent one).

    What :meth:`Task.fingerprint` needs to notice changed data without reading it: cheap enough to
    compute for every run, and it never raises.

    Args:
        paths: The files (e.g. a task's annotation files), in a fixed order.

    Returns:
        16 hex characters.

    Example:
        >>> files_fingerprint(["/no/such/file.json"]) == files_fingerprint(["/no/such/file.json"])
        True
    """
    import hashlib

    digest = hashlib.sha256()
    for path in map(Path, paths):
        try:
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        except OSError:
            digest.update(f"{path.name}:missing;".encode())
    return digest.hexdigest()[:16]


def stratified_sample(labels: Sequence[Any], n: int | None, seed: int | str) -> list[int]:
    """Indices of ``n`` items drawn at random keeping each label's share; all of them if ``n`` is None.

    For tasks that offer a ``max_*_examples`` option: each label gets ``n * share`` items, rounded by
    largest remainder, and the result is sorted, so the sample keeps the data's order and is a
    function of ``(labels, n, seed)`` alone.

    Args:
        labels: One hashable label per item (any hashable: a class index, an answer string).
        n: How many to keep (``None`` or at least ``len(labels)``: all).
        seed: Seeds ``random.Random``.

    Returns:
        Sorted indices into ``labels``.

    Example:
        >>> labels = ["a", "a", "a", "b", "b", "b"]
        >>> sorted(labels[i] for i in stratified_sample(labels, 2, seed=0))
        ['a', 'b']
    """
    import math
    import random

    if n is None or n >= len(labels):
        return list(range(len(labels)))
    rng = random.Random(seed)
    groups: dict[Any, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    keys = sorted(groups, key=repr)
    quotas = {k: n * len(groups[k]) / len(labels) for k in keys}
    counts = {k: math.floor(quotas[k]) for k in keys}
    for k in sorted(keys, key=lambda k: (-(quotas[k] - counts[k]), repr(k)))[: n - sum(counts.values())]:
        counts[k] += 1
    chosen: list[int] = []
    for k in keys:
        chosen.extend(rng.sample(groups[k], counts[k]))
    return sorted(chosen)


def load_image(image: ImageLike, max_pixels: int | None = None) -> Image.Image:
    """Open a task's image (path, PIL image or HxWxC uint8 array) as an RGB PIL image.

    A file's size is read from its header first: an image of more than ``max_pixels`` (width times
    height) is refused before anything is decoded, so a decompression bomb (a small file that
    decodes to GBs) costs nothing. The limit is the argument if given, else the one the path carries
    (an :class:`ImagePath`: its task's ``max_image_pixels`` option), else :data:`DEFAULT_MAX_PIXELS`.

    Args:
        image: A file path, a PIL image, or an HxWxC (or HxW) uint8 array.
        max_pixels: The largest image decoded from a file (``None``: see above).

    Returns:
        An RGB ``PIL.Image.Image`` (a converted copy; a file is closed before returning). The whole
        file is decoded here, so a truncated file fails here and not later.

    Raises:
        UnreadableImageError: When a path does not exist, is not a regular file, is larger than the
            limit or is not a readable image (a ``DataError`` naming the file;
            ``training.skip_unreadable_images`` decides whether the run stops).

    Example:
        >>> import numpy as np
        >>> img = load_image(np.zeros((2, 3, 3), dtype=np.uint8))
        >>> img.mode, img.size
        ('RGB', (3, 2))
    """
    import stat
    import warnings

    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        limit = max_pixels or getattr(image, "max_pixels", None) or DEFAULT_MAX_PIXELS
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                raise UnreadableImageError(path, "it is not a regular file (a folder, a device or a pipe)")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the limit below is stricter
                with Image.open(path) as img:
                    width, height = img.size
                    if width * height > limit:
                        raise UnreadableImageError(
                            path, f"it is {width} x {height} = {width * height:,} pixels, more than the "
                            f"{limit:,} its task decodes at most, a guard against decompression bombs; if "
                            "the image is genuine, raise the task option max_image_pixels")
                    return img.convert("RGB")
        except (FileNotFoundError, NotADirectoryError):
            raise UnreadableImageError(path, "no such file") from None
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            if isinstance(exc, UnreadableImageError):
                raise
            raise UnreadableImageError(path, f"{type(exc).__name__}: {str(exc)[:200]}") from None
    return Image.fromarray(image).convert("RGB")
