"""The training and deployment pipelines end to end against a real MLflow server: registered
version, aliases, tags and artifacts; the gate keeps a worse challenger out of production; the
champion is served by a real model server that deployment starts, leaves alone or replaces."""

from __future__ import annotations

import base64
import json
import math
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_python
from conftest import MlflowTarget
from http_kit import free_port
from PIL import Image

from greenr.contracts import artifact_prefix
from greenr.features.definitions import feature_set
from greenr.features.reference import FeatureReference
from greenr.open_set.scorer import NEEDS_NEGATIVES, OPEN_SET_FILE, scorer_from_json
from greenr.registry.model_registry import download_run_file, download_version
from greenr.resources import object_store
from greenr.settings import DEFAULT_SOURCE, get_settings
from greenr.training.config import load_training_config
from greenr.training.trained_model import KERAS_ARTIFACT_PATH, KERAS_FILE

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PER_CLASS = 40
NEITHER_PER_KIND = 4
# Both trainings run at 128 px: this test proves the pipelines' mechanics (registry, gate, lineage,
# deployment), not accuracy, and every forward and backward pass costs a third of 224 px's. The
# default size goes through the whole training pipeline in test_airflow_dags.py; a model at a
# non-default size is served at its own size (test_serving_contract.py).
IMAGE_SIZE = 128
SMALL = ["--set", f"image_size={IMAGE_SIZE}"]
QUICK = ["--set", "head.epochs=2", "--set", "fine_tune.epochs=1", *SMALL]
# One epoch that barely moves the random head: a clearly worse model than QUICK.
WORSE = ["--set", "head.epochs=1", "--set", "head.learning_rate=1e-9", "--set", "fine_tune.epochs=0", *SMALL]


def small_real_dataset(root: Path) -> Path:
    """The first photos of each class, copied to a temporary folder (never into the repo)."""
    for label in ("dandelion", "grass"):
        (root / label).mkdir(parents=True)
        for path in sorted((DEFAULT_SOURCE / label).glob("*.jpg"))[:PER_CLASS]:
            shutil.copy(path, root / label / path.name)
    return root


def neither_photos(root: Path) -> Path:
    """A few out-of-domain development photos (`<kind>/*.jpg`: blue and purple flowers' colours)
    for the open-set step's outlier exposure, so the test does not depend on ../shared/data/neither."""
    for kind, colour in (("bluebell", (60, 70, 200)), ("violet", (120, 40, 160))):
        (root / kind).mkdir(parents=True)
        for index in range(NEITHER_PER_KIND):
            shade = (colour[0], colour[1] + 9 * index, colour[2])
            Image.new("RGB", (96, 80), shade).save(root / kind / f"{index:03}.jpg", quality=90)
    return root


