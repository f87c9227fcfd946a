#!/usr/bin/env python3
"""Which first-party plugins a change needs tested: the selection step of `.github/workflows/plugins.yml`.

Give the changed paths (relative to the repository root) as arguments, on stdin (one a line), or let
the script ask git with ``--base REF`` (``git diff --name-only --no-renames REF...HEAD``: the changes
since HEAD's merge base with REF). It prints the plugin folders to test, one a line (``--json``: a
JSON list of ``{"folder", "distribution", "reasons"}``), in name order; nothing when none is needed.

The rules:

* a change anywhere under ``plugins/<p>/`` selects ``<p>`` (its README too: plugin tests read their
  README's option tables);
* a change to the core selects every plugin: ``climb_harness/``, ``schemas/``, ``pyproject.toml``,
  ``scripts/setup.sh``, the root ``conftest.py`` (it configures every test), and the selection itself
  (this script and the workflow), so that a change to how plugins are chosen is run on all of them once;
* anything else selects nothing: Markdown outside ``plugins/`` (README.md, CONTRIBUTING.md, ...),
  the core's own ``tests/``, ``benchmarks/``, the other ``.github/`` files (the core's tests are not
  this workflow's job);
* a plugin is a folder ``plugins/<p>/`` holding a ``pyproject.toml`` in the working tree, so a deleted
  (or renamed-away) plugin is never selected.

Exit codes: 0 (whatever was selected, even nothing), 2 for a usage error (e.g. git cannot diff REF).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

PLUGINS_DIR = "plugins"
#: Paths (a folder when it ends with "/") whose change selects every plugin.
CORE = (
    "climb_harness/",
    "schemas/",
    "pyproject.toml",
    "scripts/setup.sh",
    "conftest.py",
    "scripts/changed_plugins.py",
    ".github/workflows/plugins.yml",
)


def normalise(path: str) -> str:
    """A repository-relative POSIX path: ``./a\\b`` -> ``a/b``; surrounding blanks dropped."""
    path = path.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def is_core(path: str) -> bool:
    """Whether a change to ``path`` can change the behaviour of every plugin's checks."""
    return any(path.startswith(entry) if entry.endswith("/") else path == entry for entry in CORE)


def plugin_of(path: str) -> str | None:
    """``plugins/<p>/anything`` -> ``<p>``; ``None`` for paths outside a plugin folder."""
    parts = path.split("/")
    if len(parts) >= 3 and parts[0] == PLUGINS_DIR and parts[1]:
        return parts[1]
    return None


def select(paths: Iterable[str], plugins: Iterable[str]) -> dict[str, list[str]]:
    """The plugins to test for a list of changed paths.

    Args:
        paths: Changed paths, relative to the repository root.
        plugins: The plugin folder names that exist now (deleted ones are never selected).

    Returns:
        ``{plugin: [the changed paths that select it]}``, sorted by plugin name; a core change is
        listed under every plugin.
    """
    existing = set(plugins)
    reasons: dict[str, list[str]] = {}
    for raw in paths:
        path = normalise(raw)
        if not path:
            continue
        if is_core(path):
            chosen: Iterable[str] = existing
        else:
            plugin = plugin_of(path)
            chosen = [plugin] if plugin in existing else []
        for name in chosen:
            reasons.setdefault(name, []).append(path)
    return {name: reasons[name] for name in sorted(reasons)}


def discover_plugins(root: Path) -> list[str]:
    """The folders ``plugins/<p>/`` under ``root`` that hold a ``pyproject.toml``."""
    base = root / PLUGINS_DIR
    return sorted(p.parent.name for p in base.glob("*/pyproject.toml")) if base.is_dir() else []


def distribution_name(folder: Path) -> str:
    """``[project] name`` of ``folder/pyproject.toml`` (the folder name when it cannot be read)."""
    text = (folder / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib

        return str(tomllib.loads(text).get("project", {}).get("name") or folder.name)
    except ImportError:  # Python 3.10: read the first name = "..." of the [project] table
        match = re.search(r"^\[project\]\s*$(.*?)^name\s*=\s*[\"']([^\"']+)[\"']", text, re.M | re.S)
        return match.group(2) if match else folder.name
    except ValueError:
        return folder.name


def git_changed(root: Path, base: str) -> list[str]:
    """``git diff --name-only --no-renames BASE...HEAD`` in ``root`` (a rename lists both paths)."""
    command = ["git", "-C", str(root), "diff", "--name-only", "--no-renames", f"{base}...HEAD"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise SystemExit(_usage("git is not installed; pass the changed paths as arguments or on stdin instead"))
    if done.returncode != 0:
        detail = " ".join(done.stderr.split()) or f"exit code {done.returncode}"
        raise SystemExit(_usage(
            f"git could not diff {base}...HEAD in {root} ({detail}). Check that REF exists (in CI: check out "
            f"with fetch-depth: 0 so the base commit is present), or pass the changed paths instead"
        ))
    return done.stdout.splitlines()


def _usage(message: str) -> int:
    print(f"changed_plugins.py: error: {message}.", file=sys.stderr)
    return 2


def _explain(chosen: dict[str, list[str]], paths: Sequence[str]) -> None:
    """Why each plugin is selected, on stderr: the core changes once, then each plugin's own."""

    def shown(found: list[str]) -> str:
        return ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")

    core = sorted({normalise(p) for p in paths if is_core(normalise(p))})
    if core and chosen:
        print(f"every plugin ({len(chosen)}): the core changed: {shown(core)}", file=sys.stderr)
    for name, why in chosen.items():
        own = [p for p in why if not is_core(p)]
        if own:
            print(f"{PLUGINS_DIR}/{name}: {shown(own)}", file=sys.stderr)
    if not chosen:
        print(f"no plugin selected ({len(paths)} changed path(s), none in a plugin or the core)", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Print the plugin folders (plugins/<p>) that a change needs tested.",
        epilog="With neither PATH nor --base, the changed paths are read from stdin, one a line.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="a changed path, relative to the repository root")
    parser.add_argument("--base", metavar="REF", help="take the changed paths from `git diff --name-only REF...HEAD`")
    parser.add_argument("--root", default=".", metavar="DIR", help="the repository root (default: the current folder)")
    parser.add_argument("--json", action="store_true", help='print a JSON list of {"folder", "distribution", "reasons"}')
    parser.add_argument("-v", "--verbose", action="store_true", help="say on stderr why each plugin is selected")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if args.base and args.paths:
        return _usage("give changed paths or --base REF, not both")
    if args.base:
        paths = git_changed(root, args.base)
    elif args.paths:
        paths = list(args.paths)
    else:
        paths = sys.stdin.read().splitlines()
    chosen = select(paths, discover_plugins(root))
    if args.verbose:
        _explain(chosen, paths)
    if args.json:
        rows = [
            {"folder": f"{PLUGINS_DIR}/{name}", "distribution": distribution_name(root / PLUGINS_DIR / name), "reasons": why}
            for name, why in chosen.items()
        ]
        print(json.dumps(rows, indent=2))
    else:
        for name in chosen:
            print(f"{PLUGINS_DIR}/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
