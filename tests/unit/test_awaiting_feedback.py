"""What a participant's next message is for: one value, one way in and out of its column."""

from __future__ import annotations

import pytest

from bot.storage.repositories.participants import AwaitingFeedback


def test_it_round_trips_through_its_column() -> None:
    awaiting = AwaitingFeedback("JAL0004", "beneficiary")
    assert awaiting.encode() == "feedback:JAL0004:beneficiary"
    assert AwaitingFeedback.parse(awaiting.encode()) == awaiting


@pytest.mark.parametrize(
    "stored",
    [pytest.param(None, id="nothing"), pytest.param("wizard:step", id="something-else")],
)
def test_anything_else_awaits_no_feedback(stored: str | None) -> None:
    assert AwaitingFeedback.parse(stored) is None
