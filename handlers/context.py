"""The typed PTB context: ``context.services`` instead of ``bot_data["…"]`` and casts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

if TYPE_CHECKING:
    from bot.services import Services


class BotData:
    """``application.bot_data``: only the services, set in ``post_init``."""

    def __init__(self) -> None:
        self.services: Services | None = None


class PulsoContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are opened in post_init; no update is handled before")
        return services


PulsoApplication = Application[
    ExtBot[None], PulsoContext, dict[Any, Any], dict[Any, Any], BotData, Any
]
