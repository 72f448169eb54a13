"""Behaviour of the pretrained EfficientNet-Lite0 backbone on the project's photos.

No torch is available to compare against, so the check is behavioural: ImageNet has a "daisy"
class (index 985) and a dandelion head looks like one, so the pretrained network should often
rank it in its top 5 on dandelion photos, a randomly initialised copy of the same architecture
should (almost) never, and grass photos should rarely get it as top 1. Wrong weight layouts,
input scaling or padding push the pretrained share towards the random one.

Measured (first 40 photos of each class, sorted by name): pretrained daisy-in-top-5 share 0.70
on dandelions (0.625 over all 200), random init (seed 0) 0.0, grass with daisy as top 1: 0.0.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from PIL import Image

from greenr.model.efficientnet_lite import (
    BLOCK_NAMES,
    FEATURE_DIM,
    IMAGE_SIZE,
    NUM_CLASSES,
    WeightMappingError,
    backbone_feature_model,
    build_efficientnet_lite0,
    convert_torch_state_dict,
    load_weights_into,
    save_weights_npz,
    unfreeze_top_blocks,
)
from greenr.model.pretrained_weights import (
    CACHE_METADATA_FILENAME,
    WEIGHTS_SHA256,
    ensure_imagenet_weights,
    load_imagenet_weights,
    load_torch_state_dict,
    locate_torch_weights,
)

pytestmark = [pytest.mark.model, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "greenr"
DAISY = 985
SAMPLE_SIZE = 40


def _load_images(label: str, count: int = SAMPLE_SIZE) -> np.ndarray[Any, Any]:
    folder = DATA_DIR / label
    files = sorted(folder.glob("*.jpg"))[:count]
    if len(files) < count:
        pytest.skip(f"dataset not found: need {count} photos in {folder}")
    images = []
    for path in files:
        with Image.open(path) as image:
            rgb = image.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
        images.append(np.asarray(rgb, dtype=np.float32))
    return np.stack(images)


def _scores(model: keras.Model, images: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.asarray(model(images, training=False))


def _daisy_rank(scores: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    # Classes scoring at least as high as daisy: ties count against it, so a network whose
    # scores are all equal never "ranks daisy in its top 5" by the luck of argsort.
    return np.asarray((scores >= scores[:, [DAISY]]).sum(axis=1) - 1)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("weights_cache")


@pytest.fixture(scope="module")
def imagenet_weights(cache_dir: Path) -> dict[str, np.ndarray[Any, Any]]:
    return load_imagenet_weights(cache_dir)


@pytest.fixture(scope="module")
def pretrained(imagenet_weights: dict[str, np.ndarray[Any, Any]]) -> keras.Model:
    return build_efficientnet_lite0(include_top=True, weights=imagenet_weights)


@pytest.fixture(scope="module")
def dandelions() -> np.ndarray[Any, Any]:
    return _load_images("dandelion")


@pytest.fixture(scope="module")
def grass() -> np.ndarray[Any, Any]:
    return _load_images("grass")


@pytest.fixture
def seeded() -> None:
    keras.utils.set_random_seed(0)


def test_package_weights_file_is_the_recorded_one() -> None:
    path = locate_torch_weights()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == WEIGHTS_SHA256


def test_every_tensor_maps_once() -> None:
    state_dict = load_torch_state_dict()
    converted = convert_torch_state_dict(state_dict)

    used = [name for name in state_dict if not name.endswith(".num_batches_tracked")]
    assert len(converted) == len(used) == 247
    assert sum(a.size for a in converted.values()) == sum(state_dict[n].size for n in used) == 4_694_024
    np.testing.assert_array_equal(
        converted["block2a_dwconv/kernel"][:, :, 5, 0], state_dict["_blocks.1._depthwise_conv.weight"][5, 0]
    )
    np.testing.assert_array_equal(
        converted["stem_conv/kernel"][:, :, 1, 7], state_dict["_conv_stem.weight"][7, 1]
    )
    np.testing.assert_array_equal(converted["predictions/kernel"], state_dict["_fc.weight"].T)


def test_mapping_fails_loudly() -> None:
    state_dict = load_torch_state_dict()
    with pytest.raises(WeightMappingError, match="not used by the architecture"):
        convert_torch_state_dict({**state_dict, "_extra.weight": np.zeros(3, np.float32)})
    missing = dict(state_dict)
    del missing["_blocks.7._bn1.running_var"]
    with pytest.raises(WeightMappingError, match="missing"):
        convert_torch_state_dict(missing)
    with pytest.raises(WeightMappingError, match=r"_conv_head\.weight: shape"):
        convert_torch_state_dict({**state_dict, "_conv_head.weight": np.zeros((1280, 320, 3, 3), np.float32)})


def test_cache_is_reused_and_repaired(
    cache_dir: Path, imagenet_weights: dict[str, np.ndarray[Any, Any]]
) -> None:
    cached = ensure_imagenet_weights(cache_dir)
    assert not cached.converted  # the fixture already converted into this folder
    assert (cache_dir / CACHE_METADATA_FILENAME).is_file()

    scratch = cache_dir / "scratch"
    first = ensure_imagenet_weights(scratch)
    assert first.converted
    data = bytearray(first.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    first.path.write_bytes(bytes(data))
    assert ensure_imagenet_weights(scratch).converted  # corrupt cache: converted again
    assert not ensure_imagenet_weights(scratch).converted


def test_pretrained_ranks_daisy_in_top5_for_dandelions(
    pretrained: keras.Model, dandelions: np.ndarray[Any, Any]
) -> None:
    share = float(np.mean(_daisy_rank(_scores(pretrained, dandelions)) < 5))
    assert share >= 0.5, f"daisy in top 5 for only {share:.0%} of dandelion photos (measured 70%)"


def test_random_network_almost_never_ranks_daisy(seeded: None, dandelions: np.ndarray[Any, Any]) -> None:
    random_model = build_efficientnet_lite0(include_top=True, weights=None)
    share = float(np.mean(_daisy_rank(_scores(random_model, dandelions)) < 5))
    assert share <= 0.1, f"random weights put daisy in the top 5 for {share:.0%} of dandelions"


def test_grass_rarely_gets_daisy_top1(pretrained: keras.Model, grass: np.ndarray[Any, Any]) -> None:
    share = float(np.mean(_daisy_rank(_scores(pretrained, grass)) < 1))
    assert share <= 0.1, f"daisy is top 1 for {share:.0%} of grass photos (measured 0%)"


def test_output_is_a_distribution(pretrained: keras.Model, dandelions: np.ndarray[Any, Any]) -> None:
    scores = _scores(pretrained, dandelions[:4])
    assert scores.shape == (4, NUM_CLASSES)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)


def test_backbone_features_share_weights(
    pretrained: keras.Model,
    imagenet_weights: dict[str, np.ndarray[Any, Any]],
    dandelions: np.ndarray[Any, Any],
) -> None:
    features = backbone_feature_model(pretrained)
    headless = build_efficientnet_lite0(include_top=False, weights=imagenet_weights)
    batch = dandelions[:4]

    from_full = np.asarray(features(batch, training=False))
    from_headless = np.asarray(headless(batch, training=False))

    assert from_full.shape == (4, FEATURE_DIM)
    np.testing.assert_allclose(from_full, from_headless, rtol=1e-5, atol=1e-5)
    assert features.get_layer("top_conv") is pretrained.get_layer("top_conv")
    assert "predictions" not in {layer.name for layer in headless.layers}


def test_weights_from_npz_path_or_torch_state_dict(
    cache_dir: Path, imagenet_weights: dict[str, np.ndarray[Any, Any]], tmp_path: Path
) -> None:
    save_weights_npz(imagenet_weights, tmp_path / "copy.npz")
    from_cache = build_efficientnet_lite0(include_top=False, weights=ensure_imagenet_weights(cache_dir).path)
    from_copy = build_efficientnet_lite0(include_top=True, weights=tmp_path / "copy.npz")
    from_torch = build_efficientnet_lite0(include_top=True, weights=load_torch_state_dict())

    for model in (from_cache, from_copy, from_torch):
        kernel = np.asarray(model.get_layer("block4b_dwconv").weights[0])
        np.testing.assert_array_equal(kernel, imagenet_weights["block4b_dwconv/kernel"])
    np.testing.assert_array_equal(
        np.asarray(from_torch.get_layer("predictions").weights[1]), imagenet_weights["predictions/bias"]
    )


def test_weights_must_fit_the_model(imagenet_weights: dict[str, np.ndarray[Any, Any]]) -> None:
    model = build_efficientnet_lite0(include_top=False)
    incomplete = {k: v for k, v in imagenet_weights.items() if not k.startswith("block3b_")}
    with pytest.raises(WeightMappingError, match=r"block3b_.*no weight given"):
        load_weights_into(model, incomplete)
    with pytest.raises(WeightMappingError, match="not used by the model"):
        load_weights_into(model, {**imagenet_weights, "block9a_dwconv/kernel": np.zeros(1, np.float32)})


def test_top_blocks_can_be_unfrozen(pretrained: keras.Model) -> None:
    model = build_efficientnet_lite0(include_top=True)
    trainable = unfreeze_top_blocks(model, "block6a")

    assert BLOCK_NAMES[0] == "block1a"
    assert BLOCK_NAMES[-1] == "block7a"
    assert len(BLOCK_NAMES) == 16
    assert trainable[0] == "block6a_expand_conv"
    assert {"top_conv", "predictions"} <= set(trainable)
    assert not model.get_layer("block5c_project_conv").trainable
    assert not model.get_layer("block6a_bn").trainable  # BatchNorm stays frozen by default
