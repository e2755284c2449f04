"""The least any bot answering a survey button can do: the floor under Pulso's answer path.

    python -m benchmarks._floor_bot TOKEN BASE_URL SQLITE_FILE

A bare python-telegram-bot survey with no survey in it. A text puts a question with
five buttons on screen; every press of one of them

1. stores the answer: one row (the update id as its key, so a redelivered press adds
   nothing) committed to SQLite in WAL mode with ``synchronous=FULL``, as Pulso commits
   an answer;
2. answers the button (``answerCallbackQuery``);
3. draws the next question, answer above it, in the pressed message
   (``editMessageText`` with a new keyboard), as Pulso does from one button question to
   the next.

That is one transaction and two Bot API calls: the fewest that store an answer before
replying and let the person see what they answered. It keeps no inbox (Pulso stores
every update before Telegram is told it arrived), no roles, no rounds, no consent, no
cursor: what it costs is a lower bound on what any PTB bot meeting the same rules costs
per answer on this machine. Same python-telegram-bot, transport and concurrency as
:mod:`benchmarks._echo_bot` and Pulso, on uvloop as ``pulso run`` is (the echo bot keeps
asyncio's loop, the yardstick the issue was measured with): a floor that flatters
itself, so a goal it cannot reach, no bot can. Stops cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import sys

import aiosqlite
import uvloop
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from benchmarks._echo_bot import yardstick_builder

# callback_data of a press: "a:QUESTION:CHOICE".
PRESS_PREFIX = "a:"
CHOICES = 5
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS answers ("
    " update_id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL,"
    " question INTEGER NOT NULL, choice INTEGER NOT NULL)"
)


def question(number: int, answered: str | None = None) -> tuple[str, InlineKeyboardMarkup]:
    """Question ``number`` (with the previous answer above it) and its five buttons."""
    above = f"✓ {answered}\n\n" if answered else ""
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(str(choice), callback_data=f"{PRESS_PREFIX}{number}:{choice}")
                for choice in range(1, CHOICES + 1)
            ]
        ]
    )
    return f"{above}<b>Pregunta {number}</b>: ¿cómo va el compromiso?", keyboard


class Floor:
    """The bot's one connection to its SQLite file (opened in ``post_init``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.db: aiosqlite.Connection | None = None

    async def open(self, _application: Application) -> None:  # type: ignore[type-arg]
        self.db = await aiosqlite.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=FULL"):
            await self.db.execute(f"PRAGMA {pragma}")
        await self.db.execute(SCHEMA)

    async def close(self, _application: Application) -> None:  # type: ignore[type-arg]
        if self.db is not None:
            await self.db.close()

    async def first_question(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.message is not None:
            text, keyboard = question(1)
            await update.message.reply_text(text, reply_markup=keyboard)

    async def pressed(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None or query.message is None or self.db is None:
            return
        number, choice = (int(part) for part in str(query.data)[len(PRESS_PREFIX) :].split(":"))
        # Write first, reply second: the answer is committed before the person sees it.
        # Autocommit: the INSERT is its own transaction, one trip to the driver's thread.
        await self.db.execute(
            "INSERT OR IGNORE INTO answers VALUES (?, ?, ?, ?)",
            (update.update_id, query.message.chat.id, number, choice),
        )
        await query.answer()
        text, keyboard = question(number + 1, answered=f"Pregunta {number}: {choice}")
        await query.edit_message_text(text, reply_markup=keyboard)


def main(argv: list[str]) -> int:
    token, base_url, path = argv
    floor = Floor(path)
    application = (
        yardstick_builder(token, base_url).post_init(floor.open).post_shutdown(floor.close).build()
    )
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, floor.first_question))
    application.add_handler(CallbackQueryHandler(floor.pressed, pattern=f"^{PRESS_PREFIX}"))
    asyncio.set_event_loop(uvloop.new_event_loop())  # run_polling runs on the current loop
    application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
