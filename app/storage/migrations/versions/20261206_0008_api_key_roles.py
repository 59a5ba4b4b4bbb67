"""API key roles: each key holds one or more of till, app, member_care and admin, in place of the
admin flag. An admin key gets every role; any other key gets till, app and member_care (what it
could do before, less what is now the admin's alone: imports, promotions' set-up, tracker
definitions and reconciliation).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 18:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

EVERY_ROLE = 'till,app,member_care,admin'
FORMER_ORDINARY_ROLES = 'till,app,member_care'


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('roles', sa.String(length=100), nullable=False, server_default=''))
    op.execute(
        sa.text(
            "UPDATE api_keys SET roles = CASE WHEN is_admin THEN :every ELSE :ordinary END"
        ).bindparams(every=EVERY_ROLE, ordinary=FORMER_ORDINARY_ROLES)
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.alter_column('roles', server_default=None)
        batch_op.drop_column('is_admin')
        batch_op.create_check_constraint('api_keys_roles_not_empty', "roles <> ''")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_admin', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(sa.text("UPDATE api_keys SET is_admin = (roles LIKE '%admin%')"))
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.alter_column('is_admin', server_default=None)
        batch_op.drop_constraint('api_keys_roles_not_empty', type_='check')
        batch_op.drop_column('roles')
