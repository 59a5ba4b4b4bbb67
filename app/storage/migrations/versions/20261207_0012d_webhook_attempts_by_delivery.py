"""Webhook attempts indexed by delivery: the retention step deletes a finished delivery's attempts
with it (and PostgreSQL checks the attempts' foreign key when a delivery is deleted).

A new index only; no row changes.

Revision ID: 0012d
Revises: 0012a
Create Date: 2026-12-07 03:50:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0012d'
down_revision: Union[str, Sequence[str], None] = '0012a'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index('ix_webhook_attempts_delivery', 'webhook_attempts', ['delivery_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_webhook_attempts_delivery', table_name='webhook_attempts')
