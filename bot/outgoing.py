"""A message the bot owes someone, rendered from an outbox row at the moment it is sent.

Rendering happens at send time, not enqueue time, so a person who switched
language or a round that closed meanwhile is reflected. Each outbox ``kind``
has one renderer; a renderer returning None means "nothing to send any more"
(the row is then cancelled, not failed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram import InlineKeyboardMarkup

if TYPE_CHECKING:
    from bot.services import Services
    from bot.storage.repositories.outbox import OutboxItem


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Text (HTML) with optional buttons, or a photo or document with a caption."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    photo: bytes | None = None
    document: bytes | None = None
    filename: str | None = None


Renderer = Callable[["Services", "OutboxItem"], Awaitable[Outgoing | list[Outgoing] | None]]

_RENDERERS: dict[str, Renderer] = {}


def renders(kind: str) -> Callable[[Renderer], Renderer]:
    """Register the renderer of one outbox kind (a decorator; one renderer per kind)."""

    def register(renderer: Renderer) -> Renderer:
        if kind in _RENDERERS and _RENDERERS[kind] is not renderer:
            raise ValueError(f"outbox kind {kind!r} already has a renderer")
        _RENDERERS[kind] = renderer
        return renderer

    return register


def renderer_for(kind: str) -> Renderer | None:
    return _RENDERERS.get(kind)
