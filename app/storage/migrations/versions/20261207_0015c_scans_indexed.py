"""The last statements that walked a growing table get an index: a return of a bill's alternate
currencies summed earlier returns by the award event they correct (ledger_events by
corrects_event_id), a bill naming the redemptions that paid for it looked up the customers
merged into its customer, whose redemptions it may name too (customers by
merged_into_customer_id) and a merge moved the victim's referee awards
(referral_awards by referee_id). Corrections and merged customers are few: only they are indexed,
so a bill's or an import's event and a registration pay nothing for it.

Revision ID: 0015c
Revises: 0015b
Create Date: 2026-12-07 17:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0015c'
down_revision: Union[str, Sequence[str], None] = '0015b'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Partial indexes: (table, index, column); each holds only the rows where its column is set.
PARTIAL_INDEXES = (
    ('ledger_events', 'ix_ledger_events_corrects', 'corrects_event_id'),
    ('customers', 'ix_customers_merged_into', 'merged_into_customer_id'),
)


def upgrade() -> None:
    """Upgrade schema."""
    for table, index, column in PARTIAL_INDEXES:
        where = sa.text(f"{column} IS NOT NULL")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(index, [column], unique=False, postgresql_where=where, sqlite_where=where)
    with op.batch_alter_table('referral_awards', schema=None) as batch_op:
        batch_op.create_index('ix_referral_awards_referee', ['referee_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('referral_awards', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_awards_referee')
    for table, index, _ in reversed(PARTIAL_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)
