"""A tiny real training in a fresh process: random 32 px images, a randomly initialised backbone,
both stages, every random source of the real config; seconds to tens of seconds.

A fresh process per training, as the benchmark and the pipeline run them: Keras' seed generators
carry state over inside one process, so two trainings there would not follow the same path.

    result = train_tiny(TinyRun(seed=7, train=48, ...), tmp_path / "run.json")
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TinyRun:
    """What the tiny training varies; everything else is `TrainingConfig()`'s default."""

    seed: int
    train: int  # photos per split (random pixels, labels alternating)
    validation: int
    test: int
    head_epochs: int
    fine_tune_epochs: int
    average_best: int = 1
    mixup: float = 0.0


def train_tiny(run: TinyRun, out: Path) -> dict[str, Any]:
    """Train in a new interpreter; the test split's probabilities, the epoch history (stage, val
    loss), the best epoch and the averaged epochs, as written by `_main` to `out`."""
    subprocess.run([sys.executable, __file__, json.dumps(asdict(run)), str(out)], check=True, timeout=600)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _main(spec: str, out: str) -> None:
    import numpy as np

    from greenr.training.config import TrainingConfig
    from greenr.training.data import SplitArrays
    from greenr.training.train import train_classifier

    run = TinyRun(**json.loads(spec))
    rng = np.random.default_rng(0)
    data = {
        split: SplitArrays(
            rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8),
            np.arange(n) % 2,
            [str(i) for i in range(n)],
        )
        for split, n in (("train", run.train), ("validation", run.validation), ("test", run.test))
    }
    base = TrainingConfig()
    config = base.model_copy(
        update={
            "seed": run.seed,
            "image_size": 32,
            "batch_size": 4,
            "head": base.head.model_copy(update={"epochs": run.head_epochs}),
            "fine_tune": base.fine_tune.model_copy(
                update={"epochs": run.fine_tune_epochs, "average_best": run.average_best}
            ),
            "augmentation": base.augmentation.model_copy(update={"mixup": run.mixup}),
        }
    )
    assert config.deterministic
    result = train_classifier(data, config, backbone_weights=None)
    probabilities = np.asarray(result.model(data["test"].images.astype("float32")))
    Path(out).write_text(
        json.dumps(
            {
                # float32 values are exact in JSON's float64 text, so equality survives the trip.
                "probabilities": probabilities.astype("float64").tolist(),
                "history": [[record.stage, record.val_loss] for record in result.history],
                "best_epoch": result.best_epoch,
                "averaged_epochs": list(result.averaged_epochs),
            }
        )
    )


if __name__ == "__main__":
    _main(*sys.argv[1:])
