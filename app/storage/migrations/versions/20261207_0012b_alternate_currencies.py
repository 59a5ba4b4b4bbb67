"""Alternate currencies (seed 001's alternate_currency side effect): a program's currencies,
declared in the organisation file, kept on the program. Their balances are ledger accounts of
the program (category 'AC:' + identifier), so the ledger's tables need no change.

Revision ID: 0012b
Revises: 0011b
Create Date: 2026-12-07 03:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0012b'
down_revision: Union[str, Sequence[str], None] = '0011b'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alternate_currencies', sa.JSON(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('alternate_currencies')
