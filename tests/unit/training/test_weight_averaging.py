"""Averaging the fine-tuning stage's best epochs: the pure selection and mean, the config rule,
and a tiny training that averages (random weights, synthetic images: wiring, not accuracy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from tiny_training import TinyRun, train_tiny

from greenr.training.config import FineTuneConfig, TrainingConfig, load_training_config
from greenr.training.weight_averaging import Checkpoint, average_of_best, belongs_among_best, keep_best


def _checkpoint(epoch: int, val_loss: float, value: float, counter: int = 0) -> Checkpoint:
    # Two float weights of different dtypes and one integer weight, as get_weights() would list them.
    return Checkpoint(
        epoch,
        val_loss,
        [
            np.full((2, 3), value, dtype=np.float32),
            np.full(4, value, dtype=np.float16),
            np.full(2, counter, dtype=np.int64),
        ],
    )


# --- selection and mean -------------------------------------------------------------------------


def test_the_k_best_by_validation_loss_are_averaged_element_wise() -> None:
    checkpoints = [
        _checkpoint(1, 0.50, 1.0, counter=1),
        _checkpoint(2, 0.20, 2.0, counter=2),
        _checkpoint(3, 0.30, 4.0, counter=3),
        _checkpoint(4, 0.10, 6.0, counter=4),
        _checkpoint(5, 0.40, 100.0, counter=5),
    ]
    weights, epochs = average_of_best(checkpoints, 3)
    assert epochs == [4, 2, 3]  # best first
    np.testing.assert_array_equal(weights[0], np.full((2, 3), 4.0, dtype=np.float32))  # (6 + 2 + 4) / 3
    assert weights[0].dtype == np.float32
    assert weights[1].dtype == np.float16
    np.testing.assert_array_equal(weights[1], np.full(4, 4.0, dtype=np.float16))


def test_the_mean_is_taken_in_float64_and_cast_back() -> None:
    # Summed in float32, 2**24 + 1 + 1 would lose both ones (mean 5592405.5, not 5592406).
    checkpoints = [
        Checkpoint(1, 0.1, [np.array([2.0**24], dtype=np.float32)]),
        Checkpoint(2, 0.2, [np.array([1.0], dtype=np.float32)]),
        Checkpoint(3, 0.3, [np.array([1.0], dtype=np.float32)]),
    ]
    weights, _ = average_of_best(checkpoints, 3)
    assert weights[0][0] == np.float32(5592406.0)
    assert weights[0].dtype == np.float32


def test_integer_weights_are_the_best_epochs_not_averaged() -> None:
    checkpoints = [_checkpoint(1, 0.3, 1.0, counter=7), _checkpoint(2, 0.1, 3.0, counter=2)]
    weights, _ = average_of_best(checkpoints, 2)
    np.testing.assert_array_equal(weights[2], np.array([2, 2]))
    assert weights[2].dtype == np.int64
    np.testing.assert_array_equal(weights[0], np.full((2, 3), 2.0, dtype=np.float32))


def test_k_above_the_number_of_epochs_averages_what_there_is() -> None:
    checkpoints = [_checkpoint(1, 0.3, 1.0), _checkpoint(2, 0.1, 2.0)]
    weights, epochs = average_of_best(checkpoints, 5)
    assert epochs == [2, 1]
    np.testing.assert_array_equal(weights[0], np.full((2, 3), 1.5, dtype=np.float32))


def test_k_1_returns_the_best_epochs_arrays_unchanged() -> None:
    checkpoints = [_checkpoint(1, 0.3, 1.0), _checkpoint(2, 0.1, 2.0), _checkpoint(3, 0.2, 3.0)]
    weights, epochs = average_of_best(checkpoints, 1)
    assert epochs == [2]
    assert weights is checkpoints[1].weights


def test_ties_go_to_the_earlier_epoch() -> None:
    checkpoints = [_checkpoint(1, 0.2, 1.0), _checkpoint(2, 0.2, 2.0)]
    assert average_of_best(checkpoints, 1)[1] == [1]
    assert not belongs_among_best(checkpoints[:1], 0.2, 1)


def test_nothing_to_average_and_mismatched_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="no epoch had a finite validation loss"):
        average_of_best([], 3)
    odd = Checkpoint(2, 0.2, [np.zeros((3, 2), dtype=np.float32)])
    with pytest.raises(ValueError, match="do not match"):
        average_of_best([Checkpoint(1, 0.1, [np.zeros((2, 3), dtype=np.float32)]), odd], 2)


def test_keeping_the_best_holds_at_most_k_copies() -> None:
    kept: list[Checkpoint] = []
    for epoch, loss in enumerate([0.5, 0.4, 0.6, 0.1, 0.3, 0.2], start=1):
        if belongs_among_best(kept, loss, 3):
            kept = keep_best(kept, _checkpoint(epoch, loss, float(epoch)), 3)
        assert len(kept) <= 3
    assert [c.epoch for c in kept] == [4, 6, 5]
    assert not belongs_among_best(kept, 0.35, 3)
    assert belongs_among_best(kept, 0.25, 3)


def test_a_nan_loss_never_enters() -> None:
    assert not belongs_among_best([], float("nan"), 3)
    assert belongs_among_best([], 10.0, 3)


# --- config -------------------------------------------------------------------------------------


def test_the_default_keeps_the_single_best_epoch() -> None:
    assert TrainingConfig().fine_tune.average_best == 1
    assert load_training_config().fine_tune.average_best == 1
    assert load_training_config(overrides={"fine_tune.average_best": 3}).fine_tune.average_best == 3


def test_averaging_with_trained_batchnorm_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"needs fine_tune\.train_batchnorm: false"):
        FineTuneConfig(epochs=8, learning_rate=1e-4, average_best=3, train_batchnorm=True)
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        FineTuneConfig(epochs=8, learning_rate=1e-4, average_best=0)
    FineTuneConfig(epochs=8, learning_rate=1e-4, average_best=1, train_batchnorm=True)


# --- a tiny training ----------------------------------------------------------------------------


def _train(average_best: int, out: Path) -> dict[str, Any]:
    run = TinyRun(
        seed=4, train=16, validation=8, test=8, head_epochs=1, fine_tune_epochs=4, average_best=average_best
    )
    return train_tiny(run, out)


@pytest.mark.slow
def test_averaging_changes_only_the_final_weights(tmp_path: Path) -> None:
    single = _train(1, tmp_path / "single.json")
    averaged = _train(3, tmp_path / "averaged.json")

    # The same epochs ran with the same losses: averaging happens after the stage.
    assert averaged["history"] == single["history"]
    assert averaged["best_epoch"] == single["best_epoch"]
    assert single["averaged_epochs"] == [single["best_epoch"]]
    fine_tune = sorted(
        (loss, epoch) for epoch, (stage, loss) in enumerate(single["history"], 1) if stage == "fine_tune"
    )
    assert averaged["averaged_epochs"] == [epoch for _, epoch in fine_tune[:3]]
    assert np.abs(np.array(averaged["probabilities"]) - np.array(single["probabilities"])).max() > 1e-6
