"""The migrations build exactly the tables `greenr.catalog.schema` declares, and go back down."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from greenr.catalog import schema
from greenr.catalog.database import MIGRATIONS_DIR, create_catalog_engine


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def test_head_matches_the_declared_schema_and_downgrades_cleanly(tmp_path: Path) -> None:
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        differences = compare_metadata(MigrationContext.configure(connection), schema.Base.metadata)
        assert differences == []
        command.downgrade(config, "0003")
        assert "monitoring_runs" not in inspect(connection).get_table_names()
        assert "features" not in {column["name"] for column in inspect(connection).get_columns("predictions")}
