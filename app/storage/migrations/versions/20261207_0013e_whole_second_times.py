"""Times written by the bulk paths on SQLite at a whole second get their `.000000`.

The bulk inserts (imports, bulk registration and credits: app/storage/bulk_insert.py) handed
sqlite3 naive datetimes, which it writes as `2026-01-01 00:00:00` where Core writes
`2026-01-01 00:00:00.000000`. SQLite compares these times as text, so such a time sorted before
the same instant written by Core: a customer imported at midnight was missed by a search from
midnight, a lot expiring at midnight compared early. The bulk paths now bind as Core does; this
rewrites what they wrote before, in the tables they write. PostgreSQL stores timestamps: no change.

Revision ID: 0013e
Revises: 0012d
Create Date: 2026-12-07 07:10:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0013e'
down_revision: Union[str, Sequence[str], None] = '0012d'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The tables app/storage/bulk_insert.py writes, and their time columns.
BULK_WRITTEN_TIMES = {
    'customers': ('registered_on', 'updated_on'),
    'customer_identifiers': ('created_at',),
    'customer_programs': ('tier_expires_at',),
    'point_accounts': ('created_at',),
    'ledger_events': ('created_at',),
    'ledger_entries': ('created_at',),
    'point_lots': ('active_from', 'expires_at', 'created_at'),
    'tracker_values': ('created_at',),
}
WHOLE_SECOND_LENGTH = len('2026-01-01 00:00:00')


def upgrade() -> None:
    """Upgrade schema."""
    if op.get_bind().dialect.name != 'sqlite':
        return
    for table, columns in BULK_WRITTEN_TIMES.items():
        for column in columns:
            op.execute(
                f"UPDATE {table} SET {column} = {column} || '.000000' "
                f"WHERE typeof({column}) = 'text' AND length({column}) = {WHOLE_SECOND_LENGTH}"
            )


def downgrade() -> None:
    """Downgrade schema."""
    # Nothing to undo: both forms read back as the same time.
