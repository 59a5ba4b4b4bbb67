"""Seed 001's bill fields that were only stored: the extended and custom fields and payment modes
an organisation declares, its programs' earning rules on them, and promotions' conditions on them;
purchases' delivery status and shipping till; the primary identifier strict check.

Revision ID: 0011e
Revises: 0011d
Create Date: 2026-12-07 02:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0011e'
down_revision: Union[str, Sequence[str], None] = '0011d'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('primary_identifier_strict_check', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column('extended_fields', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('custom_fields', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('payment_modes', sa.JSON(), nullable=True))
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        # The default only filled existing rows; the application always writes the column.
        batch_op.alter_column('primary_identifier_strict_check', server_default=None)
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('earning_rules', sa.JSON(), nullable=True))
    with op.batch_alter_table('promotions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bill_conditions', sa.JSON(), nullable=True))
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('shipping_source_till_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            'fk_transactions_shipping_source_till_id_tills', 'tills', ['shipping_source_till_id'], ['id']
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_transactions_shipping_source_till_id_tills', type_='foreignkey')
        batch_op.drop_column('shipping_source_till_id')
        batch_op.drop_column('delivery_status')
    with op.batch_alter_table('promotions', schema=None) as batch_op:
        batch_op.drop_column('bill_conditions')
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('earning_rules')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('payment_modes')
        batch_op.drop_column('custom_fields')
        batch_op.drop_column('extended_fields')
        batch_op.drop_column('primary_identifier_strict_check')
