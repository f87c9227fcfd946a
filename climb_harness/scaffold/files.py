"""``climb new KIND NAME``: write a ready-to-install plugin distribution from the templates.

The result, ``<dest>/climb-<name>/``, is a setuptools project with the ``climb.plugins`` entry
point, a hook module with a valid manifest, a small but real component (a JSON-lines task with a
built-in sample, a bag-of-words + thumbnail encoder, or sequential fine-tuning with an L2 hook),
tests that run the conformance kit, a README and a GitHub Actions workflow running ``climb check``.
Templates live in ``climb_harness/scaffold/templates/`` (``*.tmpl``, placeholders ``@UPPER_CASE@``).
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
import re
import shutil
import tempfile
from pathlib import Path

from climb_harness._version import __version__
from climb_harness.api import API_VERSION
from climb_harness.api.errors import UsageError

__all__ = ["KINDS", "NAME_PATTERN", "names", "new_plugin", "next_steps", "plan", "render", "write_task_sample"]

KINDS = ("task", "encoder", "algorithm")
#: The manifest schemas' name pattern (``schemas/*.schema.json``).
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_PLACEHOLDER = re.compile(r"@[A-Z_]+@")
_SUFFIX = {"task": "Task", "encoder": "Encoder", "algorithm": "Algorithm"}

_CONFIG = {
    "task": "tasks:\n  - name: @NAME@\n    options: {data_dir: /path/to/data}",
    "encoder": "encoder:\n  name: @NAME@\n  options: {hidden_size: 64}",
    "algorithm": "algorithms:\n  - name: @NAME@\n    options: {l2_weight: 0.1}",
}
_PACKAGE_DATA = '\n[tool.setuptools.package-data]\n@PACKAGE@ = ["sample/*.jsonl", "sample/images/*.png"]\n'


def names(kind: str, name: str) -> dict[str, str]:
    """The placeholders' values: distribution, package and class names derived from ``name``."""
    package = "climb_" + re.sub(r"[-.]", "_", name)
    camel = "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_.]", name) if part)
    cls = camel if camel.endswith(_SUFFIX[kind]) else camel + _SUFFIX[kind]
    if not cls.isidentifier():  # e.g. a name starting with a digit
        cls = "Climb" + cls
    return {
        "NAME": name,
        "KIND": kind,
        "DIST": f"climb-{name}",
        "PACKAGE": package,
        "CLASS": cls,
        "API_VERSION": API_VERSION,
        "HARNESS_VERSION": __version__,
    }


def _check_arguments(kind: str, name: str, dest: Path) -> Path:
    if kind not in KINDS:
        raise UsageError(
            f"Unknown kind {kind!r}: climb new makes a {', '.join(KINDS[:-1])} or {KINDS[-1]} plugin."
        )
    if not NAME_PATTERN.match(name):
        raise UsageError(
            f"{name!r} is not a valid component name: use lower-case letters, digits, '-', '_' and '.', starting with "
            f"a letter or digit (pattern {NAME_PATTERN.pattern}, as in the manifest schemas), e.g. 'my-{kind}'."
        )
    if name.startswith(("climb-", "climb_")):
        raise UsageError(
            f"Give the component name without the 'climb-' prefix (e.g. {name[6:]!r}); "
            f"the distribution is named climb-<name>."
        )
    package = names(kind, name)["PACKAGE"]
    spec = importlib.util.find_spec(package)
    if spec is not None:
        where = spec.origin or ", ".join(spec.submodule_search_locations or [])
        raise UsageError(
            f"A module named {package} is already importable (from {where}), so a plugin named {name!r} "
            f"would shadow it or be shadowed. Choose another name."
        )
    root = dest / f"climb-{name}"
    if root.exists():
        raise UsageError(
            f"{root} already exists; climb new never overwrites. Choose another name or destination, "
            f"or remove that folder first."
        )
    if not dest.is_dir():
        raise UsageError(f"Destination {dest} is not an existing folder; create it or pass another --dest.")
    return root


def render(template: str, values: dict[str, str]) -> str:
    """Replace ``@KEY@`` placeholders; a leftover one is a bug in the templates."""
    text = template
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    leftover = sorted(set(_PLACEHOLDER.findall(text)))
    if leftover:
        raise ValueError(f"climb-harness template bug: unknown placeholder(s) {', '.join(leftover)}")
    return text


