"""exceptions: the currency column holds any text the source had

Revision ID: 0006_exceptions_currency_text
Revises: 0005_exceptions_first_run_id

A currency value is data from the sources, and bad data is what a reconciliation reports:
``EURO`` or ``US Dollar`` in a file must be recorded, not fail the whole run on PostgreSQL
(``varchar(3)``) while SQLite, which does not enforce lengths, kept it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_exceptions_currency_text"
down_revision = "0005_exceptions_first_run_id"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.alter_column(
            "currency", existing_type=sa.String(length=3), type_=sa.Text(), existing_nullable=True
        )


def downgrade() -> None:
    # a longer value than the old column holds is cut to its first three characters
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.alter_column(
            "currency",
            existing_type=sa.Text(),
            type_=sa.String(length=3),
            existing_nullable=True,
            postgresql_using="substr(currency, 1, 3)",
        )
