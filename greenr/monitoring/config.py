"""Run parameters of the monitoring pipeline: configs/monitoring.yaml, flags on top."""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from greenr.config_files import read_mapping, validated
from greenr.monitoring.report import Correction
from greenr.monitoring.retrain_policy import RetrainPolicy
from greenr.settings import REPO_ROOT

DEFAULT_CONFIG: Final = REPO_ROOT / "configs" / "monitoring.yaml"

EmbeddingTest = Literal["mmd", "ks"]
"""How the embedding columns are tested: one joint MMD permutation test, or KS per column."""


class MonitoringConfig(BaseModel):
    """configs/monitoring.yaml (the file comments say what each field does)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window: int = Field(100, ge=10, description="predictions per window")
    alpha: float = Field(0.01, gt=0, lt=1, description="level of the drift tests after the correction")
    correction: Correction = "fdr_bh"
    embedding_test: EmbeddingTest = "mmd"
    permutations: int = Field(
        2000, ge=99, le=100_000, description="permutations of the MMD and small-table class-share tests"
    )
    seed: int = Field(0, description="seed of the permutation tests: the same window gives the same verdict")
    informational_columns: tuple[str, ...] = Field(
        ("width", "height", "aspect_ratio", "jpeg_quality"),
        description="columns tested and reported, but not part of a window's drift verdict",
    )
    retrain: RetrainPolicy = RetrainPolicy()


def load_monitoring_config(path: Path = DEFAULT_CONFIG) -> MonitoringConfig:
    """The monitoring parameters from a YAML file.

    Raises:
        ConfigFileError: a missing or malformed file, or a wrong parameter (one line).
    """
    return validated(MonitoringConfig, read_mapping(path), f"monitoring parameters ({path})")
