"""run_log: a reconciliation run's amount and currency fields

Revision ID: 0004_run_log_field_kinds
Revises: 0003_run_log_severity_rules
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_run_log_field_kinds"
down_revision = "0003_run_log_severity_rules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("field_kinds", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("run_log", schema=None) as batch_op:
        batch_op.drop_column("field_kinds")
