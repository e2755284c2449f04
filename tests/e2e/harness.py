"""The end-to-end harness: the real Pulso ``Application`` against the local Bot API emulator.

:class:`RunningBot` starts the emulator and the bot (long polling over real
HTTP, on a real database) and gives tests people to act as, the services to
inspect, a controllable clock, and :meth:`RunningBot.restart` to stop the bot
and start a new one on the same database, as after a crash or an upgrade.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.clock import ManualClock
from bot.plans import import_plan
from bot.rounds.service import TickReport
from bot.services import Services
from bot.settings import Settings, load_settings
from botapi_emulator import (
    BotApiEmulator,
    Button,
    ButtonNotFoundError,
    ChatMessage,
    Press,
    SimGroup,
    SimUser,
)
from handlers.callback_data import CallbackData, decode, matches
from handlers.context import PulsoApplication
from pulso.app import Intake, build_application, serving
from surveys.loader import load_plan
from tests.factories import add_participant

TOKEN = "123456:PULSO-TEST-TOKEN"
ADMIN_ID = 900_001
SECRETARIAT_CHAT = -100_555_000
EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "surveys/data/plans/jalisco-2016.yaml"
START = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # a Monday, 10:00 in Mexico City


def e2e_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN,
        "database_url": database_url,
        "admin_ids": [ADMIN_ID],
        "secretariat_chat_ids": [SECRETARIAT_CHAT],
        "pseudonym_secret": "e2e-pseudonym-secret-0123456789",
        "min_group_size": 3,
    }
    values.update(overrides)
    return load_settings(env_file=None, overrides=values)


class RunningBot:
    """One emulator, one database, and the bot running against them."""

    def __init__(self, emulator: BotApiEmulator, settings: Settings, clock: ManualClock) -> None:
        self.emulator = emulator
        self.settings = settings
        self.clock = clock
        self._stack: AsyncExitStack | None = None
        self.application: PulsoApplication | None = None
        self._services: Services | None = None
        self.intake: Intake | None = None
        self.admin = emulator.user(ADMIN_ID, "Admin", language_code="es")
        self.secretariat_chat: SimGroup = emulator.group(
            SECRETARIAT_CHAT, "Secretariado Técnico Local", type="supergroup"
        )

    @property
    def services(self) -> Services:
        assert self._services is not None, "the bot is not running"
        return self._services

    async def start(self) -> None:
        self._stack = AsyncExitStack()
        self.application = build_application(self.settings, clock=self.clock)
        self.intake = await self._stack.enter_async_context(serving(self.application, timeout=1))
        self._services = self.intake.services

    async def stop(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()
        self._services = None
        self.intake = None
        self.application = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def person(self, user_id: int, name: str = "", *, language: str = "es") -> SimUser:
        return self.emulator.user(user_id, name or f"Persona {user_id}", language_code=language)

    async def import_example_plan(self) -> None:
        await import_plan(
            self.services.db,
            load_plan(EXAMPLE_PLAN),
            source_file=str(EXAMPLE_PLAN),
            actor=None,
            now=self.clock.now(),
        )

    async def example_plan_with_people(self, count: int, first_id: int) -> list[int]:
        """The example plan, and ``count`` consented beneficiaries of JAL0001 (user ids
        from ``first_id``) who have started the bot; their user ids."""
        await self.import_example_plan()
        ids = list(range(first_id, first_id + count))
        for user_id in ids:
            await add_participant(self.services.db, self.clock.now(), user_id)
            self.emulator.user(user_id, f"P{user_id}", started=True)
        return ids

    async def tick(self) -> TickReport:
        """Do what is due at the test's clock, as the scheduler's tick does, and say what.

        The test moves the clock, so it owns the tick: the background scheduler is
        stopped first (the way the bot stops it at shutdown), or a wake-up of its own
        could take the work between the clock moving and this call, and this report would
        say nothing happened. A restart starts the scheduler again."""
        rounds = self.services.rounds
        if rounds.scheduler.running:
            await rounds.stop()
        return await rounds.tick()

    async def settle(self) -> None:
        """Wait until the bot has taken every update the emulator holds, and handled it."""
        await self.emulator.wait_for_updates_confirmed(timeout=10)
        if self.intake is not None:
            await self.intake.dispatcher.idle()


Wanted = CallbackData | type[CallbackData]


def _fits(wanted: Wanted, fields: dict[str, object]) -> Callable[[Button], bool]:
    """Whether a button means ``wanted``: its payload is that value, or decodes to that
    type with those field values."""
    if isinstance(wanted, type):
        pattern = matches(wanted, **fields)
    elif fields:
        raise TypeError("fields narrow a type; a value is matched whole")
    else:

        def pattern(data: object) -> bool:
            return isinstance(data, str) and decode(data) == wanted

    return lambda button: button.callback_data is not None and pattern(button.callback_data)


def shows(message: ChatMessage, wanted: Wanted, **fields: object) -> bool:
    """Whether ``message`` has a button meaning ``wanted`` (for ``wait_for_message``)."""
    fits = _fits(wanted, fields)
    return any(fits(button) for row in message.buttons for button in row)


async def press(
    user: SimUser, wanted: Wanted, *, message_id: int | None = None, **fields: object
) -> Press:
    """Press the button that means ``wanted``, whatever its label says: the one whose
    payload is that value (``press(ana, ConfirmForget(True))``), or decodes to that type
    with those fields (``press(ana, SurveyPress, action="answer", code="marginal")``).

    On ``message_id``, or else the newest bot message with such a button, as
    :meth:`SimUser.press` does with a label; exactly one button there must fit.
    """
    fits = _fits(wanted, fields)
    if message_id is None:
        shown = user.chat.newest_with_button(fits)
    else:
        shown = user.chat.message(message_id)
    found = sorted(
        {b.callback_data for row in shown.buttons for b in row if fits(b) and b.callback_data}
        if shown is not None
        else set()
    )
    if shown is None or len(found) != 1:
        where = f"message {shown.message_id}" if shown is not None else "no message"
        raise ButtonNotFoundError(
            f"{where} has {len(found)} buttons meaning {wanted!r} {fields or ''} {found}; "
            f"available: {'; '.join(user.chat.available_buttons())}"
        )
    return await user.press_data(found[0], message_id=shown.message_id)


@asynccontextmanager
async def running_bot(
    database_url: str, *, clock: ManualClock | None = None, **overrides: Any
) -> AsyncIterator[RunningBot]:
    async with BotApiEmulator(token=TOKEN, bot_username="pulso_test_bot") as emulator:
        settings = e2e_settings(
            database_url,
            telegram_api_base_url=emulator.base_url,
            **overrides,
        )
        harness = RunningBot(emulator, settings, clock or ManualClock(START))
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()


def tiny_png() -> bytes:
    """A real 2×2 PNG, made here so tests need no files."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
