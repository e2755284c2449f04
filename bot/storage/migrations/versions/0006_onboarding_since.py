"""participants.onboarding_since: a person being asked the optional questions about
themselves, whose invitations wait until they are done

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Everyone already here has finished joining: NULL.
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("onboarding_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_column("onboarding_since")
