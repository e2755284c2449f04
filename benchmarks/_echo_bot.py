"""A bare python-telegram-bot echo bot: the yardstick for ``python -m benchmarks load``.

    python -m benchmarks._echo_bot TOKEN BASE_URL

It answers every text with the same text (HTML-escaped, sent with HTML parse
mode, as Pulso sends), and does nothing else: no database, no handlers but one.
It runs on the same python-telegram-bot, with the same transport and the same
concurrency Pulso's :func:`pulso.app.build_application` sets (aiohttp through
:class:`bot.outbox.transport.AiohttpRequest`, up to 64 updates at once), so that the
difference between the two is what Pulso does per update, not how it talks to
Telegram. Stops cleanly on SIGTERM, as ``pulso run`` does.
"""

from __future__ import annotations

import html
import sys

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot.outbox.transport import AiohttpRequest


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """The person sees their own text again."""
    message = update.message
    if message is not None and message.text is not None:
        await message.reply_text(html.escape(message.text, quote=False))


def yardstick_builder(token: str, base_url: str) -> ApplicationBuilder:  # type: ignore[type-arg]
    """PTB set up as Pulso sets it: HTML, 64 updates at once, our aiohttp transport (the
    floor bot, :mod:`benchmarks._floor_bot`, is built the same way)."""
    return (
        Application.builder()
        .token(token)
        .base_url(base_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .concurrent_updates(64)
        .request(AiohttpRequest(connection_pool_size=256))
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
    )


def main(argv: list[str]) -> int:
    token, base_url = argv
    application = yardstick_builder(token, base_url).build()
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
