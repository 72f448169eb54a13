"""Same data, config and seed give the same model; another seed gives another one.

Each training runs in a fresh process, as the benchmark and the pipeline do: determinism inside
one process (where Keras' seed generators carry state over) would prove less. The config keeps
every random source of the real one (augmentation, MixUp, dropout, shuffling, both stages) on
tiny synthetic images with a randomly initialised backbone, so it takes seconds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

pytestmark = pytest.mark.slow

TRAIN_ONCE = """
import sys
import numpy as np
from greenr.training.config import TrainingConfig
from greenr.training.data import SplitArrays
from greenr.training.train import train_classifier

seed, out = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
data = {
    split: SplitArrays(
        rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8),
        np.arange(n) % 2,
        [str(i) for i in range(n)],
    )
    for split, n in (("train", 48), ("validation", 8), ("test", 16))
}
base = TrainingConfig()
config = base.model_copy(
    update={
        "seed": seed,
        "image_size": 32,
        "batch_size": 4,
        "head": base.head.model_copy(update={"epochs": 2}),
        "fine_tune": base.fine_tune.model_copy(update={"epochs": 2}),
        "augmentation": base.augmentation.model_copy(update={"mixup": 0.2}),
    }
)
assert config.deterministic
result = train_classifier(data, config, backbone_weights=None)
np.save(out, np.asarray(result.model(data["test"].images.astype("float32"))))
"""


def _train(seed: int, out: Path) -> npt.NDArray[np.float32]:
    subprocess.run([sys.executable, "-c", TRAIN_ONCE, str(seed), str(out)], check=True, timeout=600)
    return np.asarray(np.load(out), dtype=np.float32)


def test_one_seed_gives_identical_predictions_and_another_seed_others(tmp_path: Path) -> None:
    first = _train(7, tmp_path / "first.npy")
    again = _train(7, tmp_path / "again.npy")
    other = _train(8, tmp_path / "other.npy")
    assert first.shape == (16, 2)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 1e-4
