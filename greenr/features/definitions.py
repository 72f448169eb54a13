"""`feature_set.yaml` as typed objects: the columns that describe one prediction.

Imports only the standard library and PyYAML, because the model server reads it too, in its own
environment (numpy, Pillow, PyYAML through seldon-core; no pydantic, no TensorFlow).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final, Literal, cast

import yaml

FeatureSource = Literal["image", "embedding", "output"]
FeatureType = Literal["float", "int", "category"]

SOURCES: Final[tuple[FeatureSource, ...]] = ("image", "embedding", "output")
TYPES: Final[tuple[FeatureType, ...]] = ("float", "int", "category")
FEATURE_SET_FILE: Final = "feature_set.yaml"


class FeatureSetError(ValueError):
    """The feature definition file is malformed."""


@dataclass(frozen=True)
class FeatureColumn:
    """One column: what it is, how it is computed, since which feature set version."""

    name: str
    source: FeatureSource
    type: FeatureType
    version: int
    definition: str

    @property
    def numeric(self) -> bool:
        return self.type != "category"


@dataclass(frozen=True)
class FeatureSet:
    """The versioned set of columns (see the comments in feature_set.yaml)."""

    name: str
    version: int
    owner: str
    columns: tuple[FeatureColumn, ...]

    def names(self, source: FeatureSource | None = None) -> tuple[str, ...]:
        """Column names in file order, optionally of one source only."""
        return tuple(c.name for c in self.columns if source is None or c.source == source)

    def column(self, name: str) -> FeatureColumn:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"no feature column {name!r} in {self.name} version {self.version}")

    def column_versions(self) -> dict[str, int]:
        return {c.name: c.version for c in self.columns}


def parse_feature_set(document: object) -> FeatureSet:
    """A FeatureSet from the parsed YAML document.

    Raises:
        FeatureSetError: a field is missing or of the wrong kind, a name repeats, or a column's
            version is above the set's.
    """
    if not isinstance(document, dict):
        raise FeatureSetError("the feature set must be a mapping with name, version, owner and columns")
    try:
        name, version, owner = str(document["name"]), document["version"], str(document["owner"])
        raw_columns = document["columns"]
    except KeyError as missing:
        raise FeatureSetError(f"the feature set has no {missing.args[0]!r}") from None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FeatureSetError(f"the feature set version must be a positive integer, got {version!r}")
    if not isinstance(raw_columns, list) or not raw_columns:
        raise FeatureSetError("the feature set needs a non-empty list of columns")
    columns = tuple(_column(raw, version) for raw in raw_columns)
    names = [c.name for c in columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise FeatureSetError(f"feature names repeat: {repeated}")
    return FeatureSet(name=name, version=version, owner=owner, columns=columns)


def _column(raw: object, set_version: int) -> FeatureColumn:
    if not isinstance(raw, dict):
        raise FeatureSetError(f"a feature column must be a mapping, got {raw!r}")
    try:
        name, source, kind = str(raw["name"]), raw["source"], raw["type"]
        version, definition = raw["version"], str(raw["definition"])
    except KeyError as missing:
        raise FeatureSetError(f"feature column {raw.get('name', '?')!r} has no {missing.args[0]!r}") from None
    if source not in SOURCES:
        raise FeatureSetError(f"feature {name!r}: source {source!r} is not one of {list(SOURCES)}")
    if kind not in TYPES:
        raise FeatureSetError(f"feature {name!r}: type {kind!r} is not one of {list(TYPES)}")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= set_version:
        raise FeatureSetError(
            f"feature {name!r}: version {version!r} must be an integer from 1 to the set's {set_version}"
        )
    return FeatureColumn(
        name=name,
        source=cast(FeatureSource, source),
        type=cast(FeatureType, kind),
        version=version,
        definition=definition,
    )


@cache
def feature_set() -> FeatureSet:
    """The project's feature set (greenr/features/feature_set.yaml), read once."""
    text = resources.files("greenr.features").joinpath(FEATURE_SET_FILE).read_text(encoding="utf-8")
    return parse_feature_set(yaml.safe_load(text))
