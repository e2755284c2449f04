"""Updates from Telegram into the inbox, and from the inbox to the handlers.

Nothing that reached the bot is lost (docs/operations.md): every update is
stored in the ``inbox`` table, committed, *before* Telegram is told it arrived
— :mod:`.polling` asks for the next batch (which confirms the last) only after
storing it; the webhook (``pulso.webhook``) answers 200 only after storing it.
:mod:`.dispatcher` then hands stored updates to the handlers, one chat's in
order, many chats at once; an update is done in the same transaction as its
effects (``repos.updates.claim``), or when its handlers return. A crash at any
moment leaves it pending, and it is handled when the bot is back.
"""
