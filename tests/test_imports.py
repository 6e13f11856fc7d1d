"""No import circles between harnex's modules, read from the source (nothing is imported).

A module-level circle makes what a module finds at import time depend on which module of
the circle was imported first: a name that is there in one order is missing in another.
Imports inside functions and under ``TYPE_CHECKING`` run later (or never), so they are kept
apart: they may close a circle, but not one that breaks an import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import harnex_tmux

PACKAGE_DIR = Path(harnex_tmux.__file__).parent


@dataclass
class Imports:
    """What one module imports of the package: at module level (run when it is imported),
    inside functions (run when they are called), and under ``TYPE_CHECKING`` (never run)."""

    module_level: set[str] = field(default_factory=set)
    deferred: set[str] = field(default_factory=set)
    type_checking: set[str] = field(default_factory=set)


def module_names(root: Path) -> dict[str, Path]:
    """Every module of the package in ``root``, by dotted name (a package by its own)."""
    names: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: Mapping[str, Path]
) -> set[str]:
    """The package's modules an import statement runs: ``from m import x`` runs ``m.x`` when
    that is a module, else ``m`` (a parent package is left out: by the time a module of it is
    imported, its ``__init__`` is running already)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in known}
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    found: set[str] = set()
    for alias in node.names:
        name = f"{base}.{alias.name}"
        if name in known:
            found.add(name)
        elif base in known:
            found.add(base)
    return found


def _walk(body: list[ast.stmt], kind: str) -> Iterator[tuple[str, ast.Import | ast.ImportFrom]]:
    """Each import statement in ``body`` with its kind; a class body runs at import time
    like the module's, a function body later."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield kind, node
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _walk(node.body, "deferred" if kind == "module_level" else kind)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _walk(node.body, "type_checking")
            yield from _walk(node.orelse, kind)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    yield from _walk([child], kind)
                elif isinstance(child, ast.ExceptHandler | ast.match_case):
                    yield from _walk(child.body, kind)


def import_graph(root: Path) -> dict[str, Imports]:
    """Which of the package's modules each of its modules imports, by kind."""
    modules = module_names(root)
    graph: dict[str, Imports] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        found = graph[module] = Imports()
        for kind, node in _walk(tree.body, "module_level"):
            targets = _imported(node, module, path.name == "__init__.py", modules)
            getattr(found, kind).update(targets - {module})
    return graph


def find_cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected group of ``edges`` (a node to the nodes it points
    at): the shortest one through the group's first node, as the path of nodes around it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    cycles: list[list[str]] = []
    for group in groups:
        start = group[0]
        if len(group) > 1 or start in edges.get(start, ()):
            cycles.append(_shortest_cycle(edges, start, set(group)))
    return sorted(cycles)


def _shortest_cycle(edges: Mapping[str, set[str]], start: str, group: set[str]) -> list[str]:
    """The shortest path from ``start`` back to itself inside ``group`` (breadth first)."""
    paths = [[start]]
    seen = {start}
    while paths:
        following = []
        for path in paths:
            for target in sorted(edges.get(path[-1], ())):
                if target == start:
                    return path
                if target in group and target not in seen:
                    seen.add(target)
                    following.append([*path, target])
        paths = following
    raise AssertionError(f"{start} is in a group with no circle through it")


def _describe(cycles: list[list[str]]) -> str:
    return "\n".join(" -> ".join([*cycle, cycle[0]]) for cycle in cycles)


def test_no_module_level_import_cycles() -> None:
    graph = import_graph(PACKAGE_DIR)
    assert len(graph) > 50, sorted(graph)  # the walk found the package's modules
    cycles = find_cycles({module: imports.module_level for module, imports in graph.items()})
    assert not cycles, "module-level import cycles:\n" + _describe(cycles)


def test_no_import_cycles_through_deferred_or_type_checking_imports() -> None:
    """Kept apart from the test above: a circle closed only by an import inside a function or
    under ``TYPE_CHECKING`` breaks no import, but it still ties two modules into one (the
    circle between adapters/rules.py and screen.py that issue #20 removed was one)."""
    graph = import_graph(PACKAGE_DIR)
    every = {m: i.module_level | i.deferred | i.type_checking for m, i in graph.items()}
    cycles = find_cycles(every)
    assert not cycles, "import cycles through deferred imports:\n" + _describe(cycles)


# The cycle finder and the walk, on tiny graphs and a tiny package whose answers are known.


def test_find_cycles_finds_each_circle_once_and_nothing_in_a_tree() -> None:
    assert find_cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"x": {"x"}}) == [["x"]]
    two = {"a": {"b"}, "b": {"a", "c"}, "c": {"d"}, "d": {"c"}, "e": {"d"}}
    assert find_cycles(two) == [["a", "b"], ["c", "d"]]
    # One group, several circles: the shortest through its first node stands for it.
    assert find_cycles({"a": {"b"}, "b": {"c", "a"}, "c": {"a"}}) == [["a", "b"]]


