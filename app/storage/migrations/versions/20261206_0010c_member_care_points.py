"""Member care's points tab: manual points adjustments, the tier (slab) history, and the index the tier
expiry run walks.

Revision ID: 0010c
Revises: 0010d
Create Date: 2026-12-06 21:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010c'
down_revision: Union[str, Sequence[str], None] = '0010d'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('tier_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('cause', sa.String(length=20), nullable=False),
    sa.Column('tier_id_before', sa.Integer(), nullable=False),
    sa.Column('tier_id_after', sa.Integer(), nullable=False),
    sa.Column('tier_expires_at_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], ),
    sa.ForeignKeyConstraint(['tier_id_after'], ['tiers.id'], ),
    sa.ForeignKeyConstraint(['tier_id_before'], ['tiers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tier_changes', schema=None) as batch_op:
        batch_op.create_index('ix_tier_changes_customer', ['customer_id', 'id'], unique=False)
    op.create_table('points_adjustments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('entry_type', sa.String(length=10), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("entry_type IN ('CREDIT', 'DEBIT')", name='points_adjustments_entry_type'),
    sa.CheckConstraint('points > 0', name='points_adjustments_points_positive'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['ledger_events.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('points_adjustments', schema=None) as batch_op:
        batch_op.create_index('ix_points_adjustments_customer', ['customer_id', 'id'], unique=False)
    with op.batch_alter_table('customer_programs', schema=None) as batch_op:
        batch_op.create_index('ix_customer_programs_tier_expiry', ['org_id', 'tier_expires_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('customer_programs', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_programs_tier_expiry')
    with op.batch_alter_table('tier_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_tier_changes_customer')
    op.drop_table('tier_changes')
    with op.batch_alter_table('points_adjustments', schema=None) as batch_op:
        batch_op.drop_index('ix_points_adjustments_customer')
    op.drop_table('points_adjustments')
