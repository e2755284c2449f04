"""The /newround wizard: one ConversationHandler, buttons or typed values, admin-only.

Buttons are pressed by their payload (:class:`WizardStep`); the step texts ("(2/5)") and the
summary are checked as the admin reads them."""

from __future__ import annotations

import pytest

from handlers.callback_data import WizardStep, decode
from tests.e2e.harness import RunningBot, press

pytestmark = pytest.mark.e2e


async def step(pulso: RunningBot, step: str, value: str) -> str:
    """Press the wizard's ``step`` button for ``value``; what the wizard shows next."""
    await press(pulso.admin, WizardStep(step, value))
    return (await pulso.admin.wait_for_message()).content


async def test_the_wizard_with_buttons_creates_a_round(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    admin = pulso.admin
    await admin.send("/newround")
    assert "(1/5)" in (await admin.wait_for_message()).content
    assert "(2/5)" in await step(pulso, "survey", "pulse")
    await step(pulso, "commitment", "JAL0001")
    assert "✅ JAL0001" in admin.last_message.button_texts()
    await step(pulso, "commitment", "JAL0004")
    await step(pulso, "commitment", "JAL0001")  # toggled off again
    assert "(3/5)" in await step(pulso, "commitment", "done")
    assert "(4/5)" in await step(pulso, "roles", "beneficiary")
    assert "(5/5)" in await step(pulso, "opens", "now")
    summary = await step(pulso, "duration", "7d")
    assert "¿Creo esta ronda?" in summary
    assert "JAL0004 · personas beneficiarias" in summary
    done = await step(pulso, "confirm", "create")
    assert "abierta" in done
    async with pulso.services.db.read() as repos:
        (round_,) = await repos.rounds.recent()
    assert round_.targets == (("JAL0004", "beneficiary"),)
    assert round_.status == "open"
    assert f"<b>{round_.id}</b>" in admin.last_message.html


async def test_typed_values_are_checked_and_cancel_creates_nothing(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    admin = pulso.admin
    await admin.send("/newround")
    surveys = await admin.wait_for_message()
    first = decode(surveys.buttons[0][0].callback_data)  # whichever survey is first
    assert isinstance(first, WizardStep)
    await step(pulso, first.step, first.value)
    # Every commitment, and on to the roles.
    assert "(3/5)" in await step(pulso, "commitment", "all")
    await step(pulso, "roles", "all")
    await admin.send("someday")
    assert "La apertura debe ser" in (await admin.wait_for_message()).content
    await admin.send("2026-03-05 09:00")
    assert "(5/5)" in (await admin.wait_for_message()).content
    await admin.send("36h")
    summary = (await admin.wait_for_message()).content
    assert "Abre: 2026-03-05 09:00 · Cierra: 2026-03-06 21:00" in summary
    assert "JAL0007" in summary
    assert await step(pulso, "cancel", "x") == "Listo: no creé ninguna ronda."
    async with pulso.services.db.read() as repos:
        assert await repos.rounds.recent() == []
    # Out of the wizard, text is no longer the wizard's.
    await admin.send("36h")
    await pulso.settle()
    async with pulso.services.db.read() as repos:
        assert await repos.rounds.recent() == []


async def test_a_stranger_cannot_press_the_wizards_buttons(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    eve = pulso.person(8101, "Eve")
    await eve.send("/newround")
    assert "no está disponible" in (await eve.wait_for_message()).content
    press = await eve.press_data("w:survey:pulse")
    assert (await press.wait_answer()).text == "🚫 Este comando no está disponible para ti."
    async with pulso.services.db.read() as repos:
        assert await repos.rounds.recent() == []


async def test_an_earlier_steps_button_is_stale_and_the_wizard_stays_at_its_step(
    pulso: RunningBot,
) -> None:
    await pulso.import_example_plan()
    admin = pulso.admin
    await admin.send("/newround")
    await admin.wait_for_message()
    await step(pulso, "survey", "pulse")
    assert "(3/5)" in await step(pulso, "commitment", "all")
    earlier = await admin.press_data("w:survey:progress")
    assert (await earlier.wait_answer()).text == "Este botón ya no es válido."
    # The conversation is still at the roles, with the choices made so far.
    assert "(4/5)" in await step(pulso, "roles", "beneficiary")
    await step(pulso, "opens", "now")
    summary = await step(pulso, "duration", "3d")
    assert "pulse" in summary
    assert "JAL0007" in summary
