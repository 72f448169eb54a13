"""Prediction API access: API keys, who made each prediction, one feedback per prediction and key.

Rows from before this revision keep `api_key_id = NULL`: their predictions are visible to admin
keys only, and their (possibly several) feedback rows stay as they were, since NULLs never
collide in a unique constraint on SQLite or PostgreSQL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("revoked_at", _TIMESTAMP),
        sa.Column("last_used_at", _TIMESTAMP),
        sa.Column("rate_per_second", sa.Float),
        sa.Column("burst", sa.Integer),
    )
    # Batch mode: SQLite can add a unique constraint only by rebuilding the table.
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("api_key_id", sa.String(32)))
        batch.create_index("ix_predictions_api_key_id", ["api_key_id"])
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("api_key_id", sa.String(32)))
        batch.create_unique_constraint("uq_feedback_prediction_key", ["prediction_id", "api_key_id"])


def downgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.drop_constraint("uq_feedback_prediction_key", type_="unique")
        batch.drop_column("api_key_id")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_index("ix_predictions_api_key_id")
        batch.drop_column("api_key_id")
    op.drop_table("api_keys")
