"""Migration 0003 on a catalog that already holds predictions and feedback from before keys existed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from greenr.api.predictions_store import PredictionsStore
from greenr.catalog.database import MIGRATIONS_DIR, create_catalog_engine


def test_old_rows_survive_and_belong_to_no_key(tmp_path: Path) -> None:
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        connection.execute(
            text(
                "INSERT INTO predictions VALUES ('p1', '2026-11-28 09:00:00', 'a.jpg', :sha, 'grass', "
                "'{\"dandelion\": 0.1, \"grass\": 0.9}', 0.9, 'greenr-classifier', '3', 12.0, NULL)"
            ),
            {"sha": "0" * 64},
        )
        # Before keys, several answers on one prediction were all kept.
        for index, label in enumerate(("grass", "dandelion")):
            connection.execute(
                text("INSERT INTO feedback VALUES (:id, 'p1', :label, 0, :at)"),
                {"id": f"f{index}", "label": label, "at": f"2026-11-28 09:0{index + 1}:00"},
            )
    store = PredictionsStore(engine)
    store.ensure_schema()  # 0002 -> head
    (item,), total = store.history(10, 0)
    assert total == 1
    assert item.prediction.api_key_id is None
    assert item.feedback_label == "dandelion"
    assert store.history(10, 0, owner="0123456789ab") == ([], 0)  # a predict key does not see it
    votes = store.feedback_votes("0" * 64)
    assert sorted(vote.label for vote in votes) == ["dandelion", "grass"]
    assert {vote.role for vote in votes} == {None}
    store.close()
