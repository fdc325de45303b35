"""drill_daily: the drill of each member's daily DM, one per member and local day

Revision ID: 0009
Revises: 0010
Create Date: 2026-12-02 05:00:00

Numbered 0009 but applied after 0010: written at the same time as 0008 and 0010, and it
builds on whichever was the head when it was committed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drill_daily",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("drill_id", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("outbox_key", sa.String(length=250), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_drill_daily_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "local_date", name=op.f("pk_drill_daily")),
    )
    # The daily DMs queued so far were recorded only in the outbox: carry them over, so that
    # today's is not sent again and the rotation and cool-off go on where they were. Where a
    # race already queued two for one day, the first queued stands for the day.
    op.execute(
        "INSERT INTO drill_daily (member_id, local_date, drill_id, due_at, outbox_key, created_at) "
        "SELECT o.member_id, o.local_date, o.subject, o.due_at, o.dedupe_key, o.created_at "
        "FROM outbox o WHERE o.id IN ("
        "SELECT min(f.id) FROM outbox f WHERE f.kind = 'drill' AND f.member_id IS NOT NULL "
        "GROUP BY f.member_id, f.local_date)"
    )


def downgrade() -> None:
    op.drop_table("drill_daily")
