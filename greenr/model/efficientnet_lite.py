"""EfficientNet-Lite0 in plain Keras 3, and the mapping of the PyTorch ImageNet weights onto it.

Built by hand because keras.applications / keras-cv / keras-hub fetch weights or even preset
configs over the network. The architecture follows TensorFlow's reference `efficientnet/lite`
(the source the PyTorch weights were converted from): EfficientNet-B0 scaling, no
squeeze-and-excite, ReLU6 instead of swish, stem (32) and head (1280) widths not scaled.

The block table below was checked against the shapes in the state dict (see `_STAGES`); the
strides are not visible in the shapes and are those of EfficientNet-B0.

Layer names follow keras.applications.EfficientNet (`stem_conv`, `block6a_expand_conv`,
`block6a_dwconv`, ..., `top_conv`, `avg_pool`, `predictions`) so fine-tuning code can select the
top blocks by name prefix (see `unfreeze_top_blocks`).

Weights are exchanged as a flat `dict[str, np.ndarray]` keyed `"<layer name>/<variable name>"`
(e.g. `"block1a_dwconv/kernel"`), already in Keras layout.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import keras
import numpy as np

IMAGE_SIZE: Final = 224
NUM_CLASSES: Final = 1000
FEATURE_DIM: Final = 1280
STEM_FILTERS: Final = 32
# TF reference: batch_norm_momentum=0.99 (Keras uses the same convention; PyTorch's 0.01 is
# 1 - 0.99), batch_norm_epsilon=1e-3 (PyTorch's default 1e-5 would be wrong here).
BN_MOMENTUM: Final = 0.99
BN_EPSILON: Final = 1e-3
# Lite models are trained on (x - 127) / 128 of 0..255 RGB (TF lite_builder MEAN_RGB/STDDEV_RGB).
INPUT_MEAN: Final = 127.0
INPUT_STD: Final = 128.0
# Bumped whenever the key naming or layout of converted weights changes (invalidates caches).
WEIGHTS_LAYOUT_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class _Stage:
    kernel: int
    stride: int
    expand_ratio: int
    in_filters: int
    out_filters: int
    repeats: int


# EfficientNet-Lite0 stages. Kernels, expansion, filters and repeats read off the state dict's
# shapes: 16 blocks = 1+2+2+3+3+4+1; depthwise kernels 3,3,5,3,5,5,3; expand conv width = 6x input.
_STAGES: Final = (
    _Stage(kernel=3, stride=1, expand_ratio=1, in_filters=32, out_filters=16, repeats=1),
    _Stage(kernel=3, stride=2, expand_ratio=6, in_filters=16, out_filters=24, repeats=2),
    _Stage(kernel=5, stride=2, expand_ratio=6, in_filters=24, out_filters=40, repeats=2),
    _Stage(kernel=3, stride=2, expand_ratio=6, in_filters=40, out_filters=80, repeats=3),
    _Stage(kernel=5, stride=1, expand_ratio=6, in_filters=80, out_filters=112, repeats=3),
    _Stage(kernel=5, stride=2, expand_ratio=6, in_filters=112, out_filters=192, repeats=4),
    _Stage(kernel=3, stride=1, expand_ratio=6, in_filters=192, out_filters=320, repeats=1),
)


@dataclass(frozen=True, slots=True)
class BlockSpec:
    """One MBConv block: its Keras name prefix, index in the PyTorch `_blocks` list and shape."""

    name: str
    torch_index: int
    kernel: int
    stride: int
    expand_ratio: int
    in_filters: int
    out_filters: int

    @property
    def expanded_filters(self) -> int:
        return self.in_filters * self.expand_ratio

    @property
    def has_residual(self) -> bool:
        return self.stride == 1 and self.in_filters == self.out_filters


def block_specs() -> tuple[BlockSpec, ...]:
    """The 16 MBConv blocks in order; only the first block of a stage strides / changes width."""
    specs: list[BlockSpec] = []
    for stage_number, stage in enumerate(_STAGES, start=1):
        for repeat in range(stage.repeats):
            specs.append(
                BlockSpec(
                    name=f"block{stage_number}{chr(ord('a') + repeat)}",
                    torch_index=len(specs),
                    kernel=stage.kernel,
                    stride=stage.stride if repeat == 0 else 1,
                    expand_ratio=stage.expand_ratio,
                    in_filters=stage.in_filters if repeat == 0 else stage.out_filters,
                    out_filters=stage.out_filters,
                )
            )
    return tuple(specs)


BLOCK_NAMES: Final = tuple(spec.name for spec in block_specs())
LAST_BLOCK_OUT_FILTERS: Final = _STAGES[-1].out_filters


class WeightMappingError(ValueError):
    """Weights do not fit the architecture: a tensor is missing, unused, duplicated or misshaped."""


# --- PyTorch state dict -> Keras weights ------------------------------------------------------

_BN_SUFFIXES: Final = (
    ("weight", "gamma"),
    ("bias", "beta"),
    ("running_mean", "moving_mean"),
    ("running_var", "moving_variance"),
)
# Counters PyTorch keeps per BatchNorm; Keras has no equivalent and they carry no weight.
_IGNORED_TORCH_SUFFIX: Final = ".num_batches_tracked"


@dataclass(frozen=True, slots=True)
class _Entry:
    torch_name: str
    torch_shape: tuple[int, ...]
    kind: str  # "conv" | "depthwise" | "dense_kernel" | "vector"


def _conv(torch_name: str, out_filters: int, in_filters: int, kernel: int) -> _Entry:
    return _Entry(torch_name, (out_filters, in_filters, kernel, kernel), "conv")


def _bn(keras_layer: str, torch_prefix: str, filters: int) -> dict[str, _Entry]:
    return {
        f"{keras_layer}/{keras_var}": _Entry(f"{torch_prefix}.{torch_var}", (filters,), "vector")
        for torch_var, keras_var in _BN_SUFFIXES
    }


def _weight_table() -> dict[str, _Entry]:
    """Keras weight key -> the PyTorch tensor it comes from, with the shape the architecture implies."""
    table: dict[str, _Entry] = {"stem_conv/kernel": _conv("_conv_stem.weight", STEM_FILTERS, 3, 3)}
    table.update(_bn("stem_bn", "_bn0", STEM_FILTERS))
    for spec in block_specs():
        torch_block = f"_blocks.{spec.torch_index}"
        expanded = spec.expanded_filters
        if spec.expand_ratio != 1:
            table[f"{spec.name}_expand_conv/kernel"] = _conv(
                f"{torch_block}._expand_conv.weight", expanded, spec.in_filters, 1
            )
            table.update(_bn(f"{spec.name}_expand_bn", f"{torch_block}._bn0", expanded))
        table[f"{spec.name}_dwconv/kernel"] = _Entry(
            f"{torch_block}._depthwise_conv.weight", (expanded, 1, spec.kernel, spec.kernel), "depthwise"
        )
        table.update(_bn(f"{spec.name}_bn", f"{torch_block}._bn1", expanded))
        table[f"{spec.name}_project_conv/kernel"] = _conv(
            f"{torch_block}._project_conv.weight", spec.out_filters, expanded, 1
        )
        table.update(_bn(f"{spec.name}_project_bn", f"{torch_block}._bn2", spec.out_filters))
    table["top_conv/kernel"] = _conv("_conv_head.weight", FEATURE_DIM, LAST_BLOCK_OUT_FILTERS, 1)
    table.update(_bn("top_bn", "_bn1", FEATURE_DIM))
    table["predictions/kernel"] = _Entry("_fc.weight", (NUM_CLASSES, FEATURE_DIM), "dense_kernel")
    table["predictions/bias"] = _Entry("_fc.bias", (NUM_CLASSES,), "vector")
    return table


def _to_keras_layout(array: np.ndarray[Any, Any], kind: str) -> np.ndarray[Any, Any]:
    if kind == "conv":  # PyTorch OIHW -> Keras/TF HWIO
        out = array.transpose(2, 3, 1, 0)
    elif kind == "depthwise":  # (C, 1, H, W) -> (H, W, C, depth_multiplier=1)
        out = array.transpose(2, 3, 0, 1)
    elif kind == "dense_kernel":  # Linear (out, in) -> Dense (in, out)
        out = array.T
    else:
        out = array
    return np.ascontiguousarray(out, dtype=np.float32)


def is_torch_state_dict(weights: Mapping[str, object]) -> bool:
    """Whether a weights mapping uses PyTorch names (`_conv_stem.weight`) rather than Keras keys."""
    return "_conv_stem.weight" in weights


def convert_torch_state_dict(
    state_dict: Mapping[str, np.ndarray[Any, Any]],
) -> dict[str, np.ndarray[Any, Any]]:
    """Map an EfficientNet-Lite0 PyTorch state dict to Keras weight keys and layouts.

    Fails with WeightMappingError unless every tensor (except BatchNorm's `num_batches_tracked`
    counters) is used exactly once with exactly the shape the architecture implies.
    """
    table = _weight_table()
    wanted = {entry.torch_name: key for key, entry in table.items()}
    if len(wanted) != len(table):  # guards the table itself against a torch name used twice
        raise WeightMappingError("internal error: a PyTorch tensor is mapped to two Keras weights")
    problems: list[str] = []
    unused = sorted(
        name for name in state_dict if name not in wanted and not name.endswith(_IGNORED_TORCH_SUFFIX)
    )
    if unused:
        problems.append(f"{len(unused)} tensors not used by the architecture: {unused[:8]}")
    missing = sorted(name for name in wanted if name not in state_dict)
    if missing:
        problems.append(f"{len(missing)} tensors missing: {missing[:8]}")
    converted: dict[str, np.ndarray[Any, Any]] = {}
    for key, entry in table.items():
        if entry.torch_name not in state_dict:
            continue
        array = np.asarray(state_dict[entry.torch_name])
        if array.shape != entry.torch_shape:
            problems.append(f"{entry.torch_name}: shape {array.shape}, expected {entry.torch_shape}")
            continue
        if not np.issubdtype(array.dtype, np.floating):
            problems.append(f"{entry.torch_name}: dtype {array.dtype} is not floating point")
            continue
        converted[key] = _to_keras_layout(array, entry.kind)
    if problems:
        raise WeightMappingError("PyTorch weights do not fit EfficientNet-Lite0: " + "; ".join(problems))
    return converted


# --- Keras weights file (.npz) --------------------------------------------------------------


def save_weights_npz(weights: Mapping[str, np.ndarray[Any, Any]], path: str | os.PathLike[str]) -> None:
    """Write Keras-layout weights to an uncompressed .npz (keys keep their `/`)."""
    with open(path, "wb") as handle:
        np.savez(handle, **dict(weights))


def load_weights_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray[Any, Any]]:
    """Read weights written by `save_weights_npz` (no pickled objects are accepted)."""
    with np.load(Path(path), allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


# --- The network -----------------------------------------------------------------------------


def _conv_initializer() -> keras.initializers.Initializer:
    # TF EfficientNet's He-style init (fan_out, truncated normal). Keras' default glorot_uniform
    # loses about half the variance per ReLU layer: after ~50 layers a randomly initialised
    # network outputs features of ~1e-11 and identical class scores for every image.
    return keras.initializers.VarianceScaling(scale=2.0, mode="fan_out", distribution="truncated_normal")


def _dense_initializer() -> keras.initializers.Initializer:
    return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_out", distribution="uniform")


def _bn_layer(name: str) -> keras.layers.Layer:
    return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name)


def _relu6(name: str) -> keras.layers.Layer:
    return keras.layers.ReLU(max_value=6.0, name=name)


def _mbconv(x: Any, spec: BlockSpec, drop_rate: float) -> Any:
    """Inverted residual block: 1x1 expand -> kxk depthwise -> 1x1 linear projection (+ skip)."""
    inputs = x
    if spec.expand_ratio != 1:
        x = keras.layers.Conv2D(
            spec.expanded_filters,
            1,
            padding="same",
            use_bias=False,
            kernel_initializer=_conv_initializer(),
            name=f"{spec.name}_expand_conv",
        )(x)
        x = _bn_layer(f"{spec.name}_expand_bn")(x)
        x = _relu6(f"{spec.name}_expand_activation")(x)
    # padding="same" is TF's SAME: for stride 2 the odd padding pixel goes to the bottom/right.
    # The weights were trained in TF with exactly that (the PyTorch port emulates it with
    # Conv2dStaticSamePadding); PyTorch's symmetric padding=k//2 would shift every feature map.
    x = keras.layers.DepthwiseConv2D(
        spec.kernel,
        strides=spec.stride,
        padding="same",
        use_bias=False,
        depthwise_initializer=_conv_initializer(),
        name=f"{spec.name}_dwconv",
    )(x)
    x = _bn_layer(f"{spec.name}_bn")(x)
    x = _relu6(f"{spec.name}_activation")(x)
    x = keras.layers.Conv2D(
        spec.out_filters,
        1,
        padding="same",
        use_bias=False,
        kernel_initializer=_conv_initializer(),
        name=f"{spec.name}_project_conv",
    )(x)
    # Linear bottleneck: no activation after the projection.
    x = _bn_layer(f"{spec.name}_project_bn")(x)
    if spec.has_residual:
        if drop_rate > 0:
            # Stochastic depth (TF's drop_connect): drop the whole residual branch per sample.
            x = keras.layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{spec.name}_drop")(x)
        x = keras.layers.Add(name=f"{spec.name}_add")([x, inputs])
    return x


def build_efficientnet_lite0(
    include_top: bool = True,
    weights: Mapping[str, np.ndarray[Any, Any]] | str | os.PathLike[str] | None = None,
    *,
    input_shape: tuple[int | None, int | None, int] = (IMAGE_SIZE, IMAGE_SIZE, 3),
    dropout_rate: float = 0.2,
    drop_connect_rate: float = 0.2,
    classifier_activation: str | None = "softmax",
    name: str = "efficientnet_lite0",
) -> keras.Model:
    """Build EfficientNet-Lite0 as a Keras functional model.

    Input: RGB images with values 0..255 (float32), shape `input_shape`; the (x - 127) / 128
    scaling is the model's first layer (`input_scaling`), so callers never normalise.
    Output: with `include_top`, the 1000 ImageNet class scores (softmax by default,
    `classifier_activation=None` for logits); without it, the 1280 global-average-pooled
    features (layer `avg_pool`).

    `weights`: None (random initialisation), a mapping of Keras-layout weights
    (`"<layer>/<variable>"`), a PyTorch state dict of EfficientNet-Lite0 (converted on the fly),
    or the path of an .npz written by `save_weights_npz`. Every variable of the model must
    receive a weight of the right shape, and every given weight must be used (the classifier's
    may be left over when `include_top=False`), else WeightMappingError.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = keras.layers.Rescaling(scale=1.0 / INPUT_STD, offset=-INPUT_MEAN / INPUT_STD, name="input_scaling")(
        inputs
    )
    # Same-padding here too: TF pads a 224 input by (0, 1) for the stride-2 stem, not (1, 1).
    x = keras.layers.Conv2D(
        STEM_FILTERS,
        3,
        strides=2,
        padding="same",
        use_bias=False,
        kernel_initializer=_conv_initializer(),
        name="stem_conv",
    )(x)
    x = _bn_layer("stem_bn")(x)
    x = _relu6("stem_activation")(x)
    specs = block_specs()
    for index, spec in enumerate(specs):
        # TF scales the drop-connect rate linearly with depth: 0 for the first block.
        x = _mbconv(x, spec, drop_connect_rate * index / len(specs))
    x = keras.layers.Conv2D(
        FEATURE_DIM,
        1,
        padding="same",
        use_bias=False,
        kernel_initializer=_conv_initializer(),
        name="top_conv",
    )(x)
    x = _bn_layer("top_bn")(x)
    x = _relu6("top_activation")(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if include_top:
        if dropout_rate > 0:
            x = keras.layers.Dropout(dropout_rate, name="top_dropout")(x)
        x = keras.layers.Dense(
            NUM_CLASSES,
            activation=classifier_activation,
            kernel_initializer=_dense_initializer(),
            name="predictions",
        )(x)
    model = keras.Model(inputs, x, name=name)
    if weights is not None:
        load_weights_into(model, weights)
    return model


def _as_keras_weights(
    weights: Mapping[str, np.ndarray[Any, Any]] | str | os.PathLike[str],
) -> dict[str, np.ndarray[Any, Any]]:
    if isinstance(weights, str | os.PathLike):
        return load_weights_npz(weights)
    if is_torch_state_dict(weights):
        return convert_torch_state_dict(weights)
    return dict(weights)


def load_weights_into(
    model: keras.Model, weights: Mapping[str, np.ndarray[Any, Any]] | str | os.PathLike[str]
) -> None:
    """Assign weights (see `build_efficientnet_lite0`) to a model built by this module, by name.

    All-or-nothing: every check runs before the first variable is assigned.
    """
    keras_weights = _as_keras_weights(weights)
    assignments: list[tuple[Any, np.ndarray[Any, Any]]] = []
    problems: list[str] = []
    used: set[str] = set()
    for layer in model.layers:
        for variable in layer.weights:
            key = f"{layer.name}/{variable.name}"
            if key in used:
                problems.append(f"{key}: two model variables share this key")
                continue
            used.add(key)
            value = keras_weights.get(key)
            if value is None:
                problems.append(f"{key}: no weight given")
                continue
            if tuple(value.shape) != tuple(variable.shape):
                problems.append(f"{key}: shape {tuple(value.shape)}, model expects {tuple(variable.shape)}")
                continue
            assignments.append((variable, value))
    has_top = any(layer.name == "predictions" for layer in model.layers)
    unused = sorted(
        key for key in keras_weights if key not in used and (has_top or not key.startswith("predictions/"))
    )
    if unused:
        problems.append(f"{len(unused)} weights not used by the model: {unused[:8]}")
    if problems:
        raise WeightMappingError(f"weights do not fit model {model.name!r}: " + "; ".join(problems[:20]))
    for variable, value in assignments:
        variable.assign(value.astype(np.float32, copy=False))


def backbone_feature_model(model: keras.Model, name: str = "efficientnet_lite0_features") -> keras.Model:
    """The same network without its classifier: image (0..255) -> 1280 pooled features.

    The returned model shares its layers (and so its weights) with `model`.
    """
    return keras.Model(model.input, model.get_layer("avg_pool").output, name=name)


def unfreeze_top_blocks(model: keras.Model, first_block: str, *, train_batchnorm: bool = False) -> list[str]:
    """Freeze everything before `first_block` (e.g. "block6a"), unfreeze it and what follows.

    BatchNormalization layers stay frozen unless `train_batchnorm`: with small fine-tuning
    batches, updating their ImageNet statistics hurts more than it helps (Keras' transfer
    learning guide). Returns the names of the layers left trainable.
    """
    if first_block not in BLOCK_NAMES:
        raise ValueError(f"unknown block {first_block!r}; blocks are {BLOCK_NAMES}")
    model.trainable = True
    reached = False
    trainable: list[str] = []
    for layer in model.layers:
        if layer.name.startswith(f"{first_block}_"):
            reached = True
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = reached and (train_batchnorm or not is_bn)
        if layer.trainable and layer.weights:
            trainable.append(layer.name)
    return trainable
