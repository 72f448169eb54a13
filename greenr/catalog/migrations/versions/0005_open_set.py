"""Open-set rejection: each prediction's open-set score, the threshold it was compared with, the
method, and whether the photo was answered "neither".

Predictions from before this revision, or answered by a model published without `open_set.json`,
keep all four NULL (they were never scored).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("open_set_score", sa.Float))
        batch.add_column(sa.Column("open_set_threshold", sa.Float))
        batch.add_column(sa.Column("open_set_method", sa.String(32)))
        batch.add_column(sa.Column("open_set_rejected", sa.Boolean))


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("open_set_rejected")
        batch.drop_column("open_set_method")
        batch.drop_column("open_set_threshold")
        batch.drop_column("open_set_score")
