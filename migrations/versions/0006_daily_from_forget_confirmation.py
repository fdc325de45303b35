"""member settings: daily_from, forget_requested_at

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('member_settings') as batch:
        batch.add_column(sa.Column('daily_from', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('forget_requested_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('member_settings') as batch:
        batch.drop_column('forget_requested_at')
        batch.drop_column('daily_from')
