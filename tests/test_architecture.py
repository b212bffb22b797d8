"""The grader's shape: layered packages, imports only downwards, no import cycle.

The import graph is computed from the source with `ast`, counting every import: at the top of
a module, inside functions and under `if TYPE_CHECKING:`. An import inside a function that
exists to dodge a cycle is still a cycle here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

from grader.commands.cli import SUBCOMMANDS

GRADER = ROOT / "grader"

#: The layers, lowest first; a module may import its own layer and the ones before it. The
#: same order is described in `grader/__init__.py`.
LAYERS = (
    "runtime",
    "model",
    "sandbox",
    "feedback",
    "grading",
    "classroom",
    "commands",
    "bench",
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(GRADER.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """Every grader module `name` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            # `from pkg import sub` imports the submodule `pkg.sub` when there is one.
            targets = [
                f"{module}.{alias.name}" if f"{module}.{alias.name}" in MODULES else module
                for alias in node.names
            ]
        else:
            continue
        found.update(_closest(target) for target in targets)
    return {target for target in found if target.startswith("grader") and target != name}


def _closest(target: str) -> str:
    """The module an import names: `grader.a.B` (a class in grader.a) is grader.a."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> str | None:
    """The layer a module belongs to (None: the top-level `grader` package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return None


def test_every_grader_module_is_in_a_layer() -> None:
    """A new top-level module or package must be placed in the layer order on purpose."""
    unplaced = sorted(
        module for module in MODULES if _layer(module) not in {*LAYERS, None, "__main__"}
    )
    assert unplaced == [], f"not in any layer of LAYERS: {unplaced}"


def test_there_is_no_import_cycle() -> None:
    cycle = _cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_imports_point_only_downwards() -> None:
    rank = {layer: index for index, layer in enumerate(LAYERS)}
    upward = [
        f"{module} ({layer}) imports {target} ({_layer(target)})"
        for module, targets in GRAPH.items()
        if (layer := _layer(module)) in rank
        for target in sorted(targets)
        if _layer(target) in rank and rank[str(_layer(target))] > rank[layer]
    ]
    assert upward == [], "imports that point up a layer:\n" + "\n".join(upward)


def test_the_runtime_imports_nothing_of_the_grader_outside_it() -> None:
    outside = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if _layer(module) == "runtime"
        for target in targets
        if _layer(target) != "runtime"
    )
    assert outside == []


def test_the_runtime_stays_flat() -> None:
    """It is copied flat into the sandbox as `kitrt`: no sub-packages."""
    assert [path.name for path in (GRADER / "runtime").iterdir() if path.is_dir()] in (
        [],
        ["__pycache__"],
    )


def test_nothing_imports_the_top_level_package_or_the_bench() -> None:
    importers = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if (target == "grader" or _layer(target) == "bench") and _layer(module) != "bench"
    )
    assert importers == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_says_why_it_exists(module: str) -> None:
    tree = ast.parse(MODULES[module].read_bytes())
    docstring = ast.get_docstring(tree)
    assert docstring, f"{module} has no module docstring"


def test_the_checker_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The graph counts an import hidden in a function or under TYPE_CHECKING."""
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from grader.model import kit\n"
        "def f():\n    from grader.sandbox import runs\n"
    )
    assert _imports("grader.model.fake", source) == {"grader.model.kit", "grader.sandbox.runs"}


def test_subcommands_imported_by_name_sit_at_or_below_the_commands_layer() -> None:
    """`python -m grader SUBCOMMAND` imports its module by name, which the graph cannot see."""
    rank = {layer: index for index, layer in enumerate(LAYERS)}
    for name, module in SUBCOMMANDS.items():
        assert module in MODULES, f"subcommand {name}: no module {module}"
        assert rank[str(_layer(module))] <= rank["commands"], f"{name}: {module} is above commands"
