"""The wheel as someone installs it: built, put in a fresh virtualenv, and ``pulso demo`` run.

Everything the source tree gives for free (``examples/``, the editable install,
the repository on ``sys.path``) is out of reach here, so a module or data file
missing from the distribution fails this test and no other.

The new virtualenv gets only the wheel (``--no-deps --no-index``); the
dependencies come from this environment through a ``.pth`` line naming its
site-packages, which spares reinstalling them from PyPI. A directory added by a
``.pth`` line does not have its own ``.pth`` files read, so this environment's
editable install of Pulso stays invisible: the test checks that ``bot`` is the
wheel's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (
    "pulso/cli/demo.py",
    "pulso/demo.py",
    "botapi_emulator/server.py",
    "botapi_emulator/simulation.py",
    "handlers/callback_data.py",
    "surveys/data/plans/jalisco-2016.yaml",
    "surveys/data/instruments/progress.yaml",
)


def run(*command: str | Path, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``command`` without this process's PYTHONPATH; fail with its output if it fails."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run(  # noqa: S603 - our own interpreter, pip and pulso
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = f"{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{output}"
    return done


def test_the_installed_wheel_runs_the_demo(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run(
        sys.executable,
        *("-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet"),
        *("-w", dist, ROOT),
        cwd=tmp_path,
        timeout=180,
    )
    [wheel] = dist.glob("pulso-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert [name for name in SHIPPED if name not in names] == []

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path, timeout=60)
    python = venv / "bin" / "python"
    run(
        sys.executable,
        *("-m", "pip", "--python", python, "install", "--quiet"),
        *("--no-deps", "--no-index", "--no-compile", wheel),
        cwd=tmp_path,
        timeout=120,
    )
    site = Path(
        run(
            python,
            *("-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"),
            cwd=tmp_path,
            timeout=30,
        ).stdout.strip()
    )
    (site / "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    where = run(
        python,
        *("-c", "import bot, botapi_emulator, surveys; print(bot.__file__)"),
        cwd=tmp_path,
        timeout=60,
    ).stdout.strip()
    assert Path(where).is_relative_to(site), f"bot comes from {where}, not the wheel in {site}"

    work = tmp_path / "elsewhere"
    work.mkdir()
    demo = run(venv / "bin" / "pulso", "demo", "--people", "3", cwd=work, timeout=300)
    assert "done in" in demo.stderr, demo.stderr
    assert "Resultados de la ronda 1" in demo.stdout or "Results of round 1" in demo.stdout
    assert (work / "pulso-demo" / "chart-1.png").read_bytes().startswith(b"\x89PNG")
