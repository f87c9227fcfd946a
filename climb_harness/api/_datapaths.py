"""Paths for task plugins (re-exported by :mod:`climb_harness.api`): files stay inside their folder,
releases are found as they unpack, and images carry the largest size their task decodes.

* :func:`resolve_inside` and :func:`list_folder`: a path named by the data (an image file name, an
  identifier) must lead to a file inside the folder the layout names for it, after following
  symbolic links. The folder itself may be a link (r2c's own instructions link ``vcr1images/`` in
  from another disk): it is resolved first and is the boundary for what it holds. Default: links
  out of it are refused, because a release archive can carry links (tar keeps them) and a link out
  lets a data file make the harness read any file the user can read, or a device that never ends;
  a task option ``allow_symlinks_out: true`` allows them.
* :func:`find_layout` picks where a release's files are among the layouts it is found in (as it
  unpacks or clones, or as CLiMB rearranged it); :func:`misplaced_folder` and
  :func:`misplaced_hint` recognise a data folder set one level too deep or too high.
* :class:`ImagePath`: an image file's path (a ``str``) carrying ``max_pixels``, the largest image
  the task decodes; :func:`climb_harness.api.load_image` checks it from the header first.

Standard library only.
"""

from __future__ import annotations

import dataclasses
import os
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from climb_harness.api.errors import DataError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "FolderListing",
    "ImagePath",
    "find_layout",
    "list_folder",
    "misplaced_folder",
    "misplaced_hint",
    "require_files",
    "resolve_inside",
]

#: The largest image :func:`climb_harness.api.load_image` decodes when nothing else is said: 50
#: megapixels (an 8K frame is 33, a 45-megapixel camera's photo passes), about 150 MB decoded as
#: RGB; Pillow's own guard warns only at 89 and refuses at 179 megapixels. Tasks set their own,
#: lower limits (:class:`ImagePath`, the ``max_image_pixels`` option).
DEFAULT_MAX_PIXELS = 50_000_000


class ImagePath(str):
    """An image file's path, as a ``str`` (equal to and usable as the plain path), that carries the
    largest image its task decodes.

    A task puts these in :attr:`climb_harness.api.Example.images`; any encoder's
    ``load_image(path)`` then refuses a larger image from its header, before decoding, naming the
    task's option. It pickles (DataLoader workers) with its limit.

    Attributes:
        max_pixels: Width times height at most (``None``: :data:`DEFAULT_MAX_PIXELS`).

    Example:
        >>> p = ImagePath("/data/vqav2/val2014/COCO_val2014_000000000042.jpg", max_pixels=4_000_000)
        >>> p == "/data/vqav2/val2014/COCO_val2014_000000000042.jpg", p.max_pixels, isinstance(p, str)
        (True, 4000000, True)
        >>> import pickle; pickle.loads(pickle.dumps(p)).max_pixels
        4000000
    """

    max_pixels: int | None

    def __new__(cls, path: str | os.PathLike[str], max_pixels: int | None = None) -> ImagePath:
        obj = super().__new__(cls, os.fspath(path))
        obj.max_pixels = max_pixels
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (ImagePath, (str(self), self.max_pixels))


def _inside(real: str, real_root: str) -> bool:
    """Whether a resolved path is ``real_root`` or below it."""
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _outside(named_by: str, shown: str, real: str, boundary: str) -> DataError:
    prefix = f"{named_by}: " if named_by else ""
    return DataError(
        f"{prefix}the path {shown} leads to {real}, outside the folder {boundary} (after following symbolic "
        "links). A task reads only files inside the folder its layout names, so that a data file cannot make "
        "it read other files of the machine. Fix: put the file itself there instead of a link, or, if the "
        "link is meant (the data kept on another disk), set the task option allow_symlinks_out: true."
    )


