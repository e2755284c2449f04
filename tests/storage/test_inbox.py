"""The inbox on both databases: updates stored on arrival, handled in order per chat,
marked done with their effects; a redelivery is recognised for as long as Telegram
may redeliver, an id that comes back later is a new update, and done rows are
pruned on a schedule (issue 10, defect 8; issue 11)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from bot.clock import ManualClock
from bot.i18n import translator
from bot.intake.dispatcher import Dispatcher
from bot.settings import load_settings
from bot.storage.engine import Database
from bot.storage.repositories.machinery import IDEMPOTENCY_WINDOW, InboxItem, UpdateRepository
from bot.storage.repositories.outbox import NewDelivery, OutboxItem
from bot.storage.schema import inbox, outbox
from pulso.bootstrap import build_services

H = timedelta(hours=1)


async def test_an_update_id_back_after_the_window_is_a_new_update(
    db: Database, clock: ManualClock
) -> None:
    async with db.write() as repos:
        assert await repos.updates.claim(5, clock.now())
    clock.advance(23 * H)  # Telegram may still redeliver it: a duplicate
    async with db.write() as repos:
        assert not await repos.updates.claim(5, clock.now())
    # After a week without updates Telegram may pick ids at random; an old id that
    # comes back is someone's new message, not a redelivery, and must be handled.
    clock.advance(7 * 24 * H)
    async with db.write() as repos:
        assert await repos.updates.claim(5, clock.now())
    # …and that new update is itself protected against redelivery.
    clock.advance(H)
    async with db.write() as repos:
        assert not await repos.updates.claim(5, clock.now())


async def test_a_rolled_back_reclaim_leaves_the_id_claimable(
    db: Database, clock: ManualClock
) -> None:
    async with db.write() as repos:
        assert await repos.updates.claim(6, clock.now())
    clock.advance(IDEMPOTENCY_WINDOW + H)

    class Boom(Exception):
        pass

    try:
        async with db.write() as repos:
            assert await repos.updates.claim(6, clock.now())
            raise Boom
    except Boom:
        pass
    async with db.write() as repos:
        assert await repos.updates.claim(6, clock.now())


async def test_the_scheduler_prunes_the_inbox(db: Database, clock: ManualClock) -> None:
    settings = load_settings(env_file=None, overrides={"quiet_hours": "off"})
    services = build_services(settings, db, clock, translator())
    async with db.write() as repos:
        assert await repos.updates.claim(1, clock.now() - IDEMPOTENCY_WINDOW - H)
        assert await repos.updates.claim(2, clock.now() - H)

    async def kept() -> list[int]:
        async with db.read() as repos:
            rows = await repos.conn.execute(
                sa.select(inbox.c.update_id).order_by(inbox.c.update_id)
            )
            return list(rows.scalars())

    await services.rounds.start()
    try:
        for _ in range(200):
            if await kept() == [2]:
                break
            await asyncio.sleep(0.01)
        assert await kept() == [2]
    finally:
        await services.rounds.stop()


def update(update_id: int, chat_id: int, text: str = "hola") -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "A"},
            "text": text,
        },
    }


async def test_updates_wait_in_order_one_chat_at_a_time(db: Database, clock: ManualClock) -> None:
    async with db.write() as repos:
        assert (
            await repos.updates.receive([update(3, 10), update(4, 20), update(5, 10)], clock.now())
            == 3
        )
        # Telegram sends the same batch again (our offset was not confirmed): nothing new.
        assert await repos.updates.receive([update(3, 10), update(4, 20)], clock.now()) == 0
    async with db.read() as repos:
        waiting = await repos.updates.pending(10)
        assert [(i.update_id, i.chat_id) for i in waiting] == [(3, 10), (4, 20), (5, 10)]
        assert waiting[0].payload["message"]["text"] == "hola"
        # While chat 10's first update is being handled, its second waits.
        assert [i.update_id for i in await repos.updates.pending(10, busy_chats={10})] == [4]
        assert await repos.updates.backlog() == 3


async def test_an_update_is_done_with_its_effects_or_when_its_handlers_return(
    db: Database, clock: ManualClock
) -> None:
    async with db.write() as repos:
        await repos.updates.receive([update(7, 10), update(8, 10)], clock.now())
    # A handler that writes claims the update in its own transaction...
    async with db.write() as repos:
        assert await repos.updates.claim(7, clock.now())
    # ...so the update handled again after a crash changes nothing.
    async with db.write() as repos:
        assert not await repos.updates.claim(7, clock.now())
    # A handler that writes nothing: the dispatcher marks it done when it returns.
    async with db.write() as repos:
        await repos.updates.finish(8, clock.now())
    async with db.read() as repos:
        assert await repos.updates.pending(10) == []
        assert await repos.updates.seen(7)
        assert await repos.updates.seen(8)


async def test_an_id_back_after_the_window_is_stored_as_a_new_update(
    db: Database, clock: ManualClock
) -> None:
    async with db.write() as repos:
        await repos.updates.receive([update(9, 10, "primero")], clock.now())
        assert await repos.updates.claim(9, clock.now())
    clock.advance(IDEMPOTENCY_WINDOW + H)
    async with db.write() as repos:
        assert await repos.updates.receive([update(9, 10, "otro")], clock.now()) == 1
    async with db.read() as repos:
        (again,) = await repos.updates.pending(10)
    assert again.payload["message"]["text"] == "otro"


async def test_a_batch_stores_only_its_new_updates_and_ids_back_after_the_window(
    db: Database, clock: ManualClock
) -> None:
    async with db.write() as repos:
        await repos.updates.receive([update(20, 10, "viejo"), update(21, 11)], clock.now())
        assert await repos.updates.claim(20, clock.now())
    clock.advance(IDEMPOTENCY_WINDOW + H)
    async with db.write() as repos:
        batch = [update(20, 10, "nuevo"), update(21, 11), update(22, 12)]
        stored = await repos.updates.store(batch, clock.now())
    # 20 came back as a new update, 21 is still waiting (a redelivery), 22 is new.
    assert [(i.update_id, i.chat_id) for i in stored] == [(20, 10), (22, 12)]
    async with db.read() as repos:
        waiting = {i.update_id: i.payload for i in await repos.updates.pending(10)}
    assert sorted(waiting) == [20, 21, 22]
    assert waiting[20]["message"]["text"] == "nuevo"


async def test_an_update_finished_during_a_read_of_the_inbox_is_not_handled_again(
    db: Database, clock: ManualClock, monkeypatch
) -> None:
    """The dispatcher reads the inbox while earlier updates are being handled; one that
    finishes during a (slow) read still looks pending in it and must not run twice —
    the demo's people saw their privacy notice twice when it did."""
    async with db.write() as repos:
        await repos.updates.receive(
            [update(100 + n, 10 + n % 3, f"m{n}") for n in range(24)], clock.now()
        )
    read_inbox = UpdateRepository.pending

    async def slow_read(self, limit, *, busy_chats=(), after=None):
        # A busy database: the rows come back a moment after the query saw them, so
        # updates finish between the snapshot and the look at which chats are busy.
        found = await read_inbox(self, limit, after=after)
        await asyncio.sleep(0.03)
        return [i for i in found if i.chat_id is None or i.chat_id not in busy_chats]

    monkeypatch.setattr(UpdateRepository, "pending", slow_read)
    handled: list[int] = []

    async def handle(item: InboxItem) -> None:
        handled.append(item.update_id)
        await asyncio.sleep(0.01)

    dispatcher = Dispatcher(db=db, clock=clock, handle=handle)
    await dispatcher.start()
    try:
        for _ in range(500):
            async with db.read() as repos:
                if await repos.updates.backlog() == 0:
                    break
            dispatcher.wake()
            await asyncio.sleep(0.01)
    finally:
        await dispatcher.stop()
    assert sorted(handled) == list(range(100, 124))  # each once
    for chat in range(3):  # and each chat's in order
        mine = [u for u in handled if (u - 100) % 3 == chat]
        assert mine == sorted(mine)


