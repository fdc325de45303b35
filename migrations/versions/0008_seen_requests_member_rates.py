"""seen_requests and member_rates: retry dedupe and per-member limits shared by replicas

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('seen_requests',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_seen_requests'))
    )
    with op.batch_alter_table('seen_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seen_requests_expires_at'), ['expires_at'], unique=False)

    op.create_table('member_rates',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('tokens', sa.Float(), nullable=False),
    sa.Column('refilled_at', sa.Float(), nullable=False),
    sa.Column('allowed', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_member_rates'))
    )
    with op.batch_alter_table('member_rates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_rates_refilled_at'), ['refilled_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('member_rates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_rates_refilled_at'))
    op.drop_table('member_rates')
    with op.batch_alter_table('seen_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seen_requests_expires_at'))
    op.drop_table('seen_requests')
