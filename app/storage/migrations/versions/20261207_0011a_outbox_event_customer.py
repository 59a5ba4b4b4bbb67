"""Events out: the customer an outbox event is about (nullable: some events concern no one
customer), indexed (org_id, customer_id, id) for a customer's stream in commit order; the
organisation's expiry notice window in days (NULL: no notices); and the lots whose
points.expiring event was emitted, one row each, so a lot's notice is never sent twice.

Revision ID: 0011a
Revises: 0010a
Create Date: 2026-12-07 02:30:00

Existing events keep customer_id NULL (written before events named their customer); existing
organisations send no notices until their file sets expiry_notice_days.

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0011a"
down_revision: Union[str, Sequence[str], None] = "0010a"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("outbox_events_customer_id_fkey", "customers", ["customer_id"], ["id"])
        batch_op.create_index("ix_outbox_events_customer", ["org_id", "customer_id", "id"], unique=False)

    op.create_table(
        "lot_expiry_notices",
        sa.Column("lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lot_id"], ["point_lots.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("lot_id"),
    )
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expiry_notice_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("expiry_notice_days")
    op.drop_table("lot_expiry_notices")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_customer")
        batch_op.drop_constraint("outbox_events_customer_id_fkey", type_="foreignkey")
        batch_op.drop_column("customer_id")
