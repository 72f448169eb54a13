"""The facts every part of greenr shares, defined once: the classes, the model's input, the splits
and the serving artifact's metadata.

Training, evaluation, deployment, the API, the web app and the Great Expectations suites take them
from here. Two copies must live in data files, and a test fails when either disagrees with this
module: the suites' JSON (label sets, split bands) and `serving/metadata.schema.json`, the JSON
Schema of `ServingMetadata` that the model server validates with, because its environment has no
pydantic (nor anything of greenr but `greenr.images`).

Imports only the standard library and pydantic: anything, however low, can import it cheaply.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

# ---------------------------------------------------------------- classes

Label = Literal["dandelion", "grass"]
"""A class the model predicts (a type, so that mypy checks every literal label in the code)."""

LABELS: Final[tuple[Label, ...]] = get_args(Label)
"""The classes in the order of the model's output columns: index 0 is "dandelion"."""

Answer = Literal["dandelion", "grass", "neither"]
"""What a prediction answers: a class, or "neither" when the photo looks unlike the training
photos (open-set rejection, greenr.open_set). Feedback may give any of them."""

ANSWERS: Final[tuple[Answer, ...]] = get_args(Answer)

POSITIVE_LABEL: Final[Label] = "dandelion"
"""The class that precision, recall and F1 count as positive (what the project looks for)."""

POSITIVE_CLASS_INDEX: Final[int] = LABELS.index(POSITIVE_LABEL)
"""Column of `POSITIVE_LABEL` in the model's output."""

# ---------------------------------------------------------------- the model's input

MODEL_INPUT_SIZE: Final[int] = 224
"""Default side of the square RGB input (EfficientNet-Lite0's); `image_size` in the training
config overrides it, and the serving metadata carries the size each model was trained at."""

# ---------------------------------------------------------------- splits

Split = Literal["train", "validation", "test"]
SPLITS: Final[tuple[str, ...]] = get_args(Split)
"""The dataset's splits (the values of `Split`), in pipeline order."""


class SplitFractions(BaseModel):
    """Target share of each split (stratified per class); they sum to 1."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    train: float = Field(0.70, ge=0, le=1)
    validation: float = Field(0.15, ge=0, le=1)
    test: float = Field(0.15, ge=0, le=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> SplitFractions:
        values = tuple(self.of(split) for split in SPLITS)
        if abs(sum(values) - 1.0) > 1e-6:
            raise ValueError(f"split fractions must sum to 1, got {values}")
        return self

    def of(self, split: str) -> float:
        """The share of one split, by name."""
        return float(getattr(self, split))


SPLIT_FRACTIONS: Final = SplitFractions()
"""The project's 70/15/15 split (the `dataset_splits` suite's bands are centred on it)."""

# ---------------------------------------------------------------- the serving artifact


def artifact_prefix(name: str, version: str) -> str:
    """models/<name>/v<version>: where one registered version's serving artifact is published
    (model.onnx, metadata.json and its companion files), one folder per version, never rewritten.
    The deployment pipeline writes it; monitoring, the API and the benchmarks read it."""
    return f"models/{name}/v{version}"


def _number_as_text(value: object) -> object:
    # MLflow versions are numbers; a hand-written metadata.json may give them as JSON numbers.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _distinct(labels: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels must be distinct, got {list(labels)}")
    return labels


ModelVersion = Annotated[
    str,
    BeforeValidator(_number_as_text),
    Field(min_length=1),
    WithJsonSchema({"anyOf": [{"type": "string", "minLength": 1}, {"type": "integer"}]}),
]
NonEmptyText = Annotated[str, Field(min_length=1)]
# maxLength as well as the anchored pattern: `$` also matches before a final newline in Python's re.
Sha256 = Annotated[
    str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$", max_length=64), AfterValidator(str.lower)
]


class ServingMetadata(BaseModel):
    """`metadata.json` of a serving artifact (serving/README.md): what `model.onnx` is and expects.

    Written by `greenr.deployment.artifact`, read by the model server. Strict: a JSON value of the
    wrong type is refused, never coerced (the server's JSON Schema check behaves the same; a test
    runs both on the same documents). Unknown fields are ignored, so a newer writer does not stop
    an older server.
    """

    model_config = ConfigDict(strict=True, frozen=True, protected_namespaces=())

    model_name: NonEmptyText = Field(description="registered model name (MLflow)")
    version: ModelVersion = Field(description="registered model version (a JSON number is accepted)")
    alias: NonEmptyText = Field(description="the alias the version was exported under")
    labels: Annotated[tuple[NonEmptyText, ...], AfterValidator(_distinct)] = Field(
        min_length=2,
        description="class of each output column, in order",
        json_schema_extra={"uniqueItems": True},
    )
    input_size: int = Field(gt=0, description="side of the square input; must match the graph")
    metrics: dict[str, float] = Field(default_factory=dict, description="test-set metrics of this version")
    dataset_version: NonEmptyText = Field(description="the dataset version it was trained on")
    exported_at: NonEmptyText = Field(description="ISO 8601 UTC time of the export")
    sha256: Sha256 = Field(description="SHA-256 of model.onnx, checked at every load")


MODEL_CARD_FILE: Final = "model_card.md"
"""The model card of a version (greenr/training/model_card.py), published next to model.onnx and
served by the API at GET /model/card."""


def serving_metadata_schema() -> dict[str, Any]:
    """The JSON Schema of `ServingMetadata`, as `serving/metadata.schema.json` must hold it."""
    return ServingMetadata.model_json_schema()


def serving_metadata_schema_text() -> str:
    """`serving/metadata.schema.json`'s exact content (regenerate the file with this)."""
    return json.dumps(serving_metadata_schema(), indent=2, sort_keys=True) + "\n"
