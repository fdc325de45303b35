"""pair rooms and drill talk: where each mock pair's room was opened, and a cohort's daily
drill discussion

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 08:00:00

`mock_pairs.room_*` record the platform's room of a pair (a Slack group DM, a Discord private
thread, or `dms` when the members were written to one by one), so every retry and replica
reuses it, and `room_claimed_until` lets one sender at a time open it. `cohorts.talk_track`
is the track of the daily drill discussion (NULL: off).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs: a batch rebuild of cohorts on SQLite would empty members.cohort_id.
    op.add_column("mock_pairs", sa.Column("room_kind", sa.String(length=16), nullable=True))
    op.add_column("mock_pairs", sa.Column("room_id", sa.String(length=64), nullable=True))
    op.add_column("mock_pairs", sa.Column("room_note", sa.String(length=300), nullable=True))
    op.add_column("mock_pairs", sa.Column("room_claimed_until", sa.DateTime(), nullable=True))
    op.add_column(
        "mock_pairs",
        sa.Column("room_tries", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("cohorts", sa.Column("talk_track", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cohorts") as batch:
        batch.drop_column("talk_track")
    with op.batch_alter_table("mock_pairs") as batch:
        batch.drop_column("room_tries")
        batch.drop_column("room_claimed_until")
        batch.drop_column("room_note")
        batch.drop_column("room_id")
        batch.drop_column("room_kind")
