"""What leaves Pulso as files: the published figures, and the answer file (microdata).

* :func:`aggregates_csv` — a round's published figures, one row per figure, with
  how many people each comes from and whether it is shown, suppressed or empty:
  the Secretariat's ``/export`` and ``pulso report``'s ``aggregates.csv``.
* :func:`write_answers` — the answer file of closed rounds, for admins (``pulso
  export``, ``/export ROUND answers``): one row per answer, per-round pseudonyms
  (:func:`pseudonym`), times to the day unless asked; every one audited with
  :func:`audit_answers_export`. See ``docs/privacy.md``, "Exports".
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Final, Literal, TextIO

from bot.storage.repositories.insights import ExportRow
from surveys.aggregation import LABELS, NUMERIC_MEASURES, Figure
from surveys.digest import Digest

if TYPE_CHECKING:
    from bot.storage.engine import Database

ExportFormat = Literal["csv", "json"]
EXPORT_COLUMNS: Final = (
    "round",
    "instrument",
    "commitment",
    "role",
    "pseudonym",
    "question",
    "value",
    "score",
    "text",
    "skipped",
    "sentiment",
    "sentiment_score",
    "text_language",
    "answered_at",
)


def pseudonym(secret: bytes, round_id: int, telegram_user_id: int | None) -> str:
    """HMAC-SHA256 of the round and the Telegram user id, hex; empty for answers unlinked
    by /forget. A new pseudonym every round: two files cannot be joined into one
    person's history across rounds."""
    if telegram_user_id is None:
        return ""
    message = f"{round_id}:{telegram_user_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


# --- the published figures -------------------------------------------------------------------


def aggregates_csv(digest: Digest) -> str:
    """Every published figure as a row, per role (beneficiaries first; never pooled across
    roles); suppressed ones have no value and say so. ``gap_points`` compares the roles
    (and the official figure): its role is ``gap``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("round", "commitment", "role", "figure", "value", "people", "status"))

    def row(commitment_id: str, role: str, name: str, figure: Figure) -> None:
        status = "shown" if figure.shown else ("suppressed" if figure.suppressed else "empty")
        writer.writerow(
            (
                digest.info.round_id,
                commitment_id,
                role,
                name,
                f"{figure.value:.2f}" if figure.value is not None else "",
                figure.n if figure.shown else "",
                status,
            )
        )

    for commitment in digest.result.commitments:
        cid = commitment.commitment_id
        for role_name, measures, tone, sentiment in [
            (g.role.value, g.measures, g.tone, g.sentiment) for g in commitment.roles()
        ]:
            for measure in NUMERIC_MEASURES:
                if measure in measures:
                    row(cid, role_name, f"{measure.value}_index", measures[measure].mean)
                    row(cid, role_name, f"{measure.value}_median", measures[measure].median)
            for label in LABELS:
                share = tone.shares.get(label)
                row(
                    cid,
                    role_name,
                    f"tone_{label}_share",
                    Figure(share, tone.index.n) if share is not None else tone.index,
                )
            row(cid, role_name, "sentiment_index", sentiment)
    for gap in digest.gap:
        if gap.gap is not None:
            row(gap.commitment_id, "gap", "gap_points", Figure(gap.gap, gap.beneficiaries.mean.n))
    return buffer.getvalue()


# --- the answer file ---------------------------------------------------------------------------

_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell_text(text: str | None) -> str:
    """A free text for a spreadsheet: one that starts like a formula is shown, not run."""
    if text is None:
        return ""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _record(row: ExportRow, secret: bytes, *, exact_times: bool) -> dict[str, object]:
    return {
        "round": row.round_id,
        "instrument": row.instrument,
        "commitment": row.commitment_id,
        "role": row.role,
        "pseudonym": pseudonym(secret, row.round_id, row.telegram_user_id),
        "question": row.question_id,
        "value": row.value,
        "score": row.score,
        "text": row.text,
        "skipped": row.skipped,
        "sentiment": row.sentiment_label,
        "sentiment_score": row.sentiment_score,
        "text_language": row.text_language,
        # A day is enough to study a round; the minute an answer came can tell who sent it.
        "answered_at": (
            row.answered_at.isoformat() if exact_times else row.answered_at.date().isoformat()
        ),
    }


async def _rows(db: Database, round_id: int | None) -> AsyncIterator[ExportRow]:
    async with db.read() as repos:
        async for row in repos.insights.export_rows(round_id):
            yield row


async def write_answers(
    db: Database,
    out: TextIO,
    *,
    secret: bytes,
    round_id: int | None,
    fmt: ExportFormat,
    exact_times: bool = False,
) -> int:
    """Write the answers of closed rounds (one, or all) to ``out``; returns how many rows.

    The full answer file (microdata), for admins only (see ``docs/privacy.md``):
    one row per answer, one per chosen option of a multiple choice; people appear
    only as pseudonyms that differ from round to round (HMAC-SHA256 of round and
    Telegram id under ``PSEUDONYM_SECRET``), empty for answers unlinked by /forget;
    times to the day unless ``exact_times``. CSV texts that start like a formula get
    a leading apostrophe; JSON is written as it is stored. The caller audits it
    (:func:`audit_answers_export`).
    """
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        async for row in _rows(db, round_id):
            record = _record(row, secret, exact_times=exact_times)
            record["text"] = _cell_text(row.text)
            record["skipped"] = "true" if row.skipped else "false"
            writer.writerow({k: ("" if v is None else v) for k, v in record.items()})
            count += 1
        return count
    out.write("[")
    async for row in _rows(db, round_id):
        out.write(
            ("\n" if count == 0 else ",\n")
            + json.dumps(_record(row, secret, exact_times=exact_times), ensure_ascii=False)
        )
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


async def audit_answers_export(
    db: Database,
    *,
    actor: int | None,
    round_id: int | None,
    rows: int,
    exact_times: bool,
    now: datetime,
) -> None:
    """Record that the full answer file left the system: who (None: the command line),
    which round (None: every closed round), how many rows, with exact times or not."""
    async with db.write() as repos:
        await repos.audit.record(
            actor,
            "export_answers",
            {"round": round_id, "rows": rows, "exact_times": exact_times},
            now,
        )
