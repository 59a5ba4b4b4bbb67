"""Lean ledger event indexes: what links an event to a bill, a points promotion or a tracked
value is indexed only where it is set, and the lone org_id index (no query reads events by org
alone) is dropped. Every event used to write all four, most of them NULL; a bulk import writes
an event per row.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 01:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

LINKS = (
    ('ix_ledger_events_transaction', 'transaction_id'),
    ('ix_ledger_events_customer_promotion', 'customer_promotion_id'),
    ('ix_ledger_events_tracker_value', 'tracker_value_id'),
)


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('ledger_events', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_events_org_id')
        for name, column in LINKS:
            batch_op.drop_index(name)
            where = sa.text(f'{column} IS NOT NULL')
            batch_op.create_index(name, [column], unique=False, postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('ledger_events', schema=None) as batch_op:
        for name, column in LINKS:
            batch_op.drop_index(name)
            batch_op.create_index(name, [column], unique=False)
        batch_op.create_index('ix_ledger_events_org_id', ['org_id'], unique=False)
