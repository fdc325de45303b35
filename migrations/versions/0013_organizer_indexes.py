"""Indexes for the organizer's digest: each cohort-wide figure reads a key range per member

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 07:00:00

Each index covers what one group of the digest's grouped reads needs, so that a 10,000-member
cohort is read from the indexes alone (no table row per review, daily drill or move):
drills by local day (and their ratings, tracks and drills for the weak spots), daily drills by
day with their due time, and each application's moves for the funnel.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_drill_reviews_member_day",
        "drill_reviews",
        ["member_id", "local_date", "rating", "track", "drill_id"],
    )
    op.create_index(
        "ix_drill_daily_member_day_due", "drill_daily", ["member_id", "local_date", "due_at"]
    )
    op.create_index(
        "ix_pipeline_stage_moves_member_app",
        "pipeline_stage_moves",
        ["member_id", "application_id", "to_stage"],
    )


def downgrade() -> None:
    op.drop_index("ix_pipeline_stage_moves_member_app", table_name="pipeline_stage_moves")
    op.drop_index("ix_drill_daily_member_day_due", table_name="drill_daily")
    op.drop_index("ix_drill_reviews_member_day", table_name="drill_reviews")