def resolve_inside(
    root: str | os.PathLike[str],
    relative: str | os.PathLike[str],
    *,
    allow_outside: bool = False,
    named_by: str = "",
) -> Path:
    """``root / relative``, refused when it leads outside ``root`` (after following symbolic links).

    For a path the data names (a file name in a record, an identifier): ``..`` parts, an absolute
    path or a link to elsewhere cannot make the task read a file outside its folder. ``root`` itself
    may be a link; it is resolved first.

    Args:
        root: The folder the path must stay in (e.g. the task's images folder).
        relative: The path, relative to ``root``, as the data gives it.
        allow_outside: Skip the check (the task option ``allow_symlinks_out``).
        named_by: Who named the path, for the message (e.g. ``"VCR file X, line 3, field 'img_fn'"``).

    Returns:
        ``root / relative`` (not resolved: the path the task would have used).

    Raises:
        DataError: Naming the path, where it leads and the option that allows it.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> resolve_inside(root, "images/1.png") == root / "images" / "1.png"
        True
        >>> resolve_inside(root, "../../etc/passwd")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        climb_harness.api.DataError: the path '../../etc/passwd' leads to /etc/passwd, outside the folder ...
    """
    text = os.fspath(relative)
    shown = repr(text) if len(text) <= 200 else repr(text[:200]) + "…"
    if "\x00" in text:
        raise DataError(
            f"{named_by + ': ' if named_by else ''}the path {shown} holds a NUL character, which no "
            "file name can hold. Fix: re-download the file that names it."
        )
    candidate = Path(root) / text
    if allow_outside:
        return candidate
    real_root, real = os.path.realpath(root), os.path.realpath(candidate)
    if not _inside(real, real_root):
        raise _outside(named_by, shown, real, real_root)
    return candidate


@dataclasses.dataclass(frozen=True)
class FolderListing:
    """The regular files of one folder, listed once, with links that lead out of bounds set apart.

    Attributes:
        folder: The folder listed.
        files: The names of its regular files (through links that stay in bounds).
        outside: Name -> resolved path, for the links (or, when the folder itself leads out of
            bounds, the files) that would be read from outside the boundary.
    """

    folder: Path
    files: frozenset[str]
    outside: Mapping[str, str]
    boundary: str

    def __contains__(self, name: object) -> bool:
        return name in self.files

    def require(self, name: str, missing: Callable[[Path], Exception], *, named_by: str = "") -> Path:
        """``folder / name``, which must be one of :attr:`files`.

        Args:
            name: The file name.
            missing: Builds the error for an absent file from its path (the task's own message).
            named_by: Who named the file, for the message of a link that leads out.

        Raises:
            DataError: When the file is a link (or in a folder) leading outside the boundary.
            Exception: ``missing(path)`` when it is not there.
        """
        if name in self.outside:
            raise _outside(named_by, repr(str(self.folder / name)), self.outside[name], self.boundary)
        if name not in self.files:
            raise missing(self.folder / name)
        return self.folder / name


_LISTINGS: OrderedDict[Hashable, FolderListing] = OrderedDict()
#: How many folder listings :func:`list_folder` keeps (a release may spread its images over
#: thousands of folders: VCR has one per movie).
LISTING_CACHE_SIZE = 4096


def list_folder(
    folder: str | os.PathLike[str],
    boundary: str | os.PathLike[str] | None = None,
    *,
    allow_outside: bool = False,
) -> FolderListing:
    """The files of ``folder``, each checked to lie inside ``boundary`` (default: the folder itself).

    One ``scandir`` per folder (cached while the folder is unchanged): only symbolic links are
    resolved, so a folder of 100,000 images costs one listing, not 100,000 path resolutions.
    Entries that are not regular files (folders, pipes, devices) are not listed.

    Args:
        folder: The folder to list.
        boundary: The folder nothing may lead out of (resolved first); e.g. the images folder of
            the layout when ``folder`` is one of its subfolders.
        allow_outside: Do not check (the task option ``allow_symlinks_out``).

    Returns:
        The listing.

    Raises:
        FileNotFoundError: When ``folder`` does not exist or is not a folder.
    """
    folder = Path(folder)
    try:
        info = os.stat(folder)
    except NotADirectoryError as exc:
        raise FileNotFoundError(str(folder)) from exc
    real_boundary = os.path.realpath(boundary if boundary is not None else folder)
    key = (os.fspath(folder), info.st_mtime_ns, info.st_ino, real_boundary, allow_outside)
    if key in _LISTINGS:
        _LISTINGS.move_to_end(key)
        return _LISTINGS[key]
    real_folder = os.path.realpath(folder)
    folder_inside = allow_outside or _inside(real_folder, real_boundary)
    files: set[str] = set()
    outside: dict[str, str] = {}
    try:
        entries = os.scandir(folder)
    except NotADirectoryError as exc:
        raise FileNotFoundError(str(folder)) from exc
    with entries:
        for entry in entries:
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if not allow_outside and not _inside(target, real_boundary):
                    outside[entry.name] = target
                elif os.path.isfile(target):
                    files.add(entry.name)
            elif entry.is_file(follow_symlinks=False):
                if folder_inside:
                    files.add(entry.name)
                else:
                    outside[entry.name] = os.path.join(real_folder, entry.name)
    listing = FolderListing(folder, frozenset(files), outside, real_boundary)
    _LISTINGS[key] = listing
    while len(_LISTINGS) > LISTING_CACHE_SIZE:
        _LISTINGS.popitem(last=False)
    return listing


