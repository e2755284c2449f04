"""closing the loop: responsible people, the government's replies, promise checks

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "responsible_people",
        sa.Column("commitment_id", sa.String(length=32), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("granted_by", sa.BigInteger(), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commitment_id"],
            ["commitments.id"],
            name=op.f("fk_responsible_people_commitment_id_commitments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "commitment_id", "telegram_user_id", name=op.f("pk_responsible_people")
        ),
    )
    op.create_index(
        "ix_responsible_people_user", "responsible_people", ["telegram_user_id"], unique=False
    )
    op.create_table(
        "agency_replies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("commitment_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=True),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.BigInteger(), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('requested', 'draft', 'published')",
            name=op.f("ck_agency_replies_agency_reply_status"),
        ),
        sa.ForeignKeyConstraint(
            ["commitment_id"],
            ["commitments.id"],
            name=op.f("fk_agency_replies_commitment_id_commitments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["rounds.id"],
            name=op.f("fk_agency_replies_round_id_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_replies")),
        sa.UniqueConstraint(
            "round_id", "commitment_id", name="uq_agency_replies_round_commitment"
        ),
    )
    op.create_index(
        "ix_agency_replies_status_due", "agency_replies", ["status", "due_at"], unique=False
    )
    op.create_table(
        "promise_checks",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("reply_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("response_id", _BIG_ID, nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["reply_id"],
            ["agency_replies.id"],
            name=op.f("fk_promise_checks_reply_id_agency_replies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["responses.id"],
            name=op.f("fk_promise_checks_response_id_responses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["rounds.id"],
            name=op.f("fk_promise_checks_round_id_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promise_checks")),
        sa.UniqueConstraint("reply_id", "item", "response_id", name="uq_promise_checks_promise"),
    )
    op.create_index(
        "ix_promise_checks_round",
        "promise_checks",
        ["round_id", "reply_id", "item"],
        unique=False,
    )
    op.create_table(
        "promise_outcomes",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("reply_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("yes", sa.Integer(), nullable=False),
        sa.Column("partly", sa.Integer(), nullable=False),
        sa.Column("no", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reply_id"],
            ["agency_replies.id"],
            name=op.f("fk_promise_outcomes_reply_id_agency_replies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["rounds.id"],
            name=op.f("fk_promise_outcomes_round_id_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "reply_id", "item", name=op.f("pk_promise_outcomes")),
    )


def downgrade() -> None:
    op.drop_table("promise_outcomes")
    op.drop_index("ix_promise_checks_round", table_name="promise_checks")
    op.drop_table("promise_checks")
    op.drop_index("ix_agency_replies_status_due", table_name="agency_replies")
    op.drop_table("agency_replies")
    op.drop_index("ix_responsible_people_user", table_name="responsible_people")
    op.drop_table("responsible_people")