def _package(root: Path, files: dict[str, str]) -> Path:
    package = root / "pkg"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def test_the_walk_sorts_imports_by_when_they_run(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from pkg.b import thing\n",
            "b.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg import a\n"
                "def later():\n    import pkg.c\n"
                "try:\n    from . import d\nexcept ImportError:\n    pass\n"
            ),
            "c.py": "from .sub import e\nfrom pkg import sub\n",
            "d.py": "class D:\n    from pkg.sub.e import value\n",
            "sub/__init__.py": "",
            "sub/e.py": "from .. import d\nvalue = 1\n",
        },
    )
    graph = import_graph(package)
    assert graph["pkg.a"].module_level == {"pkg.b"}
    assert graph["pkg.b"] == Imports(
        module_level={"pkg.d"}, deferred={"pkg.c"}, type_checking={"pkg.a"}
    )
    assert graph["pkg.c"].module_level == {"pkg.sub.e", "pkg.sub"}
    assert graph["pkg.d"].module_level == {"pkg.sub.e"}
    assert graph["pkg.sub.e"].module_level == {"pkg.d"}
    module_level = {module: imports.module_level for module, imports in graph.items()}
    # d and sub.e import each other when imported: the one circle that can break an import.
    assert find_cycles(module_level) == [["pkg.d", "pkg.sub.e"]]


# The floors of the package, lowest first: a module imports only from its own floor or
# below (docs/architecture.md draws the same picture). The package itself (``harnex_tmux``,
# whose __init__ only holds the version and lazy names) may be imported from anywhere.
FLOORS: list[set[str]] = [
    # Facts and small helpers with no harnex state of their own.
    {"errors", "tokens", "durations", "terminal_text", "waits", "messages", "compat"}
    | {"budgets", "toml_files"},
    # Files under the state dir, tmux, git worktrees, the pane's text.
    {
        "state",
        "events",
        "transcript",
        "ports",
        "tmux",
        "foreground",
        "worktree",
        "pane_text",
        "reporting",
        "watch_presets",
        "hook",
        "skills",
        "demo_agent",
        "resume_card",
    },
    # What each agent CLI looks like and how it reports; what it says it used.
    {"adapters", "usage"},
    # Starting a session: its window, its sidecar.
    {"launch", "early_sidecar"},
    # The two sides of a session: the sidecar inside, the session seen from outside.
    {"sidecar", "session"},
    # Sessions on other machines (over ssh), bringing ended sessions back (it reads a
    # sidecar's journal and starts a new one) or forgetting them, and front ends over the
    # client side.
    {"hosts", "mcp", "dash", "doctor", "resume", "forget"},
    # The command line.
    {"cli", "__main__"},
]
# Same floor, but never each other: the sidecar and its clients meet only over HTTP and files.
APART = [{"sidecar", "session"}]


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _floor(part: str) -> int:
    for index, floor in enumerate(FLOORS):
        if part in floor:
            return index
    raise AssertionError(f"harnex_tmux.{part} is on no floor: add it to FLOORS")


def upward_imports(graph: Mapping[str, Imports]) -> list[str]:
    """Each import (run at any time) that reaches above its floor or across to a part it
    must stay apart from."""
    wrong = []
    for module, found in sorted(graph.items()):
        source = _part(module)
        if not source:
            continue
        for target in sorted(found.module_level | found.deferred | found.type_checking):
            dest = _part(target)
            if not dest or dest == source:
                continue
            if _floor(dest) > _floor(source):
                wrong.append(f"{module} -> {target} (floor {_floor(source)} up to {_floor(dest)})")
            elif any({source, dest} == pair for pair in APART):
                wrong.append(f"{module} -> {target} (these two stay apart)")
    return wrong


def test_every_module_sits_on_a_floor() -> None:
    parts = {_part(name) for name in module_names(PACKAGE_DIR)} - {""}
    for part in parts:
        _floor(part)


def test_no_import_reaches_up_a_floor_or_across_the_sides() -> None:
    assert upward_imports(import_graph(PACKAGE_DIR)) == []


def test_the_floor_check_finds_an_upward_and_a_sideways_import(tmp_path: Path) -> None:
    root = tmp_path / "harnex_tmux"
    files = {
        "__init__.py": "",
        "errors.py": "from harnex_tmux.cli import main\n",
        "sidecar/__init__.py": "",
        "sidecar/api.py": "def f():\n    from harnex_tmux.session import handle\n",
        "session/__init__.py": "",
        "session/handle.py": "from harnex_tmux.errors import X\n",
        "cli/__init__.py": "",
        "cli/main.py": "from harnex_tmux.session import handle\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert upward_imports(import_graph(root)) == [
        "harnex_tmux.errors -> harnex_tmux.cli.main (floor 0 up to 6)",
        "harnex_tmux.sidecar.api -> harnex_tmux.session.handle (these two stay apart)",
    ]
