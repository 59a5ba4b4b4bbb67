"""Member care: interactions (messages brands' systems report, with their status history) and
behavioural events

Revision ID: 0010e
Revises: 0010f
Create Date: 2026-12-06 21:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010e'
down_revision: Union[str, Sequence[str], None] = '0010f'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    big_id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
    op.create_table('interactions',
    sa.Column('id', big_id, nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('account', sa.String(length=100), nullable=True),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('template', sa.String(length=200), nullable=True),
    sa.Column('subject', sa.String(length=500), nullable=True),
    sa.Column('body_preview', sa.String(length=500), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('org_id', 'channel', 'message_id', name='uq_interactions_message')
    )
    op.create_index('ix_interactions_customer_channel', 'interactions', ['org_id', 'customer_id', 'channel', 'occurred_at', 'id'], unique=False)
    op.create_table('interaction_status_changes',
    sa.Column('id', big_id, nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', big_id, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('interaction_id', 'status', 'changed_at', name='uq_interaction_status_changes')
    )
    op.create_table('behavioural_events',
    sa.Column('id', big_id, nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('tracking_id', sa.String(length=200), nullable=False),
    sa.Column('event_name', sa.String(length=100), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('account_id', sa.String(length=100), nullable=True),
    sa.Column('till_code', sa.String(length=100), nullable=True),
    sa.Column('integration_till_code', sa.String(length=100), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('org_id', 'tracking_id', name='uq_behavioural_events_tracking_id')
    )
    op.create_index('ix_behavioural_events_customer', 'behavioural_events', ['org_id', 'customer_id', 'occurred_at', 'id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_behavioural_events_customer', table_name='behavioural_events')
    op.drop_table('behavioural_events')
    op.drop_table('interaction_status_changes')
    op.drop_index('ix_interactions_customer_channel', table_name='interactions')
    op.drop_table('interactions')