def predict(port: int, photo: Path) -> dict[str, Any]:
    body = json.dumps({"binData": base64.b64encode(photo.read_bytes()).decode()}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1.0/predictions",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        result: dict[str, Any] = json.loads(response.read())["jsonData"]
    return result


def test_training_registers_promotes_and_the_gate_rejects_a_worse_model(
    tmp_path: Path, mlflow_tracking: MlflowTarget
) -> None:
    from mlflow import MlflowClient

    env = {
        "MLFLOW_TRACKING_URI": mlflow_tracking.uri,
        # ZenML insists on credentials for a remote tracker; the test server has no auth.
        "MLFLOW_TRACKING_USERNAME": "greenr",
        "MLFLOW_TRACKING_PASSWORD": "no-auth-on-the-test-server",
        "GREENR_MODEL_NAME": mlflow_tracking.registered_model_name,
        "GREENR_MODEL_SERVER_PORT": str(port := free_port()),
        "GREENR_OPEN_SET_NEGATIVES_DIR": str(neither_photos(tmp_path / "neither")),
    }
    stacks = run_python(["-m", "stacks", "register", "--stack", "local", "--activate", "local"], env)
    assert stacks.returncode == 0, stacks.stderr[-2000:]
    source = small_real_dataset(tmp_path / "source")
    ingest = run_python(["run.py", "--pipeline", "ingestion", "--source", str(source)], env)
    assert ingest.returncode == 0, ingest.stderr[-3000:]

    first = run_python(["run.py", "--pipeline", "training", *QUICK], env)
    assert first.returncode == 0, first.stderr[-4000:]
    assert "version 1 PROMOTED to champion: no champion yet" in first.stdout + first.stderr
    assert f"{mlflow_tracking.uri}/#/experiments/" in first.stdout + first.stderr

    client = MlflowClient(tracking_uri=mlflow_tracking.uri, registry_uri=mlflow_tracking.uri)
    name = mlflow_tracking.registered_model_name
    champion = client.get_model_version_by_alias(name, "champion")
    assert champion.version == "1"
    assert client.get_model_version_by_alias(name, "challenger").version == "1"
    assert champion.tags["gate.decision"] == "promoted"
    assert champion.tags["champion.how"] == "gate"
    assert champion.tags["dataset_version"].startswith("ds-")
    assert len(champion.tags["git_commit"]) >= 40
    assert float(champion.tags["test_f1"]) > 0.7

    assert champion.run_id is not None
    run = client.get_run(champion.run_id)
    assert run.data.params["head.epochs"] == "2"
    assert run.data.params["dataset_version"] == champion.tags["dataset_version"]
    assert run.data.tags["dataset_version"] == champion.tags["dataset_version"]
    assert run.data.metrics["onnx_parity_max_abs_diff"] < 1e-4
    # One run holds the whole model: curves logged while training, test metrics, plots, model.
    assert len(client.get_metric_history(run.info.run_id, "val_loss")) == 3
    assert run.data.metrics["test_accuracy"] == pytest.approx(float(champion.tags["test_accuracy"]), abs=1e-4)
    assert run.info.status == "FINISHED"
    training = {Path(f.path).name for f in client.list_artifacts(run.info.run_id, "training")}
    assert {"config.yaml", "history.json"} <= training
    # The Keras model, for the API's explanations (version -> run -> keras/model.keras).
    keras = download_run_file(mlflow_tracking.uri, champion.run_id, f"{KERAS_ARTIFACT_PATH}/{KERAS_FILE}")
    assert keras is not None
    assert keras[:2] == b"PK"  # a .keras file is a zip archive
    evaluation = {Path(f.path).name for f in client.list_artifacts(run.info.run_id, "evaluation")}
    assert {
        "confusion_matrix.png",
        "reliability.png",
        "misclassified.png",
        "test_predictions.json",
    } <= evaluation
    card = Path(client.download_artifacts(run.info.run_id, "model_card/model_card.md", str(tmp_path)))
    assert card.read_text().startswith(f"# Model card: {name} version 1\n")
    assert "| accuracy |" in card.read_text()
    downloaded = download_version(mlflow_tracking.uri, name, "1", tmp_path / "download")
    assert [p.name for p in downloaded.rglob("*.onnx")] == ["model.onnx"]
    assert_feature_reference(mlflow_tracking.uri, run, name)
    assert_open_set(mlflow_tracking.uri, run, champion.tags)
    assert "## Open-set rejection" in card.read_text()
    configured = load_training_config().open_set
    assert f"Method `{configured.method}` (k {configured.k}" in card.read_text()
    assert run.data.tags["open_set_method"] == configured.method
    assert run.data.tags["open_set_fallback"] == "none"
    if configured.method in NEEDS_NEGATIVES:
        learned = f"and {2 * NEITHER_PER_KIND} out-of-domain development photos plus "
        assert learned + f"{configured.synthetic_negatives} generated pictures" in card.read_text()

    try:
        deployment_scenario(env, port)
        lineage_of_version_1(env, name)
        second_training_and_gate(env, port, client, name)
    finally:
        run_python(["-m", "greenr.deployment", "stop"], env)
    assert run_python(["-m", "greenr.deployment", "status"], env).returncode == 3


def assert_open_set(tracking_uri: str, run: Any, gate_tags: dict[str, str]) -> None:
    """The run holds version 1's open-set scorer (the configured method, a finite threshold from
    validation) and its rejection rates; the gate recorded what it judged."""
    data = download_run_file(tracking_uri, run.info.run_id, "open_set/open_set.json")
    assert data is not None
    scorer = scorer_from_json(data)
    assert scorer.method == load_training_config().open_set.method
    assert math.isfinite(scorer.threshold)
    assert run.data.metrics["open_set_threshold"] == pytest.approx(scorer.threshold, rel=1e-5)
    assert (
        run.data.metrics["open_set_validation_rejection_rate"]
        == scorer.calibration["validation_rejection_rate"]
    )
    rejection = run.data.metrics["open_set_test_rejection_rate"]
    assert 0 <= rejection <= 1
    assert float(gate_tags["gate.open_set_test_rejection"]) == pytest.approx(rejection, abs=1e-4)
    assert gate_tags["gate.max_open_set_test_rejection"] == "0.02"
    # 12 test photos: too few to judge a 2 % rate (configs/promotion.yaml, min_open_set_test_photos).
    assert gate_tags["gate.open_set_judged"] == "no"


def assert_feature_reference(tracking_uri: str, run: Any, name: str) -> None:
    """The run holds version 1's reference, computed by the exported model (with its embedding
    output, checked against Keras) on the train and validation photos."""
    assert run.data.metrics["onnx_embedding_parity_max_rel_diff"] < 1e-4
    data = download_run_file(tracking_uri, run.info.run_id, "features/feature_reference.json")
    assert data is not None
    reference = FeatureReference.model_validate_json(data)
    assert reference.compatible_with(feature_set())
    assert (reference.model_name, reference.model_version, reference.training_run_id) == (
        name,
        "1",
        run.info.run_id,
    )
    splits = [row.split for row in reference.rows]
    # 80 photos, 70/15/15: the test split is left out.
    assert 50 <= splits.count("train") <= 60
    assert 8 <= splits.count("validation") <= 16
    assert len(reference.values("p_dandelion")) == splits.count("validation")  # validation rows only
    assert len(reference.values("embedding_distance")) == len(splits)
    train_distances = [float(d) for d in reference.values("embedding_distance", "train") if d is not None]
    assert sorted(train_distances)[len(train_distances) // 2] == pytest.approx(1.0, rel=0.05)
    assert download_run_file(tracking_uri, run.info.run_id, "features/embedding_reduction.json") is not None


def second_training_and_gate(env: dict[str, str], port: int, client: Any, name: str) -> None:
    """A worse challenger stays a challenger; promoting it by hand and redeploying replaces the
    served model; rolling back restores the previous champion. Trained on a machine without the
    out-of-domain development photos, its open-set scorer falls back to knn and says so."""
    missing = str(Path(env["GREENR_OPEN_SET_NEGATIVES_DIR"]) / "not-here")
    second = run_python(
        ["run.py", "--pipeline", "training", *WORSE], {**env, "GREENR_OPEN_SET_NEGATIVES_DIR": missing}
    )
    assert second.returncode == 0, second.stderr[-4000:]
    assert "version 2 kept as challenger" in second.stdout + second.stderr
    configured = load_training_config().open_set.method
    second_run = client.get_run(client.get_model_version(name, "2").run_id)
    if configured in NEEDS_NEGATIVES:
        assert second_run.data.tags["open_set_method"] == "knn"
        assert missing in second_run.data.tags["open_set_fallback"]
    else:
        assert second_run.data.tags["open_set_fallback"] == "none"
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    challenger = client.get_model_version_by_alias(name, "challenger")
    assert challenger.version == "2"
    assert challenger.tags["gate.decision"] == "rejected"
    assert challenger.tags["gate.champion_version"] == "1"
    assert float(challenger.tags["gate.champion_f1"]) > float(challenger.tags["gate.challenger_f1"])

    promoted = run_python(["-m", "greenr.registry", "promote", "2", "--reason", "test"], env)
    assert promoted.returncode == 0, promoted.stderr[-2000:]
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    assert "its ZenML model version is now in stage production" in promoted.stdout
    assert zenml_lineage(env, name, "2")["stage"] == "production"
    assert zenml_lineage(env, name, "1")["stage"] == "archived"
    replaced = run_python(["run.py", "--pipeline", "deployment"], env)
    assert replaced.returncode == 0, replaced.stderr[-3000:]
    assert "version 2 (local): replaced" in replaced.stdout + replaced.stderr
    assert predict(port, sorted((DEFAULT_SOURCE / "grass").glob("*.jpg"))[-1])["model"]["version"] == "2"
    back = run_python(["-m", "greenr.registry", "rollback"], env)
    assert back.returncode == 0, back.stderr[-2000:]
    assert "champion is now version 1 (was 2)" in back.stdout
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    assert zenml_lineage(env, name, "1")["stage"] == "production"


def zenml_lineage(env: dict[str, str], name: str, version: str) -> dict[str, Any]:
    result = run_python(["tests/zenml_lineage.py", name, version], env)
    assert result.returncode == 0, result.stderr[-3000:]
    lineage: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return lineage


def lineage_of_version_1(env: dict[str, str], name: str) -> None:
    """ZenML holds the lineage: the training's model version became MLflow version 1, holds the
    trained model and the test split, is in production, and the deployment consumed its model."""
    lineage = zenml_lineage(env, name, "1")
    assert lineage["found"], lineage
    assert lineage["stage"] == "production"
    assert "mlflow-version-1" in lineage["tags"]
    assert lineage["metadata"]["mlflow_version"] == "1"
    assert "trained_model" in lineage["model_artifacts"]
    assert {
        "test_split",
        "evaluation",
        "registered_model",
        "model_card",
        "feature_reference",
        "open_set",
    } <= set(lineage["data_artifacts"])
    assert lineage["trained_model_metadata"]["input_size"] == str(IMAGE_SIZE)
    assert len(lineage["training_runs"]) == 1
    # Both deployments ran in this model version and published its trained_model artifact.
    assert len(lineage["deployments"]) == 2
    for deployment in lineage["deployments"]:
        assert deployment["publish_inputs"]["trained"] == [lineage["trained_model_id"]]


def deployment_scenario(env: dict[str, str], port: int) -> None:
    """Deploy the champion (version 1): started, then unchanged; it answers on real photos."""
    first = run_python(["run.py", "--pipeline", "deployment"], env)
    assert first.returncode == 0, first.stderr[-3000:]
    output = first.stdout + first.stderr
    assert "version 1 (local): started" in output
    assert f"prediction URL: http://127.0.0.1:{port}/api/v1.0/predictions" in output
    result = predict(port, sorted((DEFAULT_SOURCE / "dandelion").glob("*.jpg"))[-1])
    assert result["model"]["version"] == "1"
    probabilities = result["predictions"][0]["probabilities"]
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    # Published with its embedding reduction: every feature column has a value.
    features = result["predictions"][0]["features"]
    assert sorted(features) == sorted(feature_set().names())
    assert all(value is not None for value in features.values()), features
    # Published with its open-set scorer, for the model server to answer "neither".
    store = object_store(get_settings())
    name = env["GREENR_MODEL_NAME"]
    published = scorer_from_json(store.get(f"{artifact_prefix(name, '1')}/{OPEN_SET_FILE}"))
    assert published.method == load_training_config().open_set.method

    again = run_python(["run.py", "--pipeline", "deployment"], env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "version 1 (local): unchanged" in again.stdout + again.stderr
    status = run_python(["-m", "greenr.deployment", "status"], env)
    assert f"version 1 at http://127.0.0.1:{port}" in status.stdout


def test_training_without_a_dataset_says_to_ingest_first() -> None:
    result = run_python(["run.py", "--pipeline", "training", *QUICK], {})
    assert result.returncode == 1
    assert "run the ingestion pipeline first" in result.stderr.strip().splitlines()[-1]
