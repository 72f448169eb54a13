"""greenr.contracts is the one home of the shared facts: every copy that must stay elsewhere agrees.

The copies kept in data files are the Great Expectations suites (label sets, split bands) and the
model server's JSON Schema of metadata.json; the model server's reading of metadata.json accepts
and refuses exactly what `ServingMetadata` does (here with the main environment's jsonschema; the
integration test test_serving_contract.py repeats it in the server's own environment).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from metadata_documents import ACCEPTED, DOCUMENTS, contract_reading, server_reading, variant
from pydantic import ValidationError

from greenr.contracts import (
    LABELS,
    MODEL_INPUT_SIZE,
    POSITIVE_CLASS_INDEX,
    POSITIVE_LABEL,
    SPLIT_FRACTIONS,
    SPLITS,
    SplitFractions,
    serving_metadata_schema_text,
)
from greenr.dataset.rules import SUITES_DIR, ImageRules, find_expectation, read_suite_json
from greenr.ingestion.config import load_ingestion_config
from greenr.settings import REPO_ROOT
from greenr.training.config import load_training_config
from serving.model_store import ArtifactError, parse_metadata
from ui.app import DEFAULT_LABELS
from ui.probability import LABEL_COLORS

SCHEMA_FILE = REPO_ROOT / "serving" / "metadata.schema.json"
EQUAL_SET = "expect_column_distinct_values_to_equal_set"
BETWEEN = "expect_column_values_to_be_between"

# ---------------------------------------------------------------- the facts themselves


def test_the_class_order_and_positive_class_are_the_ones_models_were_trained_with() -> None:
    # Every registered model's output column 0 is "dandelion": reordering would silently swap them.
    assert LABELS == ("dandelion", "grass")
    assert LABELS[POSITIVE_CLASS_INDEX] == POSITIVE_LABEL == "dandelion"


def test_split_fractions_sum_to_one_and_are_validated() -> None:
    assert tuple(SPLIT_FRACTIONS.of(split) for split in SPLITS) == (0.70, 0.15, 0.15)
    with pytest.raises(ValidationError, match="sum to 1"):
        SplitFractions(train=0.8, validation=0.15, test=0.15)


def test_run_configs_take_their_defaults_from_the_contract() -> None:
    assert load_ingestion_config().fractions == SPLIT_FRACTIONS
    assert load_training_config().image_size == MODEL_INPUT_SIZE


def test_the_web_app_knows_every_class() -> None:
    assert DEFAULT_LABELS == LABELS
    assert set(LABEL_COLORS) == set(LABELS)


# ---------------------------------------------------------------- copies in the GE suites


@pytest.mark.parametrize("suite", ["raw_images", "class_balance", "dataset_splits"])
def test_every_suite_names_the_contract_labels_in_order(suite: str) -> None:
    expectations = read_suite_json(SUITES_DIR / f"{suite}.json")["expectations"]
    label_sets = [
        exp["kwargs"]["value_set"] for exp in expectations if exp.get("kwargs", {}).get("column") == "label"
    ]
    assert label_sets, f"{suite} has no label expectation"
    assert all(tuple(values) == LABELS for values in label_sets), (suite, label_sets)


def test_screening_rules_use_the_contract_labels() -> None:
    assert ImageRules.from_suite().labels == LABELS


def test_split_share_bands_are_centred_on_the_contract_fractions() -> None:
    suite = read_suite_json(SUITES_DIR / "dataset_splits.json")
    assert tuple(find_expectation(suite, EQUAL_SET, "split")["value_set"]) == SPLITS
    bands = {
        exp["kwargs"]["row_condition"]["parameter"]: exp["kwargs"]
        for exp in suite["expectations"]
        if exp["type"] == BETWEEN and exp["kwargs"].get("column") == "split_share"
    }
    assert set(bands) == set(SPLITS)
    for split, band in bands.items():
        centre = (band["min_value"] + band["max_value"]) / 2
        assert centre == pytest.approx(SPLIT_FRACTIONS.of(split)), (split, band)


# ---------------------------------------------------------------- the serving metadata


def test_the_servers_schema_file_is_generated_from_the_contract() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == serving_metadata_schema_text(), (
        "serving/metadata.schema.json is stale: regenerate it with .venv/bin/python -c "
        "\"from greenr.contracts import serving_metadata_schema_text as t; print(t(), end='')\" "
        "> serving/metadata.schema.json"
    )


@pytest.mark.parametrize(("name", "document"), DOCUMENTS, ids=[name for name, _ in DOCUMENTS])
def test_the_server_reads_metadata_exactly_as_the_contract(name: str, document: Any) -> None:
    data = json.dumps(document).encode()
    expected = contract_reading(data)
    assert server_reading(data) == expected
    # The table probes both sides: the documents meant to pass are accepted, the others refused.
    assert (expected is not None) == (name in ACCEPTED)


def test_the_server_names_the_bad_field() -> None:
    with pytest.raises(ArtifactError, match="'input_size'"):
        parse_metadata(json.dumps(variant(input_size=0)).encode())
    with pytest.raises(ArtifactError, match="not valid JSON"):
        parse_metadata(b"{")


def test_the_contract_imports_nothing_heavy() -> None:
    code = (
        "import sys; import greenr.contracts; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'zenml', 'mlflow', 'great_expectations', 'pandas', "
        "'onnx', 'onnxruntime', 'sqlalchemy', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(REPO_ROOT)
    )
    assert out.stdout.strip() == "[]"
