"""run_log: a reconciliation run's severity rules

Revision ID: 0003_run_log_severity_rules
Revises: 0002_exceptions_recon_status
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_run_log_severity_rules"
down_revision = "0002_exceptions_recon_status"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("severity_rules", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("run_log", schema=None) as batch_op:
        batch_op.drop_column("severity_rules")
