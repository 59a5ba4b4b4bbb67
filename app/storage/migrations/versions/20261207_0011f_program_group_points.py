"""Programs say where a user group member's purchase points go (group_points: MEMBER or GROUP).

Revision ID: 0011f
Revises: 0011a
Create Date: 2026-12-07 02:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0011f'
down_revision: Union[str, Sequence[str], None] = '0011a'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_points', sa.String(length=20), nullable=False, server_default='MEMBER'))
    # The default only fills the existing rows; the model gives every new row its value.
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.alter_column('group_points', server_default=None)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('group_points')