def require_files(
    folder: str | os.PathLike[str],
    names: Iterable[str],
    missing: Callable[[Path], Exception],
    *,
    boundary: str | os.PathLike[str] | None = None,
    allow_outside: bool = False,
    named_by: str = "",
) -> None:
    """Check that ``folder`` holds every one of ``names`` as a regular file inside ``boundary``.

    What a task does before handing out image paths: one listing of the folder (:func:`list_folder`),
    then each name looked up in it, in the order given (sort them for a stable first error).

    Args:
        folder: The folder (its absence is ``missing(folder)``).
        names: The file names the data needs.
        missing: Builds the task's error for an absent path.
        boundary: What nothing may lead out of (default: ``folder``).
        allow_outside: The task option ``allow_symlinks_out``.
        named_by: Who named the files, for the message of a link that leads out.

    Raises:
        Exception: ``missing(path)`` for the folder or the first absent file.
        DataError: For the first file that leads outside the boundary.
    """
    try:
        listing = list_folder(folder, boundary, allow_outside=allow_outside)
    except FileNotFoundError:
        raise missing(Path(folder)) from None
    for name in names:
        listing.require(name, missing, named_by=named_by)


# --------------------------------------------------------------------------- layouts
def find_layout(root: str | os.PathLike[str], places: Sequence[str], probes: Sequence[str]) -> Path:
    """Where under ``root`` a release's files are: the first of ``places`` holding any of ``probes``.

    A release is found as it unpacks or clones and as CLiMB rearranged it; list the places in order
    of preference.

    Args:
        root: The task's data folder.
        places: Folders relative to ``root`` (``""``: the folder itself), e.g. NLVR2's
            ``("", "data", "nlvr2/data")``.
        probes: File names that mark the release (any one suffices), e.g. ``("train.json", "dev.json")``.

    Returns:
        ``root / place`` of the first place holding a probe; ``root / places[0]`` when none does
        (so messages name the preferred layout).

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp()); (root / "data").mkdir(); (root / "data" / "dev.json").touch()
        >>> find_layout(root, ["", "data"], ["train.json", "dev.json"]) == root / "data"
        True
    """
    root = Path(root)
    for place in places:
        if any((root / place / probe).is_file() for probe in probes):
            return root / place
    return root / places[0]


def _held(folder: Path, expected: Sequence[str]) -> int:
    try:
        return sum((folder / rel).exists() for rel in expected)
    except OSError:
        return 0


def misplaced_folder(root: str | os.PathLike[str], expected: Sequence[str]) -> Path | None:
    """The folder one level up or down from ``root`` that holds more of the expected paths, if any.

    Recognises a data folder set one level too deep (at the unpacked ``aclImdb/`` itself, when the
    layout is ``aclImdb/train/...``) or too high (at the parent of the task's folder). Looks at the
    parent and at most 1,000 subfolders; reads no file.

    Args:
        root: The data folder the task was given.
        expected: The layout's paths relative to it (e.g. ``["aclImdb/train/neg", ...]``).

    Returns:
        The folder holding the most of them, when that is more than ``root`` holds (and ``root``
        does not hold them all); else ``None``.
    """
    root = Path(root)
    here = _held(root, expected)
    if not expected or here == len(expected):
        return None
    best, best_count = None, here
    if root.parent != root and (count := _held(root.parent, expected)) > best_count:
        best, best_count = root.parent, count
    try:
        with os.scandir(root) as entries:
            children = sorted(e.path for e in islice(entries, 1000) if e.is_dir())
    except OSError:
        children = []
    for child in children:
        if (count := _held(Path(child), expected)) > best_count:
            best, best_count = Path(child), count
    return best


def misplaced_hint(root: str | os.PathLike[str], expected: Sequence[str], option: str = "data_dir") -> str:
    """A sentence saying the data folder is one level off and the exact fix, or ``""``.

    Example:
        >>> import tempfile
        >>> top = Path(tempfile.mkdtemp()); (top / "aclImdb" / "train").mkdir(parents=True)
        >>> hint = misplaced_hint(top / "aclImdb", ["aclImdb/train"])
        >>> hint == (f"The folder {top / 'aclImdb'} is one level too deep: {top} holds 1 of the 1 "
        ...          f"expected path(s). Fix: set the task option data_dir to {top}.")
        True
    """
    root = Path(root)
    found = misplaced_folder(root, expected)
    if found is None:
        return ""
    level = "too deep" if found == root.parent else "too high"
    return (
        f"The folder {root} is one level {level}: {found} holds {_held(found, expected)} of the "
        f"{len(expected)} expected path(s). Fix: set the task option {option} to {found}."
    )
