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


def test_0005_adds_the_open_set_columns_null_for_earlier_predictions(tmp_path: Path) -> None:
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    config = _config()
    open_set = {"open_set_score", "open_set_threshold", "open_set_method", "open_set_rejected"}
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        connection.exec_driver_sql(
            "INSERT INTO predictions (id, created_at, filename, sha256, label, probabilities, confidence, "
            "model_name, model_version, latency_ms) VALUES ('p1', '2026-11-29 00:00:00', 'a.jpg', "
            "'" + "0" * 64 + "', 'grass', '{\"dandelion\": 0.1, \"grass\": 0.9}', 0.9, 'm', '1', 5.0)"
        )
        command.upgrade(config, "0005")
        columns = {column["name"] for column in inspect(connection).get_columns("predictions")}
        assert open_set <= columns
        row = connection.exec_driver_sql(
            "SELECT open_set_score, open_set_threshold, open_set_method, open_set_rejected FROM predictions"
        ).one()
        assert tuple(row) == (None, None, None, None)
        command.downgrade(config, "0004")
        columns = {column["name"] for column in inspect(connection).get_columns("predictions")}
        assert not open_set & columns
        assert connection.exec_driver_sql("SELECT label FROM predictions").scalar_one() == "grass"
