"""The package's layering, checked on its import graph (every import, at module level or inside a function).

Rings, innermost first: ``api`` (the contract plugins import) < ``core`` (the kernel) < the optional features
(``report``, ``transfer``, ``tune``, ``scale``, ``loggers``, ``scaffold``) < the two shells that drive them, the
conformance kit (``testing``) and the CLI (``cli``). A module may import its own ring and the rings inside it,
never one outside; a feature imports no other feature; no module imports another package's private module or
name (``_x``); and there is no import circle between modules. Imports under ``if TYPE_CHECKING:`` are for type
checkers only and are left out. ``test_the_checker_finds_each_violation`` shows the checks fail on each kind of
violation, so a passing run means something.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import climb_harness

PACKAGE = Path(climb_harness.__file__).parent
RING = {"api": 0, "core": 1, "report": 2, "transfer": 2, "tune": 2, "scale": 2, "loggers": 2, "scaffold": 2,
        "testing": 3, "cli": 3}
#: Features that may import other features: the kit (it runs plugins' loggers and reports) and the CLI.
MAY_IMPORT_FEATURES = {"testing", "cli"}
TOP_LEVEL = {"climb_harness", "climb_harness.__main__", "climb_harness._version"}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, root: Path = PACKAGE) -> Iterator[tuple[str, int]]:
    """``(imported module or module.name, line)`` for every ``climb_harness`` import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path, root).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and _is_type_checking(block.test)
                   for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("climb_harness"):
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.startswith("climb_harness"):
                for alias in node.names:
                    yield f"{base}.{alias.name}", node.lineno


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def ring_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RING else None


def resolve(target: str, modules: set[str]) -> str:
    """The module an import names (``a.b.c`` may be module ``a.b.c`` or the name ``c`` of module ``a.b``)."""
    return target if target in modules else target.rsplit(".", 1)[0]


def problems(root: Path = PACKAGE) -> list[str]:
    files = [p for p in root.rglob("*.py") if "templates" not in p.parts]
    modules = {module_name(p, root) for p in files}
    found: list[str] = []
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for path in files:
        here = module_name(path, root)
        for target, line in imports(path, root):
            where = f"{here}:{line} imports {target}"
            module = resolve(target, modules)
            if module not in modules:
                continue
            graph[here].add(module)
            mine, theirs = ring_of(here), ring_of(module)
            if mine is not None and theirs is not None and mine != theirs:
                if RING[theirs] > RING[mine]:
                    found.append(f"upward: {where} ({theirs} is outside {mine})")
                elif RING[theirs] == RING[mine] == 2 and mine not in MAY_IMPORT_FEATURES:
                    found.append(f"feature to feature: {where}")
                private = [part for part in target.split(".")[2:] if part.startswith("_") and not part.startswith("__")]
                if private:
                    found.append(f"private name across packages: {where}")
            if mine is not None and here not in TOP_LEVEL and module in TOP_LEVEL - {"climb_harness._version"}:
                found.append(f"upward: {where} (the package's top level)")
    found += [f"circle: {' -> '.join(cycle)}" for cycle in circles(graph)]
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt == node:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_is_layered_without_circles() -> None:
    assert problems() == []


def test_the_checker_finds_each_violation(tmp_path: Path) -> None:
    root = tmp_path / "climb_harness"
    for folder in ("api", "core", "report", "transfer"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "api" / "a.py").write_text("from climb_harness.core import k\n")  # upward
    (root / "core" / "k.py").write_text("from climb_harness.core import m\n")
    (root / "core" / "m.py").write_text("import climb_harness.core.k\nfrom climb_harness.api import _private\n")
    (root / "api" / "_private.py").write_text("")
    (root / "report" / "r.py").write_text("from climb_harness.transfer import t\n")  # feature to feature
    (root / "transfer" / "t.py").write_text("")
    (root / "core" / "up.py").write_text("def f():\n    from climb_harness.report import r\n")  # upward, in a function
    (root / "core" / "typed.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from climb_harness.report import r\n")
    found = problems(root)
    assert any(p.startswith("upward: climb_harness.api.a") for p in found), found
    assert any(p.startswith("upward: climb_harness.core.up") for p in found), found
    assert any(p.startswith("feature to feature: climb_harness.report.r") for p in found), found
    assert any(p.startswith("private name across packages: climb_harness.core.m") for p in found), found
    assert any(p.startswith("circle:") and "climb_harness.core.k" in p and "climb_harness.core.m" in p for p in found), found
    assert not any("climb_harness.core.typed" in p for p in found), found  # type-checking imports are not checked
