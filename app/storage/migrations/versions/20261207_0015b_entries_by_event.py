"""Ledger entries are found by their event and by the entry they correct through indexes: a
redemption's reversal, an adjustment's or a transfer's replay and a return read an event's
entries (or the corrections of some entries), and without an index each of those walked every
entry of every customer (about 1 s on 6,250,000 entries). The event index serves the transfers
list's probe for the other party too. Corrections are few: their index holds only the entries
that correct another.

Revision ID: 0015b
Revises: 0015a
Create Date: 2026-12-07 16:20:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0015b'
down_revision: Union[str, Sequence[str], None] = '0015a'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CORRECTIONS = "corrects_entry_id IS NOT NULL"


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_event_id', ['event_id'], unique=False)
        batch_op.create_index(
            'ix_ledger_entries_corrects',
            ['corrects_entry_id'],
            unique=False,
            postgresql_where=sa.text(CORRECTIONS),
            sqlite_where=sa.text(CORRECTIONS),
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_corrects')
        batch_op.drop_index('ix_ledger_entries_event_id')
