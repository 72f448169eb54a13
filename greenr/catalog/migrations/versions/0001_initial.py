"""Initial catalog: images, rejections, dataset versions and members.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("label", sa.String(64), nullable=False, index=True),
        sa.Column("split", sa.String(16), nullable=False, index=True),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("phash", sa.String(16), nullable=False),
        sa.Column("source_path", sa.Text, nullable=False),
        sa.Column("object_key", sa.Text, nullable=False),
        sa.Column("ingested_at", _TIMESTAMP, nullable=False),
    )
    op.create_table(
        "rejections",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("source_path", sa.Text, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False, index=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("label", sa.String(64)),
        sa.Column("sha256", sa.String(64)),
        sa.Column("quarantine_key", sa.Text),
        sa.Column("first_seen_at", _TIMESTAMP, nullable=False),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("manifest_key", sa.Text, nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("parameters", sa.JSON, nullable=False),
    )
    op.create_table(
        "dataset_members",
        sa.Column(
            "version_id",
            sa.String(32),
            sa.ForeignKey("dataset_versions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("sha256", sa.String(64), sa.ForeignKey("images.sha256"), primary_key=True),
        sa.Column("split", sa.String(16), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dataset_members")
    op.drop_table("dataset_versions")
    op.drop_table("rejections")
    op.drop_table("images")
