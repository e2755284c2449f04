"""Log redaction (bot/logs.py): Telegram ids never reach a log line, our own small numbers do.

The end-to-end and privacy suites check the redaction of whole journeys; these
cases are the shapes it used to miss (issue 10, defect 10)."""

from __future__ import annotations

import logging

import pytest

from bot.logs import REDACTED, RedactingFilter

TOKEN = "123456:SECRET-TOKEN"


def redacted(text: str) -> str:
    return RedactingFilter([TOKEN]).redact(text)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # a long id at the end of a sentence (the "." used to protect it)
        ("message to 12345678.", f"message to {REDACTED}."),
        ("blocked by 9876543. Cancelled 3 sends", f"blocked by {REDACTED}. Cancelled 3 sends"),
        # ids under 7 digits where an id is written: query strings, keywords, JSON fields
        (
            f"POST https://api.telegram.org/bot{TOKEN}/sendMessage?chat_id=4321&text=x",
            f"POST https://api.telegram.org/bot{REDACTED}/sendMessage?chat_id={REDACTED}&text=x",
        ),
        ("chat_id=-1001 failed", f"chat_id={REDACTED} failed"),
        ("no reply to chat_id=55.", f"no reply to chat_id={REDACTED}."),
        ("user_id: 55 not allowed", f"user_id: {REDACTED} not allowed"),
        (
            '{"chat": {"id": 98765, "type": "private"}, "from": {"id": 42}}',
            f'{{"chat": {{"id": {REDACTED}, "type": "private"}}, "from": {{"id": {REDACTED}}}}}',
        ),
        ("Caller(user_id=321, chat_id=321)", f"Caller(user_id={REDACTED}, chat_id={REDACTED})"),
        ('{"chat_id": "777"}', f'{{"chat_id": "{REDACTED}"}}'),
        # the long-number rule still holds
        ("person -1001234567890 left", f"person {REDACTED} left"),
    ],
)
def test_telegram_ids_are_redacted(line: str, expected: str) -> None:
    assert redacted(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "round 7 closed: 5 of 7 completed",
        "outbox row 12: try 2 in 1.5 s",
        "rounds: 1 created, 2 opened, 30 reminders queued, 0 closed",
        "delivery: 120 sent, 0 failed; p99 window 21.3 ms",
        "took 1234567.5 ms",  # a decimal, not an id
        "schema upgraded from 0001 to 0002",
    ],
)
def test_our_own_small_numbers_stay(line: str) -> None:
    assert redacted(line) == line


def test_the_filter_rewrites_the_final_line() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent to %s.", (2345678,), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == f"sent to {REDACTED}."
