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
