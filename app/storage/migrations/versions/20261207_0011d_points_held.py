"""Points shown must be points held: which time of a bill a program's hold and expiry count from,
and an import job's count of points expired on import.

Revision ID: 0011d
Revises: 0011f
Create Date: 2026-12-07 03:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0011d'
down_revision: Union[str, Sequence[str], None] = '0011f'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hold_from', sa.String(length=20), nullable=False, server_default='BILLING_TIME'))
        batch_op.add_column(sa.Column('expiry_from', sa.String(length=20), nullable=False, server_default='BILLING_TIME'))
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.alter_column('hold_from', server_default=None)
        batch_op.alter_column('expiry_from', server_default=None)
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('points_expired', sa.BigInteger(), nullable=False, server_default='0'))
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.alter_column('points_expired', server_default=None)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_column('points_expired')
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('expiry_from')
        batch_op.drop_column('hold_from')
