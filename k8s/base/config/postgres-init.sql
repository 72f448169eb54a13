-- Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d):
-- MLflow gets its own database (its alembic_version table would collide with the catalog's).
CREATE DATABASE mlflow;
