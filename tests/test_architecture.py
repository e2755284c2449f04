"""The arrows of the architecture hold: surveys/ is pure, handlers stay at the edge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_SURVEYS = {"telegram", "sqlalchemy", "aiosqlite", "asyncpg", "bot", "handlers"}
# Calls that read the clock: the domain is handed `now` instead.
CLOCK_READS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "localtime"),
    ("time", "gmtime"),
}


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def clock_reads(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
            if (name, node.func.attr) in CLOCK_READS:
                found.append(f"{name}.{node.func.attr}() at line {node.lineno}")
    return found


@pytest.mark.parametrize("path", python_files("surveys"), ids=lambda p: str(p.relative_to(ROOT)))
def test_surveys_imports_no_runtime(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert imported_roots(tree) & FORBIDDEN_IN_SURVEYS == set()


@pytest.mark.parametrize("path", python_files("surveys"), ids=lambda p: str(p.relative_to(ROOT)))
def test_surveys_never_reads_the_clock(path: Path) -> None:
    assert clock_reads(ast.parse(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("import telegram", {"telegram"}, id="import"),
        pytest.param("from sqlalchemy.orm import x", {"sqlalchemy"}, id="from-import"),
        pytest.param("from bot import settings", {"bot"}, id="bot"),
    ],
)
def test_the_import_check_sees_forbidden_imports(source: str, expected: set[str]) -> None:
    assert imported_roots(ast.parse(source)) & FORBIDDEN_IN_SURVEYS == expected


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("datetime.now()", id="datetime.now"),
        pytest.param("datetime.datetime.now(UTC)", id="module-datetime.now"),
        pytest.param("time.time()", id="time.time"),
        pytest.param("date.today()", id="date.today"),
    ],
)
def test_the_clock_check_sees_clock_reads(source: str) -> None:
    assert clock_reads(ast.parse(source)) != []


def test_only_the_emulator_and_the_app_talk_http() -> None:
    """Handlers never open their own connections: they reply through PTB."""
    for path in python_files("handlers"):
        roots = imported_roots(ast.parse(path.read_text(encoding="utf-8")))
        assert not roots & {"httpx", "aiohttp", "requests", "sqlalchemy"}, path


# --- the arrows between packages, and no cycle between modules ---------------------------------
#
# Layers, lowest first. A module may import its own package and any package it is allowed
# to use; nothing imports upwards. ``botapi_emulator`` (the Bot API stand-in) is for the
# tests, the benchmarks and ``pulso demo``: it imports nothing of Pulso. ``pulso`` is the
# composition root (the app, the bootstrap, the command line): it may import everything
# and nothing imports it, but for ``bot/__main__.py``, the process entry of
# ``python -m bot``, which no module imports (so it can make no cycle).

ALLOWED: dict[str, set[str]] = {
    "surveys": set(),
    "bot": {"surveys"},
    "handlers": {"bot", "surveys"},
    "botapi_emulator": set(),
    "pulso": {"bot", "handlers", "surveys", "botapi_emulator"},
}
ENTRY_MODULES = {"bot.__main__"}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path, packages: set[str]) -> dict[str, set[str]]:
    """Every module of ``packages`` under ``root`` and the modules of ``packages`` it
    imports: anywhere in the file, inside functions and ``if TYPE_CHECKING:`` too."""
    modules = {
        module_name(path, root): path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
        if "migrations" not in path.parts
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    anchor = anchor if is_package else anchor[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from a import b` imports the module a.b when there is one, else a.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def upward_arrows(graph: dict[str, set[str]]) -> list[str]:
    """Imports a package may not make (see :data:`ALLOWED`)."""
    found = []
    for module, targets in graph.items():
        if module in ENTRY_MODULES:
            continue
        own = module.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if other != own and other not in ALLOWED.get(own, set()):
                found.append(f"{module} -> {target}")
    return sorted(found)


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


def test_packages_import_only_downwards() -> None:
    assert upward_arrows(import_graph(ROOT, set(ALLOWED))) == []


def test_no_import_cycle_between_modules() -> None:
    assert import_cycles(import_graph(ROOT, set(ALLOWED))) == []


def test_the_checks_fail_on_a_deliberate_cycle_and_upward_arrow(tmp_path: Path) -> None:
    """The two checks above, shown failing: a runtime module that reaches up to the edge,
    and two modules that import each other (one only under TYPE_CHECKING)."""
    (tmp_path / "bot").mkdir()
    (tmp_path / "handlers").mkdir()
    (tmp_path / "surveys").mkdir()
    for package in ("bot", "handlers", "surveys"):
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "bot" / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot import b\n"
    )
    (tmp_path / "bot" / "b.py").write_text("from . import a\nfrom handlers.view import draw\n")
    (tmp_path / "handlers" / "view.py").write_text("from bot.a import thing\n")
    (tmp_path / "surveys" / "pure.py").write_text("import telegram\n")
    graph = import_graph(tmp_path, {"bot", "handlers", "surveys"})
    assert upward_arrows(graph) == ["bot.b -> handlers.view"]
    assert import_cycles(graph) == [["bot.a", "bot.b", "handlers.view"]]
