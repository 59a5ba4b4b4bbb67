"""Referrals: customers' referral codes and referrers, the awards of qualifying purchases, and
the organisation file's [programs.referral] (NULL for programs applied before: no referral program).

New tables and one nullable column; existing rows are untouched.

Revision ID: 0012a
Revises: 0012b
Create Date: 2026-12-07 03:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0012a'
down_revision: Union[str, Sequence[str], None] = '0012b'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral', sa.JSON(), nullable=True))

    op.create_table('referral_codes',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('referrer_id', sa.Integer(), nullable=True),
    sa.Column('referred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('referrer_id <> customer_id', name='referral_codes_not_own_referrer'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['referrer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('customer_id'),
    sa.UniqueConstraint('org_id', 'code')
    )
    with op.batch_alter_table('referral_codes', schema=None) as batch_op:
        batch_op.create_index('ix_referral_codes_referrer', ['referrer_id', 'customer_id'], unique=False)

    op.create_table('referral_awards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('referee_id', sa.Integer(), nullable=False),
    sa.Column('referrer_id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('referee_points', sa.BigInteger(), nullable=False),
    sa.Column('referrer_points', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('awarded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reversal_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('referee_points >= 0 AND referrer_points >= 0', name='referral_awards_points_not_negative'),
    sa.ForeignKeyConstraint(['event_id'], ['ledger_events.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], ),
    sa.ForeignKeyConstraint(['referee_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['referrer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['reversal_event_id'], ['ledger_events.id'], ),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('program_id', 'referee_id')
    )
    with op.batch_alter_table('referral_awards', schema=None) as batch_op:
        batch_op.create_index('ix_referral_awards_referrer', ['referrer_id', 'program_id', 'awarded_at'], unique=False)
        batch_op.create_index('ix_referral_awards_transaction', ['transaction_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('referral_awards', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_awards_transaction')
        batch_op.drop_index('ix_referral_awards_referrer')
    op.drop_table('referral_awards')
    with op.batch_alter_table('referral_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_codes_referrer')
    op.drop_table('referral_codes')
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('referral')
