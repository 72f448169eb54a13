"""The reference of a model version: the feature columns computed on its training photos.

Written by the training pipeline for every model version (an MLflow artifact of the run, and
`feature_reference.json` next to the published serving artifact), read by the monitoring
pipeline, which compares production windows with the reference of the version that answered.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from greenr.features.definitions import FeatureSet

REFERENCE_FILE: Final = "feature_reference.json"
"""File name of the reference, in the MLflow run's artifacts and in the serving artifact's folder."""

FeatureValue = float | int | str | None
"""A column's value; None when it cannot be computed (embedding columns of a model without the
embedding output)."""


class ReferenceRow(BaseModel):
    """One training photo: its split, its true label and its feature columns."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    split: Literal["train", "validation"]
    label: str
    features: dict[str, FeatureValue]


class FeatureReference(BaseModel):
    """Every reference row of one model version, with the feature set they were computed with.

    `output` columns are filled on validation rows only: on training photos the model's outputs
    are those of photos it has learnt, not what production will see.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    feature_set_name: str
    feature_set_version: int
    column_versions: dict[str, int]
    model_name: str | None = Field(None, description="set when the version is registered")
    model_version: str | None = None
    training_run_id: str | None = Field(None, description="the MLflow run that trained the model")
    rows: list[ReferenceRow]

    def compatible_with(self, features: FeatureSet) -> bool:
        """Whether production rows computed with `features` may be compared with this reference."""
        return (
            self.feature_set_name == features.name
            and self.feature_set_version == features.version
            and self.column_versions == features.column_versions()
        )

    def values(self, column: str, split: str | None = None) -> list[FeatureValue]:
        """One column's non-missing values, optionally of one split."""
        return [
            row.features[column]
            for row in self.rows
            if (split is None or row.split == split) and row.features.get(column) is not None
        ]
