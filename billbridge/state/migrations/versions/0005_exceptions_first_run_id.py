"""exceptions: the run that first found each one (its NEW event, no longer a history row)

Revision ID: 0005_exceptions_first_run_id
Revises: 0004_run_log_field_kinds

An exception's NEW event is implied by its row from now on: ``first_seen`` is when,
``first_run_id`` which run. Rows recorded before this revision keep their NEW history rows
and a NULL ``first_run_id``, so no event is shown twice or lost.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_exceptions_first_run_id"
down_revision = "0004_run_log_field_kinds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_run_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # the implied NEW events become history rows again before the column goes
    op.execute(
        "INSERT INTO exception_history (exception_id, run_id, at, event, fingerprint, "
        "details, actor, note) SELECT exception_id, first_run_id, first_seen, 'NEW', NULL, "
        "NULL, 'system', NULL FROM exceptions WHERE first_run_id IS NOT NULL"
    )
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.drop_column("first_run_id")
