"""exceptions: one (recon, status) index instead of one on each

Revision ID: 0002_exceptions_recon_status
Revises: 0001_initial
"""

from __future__ import annotations

from alembic import op

revision = "0002_exceptions_recon_status"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_exceptions_recon_status", "exceptions", ["recon", "status"])
    op.drop_index("ix_exceptions_recon", table_name="exceptions")
    op.drop_index("ix_exceptions_status", table_name="exceptions")


def downgrade() -> None:
    op.create_index("ix_exceptions_status", "exceptions", ["status"])
    op.create_index("ix_exceptions_recon", "exceptions", ["recon"])
    op.drop_index("ix_exceptions_recon_status", table_name="exceptions")
