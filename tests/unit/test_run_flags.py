"""run.py refuses a flag the chosen pipeline does not take, in one line, with argparse's status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from http_kit import free_port

from greenr.settings import REPO_ROOT
from greenr.training.config import DEFAULT_CONFIG as DEFAULT_TRAINING
from run import FLAGS_OF, main, parse_args, resolve_source


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--pipeline", "training", "--source", "photos"],
            "--source does not apply to the training pipeline "
            "(it takes --config, --seed, --dataset-version, --set)",
        ),
        (
            ["--pipeline", "ingestion", "--set", "head.epochs=1"],
            "--set does not apply to the ingestion pipeline (it takes --source, --config, --seed)",
        ),
        (
            ["--pipeline", "ingestion", "--dataset-version", "ds-1", "--set", "seed=1"],
            "--dataset-version, --set do not apply to the ingestion pipeline",
        ),
        (
            ["--pipeline", "deployment", "--seed", "0"],
            "--seed does not apply to the deployment pipeline (it takes no other flag)",
        ),
        (["--pipeline", "deployment", "--config", "configs/training.yaml"], "--config does not apply"),
        (
            ["--pipeline", "training", "--force"],
            "--force does not apply to the training pipeline",
        ),
        (
            ["--pipeline", "retraining", "--source", "feedback"],
            "--source does not apply to the retraining pipeline (it takes --force, --set)",
        ),
    ],
)
def test_a_flag_the_pipeline_does_not_take_is_an_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_args(argv)
    assert stopped.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1, stderr
    assert ": error: " in stderr
    assert message in stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["--pipeline", "ingestion", "--source", "photos", "--config", "c.yaml", "--seed", "3"],
        [
            "--pipeline",
            "training",
            "--dataset-version",
            "ds-1",
            "--seed",
            "0",
            "--set",
            "a=1",
            "--set",
            "b=2",
        ],
        ["--pipeline", "training", "--config", "c.yaml"],
        ["--pipeline", "deployment"],
        ["--pipeline", "retraining"],
        ["--pipeline", "retraining", "--force", "--set", "head.epochs=1"],
    ],
)
def test_flags_the_pipeline_takes_are_accepted(argv: list[str]) -> None:
    args = parse_args(argv)
    assert args.pipeline in FLAGS_OF


def test_a_local_source_is_made_absolute_and_an_s3_prefix_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_source("photos.csv", tmp_path / "default") == str(tmp_path / "photos.csv")
    assert resolve_source("s3://greenr/incoming/", tmp_path / "default") == "s3://greenr/incoming/"
    assert resolve_source(None, tmp_path / "default") == str(tmp_path / "default")
    # `feedback` names the feedback store, not a folder of the working directory.
    assert resolve_source("feedback", tmp_path / "default") == "feedback"
    assert resolve_source("./feedback", tmp_path / "default") == str(tmp_path / "feedback")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--pipeline", "training", "--set", "nonsense=1"],
            "error: training parameters (configs/training.yaml and the command-line flags): "
            "nonsense: unknown parameter",
        ),
        (
            ["--pipeline", "training", "--set", "head.epochs"],
            "error: --set 'head.epochs' must look like key=value, e.g. fine_tune.epochs=10",
        ),
        *(
            (["--pipeline", pipeline, "--config", "missing.yaml"], "error: missing.yaml: no such config file")
            for pipeline in ("training", "ingestion", "monitoring")
        ),
    ],
)
def test_a_wrong_run_parameter_is_one_line_and_status_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    assert main(argv) == 2
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == message.replace("configs/training.yaml", str(DEFAULT_TRAINING))


@pytest.mark.parametrize("pipeline", ["training", "deployment", "monitoring", "retraining"])
def test_a_tracking_server_that_is_down_stops_the_run_before_it_starts(
    pipeline: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert main(["--pipeline", pipeline]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"error: the MLflow tracking server at {uri} does not answer (")
