"""Run parameters of the ingestion pipeline (YAML defaults, command-line overrides)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from greenr.contracts import SPLIT_FRACTIONS, SplitFractions
from greenr.settings import REPO_ROOT

DEFAULT_CONFIG = REPO_ROOT / "configs" / "ingestion.yaml"


class IngestionConfig(BaseModel):
    """Parameters that shape a dataset version."""

    seed: int = 42
    # The project's split (greenr.contracts); the dataset_splits suite's bands are centred on it.
    fractions: SplitFractions = SPLIT_FRACTIONS
    near_duplicate_distance: int = Field(4, ge=0, le=64)
    group_distance: int = Field(6, ge=0, le=64)


def load_ingestion_config(
    path: Path = DEFAULT_CONFIG, overrides: dict[str, Any] | None = None
) -> IngestionConfig:
    """Read the YAML config and apply non-None overrides on top."""
    data: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return IngestionConfig.model_validate(data)