async def test_a_lost_reply_knows_when_it_is_superseded_or_should_wait(
    db: Database, clock: ManualClock
) -> None:
    """What the outbox asks before drawing a lost reply (handlers.outbox.render_prompt):
    has a later change owed its own reply, and has the person sent something the bot
    has not handled yet (recently: a stuck update must not hold the question back)."""
    now = clock.now()
    async with db.write() as repos:
        person = await repos.participants.create(
            telegram_user_id=4242, chat_id=4242, language="es", now=now
        )
        await repos.outbox.enqueue(
            [
                NewDelivery(
                    dedupe_key=f"prompt:u{n}",
                    kind="prompt",
                    chat_id=4242,
                    not_before=now,
                    participant_id=person.id,
                    payload={"response_id": 1},
                )
                for n in (1, 2)
            ],
            now,
        )
        rows = (await repos.conn.execute(sa.select(outbox.c.id).order_by(outbox.c.id))).scalars()
        first, second = (
            OutboxItem(i, f"prompt:u{n}", "prompt", None, person.id, 4242)
            for n, i in enumerate(rows, start=1)
        )
        assert await repos.outbox.superseded(first)
        assert not await repos.outbox.superseded(second)

        assert not await repos.updates.waiting_in_chat(4242, received_since=now)
        await repos.updates.receive([update(900, 4242)], now)
        assert await repos.updates.waiting_in_chat(4242, received_since=now - H)
        assert not await repos.updates.waiting_in_chat(4242, received_since=now + H)
        assert not await repos.updates.waiting_in_chat(77, received_since=now - H)
        await repos.updates.finish(900, now)
        assert not await repos.updates.waiting_in_chat(4242, received_since=now - H)


