"""Alternate currencies' line rules: what each line of a bill earned of a currency, so returns
take back a line's share exactly. A new table; existing rows are untouched (awards made before
have no line parts: all of such an award is its bill-level part, as before).

Revision ID: 0014c
Revises: 0013e
Create Date: 2026-12-07 12:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0014c'
down_revision: Union[str, Sequence[str], None] = '0013e'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('alternate_currency_line_awards',
    sa.Column('award_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_serial', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('value > 0', name='alternate_currency_line_awards_value_positive'),
    sa.ForeignKeyConstraint(['award_event_id'], ['ledger_events.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('award_event_id', 'line_serial')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('alternate_currency_line_awards')
