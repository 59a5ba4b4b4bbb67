"""Points promotions (customer promotions), user groups with their own ledger, trackers and tracked values

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 22:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    big_id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
    op.create_table('customer_promotions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('identifier', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('expiry_strategy', sa.String(length=40), nullable=False),
    sa.Column('expiry_value', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('org_id', 'identifier')
    )
    op.create_table('trackers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('points_per_unit', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points_per_unit >= 0', name='trackers_points_per_unit_not_negative'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('org_id', 'code')
    )
    op.create_table('user_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('customer_id'),
    sa.UniqueConstraint('org_id', 'external_id')
    )
    op.create_table('user_group_members',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['group_id'], ['user_groups.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('group_id', 'customer_id')
    )
    with op.batch_alter_table('user_group_members', schema=None) as batch_op:
        batch_op.create_index('ix_user_group_members_customer', ['customer_id'], unique=False)

    op.create_table('tracker_values',
    sa.Column('id', big_id, nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('tracker_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', big_id, nullable=False),
    sa.Column('line_item_id', big_id, nullable=True),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points >= 0', name='tracker_values_points_not_negative'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['line_item_id'], ['transaction_line_items.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['tracker_id'], ['trackers.id'], ),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tracker_values', schema=None) as batch_op:
        batch_op.create_index('ix_tracker_values_customer', ['customer_id', 'id'], unique=False)
        batch_op.create_index('ix_tracker_values_transaction', ['transaction_id'], unique=False)

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=False, server_default='CUSTOMER'))

    with op.batch_alter_table('ledger_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_promotion_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('tracker_value_id', big_id, nullable=True))
        batch_op.create_foreign_key('fk_ledger_events_customer_promotion_id', 'customer_promotions', ['customer_promotion_id'], ['id'])
        batch_op.create_foreign_key('fk_ledger_events_tracker_value_id', 'tracker_values', ['tracker_value_id'], ['id'])
        batch_op.create_index('ix_ledger_events_customer_promotion', ['customer_promotion_id'], unique=False)
        batch_op.create_index('ix_ledger_events_tracker_value', ['tracker_value_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('ledger_events', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_events_tracker_value')
        batch_op.drop_index('ix_ledger_events_customer_promotion')
        batch_op.drop_constraint('fk_ledger_events_tracker_value_id', type_='foreignkey')
        batch_op.drop_constraint('fk_ledger_events_customer_promotion_id', type_='foreignkey')
        batch_op.drop_column('tracker_value_id')
        batch_op.drop_column('customer_promotion_id')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('kind')
    op.drop_table('tracker_values')
    op.drop_table('user_group_members')
    op.drop_table('user_groups')
    op.drop_table('trackers')
    op.drop_table('customer_promotions')
