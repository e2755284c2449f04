"""Shared by every stress suite: short or full form, the seed, and the figures printed at the end.

* ``PULSO_STRESS=full`` runs the full form (more kills, more people, more
  updates); anything else runs the short form, which is part of the normal
  ``python -m pytest``. Suites read :data:`STRESS_FULL` (or the ``stress_full``
  fixture).
* ``PULSO_STRESS_SEED`` (an integer; default :data:`DEFAULT_SEED`) seeds every
  random choice the suites make, so a failing run can be repeated; the seed is
  printed in the summary line.
* Every test under ``tests/stress`` is marked ``stress`` (``-m "not stress"``
  leaves them out).
* ``stress_figures`` is one recorder for the whole session. Suites add what
  they counted; the session ends with one line of everything recorded::

      stress_figures.add("kills survived", 4)
      stress_figures.add("faults injected: 429", emu.faults.injected["429"])
      stress_figures.add("updates handled", 1200)
      stress_figures.add("lost", 0)
      stress_figures.add("duplicated", 1, inside_window=True)

  A name with ``": "`` is grouped under its prefix (``faults injected (429 12,
  5xx 3)``). ``lost`` and ``duplicated`` are always shown once anything was
  recorded; duplicates say whether all were inside the documented double-send
  window (``docs/rounds.md``).
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

DEFAULT_SEED = 20261127
STRESS_FULL = os.environ.get("PULSO_STRESS") == "full"
STRESS_SEED = int(os.environ.get("PULSO_STRESS_SEED") or DEFAULT_SEED)

_HERE = os.path.dirname(os.path.abspath(__file__))


class StressFigures:
    """Counters added by the suites during a session, printed as one line at its end."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.order: list[str] = []
        self.outside_window = 0
        # Under pytest-xdist each worker sends what its tests counted to the controller
        # with each test's report; tests/conftest.py adds them up and prints the line.
        self.unsent: list[tuple[str, int, bool | None]] = []

    def merge(self, entries: list[tuple[str, int, bool | None]]) -> None:
        for name, n, inside_window in entries:
            self._count(name, n, inside_window)

    def add(self, name: str, n: int = 1, *, inside_window: bool | None = None) -> None:
        """Add ``n`` to the figure ``name`` (created at 0). For ``"duplicated"``, say
        whether these duplicates were inside the documented double-send window."""
        self.unsent.append((name, n, inside_window))
        self._count(name, n, inside_window)

    def _count(self, name: str, n: int, inside_window: bool | None) -> None:
        if name not in self.counts:
            self.order.append(name)
        self.counts[name] += n
        if name == "duplicated" and inside_window is False:
            self.outside_window += n

    def __bool__(self) -> bool:
        return bool(self.order)

    def line(self) -> str:
        """Everything recorded, in the order first added; ``lost`` and ``duplicated`` last."""
        entries: list[tuple[str, list[str]]] = []  # (label, grouped kinds or [])
        groups: dict[str, list[str]] = {}
        for name in self.order:
            if name in ("lost", "duplicated"):
                continue
            prefix, sep, kind = name.partition(": ")
            if not sep:
                entries.append((f"{name} {self.counts[name]}", []))
            elif prefix in groups:
                groups[prefix].append(f"{kind} {self.counts[name]}")
            else:
                groups[prefix] = [f"{kind} {self.counts[name]}"]
                entries.append((prefix, groups[prefix]))
        rendered = [
            f"{label} ({', '.join(kinds)})" if kinds else label for label, kinds in entries
        ]
        rendered.append(f"lost: {self.counts['lost']}")
        duplicated = self.counts["duplicated"]
        if duplicated == 0:
            rendered.append("duplicated: 0")
        elif self.outside_window == 0:
            rendered.append(f"duplicated: {duplicated} (all inside the documented window)")
        else:
            rendered.append(
                f"duplicated: {duplicated} ({self.outside_window} OUTSIDE the documented window)"
            )
        return ", ".join(rendered)


_FIGURES = pytest.StashKey[StressFigures]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_FIGURES] = StressFigures()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    figures = item.config.stash.get(_FIGURES, None)
    if figures is None or not hasattr(item.config, "workerinput"):
        return  # one process: the figures are counted where they are added
    report = outcome.get_result()
    if report.when == "teardown" and figures.unsent:
        report.user_properties.append(("stress_figures", list(figures.unsent)))
        figures.unsent.clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if str(item.path).startswith(_HERE + os.sep):
            item.add_marker(pytest.mark.stress)


@pytest.fixture(scope="session")
def stress_figures(pytestconfig: pytest.Config) -> StressFigures:
    """The session's recorder (see the module docstring)."""
    return pytestconfig.stash[_FIGURES]


@pytest.fixture(scope="session")
def stress_full() -> bool:
    """Whether this is the full form (``PULSO_STRESS=full``)."""
    return STRESS_FULL


@pytest.fixture(scope="session")
def stress_seed() -> int:
    """The session's seed (``PULSO_STRESS_SEED``)."""
    return STRESS_SEED


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    figures = config.stash.get(_FIGURES, None)
    if not figures:
        return
    form = "full" if STRESS_FULL else "short"
    terminalreporter.write_sep("-", f"stress ({form}, seed {STRESS_SEED}): {figures.line()}")
