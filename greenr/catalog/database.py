"""Connecting to the catalog and bringing its schema up to date with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class CatalogUnavailable(RuntimeError):
    """The catalog database cannot be reached; the message says what to check."""


def create_catalog_engine(url: str) -> Engine:
    """Engine for the catalog URL; SQLite parent folders are created, PostgreSQL gets timeouts."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        # SQLAlchemy's default PostgreSQL driver is psycopg2, which we do not ship; psycopg 3 is.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 5})


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the API write while pipelines read, and NORMAL sync makes each prediction's
    # commit ~10x cheaper; a power cut can lose the last commits, never corrupt the file.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Apply all Alembic migrations (idempotent: does nothing when already at head)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as error:
        raise CatalogUnavailable(
            f"cannot reach the catalog database {engine.url.render_as_string(hide_password=True)}: "
            f"{error.orig}. Start it or set GREENR_DATABASE_URL."
        ) from None


def open_catalog(url: str) -> Engine:
    """Engine with the schema migrated to the latest revision."""
    engine = create_catalog_engine(url)
    migrate(engine)
    return engine
