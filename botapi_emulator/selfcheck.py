"""How fast the emulator answers: a throughput self-check, not a timed test.

``await measure_send_throughput(count=1000)`` starts a fresh emulator, sends
``count`` ``sendMessage`` requests the way PTB encodes them (URL-encoded form,
JSON-encoded ``reply_markup``, HTML text) through httpx with ``concurrency``
requests in flight, checks they all arrived, and returns the timing, including
the share spent in the emulator's handlers (small: httpx's client side costs
several times more than the server). Run it by hand with::

    python -c "import asyncio; from botapi_emulator.selfcheck import main; asyncio.run(main())"
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import httpx

from botapi_emulator.server import BotApiEmulator

__all__ = ["Throughput", "main", "measure_send_throughput"]


@dataclass(frozen=True, slots=True)
class Throughput:
    """The result of one self-check run."""

    count: int
    seconds: float
    errors: int
    server_seconds: float

    @property
    def per_second(self) -> float:
        """Requests answered per second."""
        return self.count / self.seconds if self.seconds > 0 else float("inf")

    def __str__(self) -> str:
        return (
            f"{self.count} sendMessage in {self.seconds:.3f}s "
            f"({self.per_second:,.0f}/s; {self.server_seconds:.3f}s of it in the emulator's "
            f"handlers), {self.errors} errors"
        )


async def measure_send_throughput(count: int = 1000, concurrency: int = 4) -> Throughput:
    """Send ``count`` messages to one started user through httpx and time it."""
    keyboard = json.dumps(
        {"inline_keyboard": [[{"text": f"{i}", "callback_data": f"a:1:q1:{i}"} for i in range(5)]]}
    )
    async with BotApiEmulator() as emu:
        user = emu.user(1001, "Ana", started=True)
        url = f"{emu.base_url}{emu.token}/sendMessage"
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in range(count):
                queue.put_nowait(i)
            errors = 0

            async def worker() -> None:
                nonlocal errors
                while not queue.empty():
                    i = queue.get_nowait()
                    response = await client.post(
                        url,
                        data={
                            "chat_id": str(user.id),
                            "text": f"<b>Pregunta {i}</b> ¿cómo va &quot;el plan&quot;?",
                            "parse_mode": "HTML",
                            "reply_markup": keyboard,
                        },
                    )
                    if response.status_code != 200:
                        errors += 1

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            seconds = time.perf_counter() - started
        if len(user.messages) + errors != count:
            raise AssertionError(f"{count} sent but {len(user.messages)} recorded")
        return Throughput(count, seconds, errors, emu.stats.handler_seconds)


async def main() -> None:
    """Print one run of the self-check."""
    print(await measure_send_throughput())
