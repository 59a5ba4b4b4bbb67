"""Leads with their status history; segments with their members and membership change history.

Revision ID: 0010f
Revises: 0010b
Create Date: 2026-12-06 21:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010f'
down_revision: Union[str, Sequence[str], None] = '0010b'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
STATUS_KNOWN = "status IN ('OPEN', 'IN_PROGRESS', 'WON', 'LOST')"


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'leads',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('lead_type', sa.String(length=100), nullable=False),
        sa.Column('lead_for', sa.String(length=100), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('sub_status', sa.String(length=100), nullable=True),
        sa.Column('extended_fields', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_follow_up_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('next_follow_up_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(STATUS_KNOWN, name='leads_status_known'),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_leads_customer', 'leads', ['org_id', 'customer_id', 'id'], unique=False)
    op.create_table(
        'lead_status_changes',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('lead_id', BIG_ID, nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('sub_status', sa.String(length=100), nullable=True),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(STATUS_KNOWN, name='lead_status_changes_status_known'),
        sa.ForeignKeyConstraint(['lead_id'], ['leads.id']),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_lead_status_changes_lead', 'lead_status_changes', ['lead_id', 'id'], unique=False)
    op.create_table(
        'segments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=50), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('org_id', 'code'),
    )
    op.create_table(
        'segment_members',
        sa.Column('segment_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id']),
        sa.ForeignKeyConstraint(['segment_id'], ['segments.id']),
        sa.PrimaryKeyConstraint('segment_id', 'customer_id'),
    )
    op.create_index(
        'ix_segment_members_customer', 'segment_members', ['org_id', 'customer_id', 'segment_id'], unique=False
    )
    op.create_table(
        'segment_changes',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('segment_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=10), nullable=False),
        sa.Column('source', sa.String(length=50), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('ADDED', 'REMOVED')", name='segment_changes_action_known'),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
        sa.ForeignKeyConstraint(['org_id'], ['organizations.id']),
        sa.ForeignKeyConstraint(['segment_id'], ['segments.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_segment_changes_customer', 'segment_changes', ['org_id', 'customer_id', 'id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_segment_changes_customer', table_name='segment_changes')
    op.drop_table('segment_changes')
    op.drop_index('ix_segment_members_customer', table_name='segment_members')
    op.drop_table('segment_members')
    op.drop_table('segments')
    op.drop_index('ix_lead_status_changes_lead', table_name='lead_status_changes')
    op.drop_table('lead_status_changes')
    op.drop_index('ix_leads_customer', table_name='leads')
    op.drop_table('leads')
