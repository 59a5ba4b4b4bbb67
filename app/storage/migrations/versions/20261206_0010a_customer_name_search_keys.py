"""Member care's customers: the first and last name as name search compares them (case folded,
accents dropped), with an index each on (org_id, key), existing customers' keys filled in; the
customer fields an organisation declares, and each customer's values of them.

Revision ID: 0010a
Revises: 0010e
Create Date: 2026-12-06 21:00:00

"""
import unicodedata
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010a'
down_revision: Union[str, Sequence[str], None] = '0010e'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BATCH_ROWS = 10_000


def name_search_key(name: str) -> str:
    # A copy of app.customers.rules.name_search_key as of this revision: a migration keeps
    # writing what it wrote when it was made, whatever the code becomes.
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    stripped = "".join(character for character in decomposed if not unicodedata.combining(character))
    return " ".join(stripped.split())[:200]


def upgrade() -> None:
    """Upgrade schema."""
    key_type = sa.String(length=200).with_variant(sa.String(length=200, collation="C"), "postgresql")
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_fields', sa.JSON(), nullable=True))
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extended_fields', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('first_name_key', key_type, server_default='', nullable=False))
        batch_op.add_column(sa.Column('last_name_key', key_type, server_default='', nullable=False))
        batch_op.create_index('ix_customers_first_name_key', ['org_id', 'first_name_key'], unique=False)
        batch_op.create_index('ix_customers_last_name_key', ['org_id', 'last_name_key'], unique=False)

    connection = op.get_bind()
    customers = sa.table(
        'customers',
        sa.column('id', sa.Integer),
        sa.column('first_name', sa.String),
        sa.column('last_name', sa.String),
        sa.column('first_name_key', sa.String),
        sa.column('last_name_key', sa.String),
    )
    update = (
        sa.update(customers)
        .where(customers.c.id == sa.bindparam('customer_id'))
        .values(first_name_key=sa.bindparam('first_key'), last_name_key=sa.bindparam('last_key'))
    )
    after_id = 0
    while True:  # in batches by id: a million customers never sit in memory at once
        rows = connection.execute(
            sa.select(customers.c.id, customers.c.first_name, customers.c.last_name)
            .where(customers.c.id > after_id, sa.or_(customers.c.first_name != '', customers.c.last_name != ''))
            .order_by(customers.c.id)
            .limit(BATCH_ROWS)
        ).all()
        if not rows:
            break
        connection.execute(
            update,
            [
                {
                    'customer_id': row.id,
                    'first_key': name_search_key(row.first_name),
                    'last_key': name_search_key(row.last_name),
                }
                for row in rows
            ],
        )
        after_id = rows[-1].id
    # The default only filled the rows already there: every insert writes its keys.
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.alter_column('first_name_key', server_default=None)
        batch_op.alter_column('last_name_key', server_default=None)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_last_name_key')
        batch_op.drop_index('ix_customers_first_name_key')
        batch_op.drop_column('last_name_key')
        batch_op.drop_column('first_name_key')
        batch_op.drop_column('extended_fields')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('customer_fields')
