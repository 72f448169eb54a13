"""Run-parameter files and overrides: a wrong one is one line that names it, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenr.config_files import ConfigFileError, read_mapping
from greenr.ingestion.config import IngestionConfig, load_ingestion_config
from greenr.monitoring.config import MonitoringConfig, load_monitoring_config
from greenr.training.config import TrainingConfig, load_training_config, parse_overrides


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"missing\.yaml: no such config file$"):
        read_mapping(tmp_path / "missing.yaml")


def test_broken_yaml_says_where(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("seed: 1\nhead: [1, 2\n")
    with pytest.raises(ConfigFileError) as raised:
        read_mapping(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: not valid YAML (")
    assert "line 3" in message
    assert "\n" not in message


def test_a_list_is_not_a_parameter_file_and_an_empty_file_is_empty(tmp_path: Path) -> None:
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigFileError, match="must hold a YAML mapping of parameters, not a list"):
        read_mapping(listed)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert read_mapping(empty) == {}


def test_a_mistyped_training_override_is_named_as_unknown() -> None:
    with pytest.raises(ConfigFileError) as raised:
        load_training_config(overrides=parse_overrides(["fine_tune.epoch=10", "head.epochs=abc"]))
    message = str(raised.value)
    assert message.startswith("training parameters (")
    assert "and the command-line flags): " in message
    assert "fine_tune.epoch: unknown parameter" in message
    assert "head.epochs: Input should be a valid integer" in message
    assert "(got 'abc')" in message
    assert "\n" not in message


@pytest.mark.parametrize("item", ["fine_tune.epochs", "=3", "head.epochs=[1"])
def test_a_malformed_override_is_refused(item: str) -> None:
    with pytest.raises(ConfigFileError, match=r"^--set "):
        parse_overrides([item])


def test_the_ingestion_and_monitoring_files_refuse_an_unknown_key(tmp_path: Path) -> None:
    ingestion = tmp_path / "ingestion.yaml"
    ingestion.write_text("seed: 1\nnear_duplicate_distanse: 3\n")
    with pytest.raises(ConfigFileError, match=r"near_duplicate_distanse: unknown parameter$"):
        load_ingestion_config(ingestion)
    monitoring = tmp_path / "monitoring.yaml"
    monitoring.write_text("windw: 100\n")
    with pytest.raises(ConfigFileError, match=r"^monitoring parameters \(.*\): windw: unknown parameter$"):
        load_monitoring_config(monitoring)


def test_the_committed_files_still_load() -> None:
    # configs/*.yaml hold only known keys (the ingestion model forbids unknown ones since this check).
    assert isinstance(load_training_config(), TrainingConfig)
    assert isinstance(load_ingestion_config(), IngestionConfig)
    assert isinstance(load_monitoring_config(), MonitoringConfig)
