"""organizer_sharing and organizer_digest_times: members' consent for organizer views, and when
each organizer's weekly digest comes

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02 05:00:00

0008 is applied after 0009 (see 0008), so 0008 is the head this builds on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organizer_sharing",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_organizer_sharing_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_organizer_sharing")),
    )
    op.create_table(
        "organizer_digest_times",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("time", sa.String(length=5), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_organizer_digest_times_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_organizer_digest_times")),
    )


def downgrade() -> None:
    op.drop_table("organizer_digest_times")
    op.drop_table("organizer_sharing")
