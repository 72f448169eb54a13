"""Monitoring: each prediction's feature columns, and the record of every monitoring run.

Predictions from before this revision keep `features = NULL`: monitoring skips them (they were
never described by a feature set).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("features", sa.JSON))
        batch.add_column(sa.Column("feature_set_version", sa.Integer))
    op.create_table(
        "monitoring_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("started_at", _TIMESTAMP, nullable=False),
        sa.Column("finished_at", _TIMESTAMP, nullable=False),
        sa.Column("since", _TIMESTAMP),
        sa.Column("until", _TIMESTAMP, nullable=False),
        sa.Column("predictions", sa.Integer, nullable=False),
        sa.Column("windows", sa.Integer, nullable=False),
        sa.Column("drifted", sa.Boolean, nullable=False),
        sa.Column("retrain", sa.Boolean, nullable=False),
        sa.Column("forced", sa.Boolean, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("report_key", sa.Text),
    )
    op.create_index("ix_monitoring_runs_started_at", "monitoring_runs", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_monitoring_runs_started_at", table_name="monitoring_runs")
    op.drop_table("monitoring_runs")
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("feature_set_version")
        batch.drop_column("features")
