"""Member care's identifiers and cards: the identifier history's source, account and whether a
request made the change (the seed's list shows requests only); loyalty cards get an external id,
the card that replaced them, and the statuses ACTIVE, BLOCKED, LOST and REPLACED (INACTIVE cards
become BLOCKED: neither takes points, both may become active again).

Revision ID: 0010b
Revises: 0010c
Create Date: 2026-12-06 21:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010b'
down_revision: Union[str, Sequence[str], None] = '0010c'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('customer_history', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('account', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('requested', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('loyalty_cards', schema=None) as batch_op:
        batch_op.drop_constraint('loyalty_cards_status', type_='check')
    op.execute(sa.text("UPDATE loyalty_cards SET status = 'BLOCKED' WHERE status = 'INACTIVE'"))
    with op.batch_alter_table('loyalty_cards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('replaced_by_card_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint('loyalty_cards_program_id_external_id_key', ['program_id', 'external_id'])
        batch_op.create_foreign_key(
            'loyalty_cards_replaced_by_card_id_fkey', 'loyalty_cards', ['replaced_by_card_id'], ['id']
        )
        batch_op.create_check_constraint(
            'loyalty_cards_status', "status IN ('ACTIVE', 'BLOCKED', 'LOST', 'REPLACED')"
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('loyalty_cards', schema=None) as batch_op:
        batch_op.drop_constraint('loyalty_cards_status', type_='check')
        batch_op.drop_constraint('loyalty_cards_replaced_by_card_id_fkey', type_='foreignkey')
        batch_op.drop_constraint('loyalty_cards_program_id_external_id_key', type_='unique')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('replaced_by_card_id')
        batch_op.drop_column('external_id')
    op.execute(sa.text("UPDATE loyalty_cards SET status = 'INACTIVE' WHERE status <> 'ACTIVE'"))
    with op.batch_alter_table('loyalty_cards', schema=None) as batch_op:
        batch_op.create_check_constraint('loyalty_cards_status', "status IN ('ACTIVE', 'INACTIVE')")
    with op.batch_alter_table('customer_history', schema=None) as batch_op:
        batch_op.drop_column('requested')
        batch_op.drop_column('account')
        batch_op.drop_column('source')