def _template(relative: str) -> str:
    return (importlib.resources.files("climb_harness.scaffold") / "templates" / relative).read_text(encoding="utf-8")


def plan(kind: str, name: str) -> dict[str, str]:
    """Every file of the new distribution (path relative to its root -> contents)."""
    values = names(kind, name)
    package = values["PACKAGE"]
    values["PACKAGE_DATA"] = render(_PACKAGE_DATA, values) if kind == "task" else ""
    values["KIND_CONFIG"] = render(_CONFIG[kind], values)
    values["KIND_SECTION"] = render(_template(f"{kind}/readme.md.tmpl"), values).rstrip("\n")
    files = {
        "pyproject.toml": "common/pyproject.toml.tmpl",
        "README.md": "common/README.md.tmpl",
        ".github/workflows/climb-check.yml": "common/climb-check.yml.tmpl",
        f"{package}/__init__.py": "common/__init__.py.tmpl",
        f"{package}/plugin.py": f"{kind}/plugin.py.tmpl",
        f"{package}/{kind}.py": f"{kind}/component.py.tmpl",
        f"tests/test_{package}.py": f"{kind}/test.py.tmpl",
    }
    return {path: render(_template(template), values) for path, template in files.items()}


def new_plugin(kind: str, name: str, dest: str | Path = ".") -> Path:
    """Write ``<dest>/climb-<name>/`` for a ``kind`` plugin offering the component ``name``; return it.

    Raises :class:`~climb_harness.api.errors.UsageError` (exit code 2) for an unknown kind, an invalid
    name, a name whose package is already importable, or an existing folder (never overwritten).
    The folder appears complete or not at all (written beside it, then renamed).
    """
    dest = Path(dest)
    root = _check_arguments(kind, name, dest)
    staging = Path(tempfile.mkdtemp(prefix=f".climb-{name}-", dir=dest))
    try:
        for relative, text in plan(kind, name).items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if kind == "task":
            write_task_sample(staging / names(kind, name)["PACKAGE"] / "sample")
        os.rename(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return root


def write_task_sample(folder: Path, per_split: tuple[int, int, int] = (36, 12, 12)) -> None:
    """The scaffolded task's built-in sample: coloured squares on grey, one JSON line per question.

    Six 32x32 PNGs (red, green, blue at two positions) and train/val/test JSON-lines files whose
    labels cycle through the colours; deterministic, so the sample is the same for every plugin.
    """
    import json

    from PIL import Image

    colours = {"red": (220, 40, 40), "green": (40, 190, 60), "blue": (40, 70, 220)}
    (folder / "images").mkdir(parents=True)
    for colour, rgb in colours.items():
        for position, (x, y) in enumerate([(4, 4), (14, 12)]):
            image = Image.new("RGB", (32, 32), (128, 128, 128))
            image.paste(rgb, (x, y, x + 14, y + 14))
            image.save(folder / "images" / f"{colour}-{position}.png")
    questions = ["what colour is the square?", "which colour is the shape?", "name the colour of the box"]
    for split, count in zip(("train", "val", "test"), per_split):
        lines = []
        for i in range(count):
            colour = list(colours)[i % 3]
            lines.append(
                json.dumps(
                    {
                        "id": f"{split}-{i}",
                        "text": questions[(i // 3) % 3],
                        "image": f"images/{colour}-{(i // 9) % 2}.png",
                        "label": colour,
                    }
                )
            )
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def next_steps(root: Path, name: str) -> str:
    """What ``climb new`` prints after writing the folder."""
    steps = [
        (f"pip install -e {root}", f"registers the plugin: climb list shows {name}"),
        (f"climb check {name}", "the conformance checks"),
        (f"pytest {root}", "its tests (the same checks plus its own)"),
    ]
    width = max(len(command) for command, _ in steps)
    lines = [f"Created {root}", "Next:"] + [f"  {command.ljust(width)}  # {why}" for command, why in steps]
    lines.append(
        f"Then make it yours: the manifest in plugin.py, the component module, README.md ({root.name}/)."
    )
    return "\n".join(lines)
