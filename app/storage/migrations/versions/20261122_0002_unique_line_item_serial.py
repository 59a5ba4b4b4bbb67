"""a line item's serial is unique within its bill

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:45:00

"""
from typing import Sequence, Union

from alembic import op


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('transaction_line_items', schema=None) as batch_op:
        batch_op.drop_index('ix_transaction_line_items_transaction')
        batch_op.create_index('ix_transaction_line_items_transaction', ['transaction_id', 'serial'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('transaction_line_items', schema=None) as batch_op:
        batch_op.drop_index('ix_transaction_line_items_transaction')
        batch_op.create_index('ix_transaction_line_items_transaction', ['transaction_id', 'serial'], unique=False)
