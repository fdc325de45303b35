"""Drill reviews by local day: the organizer's window reads

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 08:30:00

The digest's cohort-wide reads of reviews (drills per day over four weeks, the week's
Again/Hard ratings, the week's written answers) want one window of days out of all history.
The (member, day) index of 0013 serves SQLite, which reads a key range per member, but
PostgreSQL joins by hash and then scanned every review ever made (500,000 in the bench, a
quarter of them in the window) for each of those reads; with the day first it reads only the
window's entries, from the index alone, and the cost stays with the window as history grows.
The member comes last: second, it would match the digest's probe of a (member, day) as well
as 0013's index does, and SQLite took this one for it, reading members in id order through
an index ordered by day (about a tenth slower).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_drill_reviews_day_member",
        "drill_reviews",
        ["local_date", "rating", "track", "drill_id", "member_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_drill_reviews_day_member", table_name="drill_reviews")
