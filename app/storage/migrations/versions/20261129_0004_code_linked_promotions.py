"""Code-linked promotions: promotions, promo codes, their redemptions, usage counters and links

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 22:00:00

New tables only; existing rows are untouched.

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('promotions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('minimum_bill_amount', sa.BigInteger(), nullable=True),
    sa.Column('eligible_item_codes', sa.JSON(), nullable=True),
    sa.Column('eligible_attributes', sa.JSON(), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('percent', sa.BigInteger(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=True),
    sa.Column('free_item_code', sa.String(length=100), nullable=True),
    sa.Column('bundle_item_codes', sa.JSON(), nullable=True),
    sa.Column('code_redemption_limit', sa.Integer(), nullable=True),
    sa.Column('customer_code_redemption_limit', sa.Integer(), nullable=True),
    sa.Column('redemption_limit', sa.Integer(), nullable=True),
    sa.Column('customer_transaction_limit', sa.Integer(), nullable=True),
    sa.Column('redemptions_count', sa.Integer(), nullable=False),
    sa.Column('codes_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('redemption_limit IS NULL OR redemptions_count <= redemption_limit', name='promotions_count_within_limit'),
    sa.CheckConstraint('redemptions_count >= 0', name='promotions_count_not_negative'),
    sa.CheckConstraint('valid_from < valid_until', name='promotions_window_ordered'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('promotions', schema=None) as batch_op:
        batch_op.create_index('ix_promotions_org', ['org_id', 'id'], unique=False)

    op.create_table('promo_codes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('redemptions_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('redemptions_count >= 0', name='promo_codes_count_not_negative'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('org_id', 'code', name='uq_promo_codes_org_code')
    )
    with op.batch_alter_table('promo_codes', schema=None) as batch_op:
        batch_op.create_index('ix_promo_codes_promotion', ['promotion_id', 'id'], unique=False)

    op.create_table('promotion_customer_usage',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('transactions_count', sa.Integer(), nullable=False),
    sa.CheckConstraint('transactions_count >= 0', name='promotion_customer_usage_not_negative'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('promotion_id', 'customer_id', name='uq_promotion_customer_usage')
    )

    op.create_table('promo_code_customer_usage',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('redemptions_count', sa.Integer(), nullable=False),
    sa.CheckConstraint('redemptions_count >= 0', name='promo_code_customer_usage_not_negative'),
    sa.ForeignKeyConstraint(['code_id'], ['promo_codes.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_id', 'customer_id', name='uq_promo_code_customer_usage')
    )

    op.create_table('promo_code_links',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('code_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['code_id'], ['promo_codes.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['used_transaction_id'], ['transactions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_id', 'customer_id', name='uq_promo_code_links_code_customer')
    )
    with op.batch_alter_table('promo_code_links', schema=None) as batch_op:
        batch_op.create_index('ix_promo_code_links_customer', ['customer_id', 'used_at'], unique=False)

    op.create_table('promo_code_redemptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('code_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('discount', sa.BigInteger(), nullable=False),
    sa.Column('linked', sa.Boolean(), nullable=False),
    sa.Column('redeemed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reversal_transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint('discount >= 0', name='promo_code_redemptions_discount_not_negative'),
    sa.ForeignKeyConstraint(['code_id'], ['promo_codes.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotions.id'], ),
    sa.ForeignKeyConstraint(['reversal_transaction_id'], ['transactions.id'], ),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('transaction_id', 'code_id', name='uq_promo_code_redemptions_bill_code')
    )
    with op.batch_alter_table('promo_code_redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_promo_code_redemptions_code', ['code_id', 'id'], unique=False)
        batch_op.create_index('ix_promo_code_redemptions_promotion', ['promotion_id', 'id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('promo_code_redemptions')
    op.drop_table('promo_code_links')
    op.drop_table('promo_code_customer_usage')
    op.drop_table('promotion_customer_usage')
    op.drop_table('promo_codes')
    op.drop_table('promotions')
