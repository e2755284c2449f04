"""Fuzzing: what streams of random updates found, each pinned by a test of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.harness import RunningBot, running_bot
from tests.stress.observe import Observer

# --- what the fuzzing found, pinned ------------------------------------------------------------


@pytest.fixture
async def pulso(tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with running_bot(f"sqlite+aiosqlite:///{tmp_path / 'pulso.db'}") as harness:
        yield harness


async def test_a_double_tapped_language_button_is_not_an_error(pulso: RunningBot) -> None:
    """Found by fuzzing: a second tap on a language button (queued before the first one's
    edit) found the message already saying so, and the "not modified" answer escaped as an
    error, with an apology to the person."""
    observer = Observer(pulso)
    try:
        eva = pulso.person(7_300_001, "Eva")
        mark = eva.chat.cursor
        await eva.send("/language")
        await eva.wait_for_message(predicate=lambda m: bool(m.buttons), since=mark)
        first = await eva.press("🇬🇧 English")
        second = await eva.press("🇬🇧 English")
        await observer.settle()
        assert (await first.wait_answer()).text is None
        assert (await second.wait_answer()).text is None
        assert observer.problems() == []
        assert "Something went wrong" not in " ".join(eva.texts())
    finally:
        observer.close()