async def test_an_update_its_handler_claimed_is_not_marked_done_a_second_time(
    db: Database, clock: ManualClock
) -> None:
    """A handler that writes claims its update with its effects; the dispatcher then
    spares the second write transaction that would mark it done (one fewer per answer)."""
    async with db.write() as repos:
        await repos.updates.receive([update(31, 10), update(32, 20)], clock.now())
    statements: list[str] = []

    def seen(conn, cursor, statement, params, context, executemany) -> None:
        statements.append(statement)

    engines = [e for e in (db.engine, db._writer_engine, db._urgent_engine) if e is not None]
    for engine in engines:
        sa.event.listen(engine.sync_engine, "before_cursor_execute", seen)

    async def handle(item: InboxItem) -> None:
        if item.update_id == 31:  # writes, and claims the update in that transaction
            async with db.write() as repos:
                assert await repos.updates.claim(item.update_id, clock.now())

    dispatcher = Dispatcher(db=db, clock=clock, handle=handle)
    await dispatcher.start()
    try:
        await dispatcher.idle()
    finally:
        await dispatcher.stop()
        for engine in engines:
            sa.event.remove(engine.sync_engine, "before_cursor_execute", seen)
    finishes = [s for s in statements if s.lstrip().upper().startswith("UPDATE INBOX")]
    assert len(finishes) == 1  # update 32's, whose handler wrote nothing
    async with db.read() as repos:
        assert await repos.updates.backlog() == 0


async def test_an_earlier_lifes_update_goes_before_one_this_process_stored(
    db: Database, clock: ManualClock
) -> None:
    """A chat with updates a killed process stored and never handled, and a newer one this
    process stored: the read that found the inbox otherwise known ran while the chat was
    busy, so it did not see the older update — which must still go first. (The crash
    suite saw a Start press handled after the survey it started was finished.)"""
    async with db.write() as repos:  # stored by an earlier life, never offered here
        await repos.updates.receive([update(1, 7), update(2, 7)], clock.now())
    first_taken, release = asyncio.Event(), asyncio.Event()
    handled: list[int] = []

    async def handle(item: InboxItem) -> None:
        handled.append(item.update_id)
        if item.update_id == 1:
            first_taken.set()
            await release.wait()

    dispatcher = Dispatcher(db=db, clock=clock, handle=handle)
    await dispatcher.start()
    try:
        await asyncio.wait_for(first_taken.wait(), 5)
        async with db.write() as repos:  # this life's poller stores the next press
            new = await repos.updates.store([update(3, 7)], clock.now())
        dispatcher.offer(new)
        await asyncio.sleep(0.05)  # the dispatcher reads the inbox while chat 7 is busy
        release.set()
        for _ in range(300):
            if len(handled) == 3:
                break
            await asyncio.sleep(0.01)
    finally:
        await dispatcher.stop()
    assert handled == [1, 2, 3]


async def test_updates_this_process_stored_are_taken_without_reading_the_inbox_each_time(
    db: Database, clock: ManualClock
) -> None:
    """What the poller (or the webhook) stored is offered to the dispatcher as stored: one
    full read of the inbox shows it holds nothing else, and the rest come from memory,
    one chat's in order — while a wake-up (someone else stored) reads the inbox again."""
    reads: list[str] = []

    def seen(conn, cursor, statement, params, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM inbox" in statement:
            reads.append(statement)

    handled: list[int] = []

    async def handle(item: InboxItem) -> None:
        handled.append(item.update_id)
        await asyncio.sleep(0.001)

    dispatcher = Dispatcher(db=db, clock=clock, handle=handle)
    engines = [e for e in (db.engine, db._writer_engine, db._urgent_engine) if e is not None]
    for engine in engines:
        sa.event.listen(engine.sync_engine, "before_cursor_execute", seen)
    await dispatcher.start()
    try:
        for batch in range(4):  # as the poller does: store, then offer what is new
            async with db.write() as repos:
                new = await repos.updates.store(
                    [update(200 + 10 * batch + n, 50 + n % 2) for n in range(10)], clock.now()
                )
            dispatcher.offer(new)
            for _ in range(300):
                if len(handled) == 10 * (batch + 1):
                    break
                await asyncio.sleep(0.01)
        assert sorted(handled) == [200 + 10 * b + n for b in range(4) for n in range(10)]
        for chat in (50, 51):
            mine = [u for u in handled if (u % 10) % 2 == chat - 50]
            assert mine == sorted(mine)
        assert len(reads) <= 3  # not one (or three) per update, as before
        # Someone else stored one: a wake-up reads the inbox, and it is handled.
        async with db.write() as repos:
            await repos.updates.receive([update(300, 52)], clock.now())
        dispatcher.wake()
        for _ in range(300):
            if 300 in handled:
                break
            await asyncio.sleep(0.01)
        assert 300 in handled
    finally:
        await dispatcher.stop()
        for engine in engines:
            sa.event.remove(engine.sync_engine, "before_cursor_execute", seen)
    async with db.read() as repos:
        assert await repos.updates.backlog() == 0
