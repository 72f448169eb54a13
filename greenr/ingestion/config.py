"""Run parameters of the ingestion pipeline (YAML defaults, command-line overrides)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from greenr.config_files import read_mapping, validated
from greenr.contracts import SPLIT_FRACTIONS, SplitFractions
from greenr.settings import REPO_ROOT

DEFAULT_CONFIG = REPO_ROOT / "configs" / "ingestion.yaml"


class IngestionConfig(BaseModel):
    """Parameters that shape a dataset version."""

    # A mistyped key in configs/ingestion.yaml is an error, not a parameter silently left at its default.
    model_config = ConfigDict(extra="forbid")

    seed: int = 42
    # The project's split (greenr.contracts); the dataset_splits suite's bands are centred on it.
    fractions: SplitFractions = SPLIT_FRACTIONS
    near_duplicate_distance: int = Field(4, ge=0, le=64)
    group_distance: int = Field(6, ge=0, le=64)


def load_ingestion_config(
    path: Path = DEFAULT_CONFIG, overrides: dict[str, Any] | None = None
) -> IngestionConfig:
    """Read the YAML config and apply non-None overrides on top.

    Raises:
        ConfigFileError: a missing or malformed file, or a wrong parameter (one line).
    """
    data = read_mapping(path)
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    data.update(given)
    return validated(IngestionConfig, data, _source(path, given))


def _source(path: Path, overrides: dict[str, Any]) -> str:
    return f"ingestion parameters ({path}{' and the command-line flags' if overrides else ''})"
