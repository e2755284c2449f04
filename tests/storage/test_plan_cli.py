"""``pulso plan check|import|show`` as an operator runs them: exit codes, stdout and stderr."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulso.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "surveys/data/plans/jalisco-2016.yaml"
BROKEN = ROOT / "tests" / "unit" / "plan_files" / "missing_translation.yaml"


@pytest.fixture
def sqlite_env(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Path:
    database = tmp_path / "pulso.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return database


def test_check_accepts_the_example(sqlite_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "check", str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "OK — plan jalisco-2016, 7 commitments" in err
    assert not sqlite_env.exists()  # checking never touches the database


def test_the_shipped_example_by_name(sqlite_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "check", "--example"]) == 0
    _, err = capsys.readouterr()
    assert "example jalisco-2016: OK — plan jalisco-2016, 7 commitments" in err
    assert main(["plan", "import", "--example"]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines()[0] == "plan jalisco-2016: imported (7 commitments)"


def test_check_reports_file_line_and_expectation(
    sqlite_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "check", str(BROKEN)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert (
        f"{BROKEN}:14: commitments[2].title.en: missing; expected a non-empty English text" in err
    )
    assert "nothing was imported" in err


def test_import_twice_then_show(sqlite_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "import", str(EXAMPLE)]) == 0
    first, _ = capsys.readouterr()
    assert first.splitlines()[0] == "plan jalisco-2016: imported (7 commitments)"
    assert "commitment JAL0004: added" in first

    assert main(["plan", "import", str(EXAMPLE)]) == 0
    second, err = capsys.readouterr()
    assert second == ""
    assert "nothing changed" in err

    assert main(["plan", "show"]) == 0
    table, _ = capsys.readouterr()
    assert (
        "JAL0004  100 %     active  Padrón estatal de jornaleras y jornaleros agrícolas" in table
    )
    assert "progress v1" in table


def test_import_of_a_broken_file_changes_nothing(
    sqlite_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "import", str(BROKEN)]) == 1
    assert main(["plan", "show"]) == 1
    _, err = capsys.readouterr()
    assert "no plan imported yet" in err
