"""outbox: recipient lanes; indexes for lanes and retention

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 04:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 5000


def _recipient(payload: object) -> str:
    # A frozen copy of bot.outbox.recipient_of: a migration must not change when the app does.
    import json

    data = json.loads(payload) if isinstance(payload, str) else payload
    if not isinstance(data, dict):
        return ""
    target = data.get("target") or {}
    platform = (data.get("meta") or {}).get("platform", "")
    if target.get("type") == "dm":
        u = target.get("user") or {}
        return f"{platform}:{u.get('workspace_id', '')}:u:{u.get('user_id', '')}"[:200]
    c = target.get("conversation") or {}
    ws = (target.get("user") or {}).get("workspace_id", "")
    return f"{platform}:{ws}:c:{c.get('id', '')}"[:200]


def upgrade() -> None:
    op.add_column(
        "outbox",
        sa.Column("recipient", sa.String(length=200), server_default="", nullable=False),
    )
    # Only rows still to be sent need their lane; finished ones are history.
    conn = op.get_bind()
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer()),
        sa.column("payload", sa.JSON()),
        sa.column("status", sa.String()),
        sa.column("recipient", sa.String()),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(outbox.c.id, outbox.c.payload)
            .where(outbox.c.status == "pending", outbox.c.id > last)
            .order_by(outbox.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            break
        conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == sa.bindparam("row_id"))
            .values(recipient=sa.bindparam("lane")),
            [{"row_id": r[0], "lane": _recipient(r[1])} for r in rows],
        )
        last = rows[-1][0]
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_recipient_status", ["recipient", "status"], unique=False)
        batch_op.create_index("ix_outbox_created", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_created")
        batch_op.drop_index("ix_outbox_recipient_status")
        batch_op.drop_column("recipient")
