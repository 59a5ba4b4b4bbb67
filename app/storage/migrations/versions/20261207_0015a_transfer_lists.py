"""Member care's list of a customer's transfers shows points and alternate currency transfers in
one keyset page, newest first by ledger event: the customers' transfer entries (entry kind
POINTS_TRANSFER, both kinds' only) are indexed by customer and event, and a points transfer is
found by its event (the other party's entry is found by 0015b's index of entries by event). The
ledger index is partial: no other entry pays for it (an import writes an entry per row). The points transfers' indexes by
sender and receiver served the list's walks before: no query reads them now, so they go.

Revision ID: 0015a
Revises: 0014c
Create Date: 2026-12-07 16:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0015a'
down_revision: Union[str, Sequence[str], None] = '0014c'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TRANSFER_ENTRY = "entry_kind = 'POINTS_TRANSFER'"


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        where = sa.text(TRANSFER_ENTRY)
        batch_op.create_index(
            'ix_ledger_entries_transfers',
            ['customer_id', 'event_id'],
            unique=False,
            postgresql_where=where,
            sqlite_where=where,
        )
    with op.batch_alter_table('point_transfers', schema=None) as batch_op:
        batch_op.create_index('ix_point_transfers_event', ['event_id'], unique=True)
        batch_op.drop_index('ix_point_transfers_from')
        batch_op.drop_index('ix_point_transfers_to')


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('point_transfers', schema=None) as batch_op:
        batch_op.create_index('ix_point_transfers_to', ['to_customer_id', 'id'], unique=False)
        batch_op.create_index('ix_point_transfers_from', ['from_customer_id', 'id'], unique=False)
        batch_op.drop_index('ix_point_transfers_event')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_transfers')
