"""The database schema, in SQLAlchemy Core, for SQLite and PostgreSQL alike.

Alembic migrations in ``migrations/versions`` create exactly this schema (a
test compares them). The tables fall into four groups:

* **the plan**: ``action_plans``, ``commitments``, ``instruments`` (validated
  JSON per immutable version), ``official_figures``;
* **people**: ``participants`` (who consented), ``memberships`` (participant ×
  commitment × role), ``invites`` and ``invite_redemptions``, ``staff_roles``,
  ``chat_settings``;
* **rounds**: ``schedules`` (recurring), ``rounds``, ``round_targets``,
  ``reminders``, ``responses`` (one per round × participant × commitment: the
  snapshot of who is targeted, and their progress), ``answers`` and
  ``answer_choices`` (multi-choice only), ``feedback``;
* **the machinery**: ``outbox`` (every message the bot owes someone),
  ``processed_updates`` (idempotency), ``audit_log`` (staff actions).

Telegram ids live only in ``participants``, ``staff_roles``, ``outbox.chat_id``
and ``audit_log``: answers point at a participant through ``responses``, so
``/forget`` unlinks them by nulling one column.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC instants on both databases.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so we store
    naive UTC there (its text sorts and compares correctly) and attach UTC
    again on the way out. Naive datetimes are refused: they are always a bug.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware UTC instant")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# 64-bit ids for the tables that grow with every answer or message; SQLite's
# rowid alias must be spelled INTEGER to autoincrement.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TelegramId = sa.BigInteger


def _created() -> sa.Column[datetime]:
    return sa.Column("created_at", UTCDateTime(), nullable=False)


# --- the plan -----------------------------------------------------------------------------

action_plans = sa.Table(
    "action_plans",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("definition", sa.JSON(), nullable=False),
    sa.Column("source_file", sa.String(500), nullable=True),
    sa.Column("imported_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

commitments = sa.Table(
    "commitments",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "plan_id",
        sa.String(64),
        sa.ForeignKey("action_plans.id", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    ),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("definition", sa.JSON(), nullable=False),
    # A commitment dropped from the plan file stays (its answers do) but is
    # no longer offered in new rounds.
    sa.Column("retired", sa.Boolean(), nullable=False, server_default=sa.false()),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

instruments = sa.Table(
    "instruments",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("instrument_id", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("definition", sa.JSON(), nullable=False),
    _created(),
    sa.UniqueConstraint("instrument_id", "version", name="uq_instruments_id_version"),
)

official_figures = sa.Table(
    "official_figures",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "commitment_id",
        sa.String(32),
        sa.ForeignKey("commitments.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("percent", sa.Float(), nullable=False),
    sa.Column("source", sa.String(500), nullable=False),
    sa.Column("as_of", sa.Date(), nullable=True),
    sa.Column("recorded_by", TelegramId(), nullable=True),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),
)

# --- people -------------------------------------------------------------------------------

participants = sa.Table(
    "participants",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("telegram_user_id", TelegramId(), nullable=False, unique=True),
    sa.Column("chat_id", TelegramId(), nullable=False),
    sa.Column("language", sa.String(2), nullable=False),
    # active | stopped (asked for no more messages) | unreachable (blocked the bot)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("consented_at", UTCDateTime(), nullable=False),
    # Answers to the plan's optional demographic questions: {question id: option code | None}
    sa.Column("demographics", sa.JSON(), nullable=False),
    # What a free-text message from this person means right now, e.g. "feedback:JAL0004".
    sa.Column("awaiting", sa.String(120), nullable=True),
    # Since when they are being asked the optional questions about themselves, having just
    # joined (NULL: done, or never asked): their invitations wait (issue 14).
    sa.Column("onboarding_since", UTCDateTime(), nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint(
        "status IN ('active', 'stopped', 'unreachable')", name="participant_status"
    ),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "participant_id",
        sa.Integer(),
        sa.ForeignKey("participants.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "commitment_id",
        sa.String(32),
        sa.ForeignKey("commitments.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("joined_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint(
        "participant_id", "commitment_id", "role", name="uq_memberships_participant"
    ),
    sa.Index("ix_memberships_commitment_role", "commitment_id", "role"),
    sa.CheckConstraint("role IN ('beneficiary', 'implementer')", name="membership_role"),
)

invites = sa.Table(
    "invites",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    # SHA-256 of the token: a leaked database does not leak working invites.
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "commitment_id",
        sa.String(32),
        sa.ForeignKey("commitments.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("max_uses", sa.Integer(), nullable=False),
    sa.Column("uses", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.Column("created_by", TelegramId(), nullable=True),
    _created(),
    sa.CheckConstraint("uses <= max_uses", name="invite_uses"),
)

invite_redemptions = sa.Table(
    "invite_redemptions",
    metadata,
    sa.Column(
        "invite_id",
        sa.Integer(),
        sa.ForeignKey("invites.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "participant_id",
        sa.Integer(),
        sa.ForeignKey("participants.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("redeemed_at", UTCDateTime(), nullable=False),
)

staff_roles = sa.Table(
    "staff_roles",
    metadata,
    sa.Column("telegram_user_id", TelegramId(), primary_key=True),
    sa.Column("role", sa.String(16), primary_key=True),
    sa.Column("granted_by", TelegramId(), nullable=True),
    sa.Column("granted_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("role IN ('secretariat', 'admin')", name="staff_role"),
)

# The language a group or channel gets its summaries in, and staff members'
# language in private chats (participants keep theirs in `participants`).
chat_settings = sa.Table(
    "chat_settings",
    metadata,
    sa.Column("chat_id", TelegramId(), primary_key=True),
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

# --- rounds -------------------------------------------------------------------------------

schedules = sa.Table(
    "schedules",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("instrument_id", sa.String(64), nullable=False),
    # None = every commitment at the moment a round is created
    sa.Column("commitment_ids", sa.JSON(), nullable=True),
    sa.Column("roles", sa.JSON(), nullable=False),
    sa.Column("cron", sa.String(120), nullable=False),
    sa.Column("duration_seconds", sa.Integer(), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
    # The cron moment the last round was created for; the next one is computed from it.
    sa.Column("last_fired_at", UTCDateTime(), nullable=True),
    sa.Column("next_fire_at", UTCDateTime(), nullable=True, index=True),
    sa.Column("created_by", TelegramId(), nullable=True),
    _created(),
)

rounds = sa.Table(
    "rounds",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "instrument_pk",
        sa.Integer(),
        sa.ForeignKey("instruments.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    sa.Column(
        "schedule_id",
        sa.Integer(),
        sa.ForeignKey("schedules.id", ondelete="SET NULL"),
        nullable=True,
    ),
    # scheduled → open → closed, or scheduled|open → cancelled; every move is a compare-and-set
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("opens_at", UTCDateTime(), nullable=False),
    sa.Column("closes_at", UTCDateTime(), nullable=False),
    sa.Column("opened_at", UTCDateTime(), nullable=True),
    sa.Column("closed_at", UTCDateTime(), nullable=True),
    sa.Column("cancelled_at", UTCDateTime(), nullable=True),
    # Quiet hours for this round ("HH:MM-HH:MM" or "off"); None = the setting.
    sa.Column("quiet_hours", sa.String(16), nullable=True),
    # Send each respondent their commitment's results when the round closes.
    sa.Column("send_results", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("created_by", TelegramId(), nullable=True),
    _created(),
    sa.Index("ix_rounds_status_opens", "status", "opens_at"),
    sa.CheckConstraint(
        "status IN ('scheduled', 'open', 'closed', 'cancelled')", name="round_status"
    ),
    sa.CheckConstraint("closes_at > opens_at", name="round_window"),
)

# What a round published when it closed (surveys.snapshot.RoundSnapshot as JSON): every
# later output of a closed round is computed from it, so published figures never move.
round_snapshots = sa.Table(
    "round_snapshots",
    metadata,
    sa.Column(
        "round_id",
        sa.Integer(),
        sa.ForeignKey("rounds.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Column("taken_at", UTCDateTime(), nullable=False),
)

round_targets = sa.Table(
    "round_targets",
    metadata,
    sa.Column(
        "round_id", sa.Integer(), sa.ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "commitment_id",
        sa.String(32),
        sa.ForeignKey("commitments.id", ondelete="RESTRICT"),
        primary_key=True,
    ),
    sa.Column("role", sa.String(16), primary_key=True),
)

reminders = sa.Table(
    "reminders",
    metadata,
    sa.Column(
        "round_id", sa.Integer(), sa.ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("position", sa.Integer(), primary_key=True),
    sa.Column("due_at", UTCDateTime(), nullable=False),
    # pending → enqueued, or → skipped (a later reminder was also overdue, or the round closed)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("handled_at", UTCDateTime(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'enqueued', 'skipped')", name="reminder_status"),
)

responses = sa.Table(
    "responses",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "round_id", sa.Integer(), sa.ForeignKey("rounds.id", ondelete="CASCADE"), nullable=False
    ),
    # Nulled by /forget: the answers stay in the aggregates, unlinked from the person.
    sa.Column(
        "participant_id",
        sa.Integer(),
        sa.ForeignKey("participants.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column(
        "commitment_id",
        sa.String(32),
        sa.ForeignKey("commitments.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    sa.Column("role", sa.String(16), nullable=False),
    # pending (targeted, not started) → started → completed
    sa.Column("status", sa.String(16), nullable=False),
    # The question in front of the person when they went back or are revising;
    # None = the next unanswered one.
    sa.Column("cursor", sa.String(32), nullable=True),
    # The bot message holding the current question's buttons, to retire them.
    sa.Column("prompt_message_id", sa.BigInteger(), nullable=True),
    sa.Column("started_at", UTCDateTime(), nullable=True),
    sa.Column("completed_at", UTCDateTime(), nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint(
        "round_id", "participant_id", "commitment_id", name="uq_responses_round_participant"
    ),
    sa.Index("ix_responses_round_commitment", "round_id", "commitment_id", "role", "status"),
    sa.Index("ix_responses_participant", "participant_id", "status"),
    sa.CheckConstraint("status IN ('pending', 'started', 'completed')", name="response_status"),
)

answers = sa.Table(
    "answers",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "response_id", BigId, sa.ForeignKey("responses.id", ondelete="CASCADE"), nullable=False
    ),
    # Copied from the response (they never change) so aggregation reads one table.
    sa.Column("round_id", sa.Integer(), nullable=False),
    sa.Column("commitment_id", sa.String(32), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("question_id", sa.String(32), nullable=False),
    # The option code of a single-valued choice (scales, yes/no, single); NULL otherwise.
    sa.Column("choice", sa.String(16), nullable=True),
    # Normalised 0–100 for scale answers, so SQL can average them.
    sa.Column("score", sa.Float(), nullable=True),
    sa.Column("text", sa.Text(), nullable=True),
    sa.Column("skipped", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("sentiment_score", sa.Float(), nullable=True),
    sa.Column("sentiment_label", sa.String(3), nullable=True),
    sa.Column("sentiment_version", sa.String(64), nullable=True),
    # The probability of the label (SentimentScore.confidence); under UNCERTAIN_BELOW the
    # text counts as uncertain in the summaries. NULL for texts scored before 0004.
    sa.Column("sentiment_confidence", sa.Float(), nullable=True),
    sa.Column("text_language", sa.String(2), nullable=True),
    sa.Column("answered_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("response_id", "question_id", name="uq_answers_response_question"),
    # Covers the summary's GROUP BY (choice, skipped, sentiment label) and its count of
    # uncertain texts (confidence): counting a round of a million answers reads only this
    # index (about 10x faster on SQLite).
    sa.Index(
        "ix_answers_round_question",
        "round_id",
        "commitment_id",
        "role",
        "question_id",
        "choice",
        "skipped",
        "sentiment_label",
        "sentiment_confidence",
    ),
)

answer_choices = sa.Table(
    "answer_choices",
    metadata,
    sa.Column(
        "answer_id", BigId, sa.ForeignKey("answers.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("code", sa.String(16), primary_key=True),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "participant_id",
        sa.Integer(),
        sa.ForeignKey("participants.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column(
        "commitment_id",
        sa.String(32),
        sa.ForeignKey("commitments.id", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    ),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("sentiment_score", sa.Float(), nullable=True),
    sa.Column("sentiment_label", sa.String(3), nullable=True),
    sa.Column("sentiment_version", sa.String(64), nullable=True),
    sa.Column("sentiment_confidence", sa.Float(), nullable=True),
    sa.Column("text_language", sa.String(2), nullable=True),
    _created(),
)

# --- closing the loop (surveys.accountability, docs/responses.md) -------------------------

# Who answers for a commitment: the implementing agency's contacts, by Telegram id.
responsible_people = sa.Table(
    "responsible_people",
    metadata,
    sa.Column(
        "commitment_id",
        sa.String(32),
        sa.ForeignKey("commitments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("telegram_user_id", TelegramId(), primary_key=True),
    # None: named by the plan file, or granted from the command line.
    sa.Column("granted_by", TelegramId(), nullable=True),
    sa.Column("granted_at", UTCDateTime(), nullable=False),
    sa.Index("ix_responsible_people_user", "telegram_user_id"),
)

# The government's public answer to one commitment's results of one closed round.
# requested (at close) → draft (being written) → published; `draft` holds the
# surveys.accountability.Draft as JSON, the published text included.
agency_replies = sa.Table(
    "agency_replies",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "round_id", sa.Integer(), sa.ForeignKey("rounds.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "commitment_id",
        sa.String(32),
        sa.ForeignKey("commitments.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("requested_at", UTCDateTime(), nullable=False),
    sa.Column("due_at", UTCDateTime(), nullable=False),
    sa.Column("draft", sa.JSON(), nullable=True),
    sa.Column("updated_by", TelegramId(), nullable=True),
    sa.Column("published_at", UTCDateTime(), nullable=True),
    sa.Column("published_by", TelegramId(), nullable=True),
    # How many of the reminders before the deadline were queued; when it was reported overdue.
    sa.Column("reminders_sent", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("overdue_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("round_id", "commitment_id", name="uq_agency_replies_round_commitment"),
    sa.Index("ix_agency_replies_status_due", "status", "due_at"),
    sa.CheckConstraint(
        "status IN ('requested', 'draft', 'published')", name="agency_reply_status"
    ),
)

# A later round's question "did it happen?" about one promise (item of a reply), one per
# beneficiary's response; `answer` None until they press.
promise_checks = sa.Table(
    "promise_checks",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "round_id", sa.Integer(), sa.ForeignKey("rounds.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "reply_id",
        sa.Integer(),
        sa.ForeignKey("agency_replies.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("item", sa.Integer(), nullable=False),
    sa.Column(
        "response_id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.ForeignKey("responses.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("answer", sa.String(8), nullable=True),
    sa.Column("answered_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("reply_id", "item", "response_id", name="uq_promise_checks_promise"),
    sa.Index("ix_promise_checks_round", "round_id", "reply_id", "item"),
)

# What a closed round published about each promise it checked: people per answer, frozen
# at close like the round's snapshot.
promise_outcomes = sa.Table(
    "promise_outcomes",
    metadata,
    sa.Column(
        "round_id", sa.Integer(), sa.ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "reply_id",
        sa.Integer(),
        sa.ForeignKey("agency_replies.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("item", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("yes", sa.Integer(), nullable=False),
    sa.Column("partly", sa.Integer(), nullable=False),
    sa.Column("no", sa.Integer(), nullable=False),
    sa.Column("unknown", sa.Integer(), nullable=False),
)

# --- the machinery ------------------------------------------------------------------------

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    # One row per message owed, e.g. "r12:p34:invitation"; a second enqueue is a no-op.
    sa.Column("dedupe_key", sa.String(120), nullable=False, unique=True),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column(
        "round_id", sa.Integer(), sa.ForeignKey("rounds.id", ondelete="CASCADE"), nullable=True
    ),
    sa.Column(
        "participant_id",
        sa.Integer(),
        sa.ForeignKey("participants.id", ondelete="CASCADE"),
        nullable=True,
    ),
    sa.Column("chat_id", TelegramId(), nullable=False),
    sa.Column("payload", sa.JSON(), nullable=True),
    # pending → sending → sent | failed | unreachable, or → cancelled
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
    sa.Column("claimed_at", UTCDateTime(), nullable=True),
    sa.Column("sent_at", UTCDateTime(), nullable=True),
    sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
    sa.Column("last_error", sa.String(200), nullable=True),
    _created(),
    sa.Index("ix_outbox_due", "status", "next_attempt_at"),
    sa.Index("ix_outbox_round", "round_id", "kind", "status"),
    sa.CheckConstraint(
        "status IN ('pending', 'sending', 'sent', 'failed', 'unreachable', 'cancelled')",
        name="outbox_status",
    ),
)

# Every update Telegram sent, stored before Telegram is told it arrived (the next
# getUpdates offset, or the webhook's 200), and handled from here in order per chat. A
# row is "done" in the same transaction as the update's effects (``updates.claim``), or
# after a handler that writes nothing returned. Done rows mark redeliveries for 24 h
# (Telegram's limit), then are pruned. ``payload`` is None for a claim of an update that
# never came through the inbox (a service called directly). ``lease_*``: which worker
# is handling a pending row, until when (PostgreSQL workers; SQLite has one process).
inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("update_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("chat_id", TelegramId(), nullable=True),
    sa.Column("payload", sa.JSON(), nullable=True),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("handled_at", UTCDateTime(), nullable=True, index=True),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_until", UTCDateTime(), nullable=True),
    sa.Index("ix_inbox_pending", "status", "update_id"),
    sa.CheckConstraint("status IN ('pending', 'done')", name="inbox_status"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    # The staff member's Telegram id, or None for the command line.
    sa.Column("actor", TelegramId(), nullable=True),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("details", sa.JSON(), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False, index=True),
)
