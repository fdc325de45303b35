"""Several cohorts per workspace (one per channel), streak freezes, mock_meetings

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-02 05:30:00

Built on 0009, the head when this was written (0009 itself is applied after 0010).

Data: a workspace keeps the cohort its commands used so far, the lowest id. Members without a
cohort there join it (commands treated them as its members). Duplicate cohorts of one channel
(two concurrent first setups) merge into the lowest, so that the channel names one cohort.
Streaks already running earn the freezes they would have earned: one per 7 days, at most 2.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _merge_duplicate_channels() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, workspace_id, channel_id FROM cohorts "
            "WHERE channel_id IS NOT NULL ORDER BY id"
        )
    ).all()
    keep: dict[tuple[int, str], int] = {}
    for cid, ws, channel in rows:
        first = keep.setdefault((ws, channel), cid)
        if first == cid:
            continue
        params = {"keep": first, "dup": cid}
        conn.execute(sa.text("UPDATE members SET cohort_id = :keep WHERE cohort_id = :dup"), params)
        conn.execute(
            sa.text("UPDATE mock_pairs SET cohort_id = :keep WHERE cohort_id = :dup"), params
        )
        conn.execute(
            sa.text(
                "INSERT INTO cohort_offdays (cohort_id, day) SELECT :keep, day "
                "FROM cohort_offdays d WHERE d.cohort_id = :dup AND NOT EXISTS "
                "(SELECT 1 FROM cohort_offdays k WHERE k.cohort_id = :keep AND k.day = d.day)"
            ),
            params,
        )
        conn.execute(sa.text("DELETE FROM cohort_offdays WHERE cohort_id = :dup"), params)
        conn.execute(sa.text("DELETE FROM cohorts WHERE id = :dup"), params)


def upgrade() -> None:
    _merge_duplicate_channels()
    op.execute(
        "UPDATE members SET cohort_id = (SELECT MIN(c.id) FROM cohorts c "
        "WHERE c.workspace_id = members.workspace_id) WHERE cohort_id IS NULL"
    )
    # An index, not a constraint: on SQLite a constraint rebuilds the table, and dropping
    # the old one would set every member's cohort_id to NULL (ON DELETE SET NULL).
    op.create_index(
        "ux_cohorts_workspace_channel", "cohorts", ["workspace_id", "channel_id"], unique=True
    )
    with op.batch_alter_table("drill_practice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("freezes", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("freeze_run", sa.Integer(), server_default="0", nullable=False)
        )
    op.execute(
        "UPDATE drill_practice SET "
        "freezes = CASE WHEN streak >= 14 THEN 2 WHEN streak >= 7 THEN 1 ELSE 0 END, "
        "freeze_run = streak % 7"
    )
    op.create_table(
        "mock_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("own", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"],
            ["cohorts.id"],
            name=op.f("fk_mock_meetings_cohort_id_cohorts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_mock_meetings_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"],
            ["mock_pairs.id"],
            name=op.f("fk_mock_meetings_pair_id_mock_pairs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mock_meetings")),
        sa.UniqueConstraint(
            "pair_id", "member_id", name=op.f("uq_mock_meetings_pair_id_member_id")
        ),
    )
    with op.batch_alter_table("mock_meetings", schema=None) as batch_op:
        batch_op.create_index("ix_mock_meetings_cohort_week", ["cohort_id", "week_start"])


def downgrade() -> None:
    op.drop_table("mock_meetings")
    with op.batch_alter_table("drill_practice", schema=None) as batch_op:
        batch_op.drop_column("freeze_run")
        batch_op.drop_column("freezes")
    op.drop_index("ux_cohorts_workspace_channel", table_name="cohorts")
