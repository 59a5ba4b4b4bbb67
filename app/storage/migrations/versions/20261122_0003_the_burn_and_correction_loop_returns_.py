"""the burn and correction loop: returns, redemptions, transfers, lot movements, idempotency keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 05:34:16

Existing rows get the defaults: no returns, no redemptions, REGULAR earning, no admin keys.

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('idempotency_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('operation', sa.String(length=40), nullable=False),
    sa.Column('payload_hash', sa.String(length=64), nullable=False),
    sa.Column('result_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('org_id', 'key')
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_keys_created', ['created_at'], unique=False)

    op.create_table('point_redemptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('points_reversed', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=True),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('till_id', sa.Integer(), nullable=True),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('external_reference', sa.String(length=100), nullable=True),
    sa.Column('notes', sa.String(length=1000), nullable=True),
    sa.Column('redeemed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points > 0', name='point_redemptions_points_positive'),
    sa.CheckConstraint('points_reversed >= 0 AND points_reversed <= points', name='point_redemptions_reversed_within_points'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['ledger_events.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ),
    sa.ForeignKeyConstraint(['till_id'], ['tills.id'], ),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('point_redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_point_redemptions_customer', ['customer_id', 'id'], unique=False)
        batch_op.create_index('ix_point_redemptions_transaction', ['transaction_id'], unique=False)

    op.create_table('point_redemption_reversals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('redemption_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('notes', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points > 0', name='point_redemption_reversals_points_positive'),
    sa.ForeignKeyConstraint(['event_id'], ['ledger_events.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['redemption_id'], ['point_redemptions.id'], ),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('point_redemption_reversals', schema=None) as batch_op:
        batch_op.create_index('ix_point_redemption_reversals_redemption', ['redemption_id', 'id'], unique=False)

    op.create_table('point_transfers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('from_customer_id', sa.Integer(), nullable=False),
    sa.Column('to_customer_id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('notes', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('from_customer_id <> to_customer_id', name='point_transfers_two_customers'),
    sa.CheckConstraint('points > 0', name='point_transfers_points_positive'),
    sa.ForeignKeyConstraint(['event_id'], ['ledger_events.id'], ),
    sa.ForeignKeyConstraint(['from_customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], ),
    sa.ForeignKeyConstraint(['to_customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('point_transfers', schema=None) as batch_op:
        batch_op.create_index('ix_point_transfers_from', ['from_customer_id', 'id'], unique=False)
        batch_op.create_index('ix_point_transfers_to', ['to_customer_id', 'id'], unique=False)

    op.create_table('point_lot_movements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('points <> 0', name='point_lot_movements_points_not_zero'),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], ),
    sa.ForeignKeyConstraint(['lot_id'], ['point_lots.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('point_lot_movements', schema=None) as batch_op:
        batch_op.create_index('ix_point_lot_movements_entry', ['entry_id'], unique=False)
        batch_op.create_index('ix_point_lot_movements_lot', ['lot_id'], unique=False)

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_admin', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('ledger_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrects_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_foreign_key('fk_ledger_events_corrects_event_id', 'ledger_events', ['corrects_event_id'], ['id'])

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrects_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_foreign_key('fk_ledger_entries_corrects_entry_id', 'ledger_entries', ['corrects_entry_id'], ['id'])

    # A lot carries its account's category (existing lots take it from their account).
    with op.batch_alter_table('point_lots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=20), nullable=True))
    op.execute('UPDATE point_lots SET category = '
               '(SELECT category FROM point_accounts WHERE point_accounts.id = point_lots.account_id)')
    with op.batch_alter_table('point_lots', schema=None) as batch_op:
        batch_op.alter_column('category', existing_type=sa.String(length=20), nullable=False)

    # Partial indexes: only lots with points left (PROMISED ones for the conversion run).
    with op.batch_alter_table('point_lots', schema=None) as batch_op:
        batch_op.create_index('ix_point_lots_promised', ['org_id', 'active_from'], unique=False,
                              postgresql_where=sa.text("category = 'PROMISED' AND points_remaining > 0"),
                              sqlite_where=sa.text("category = 'PROMISED' AND points_remaining > 0"))
        batch_op.create_index('ix_point_lots_expiry', ['org_id', 'expires_at'], unique=False,
                              postgresql_where=sa.text('points_remaining > 0'), sqlite_where=sa.text('points_remaining > 0'))

    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allow_negative_balance', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('points_transferable', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('redemption_minimum', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('earn_category', sa.String(length=20), nullable=False, server_default='REGULAR'))
        batch_op.add_column(sa.Column('promised_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('concept_code', sa.String(length=64), nullable=True))

    with op.batch_alter_table('tills', schema=None) as batch_op:
        batch_op.add_column(sa.Column('concept_code', sa.String(length=64), nullable=True))

    with op.batch_alter_table('transaction_line_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('returned_qty', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('line_type', sa.String(length=20), nullable=False, server_default='REGULAR'))
        batch_op.add_column(sa.Column('returns_serial', sa.Integer(), nullable=True))

    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('points_earned', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('returned_amount', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('returned_eligible_amount', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('returned_points', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('reversed_redemption_points', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('parent_transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('return_type', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('parent_bill_number', sa.String(length=50), nullable=True))
        # The seed's NOT_INTERESTED_RETURN is 21 characters.
        batch_op.alter_column('type', existing_type=sa.String(length=20), type_=sa.String(length=30), existing_nullable=False)
        batch_op.create_index('ix_transactions_parent', ['parent_transaction_id'], unique=False)
        batch_op.create_foreign_key('fk_transactions_parent_transaction_id', 'transactions', ['parent_transaction_id'], ['id'])

    # The defaults above only fill the existing rows; the models give every new row its values.
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.alter_column('is_admin', server_default=None)

    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.alter_column('allow_negative_balance', server_default=None)
        batch_op.alter_column('points_transferable', server_default=None)
        batch_op.alter_column('redemption_minimum', server_default=None)
        batch_op.alter_column('earn_category', server_default=None)

    with op.batch_alter_table('transaction_line_items', schema=None) as batch_op:
        batch_op.alter_column('returned_qty', server_default=None)
        batch_op.alter_column('line_type', server_default=None)

    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.alter_column('points_earned', server_default=None)
        batch_op.alter_column('returned_amount', server_default=None)
        batch_op.alter_column('returned_eligible_amount', server_default=None)
        batch_op.alter_column('returned_points', server_default=None)
        batch_op.alter_column('reversed_redemption_points', server_default=None)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_transactions_parent_transaction_id', type_='foreignkey')
        batch_op.drop_index('ix_transactions_parent')
        batch_op.drop_column('parent_bill_number')
        batch_op.drop_column('return_type')
        batch_op.drop_column('parent_transaction_id')
        batch_op.drop_column('reversed_redemption_points')
        batch_op.drop_column('returned_points')
        batch_op.drop_column('returned_eligible_amount')
        batch_op.drop_column('returned_amount')
        batch_op.drop_column('points_earned')
        batch_op.alter_column('type', existing_type=sa.String(length=30), type_=sa.String(length=20), existing_nullable=False)

    with op.batch_alter_table('transaction_line_items', schema=None) as batch_op:
        batch_op.drop_column('returns_serial')
        batch_op.drop_column('line_type')
        batch_op.drop_column('returned_qty')

    with op.batch_alter_table('tills', schema=None) as batch_op:
        batch_op.drop_column('concept_code')

    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('concept_code')
        batch_op.drop_column('promised_days')
        batch_op.drop_column('earn_category')
        batch_op.drop_column('redemption_minimum')
        batch_op.drop_column('points_transferable')
        batch_op.drop_column('allow_negative_balance')

    with op.batch_alter_table('point_lots', schema=None) as batch_op:
        batch_op.drop_index('ix_point_lots_expiry')
        batch_op.drop_index('ix_point_lots_promised')
        batch_op.drop_column('category')

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_constraint('fk_ledger_entries_corrects_entry_id', type_='foreignkey')
        batch_op.drop_column('corrects_entry_id')

    with op.batch_alter_table('ledger_events', schema=None) as batch_op:
        batch_op.drop_constraint('fk_ledger_events_corrects_event_id', type_='foreignkey')
        batch_op.drop_column('corrects_event_id')

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('is_admin')

    with op.batch_alter_table('point_lot_movements', schema=None) as batch_op:
        batch_op.drop_index('ix_point_lot_movements_lot')
        batch_op.drop_index('ix_point_lot_movements_entry')

    op.drop_table('point_lot_movements')
    with op.batch_alter_table('point_transfers', schema=None) as batch_op:
        batch_op.drop_index('ix_point_transfers_to')
        batch_op.drop_index('ix_point_transfers_from')

    op.drop_table('point_transfers')
    with op.batch_alter_table('point_redemption_reversals', schema=None) as batch_op:
        batch_op.drop_index('ix_point_redemption_reversals_redemption')

    op.drop_table('point_redemption_reversals')
    with op.batch_alter_table('point_redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_point_redemptions_transaction')
        batch_op.drop_index('ix_point_redemptions_customer')

    op.drop_table('point_redemptions')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_keys_created')

    op.drop_table('idempotency_keys')
