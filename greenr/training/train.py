"""Train the classifier in two stages on in-memory arrays.

    from greenr.model.pretrained_weights import load_imagenet_weights
    from greenr.training.config import load_training_config
    from greenr.training.train import train_classifier

    result = train_classifier(arrays, load_training_config(), load_imagenet_weights(home / "weights"))
    result.model  # inference model: N×224×224×3 float (0..255) -> N×2 probabilities

Stage "head": backbone frozen, the head learns at a high learning rate. Stage "fine_tune": the
backbone's top blocks (from `fine_tune.unfreeze_from`) learn too, at a lower, cosine-decayed
rate. Each stage stops early when the validation loss has not improved for
`early_stopping_patience` epochs and ends with the weights of its best validation epoch (or, for
fine-tuning with `fine_tune.average_best` k > 1, the mean weights of its k best epochs); the
model returned is the last stage's. (Choosing across stages instead picked head-only
models on 3 of 10 benchmark runs by validation-loss differences of ~0.005 on 60 images, and
those runs scored lower on test.) Augmentation runs in the tf.data pipeline, never in the model.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from greenr.contracts import POSITIVE_CLASS_INDEX
from greenr.training.config import TrainingConfig
from greenr.training.data import SplitArrays, without_photos
from greenr.training.model import (
    NUM_CLASSES,
    backbone_of,
    batched_outputs,
    build_classifier,
    inference_model,
    set_stage,
)
from greenr.training.weight_averaging import Checkpoint, average_of_best, belongs_among_best, keep_best

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

log = logging.getLogger(__name__)

STAGES = ("head", "fine_tune")
MONITOR = "val_loss"


@dataclass(frozen=True)
class EpochRecord:
    """Metrics of one epoch; train metrics are running averages over augmented batches."""

    stage: str
    epoch: int  # 1-based, counted over both stages
    stage_epoch: int  # 1-based, within the stage
    loss: float
    accuracy: float
    f1: float
    val_loss: float
    val_accuracy: float
    val_f1: float
    learning_rate: float
    seconds: float


@dataclass(frozen=True)
class TrainingResult:
    """The trained inference model and how it got there."""

    model: Any  # keras.Model: N×S×S×3 float (0..255) -> N×2 probabilities, no random layer
    history: list[EpochRecord]
    best_epoch: int  # the last stage's EpochRecord.epoch with the lowest validation loss
    best_stage: str
    wall_seconds: float
    seeds: dict[str, int]
    config: TrainingConfig
    trainable_layers: dict[str, list[str]] = field(default_factory=dict)  # per stage, backbone only
    # The epochs whose mean weights the model has, best first: (best_epoch,) unless the
    # fine-tuning stage averaged its best epochs (fine_tune.average_best).
    averaged_epochs: tuple[int, ...] = ()

    @property
    def best(self) -> EpochRecord:
        """The epoch with the lowest validation loss (the model has its weights unless averaged)."""
        return next(record for record in self.history if record.epoch == self.best_epoch)


def set_seeds(seed: int) -> dict[str, int]:
    """Seed Python, numpy, TensorFlow and Keras; returns what was set, for the run's record.

    The layers with randomness (augmentation, MixUp, dropout, initialisers) take seeds derived
    from the same config seed, and tf.data shuffles with it too.
    """
    import keras

    random.seed(seed)
    np.random.seed(seed)
    # Also seeds Python, numpy and the TensorFlow backend; kept explicit above for readers.
    keras.utils.set_random_seed(seed)
    return {"python": seed, "numpy": seed, "tensorflow": seed, "keras": seed, "tf_data_shuffle": seed}


@contextmanager
def op_determinism(enabled: bool) -> Iterator[None]:
    """TensorFlow's op determinism for the duration of a training, restored afterwards.

    It is process-wide, so a training in a long-lived process (tests, a notebook) must not leave
    it switched on or off for whatever runs next. Keras also turns XLA off while it is on.
    """
    from tensorflow.python.framework import config as tf_config

    before = tf_config.is_op_determinism_enabled()
    if enabled:
        tf_config.enable_op_determinism()
    else:
        tf_config.disable_op_determinism()
    try:
        yield
    finally:
        if before:
            tf_config.enable_op_determinism()
        else:
            tf_config.disable_op_determinism()


def _one_hot(labels: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.asarray(np.eye(NUM_CLASSES, dtype=np.float32)[labels])


def make_dataset(
    arrays: SplitArrays,
    batch_size: int,
    *,
    augmenter: keras.Layer | None = None,
    shuffle_seed: int | None = None,
    mixup: keras.Layer | None = None,
    deterministic: bool = True,
) -> tf.data.Dataset:
    """(float32 images 0..255, one-hot labels) batches; shuffled, augmented and mixed when asked.

    `deterministic`: random layers run one batch at a time, so they draw their random numbers in
    batch order; otherwise batches are augmented in parallel (faster, not reproducible).
    """
    import tensorflow as tf

    random_calls = None if deterministic else tf.data.AUTOTUNE

    dataset = tf.data.Dataset.from_tensor_slices((arrays.images, _one_hot(arrays.labels)))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(arrays), seed=shuffle_seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(
        lambda images, labels: (tf.cast(images, tf.float32), labels), num_parallel_calls=tf.data.AUTOTUNE
    )
    if augmenter is not None:
        # Batch-wise: one call per batch is much cheaper than one per image.
        dataset = dataset.map(
            lambda images, labels: (augmenter(images, training=True), labels),
            num_parallel_calls=random_calls,
        )
    if mixup is not None:
        # MixUp blends images *and* their one-hot labels, so it runs on both at once.
        dataset = dataset.map(
            lambda images, labels: tuple(mixup({"images": images, "labels": labels}).values()),
            num_parallel_calls=random_calls,
        )
    return dataset.prefetch(tf.data.AUTOTUNE)


def _positive_f1_metric() -> keras.metrics.Metric:
    """F1 of the positive class (index 0) from argmax predictions, accumulated over an epoch."""
    import keras
    from keras import ops

    def _count(mask: Any) -> Any:
        return ops.sum(ops.cast(mask, "float32"))

    class PositiveClassF1(keras.metrics.Metric):  # type: ignore[misc]
        def __init__(self, name: str = "f1", **kwargs: Any) -> None:
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), initializer="zeros", name="tp")
            self.false_positives = self.add_variable(shape=(), initializer="zeros", name="fp")
            self.false_negatives = self.add_variable(shape=(), initializer="zeros", name="fn")

        def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
            actual = ops.equal(ops.argmax(y_true, axis=-1), POSITIVE_CLASS_INDEX)
            predicted = ops.equal(ops.argmax(y_pred, axis=-1), POSITIVE_CLASS_INDEX)
            self.true_positives.assign_add(_count(ops.logical_and(actual, predicted)))
            self.false_positives.assign_add(_count(ops.logical_and(ops.logical_not(actual), predicted)))
            self.false_negatives.assign_add(_count(ops.logical_and(actual, ops.logical_not(predicted))))

        def result(self) -> Any:
            denominator = 2 * self.true_positives + self.false_positives + self.false_negatives
            return ops.where(denominator > 0, 2 * self.true_positives / ops.maximum(denominator, 1.0), 0.0)

        def reset_state(self) -> None:
            for variable in (self.true_positives, self.false_positives, self.false_negatives):
                variable.assign(0.0)

    return PositiveClassF1()


def training_loss(config: TrainingConfig) -> keras.losses.Loss:
    """Cross-entropy with the config's label smoothing, focal when `focal_gamma` > 0.

    The focal loss's class weight `alpha` is 1: a uniform scale (Keras' default is 0.25) would
    only rescale the gradients, which Adam's normalisation undoes, so gamma is the one change.
    """
    import keras

    if config.focal_gamma == 0:
        return keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
    return keras.losses.CategoricalFocalCrossentropy(
        alpha=1.0, gamma=config.focal_gamma, label_smoothing=config.label_smoothing
    )


def _compile(model: keras.Model, config: TrainingConfig, stage: str, steps_per_epoch: int) -> None:
    import keras

    if stage == "head":
        learning_rate: Any = config.head.learning_rate
    else:
        # Cosine decay over the planned fine-tuning steps: large early moves, gentle at the end.
        learning_rate = keras.optimizers.schedules.CosineDecay(
            config.fine_tune.learning_rate,
            decay_steps=max(1, config.fine_tune.epochs * steps_per_epoch),
            alpha=0.05,
        )
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=config.weight_decay),
        loss=training_loss(config),
        metrics=["accuracy", _positive_f1_metric()],
    )


def _learning_rate(model: keras.Model) -> float:
    import keras

    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


def _callbacks(
    model: keras.Model,
    config: TrainingConfig,
    stage: str,
    history: list[EpochRecord],
    best: dict[str, Any],
    on_epoch: Callable[[EpochRecord], None] | None,
) -> list[Any]:
    """Per-epoch record + log line, tracking of the stage's `keep` best epochs, early stopping.

    `model` is the whole classifier (its weights are the ones kept), even when the stage fits
    a smaller model that shares its head layers. `best["kept"]` holds the best checkpoints so
    far, best first, at most `best["keep"]`.
    """
    import keras

    planned = config.head.epochs if stage == "head" else config.fine_tune.epochs

    class EpochRecorder(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
            values = dict(logs or {})
            record = EpochRecord(
                stage=stage,
                epoch=len(history) + 1,
                stage_epoch=epoch + 1,
                loss=float(values["loss"]),
                accuracy=float(values["accuracy"]),
                f1=float(values["f1"]),
                val_loss=float(values["val_loss"]),
                val_accuracy=float(values["val_accuracy"]),
                val_f1=float(values["val_f1"]),
                learning_rate=_learning_rate(self.model),
                seconds=time.perf_counter() - self.started,
            )
            history.append(record)
            kept: list[Checkpoint] = best["kept"]
            improved = belongs_among_best(kept[:1], record.val_loss, 1)
            if belongs_among_best(kept, record.val_loss, best["keep"]):
                # A host copy of ~4.7M floats (19 MB) per kept epoch: cheap next to an epoch.
                checkpoint = Checkpoint(record.epoch, record.val_loss, model.get_weights())
                best["kept"] = keep_best(kept, checkpoint, best["keep"])
            log.info(
                "%-9s %2d/%-2d (epoch %2d) loss %.4f acc %.4f f1 %.4f | val loss %.4f acc %.4f f1 %.4f "
                "| lr %.2e | %.1f s%s",
                stage,
                record.stage_epoch,
                planned,
                record.epoch,
                record.loss,
                record.accuracy,
                record.f1,
                record.val_loss,
                record.val_accuracy,
                record.val_f1,
                record.learning_rate,
                record.seconds,
                " *" if improved else "",
            )
            if on_epoch is not None:
                on_epoch(record)

    return [
        EpochRecorder(),
        keras.callbacks.EarlyStopping(
            monitor=MONITOR, patience=config.early_stopping_patience, restore_best_weights=False
        ),
    ]


def _fit_head_on_features(
    model: keras.Model,
    config: TrainingConfig,
    train: SplitArrays,
    validation: SplitArrays,
    callbacks: list[Any],
) -> None:
    """Head stage on backbone features computed once: the image, plus its mirror when flips are on.

    The frozen backbone gives the same features every epoch, so only the cheap head runs per
    epoch. The fitted model shares the classifier's head layers, so the classifier learns too.
    """
    import keras
    import tensorflow as tf

    backbone = backbone_of(model)
    views = [train.images]
    if config.augmentation.horizontal_flip:
        views.append(train.images[:, :, ::-1])
    features = np.concatenate([batched_outputs(backbone, view) for view in views])
    labels = _one_hot(np.concatenate([train.labels] * len(views)))
    val_features = batched_outputs(backbone, validation.images)

    feature_input = keras.Input(shape=features.shape[1:], name="features")
    x = model.get_layer("head_dropout")(feature_input)
    head = keras.Model(feature_input, model.get_layer("probabilities")(x), name="head")
    _compile(head, config, "head", -(-len(features) // config.batch_size))
    train_ds = (
        tf.data.Dataset.from_tensor_slices((features, labels))
        .shuffle(len(features), seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    val_ds = tf.data.Dataset.from_tensor_slices((val_features, _one_hot(validation.labels))).batch(
        config.batch_size
    )
    head.fit(
        train_ds,
        validation_data=val_ds,
        epochs=config.head.epochs,
        shuffle=False,
        verbose=0,
        callbacks=callbacks,
    )


def train_classifier(
    data: Mapping[str, SplitArrays],
    config: TrainingConfig,
    backbone_weights: Mapping[str, np.ndarray[Any, Any]] | None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> TrainingResult:
    """Train on `data["train"]`, select epochs on `data["validation"]`; returns the inference model.

    `backbone_weights`: `load_imagenet_weights(settings.home / "weights")`; None trains from a
    random initialisation (only useful in tests). `on_epoch` is called after every epoch.
    """
    if config.exclude_from_training and "train" in data:
        train = without_photos(data["train"], config.exclude_from_training)
        log.info(
            "left %d of the train split's %d photos out (exclude_from_training)",
            len(data["train"]) - len(train),
            len(data["train"]),
        )
        data = {**data, "train": train}
    for split in ("train", "validation"):
        if split not in data or len(data[split]) == 0:
            raise ValueError(f"training needs a non-empty {split!r} split")
    with op_determinism(config.deterministic):
        return _train(data, config, backbone_weights, on_epoch)


def _train(
    data: Mapping[str, SplitArrays],
    config: TrainingConfig,
    backbone_weights: Mapping[str, np.ndarray[Any, Any]] | None,
    on_epoch: Callable[[EpochRecord], None] | None,
) -> TrainingResult:
    started = time.perf_counter()
    seeds = set_seeds(config.seed)
    from greenr.training.augmentation import build_augmentation, build_mixup

    train, validation = data["train"], data["validation"]
    augmenter = build_augmentation(config.augmentation, seed=config.seed, image_size=config.image_size)
    mixup = build_mixup(config.augmentation, seed=config.seed)
    train_ds = make_dataset(
        train,
        config.batch_size,
        augmenter=augmenter,
        shuffle_seed=config.seed,
        mixup=mixup,
        deterministic=config.deterministic,
    )
    val_ds = make_dataset(validation, config.batch_size)
    steps_per_epoch = -(-len(train) // config.batch_size)

    model = build_classifier(config, backbone_weights)
    history: list[EpochRecord] = []
    best: dict[str, Any] = {"kept": []}
    averaged_epochs: list[int] = []
    trainable: dict[str, list[str]] = {}
    log.info(
        "training on %d images, validating on %d; seed %d; %s",
        len(train),
        len(validation),
        config.seed,
        config.model_dump_json(),
    )
    for stage in STAGES:
        epochs = config.head.epochs if stage == "head" else config.fine_tune.epochs
        if epochs == 0:
            continue
        # Only fine-tuning averages: the head stage's best epoch is just where fine-tuning starts.
        keep = config.fine_tune.average_best if stage == "fine_tune" else 1
        best.update(stage=stage, keep=keep, kept=[])
        trainable[stage] = set_stage(model, stage, config)
        callbacks = _callbacks(model, config, stage, history, best, on_epoch)
        if stage == "head" and config.head.cached_features:
            _fit_head_on_features(model, config, train, validation, callbacks)
        else:
            _compile(model, config, stage, steps_per_epoch)
            model.fit(
                train_ds,
                validation_data=val_ds,
                epochs=epochs,
                shuffle=False,  # the tf.data pipeline shuffles, with the run's seed
                verbose=0,
                callbacks=callbacks,
            )
        # The next stage (and the result) starts from this stage's best epoch(s), not its last.
        weights, averaged_epochs = average_of_best(best["kept"], keep)
        model.set_weights(weights)
        if keep > 1:
            log.info(
                "%s: weights averaged over the %d best epochs %s (val loss %s)",
                stage,
                len(averaged_epochs),
                ", ".join(str(epoch) for epoch in averaged_epochs),
                ", ".join(f"{checkpoint.val_loss:.4f}" for checkpoint in best["kept"]),
            )
    if not best["kept"]:
        raise ValueError("no training epoch ran: set head.epochs or fine_tune.epochs above 0")
    top: Checkpoint = best["kept"][0]
    wall = time.perf_counter() - started
    log.info(
        "best epoch %d (%s), val loss %.4f; trained in %.1f s", top.epoch, best["stage"], top.val_loss, wall
    )
    return TrainingResult(
        model=inference_model(model, flip_averaging=config.flip_averaging),
        history=history,
        best_epoch=top.epoch,
        best_stage=str(best["stage"]),
        wall_seconds=wall,
        seeds=seeds,
        config=config,
        trainable_layers=trainable,
        averaged_epochs=tuple(averaged_epochs),
    )
