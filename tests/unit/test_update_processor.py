"""Per-chat ordering with cross-chat concurrency."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User

from pulso.app import PerChatUpdateProcessor


def update_in(chat_id: int, update_id: int) -> Update:
    chat = Chat(chat_id, "private")
    user = User(chat_id, "Ana", is_bot=False)
    from datetime import UTC, datetime

    message = Message(update_id, datetime(2026, 1, 1, tzinfo=UTC), chat, from_user=user, text="x")
    return Update(update_id, message=message)


async def test_one_chats_updates_run_in_order_and_chats_overlap() -> None:
    processor = PerChatUpdateProcessor(16)
    log: list[tuple[str, int, int]] = []
    release = asyncio.Event()

    async def handle(chat_id: int, update_id: int) -> None:
        log.append(("start", chat_id, update_id))
        if update_id == 1:
            await release.wait()  # the first update of chat 1 is slow
        log.append(("end", chat_id, update_id))

    async with processor:
        tasks = [
            asyncio.create_task(processor.process_update(update_in(c, u), handle(c, u)))
            for c, u in ((1, 1), (1, 2), (2, 3))
        ]
        await asyncio.sleep(0.01)
        # Chat 2 finished while chat 1 still waits; chat 1's second update has not begun.
        assert log == [("start", 1, 1), ("start", 2, 3), ("end", 2, 3)]
        release.set()
        await asyncio.gather(*tasks)
    assert log[3:] == [("end", 1, 1), ("start", 1, 2), ("end", 1, 2)]
    assert processor._locks == {}


async def test_updates_without_a_chat_run_freely() -> None:
    processor = PerChatUpdateProcessor(4)
    done: list[int] = []

    async def handle() -> None:
        done.append(1)

    async with processor:
        await processor.process_update(object(), handle())
    assert done == [1]


async def test_one_chats_backlog_never_delays_another_chat() -> None:
    """200 slow updates from one chat hold one slot, not all of them: another chat's
    update runs at once (issue 10, defect 7)."""
    processor = PerChatUpdateProcessor(64)
    handled: list[int] = []
    hurry = asyncio.Event()

    async def slow(update_id: int) -> None:
        if not hurry.is_set():
            await asyncio.sleep(0.02)
        handled.append(update_id)

    other_done_after = -1

    async def other() -> None:
        nonlocal other_done_after
        other_done_after = len(handled)

    async with processor:
        backlog = [
            asyncio.create_task(processor.process_update(update_in(1, u), slow(u)))
            for u in range(1, 201)
        ]
        await asyncio.sleep(0)  # the backlog is queued first
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(processor.process_update(update_in(2, 999), other()), 5)
        waited = asyncio.get_running_loop().time() - started
        # Before the fix the backlog held all 64 slots and chat 2 waited ~2.7 s.
        assert other_done_after <= 2
        assert waited < 0.1
        assert processor.current_concurrent_updates <= 1
        hurry.set()
        await asyncio.gather(*backlog)
    assert handled == list(range(1, 201))  # the chat's own order is kept
    assert processor.max_concurrent_updates == 64
