"""Bulk imports: import jobs and templates, loyalty cards, subledgers

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 22:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    big_id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
    op.create_table('import_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('profile', sa.String(length=40), nullable=False),
    sa.Column('configuration', sa.JSON(), nullable=False),
    sa.Column('configuration_sha256', sa.String(length=64), nullable=False),
    sa.Column('identity', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('org_id', 'name')
    )
    op.create_table('import_jobs',
    sa.Column('id', big_id, nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('profile', sa.String(length=40), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('template_identity', sa.String(length=64), nullable=False),
    sa.Column('configuration', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('phase', sa.String(length=20), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('error_policy', sa.String(length=20), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('file_path', sa.String(length=1000), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('file_size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('header', sa.JSON(), nullable=True),
    sa.Column('import_key', sa.String(length=100), nullable=True),
    sa.Column('dedupe_key', sa.String(length=64), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('bytes_read', sa.BigInteger(), nullable=False),
    sa.Column('rows_read', sa.BigInteger(), nullable=False),
    sa.Column('rows_imported', sa.BigInteger(), nullable=False),
    sa.Column('rows_rejected', sa.BigInteger(), nullable=False),
    sa.Column('customers_created', sa.BigInteger(), nullable=False),
    sa.Column('points_imported', sa.BigInteger(), nullable=False),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('error_message', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('QUEUED', 'RUNNING', 'DONE', 'FAILED')", name='import_jobs_status'),
    sa.CheckConstraint('rows_imported + rows_rejected <= rows_read', name='import_jobs_rows_add_up'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['template_id'], ['import_templates.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('org_id', 'dedupe_key'),
    sa.UniqueConstraint('org_id', 'import_key')
    )
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_import_jobs_status', ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_jobs_org_id'), ['org_id'], unique=False)

    op.create_table('import_rejects',
    sa.Column('id', big_id, nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('job_id', big_id, nullable=False),
    sa.Column('row_number', sa.BigInteger(), nullable=False),
    sa.Column('column', sa.String(length=100), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('original', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['import_jobs.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('job_id', 'row_number')
    )
    op.create_table('import_corrections',
    sa.Column('id', big_id, nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('job_id', big_id, nullable=False),
    sa.Column('row_number', sa.BigInteger(), nullable=False),
    sa.Column('column', sa.String(length=100), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['import_jobs.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_import_corrections_job_row', 'import_corrections', ['job_id', 'row_number'], unique=False)
    op.create_table('loyalty_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('identifier', sa.String(length=254), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('ACTIVE', 'INACTIVE')", name='loyalty_cards_status'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('program_id', 'identifier')
    )
    with op.batch_alter_table('loyalty_cards', schema=None) as batch_op:
        batch_op.create_index('ix_loyalty_cards_customer', ['customer_id'], unique=False)

    op.create_table('subledgers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('program_id', 'code')
    )
    with op.batch_alter_table('ledger_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_job_id', big_id, nullable=True))
        batch_op.add_column(sa.Column('reason', sa.String(length=255), nullable=True))
        batch_op.create_foreign_key('fk_ledger_events_import_job_id', 'import_jobs', ['import_job_id'], ['id'])
    with op.batch_alter_table('point_lots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subledger_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_point_lots_subledger_id', 'subledgers', ['subledger_id'], ['id'])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('point_lots', schema=None) as batch_op:
        batch_op.drop_constraint('fk_point_lots_subledger_id', type_='foreignkey')
        batch_op.drop_column('subledger_id')
    with op.batch_alter_table('ledger_events', schema=None) as batch_op:
        batch_op.drop_constraint('fk_ledger_events_import_job_id', type_='foreignkey')
        batch_op.drop_column('reason')
        batch_op.drop_column('import_job_id')
    op.drop_table('subledgers')
    op.drop_table('loyalty_cards')
    op.drop_index('ix_import_corrections_job_row', table_name='import_corrections')
    op.drop_table('import_corrections')
    op.drop_table('import_rejects')
    op.drop_table('import_jobs')
    op.drop_table('import_templates')
