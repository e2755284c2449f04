"""sentiment_confidence on answers and feedback: the summaries count uncertain texts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_answers_round_question"
_INDEXED = ["round_id", "commitment_id", "role", "question_id", "choice", "skipped"]


def upgrade() -> None:
    # Texts scored before this revision keep NULL: they count as neither certain nor
    # uncertain (the model that scored them may not have had a confidence).
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sentiment_confidence", sa.Float(), nullable=True))
        batch_op.drop_index(_INDEX)
        batch_op.create_index(
            _INDEX, [*_INDEXED, "sentiment_label", "sentiment_confidence"], unique=False
        )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sentiment_confidence", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_column("sentiment_confidence")
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_index(_INDEX)
        batch_op.create_index(_INDEX, [*_INDEXED, "sentiment_label"], unique=False)
        batch_op.drop_column("sentiment_confidence")
