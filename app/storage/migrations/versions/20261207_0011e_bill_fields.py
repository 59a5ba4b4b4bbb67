"""Seed 001's bill fields that were only stored: the extended and custom fields and payment modes
an organisation declares, its programs' earning rules on them, and promotions' conditions on them.

Revision ID: 0011e
Revises: 0010a
Create Date: 2026-12-07 02:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0011e'
down_revision: Union[str, Sequence[str], None] = '0010a'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extended_fields', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('custom_fields', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('payment_modes', sa.JSON(), nullable=True))
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('earning_rules', sa.JSON(), nullable=True))
    with op.batch_alter_table('promotions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bill_conditions', sa.JSON(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('promotions', schema=None) as batch_op:
        batch_op.drop_column('bill_conditions')
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('earning_rules')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('payment_modes')
        batch_op.drop_column('custom_fields')
        batch_op.drop_column('extended_fields')
