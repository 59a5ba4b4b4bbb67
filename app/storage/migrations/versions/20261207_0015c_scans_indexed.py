"""The last statements that walked a growing table get an index: a return of a bill's alternate
currencies summed earlier returns by the award event they correct (ledger_events by
corrects_event_id), a redemption's reversal looked up the customers merged into the redeemer
(customers by merged_into_customer_id) and a merge moved the victim's referee awards
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

CORRECTIONS = "corrects_event_id IS NOT NULL"
MERGED = "merged_into_customer_id IS NOT NULL"


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('ledger_events', schema=None) as batch_op:
        batch_op.create_index(
            'ix_ledger_events_corrects',
            ['corrects_event_id'],
            unique=False,
            postgresql_where=sa.text(CORRECTIONS),
            sqlite_where=sa.text(CORRECTIONS),
        )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index(
            'ix_customers_merged_into',
            ['merged_into_customer_id'],
            unique=False,
            postgresql_where=sa.text(MERGED),
            sqlite_where=sa.text(MERGED),
        )
    with op.batch_alter_table('referral_awards', schema=None) as batch_op:
        batch_op.create_index('ix_referral_awards_referee', ['referee_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('referral_awards', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_awards_referee')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_merged_into')
    with op.batch_alter_table('ledger_events', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_events_corrects')
