"""Explanation benchmark: where the Grad-CAM heat of dandelion photos falls, what an explanation
costs, and whether explanations slow predictions down.

    .venv/bin/python -m benchmarks.explanation_benchmark [--latency-calls 200] [--allow-dirty]

The model is the project's classifier trained with configs/training.yaml on the ingestion's
seeded split of the greenr photos (benchmarks/drift_photos.py, benchmarks/drift_model.py: trained
on first use, ~3-5 min on 2 cores, then cached under GREENR_HOME/benchmarks/drift/). The photos
are the test split's dandelions. Each is explained as the API does it (`greenr.explain.explainer.
Explainer`, one TensorFlow thread, the API's default), for its true class (dandelion).

Measured per photo, on the heatmap at the photo's size (values 0..1):
- centre vs border: mean heat in the central box (the middle half of width and height, 25 % of
  the area) and in the border ring (the outer eighth on each side, 44 % of the area); the photo
  counts as "concentrated on the centre" when the centre's mean heat is above the ring's. A proxy:
  close-ups put the flower in the middle, but not always;
- on the flower (a better proxy): the flower's own pixels, found by colour (yellow: hue 35-70
  degrees, saturation and value above 40 %), on photos where they cover 0.5-60 % of the picture.
  The share of all heat that falls on them, divided by the share of the picture they cover (lift:
  1 = heat spread evenly, above 1 = heat on the flower), and the pointing game (the hottest pixel
  lies on a yellow pixel or within 2 % of the diagonal of one);
- time: the whole explanation (decode, Grad-CAM, resize, PNG overlay), and the Grad-CAM alone.

Prediction latency: predictions are answered by the model server (onnxruntime, its own process,
no TensorFlow); explanations run in the API. Here the served ONNX model (exported like training
exports it) is timed on one image at a time with the model server's two threads, once idle and once while
another process draws explanations back to back (as a busy API would), in alternating rounds.

Prints a table and writes benchmarks/results/explanation.json. Results describe committed code:
the JSON records the commit, and a work tree with uncommitted changes is refused unless
`--allow-dirty` (its commit is then marked "-dirty").
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import platform
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from greenr.contracts import LABELS, POSITIVE_LABEL
from greenr.settings import REPO_ROOT

from .clean_tree import add_allow_dirty, measured_commit
from .drift_model import KERAS_FILE, cached_keras_model, cached_onnx_model, model_inputs
from .drift_photos import MAX_PIXELS, Photo, dataset_photos

log = logging.getLogger(__name__)

RESULTS: Final = REPO_ROOT / "benchmarks" / "results" / "explanation.json"
CENTRE: Final = 0.5  # the central box spans this fraction of width and of height
RING: Final = 0.125  # the border ring is this fraction of width / height on each side
YELLOW_HUE_DEGREES: Final = (35.0, 70.0)
YELLOW_MIN_SATURATION: Final = 0.4
YELLOW_MIN_VALUE: Final = 0.4
FLOWER_AREA: Final = (0.005, 0.6)  # photos whose yellow share is outside this are left out of "on the flower"
POINTING_TOLERANCE: Final = 0.02  # of the picture's diagonal


def centre_and_ring(height: int, width: int) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Masks of the central box and of the border ring of a height x width picture."""
    rows, cols = np.mgrid[0:height, 0:width]
    y, x = (rows + 0.5) / height, (cols + 0.5) / width
    margin = (1.0 - CENTRE) / 2
    centre = (y >= margin) & (y < 1 - margin) & (x >= margin) & (x < 1 - margin)
    ring = (y < RING) | (y >= 1 - RING) | (x < RING) | (x >= 1 - RING)
    return centre, ring


def yellow_mask(picture: Image.Image) -> npt.NDArray[np.bool_]:
    """Pixels of a dandelion's colour (Pillow's HSV has hue, saturation and value in 0..255)."""
    hsv = np.asarray(picture.convert("HSV"), dtype=np.float32) / 255.0
    hue = hsv[..., 0] * 360.0
    low, high = YELLOW_HUE_DEGREES
    mask: npt.NDArray[np.bool_] = (
        (hue >= low)
        & (hue <= high)
        & (hsv[..., 1] > YELLOW_MIN_SATURATION)
        & (hsv[..., 2] > YELLOW_MIN_VALUE)
    )
    return mask


def heat_lift(heatmap: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_]) -> float | None:
    """(share of the heat on the mask) / (share of the area it covers); None without heat or mask."""
    total = float(heatmap.sum())
    area = float(mask.mean())
    if total <= 0.0 or area <= 0.0:
        return None
    return float(heatmap[mask].sum()) / total / area


def points_at(heatmap: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_]) -> bool:
    """Whether the hottest pixel is on the mask or within POINTING_TOLERANCE of the diagonal of it."""
    row, col = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
    height, width = heatmap.shape
    reach = max(1, round(POINTING_TOLERANCE * math.hypot(height, width)))
    window = mask[max(0, row - reach) : row + reach + 1, max(0, col - reach) : col + reach + 1]
    return bool(window.any())


def photo_measures(heatmap: npt.NDArray[np.float32], picture: Image.Image) -> dict[str, Any]:
    """The centre / ring and flower measures of one photo's heatmap (at the picture's size)."""
    centre, ring = centre_and_ring(*heatmap.shape)
    yellow = yellow_mask(picture)
    flower_area = float(yellow.mean())
    on_flower = FLOWER_AREA[0] <= flower_area <= FLOWER_AREA[1]
    return {
        "centre_mean_heat": float(heatmap[centre].mean()),
        "ring_mean_heat": float(heatmap[ring].mean()),
        "flower_area_share": flower_area,
        "flower_lift": heat_lift(heatmap, yellow) if on_flower else None,
        "points_at_flower": points_at(heatmap, yellow) if on_flower else None,
    }


def percentile(samples: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


def explain_photos(keras_file: Path, photos: list[Photo]) -> list[dict[str, Any]]:
    """Explain each photo as the API does (timed), and measure its heatmap."""
    from greenr.explain.explainer import Explainer
    from greenr.explain.gradcam import explain, resized
    from greenr.explain.photo import read_photo

    data = keras_file.read_bytes()
    explainer = Explainer(lambda name, version: data, max_models=1, threads=1, max_pixels=MAX_PIXELS)
    dandelion = LABELS.index(POSITIVE_LABEL)
    explainer.overlay_png("benchmark", "1", photos[0].data, dandelion)  # load and trace once
    model = explainer.model("benchmark", "1")  # the same prepared model, for the parts
    results = []
    for photo in photos:
        started = time.perf_counter()
        explainer.overlay_png("benchmark", "1", photo.data, dandelion)
        whole_ms = (time.perf_counter() - started) * 1000
        kept = read_photo(photo.data, MAX_PIXELS, model.input_size)
        started = time.perf_counter()
        explanation = explain(model, kept.pixels, dandelion)
        cam_ms = (time.perf_counter() - started) * 1000
        heatmap = resized(explanation.heatmap, kept.picture.width, kept.picture.height)
        results.append(
            {
                "photo": photo.name,
                "width": kept.picture.width,
                "height": kept.picture.height,
                "p_dandelion": float(explanation.probabilities[dandelion]),
                "explanation_ms": whole_ms,
                "grad_cam_ms": cam_ms,
                **photo_measures(heatmap, kept.picture),
            }
        )
    return results


def _explain_forever(keras_file: str, photo_bytes: list[bytes], stop: Any, started: Any) -> None:
    """A busy API: explanations back to back until told to stop (runs in its own process)."""
    from greenr.explain.explainer import Explainer

    data = Path(keras_file).read_bytes()
    explainer = Explainer(lambda name, version: data, max_models=1, threads=1, max_pixels=MAX_PIXELS)
    explainer.overlay_png("benchmark", "1", photo_bytes[0])
    started.set()
    index = 0
    while not stop.is_set():
        explainer.overlay_png("benchmark", "1", photo_bytes[index % len(photo_bytes)])
        index += 1


def time_predictions(classifier: Any, images: npt.NDArray[np.float32], calls: int) -> list[float]:
    """Milliseconds of `calls` single-image predictions of the served ONNX model."""
    samples = []
    for index in range(calls):
        image = images[index % len(images)][np.newaxis]
        started = time.perf_counter()
        classifier.predict(image)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def prediction_latency(
    onnx_file: Path, keras_file: Path, photos: list[Photo], calls: int, rounds: int
) -> dict[str, Any]:
    """Served-model latency idle vs while another process draws explanations, alternating rounds."""
    from greenr.export.onnx_runtime import OnnxClassifier

    classifier = OnnxClassifier(onnx_file, threads=2)  # the model server's default
    images = model_inputs(photos).astype(np.float32)
    time_predictions(classifier, images, 20)  # warm up
    context = multiprocessing.get_context("spawn")
    idle: list[float] = []
    busy: list[float] = []
    for _ in range(rounds):
        idle += time_predictions(classifier, images, calls)
        stop, started = context.Event(), context.Event()
        worker = context.Process(
            target=_explain_forever, args=(str(keras_file), [p.data for p in photos], stop, started)
        )
        worker.start()
        try:
            if not started.wait(600):
                raise SystemExit("the explaining process did not start within 10 minutes")
            busy += time_predictions(classifier, images, calls)
        finally:
            stop.set()
            worker.join(120)
    return {
        "calls_per_round": calls,
        "rounds": rounds,
        "idle_p50_ms": statistics.median(idle),
        "idle_p95_ms": percentile(idle, 95),
        "during_explanations_p50_ms": statistics.median(busy),
        "during_explanations_p95_ms": percentile(busy, 95),
    }


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Aggregates over the photos."""
    flower = [r for r in results if r["flower_lift"] is not None]
    return {
        "photos": len(results),
        "centre_above_ring_share": float(
            np.mean([r["centre_mean_heat"] > r["ring_mean_heat"] for r in results])
        ),
        "centre_mean_heat": float(np.mean([r["centre_mean_heat"] for r in results])),
        "ring_mean_heat": float(np.mean([r["ring_mean_heat"] for r in results])),
        "flower_photos": len(flower),
        "flower_lift_median": statistics.median(r["flower_lift"] for r in flower) if flower else None,
        "flower_lift_above_1_share": float(np.mean([r["flower_lift"] > 1 for r in flower]))
        if flower
        else None,
        "pointing_game_hits": float(np.mean([r["points_at_flower"] for r in flower])) if flower else None,
        "explanation_ms_p50": statistics.median(r["explanation_ms"] for r in results),
        "explanation_ms_p95": percentile([r["explanation_ms"] for r in results], 95),
        "grad_cam_ms_p50": statistics.median(r["grad_cam_ms"] for r in results),
    }


def print_table(totals: dict[str, Any], latency: dict[str, Any]) -> None:
    rows = [
        ("test-split dandelion photos", f"{totals['photos']}"),
        ("centre mean heat > ring mean heat", f"{totals['centre_above_ring_share']:.0%} of photos"),
        ("mean heat: centre / ring", f"{totals['centre_mean_heat']:.3f} / {totals['ring_mean_heat']:.3f}"),
        ("photos with a yellow flower mask", f"{totals['flower_photos']}"),
        ("heat lift on the flower (median)", f"{totals['flower_lift_median']:.2f}x"),
        ("lift above 1", f"{totals['flower_lift_above_1_share']:.0%} of those photos"),
        ("pointing game (hottest pixel on the flower)", f"{totals['pointing_game_hits']:.0%}"),
        (
            "explanation p50 / p95 (decode + Grad-CAM + PNG)",
            f"{totals['explanation_ms_p50']:.0f} / {totals['explanation_ms_p95']:.0f} ms",
        ),
        ("Grad-CAM alone p50", f"{totals['grad_cam_ms_p50']:.0f} ms"),
        ("served model p50 / p95, idle", f"{latency['idle_p50_ms']:.2f} / {latency['idle_p95_ms']:.2f} ms"),
        (
            "served model p50 / p95, explanations running",
            f"{latency['during_explanations_p50_ms']:.2f} / {latency['during_explanations_p95_ms']:.2f} ms",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency-calls", type=int, default=200, help="predictions timed per round (200)")
    parser.add_argument("--rounds", type=int, default=3, help="idle / busy rounds, alternating (3)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    add_allow_dirty(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    commit = measured_commit(args.allow_dirty)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    photos = dataset_photos()
    folder = cached_keras_model(photos)
    onnx_file = cached_onnx_model(folder, photos)
    dandelions = [p for p in photos if p.split == "test" and p.label == POSITIVE_LABEL]
    results = explain_photos(folder / KERAS_FILE, dandelions)
    totals = summary(results)
    latency = prediction_latency(onnx_file, folder / KERAS_FILE, dandelions, args.latency_calls, args.rounds)
    print_table(totals, latency)
    document = {
        "benchmark": "explanation",
        "commit": commit,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": multiprocessing.cpu_count()},
        "model": json.loads((folder / "model.json").read_text()),
        "definitions": {
            "centre": f"middle {CENTRE:.0%} of width and height",
            "ring": f"outer {RING:.1%} of width / height on each side",
            "flower": f"hue {YELLOW_HUE_DEGREES} degrees, saturation > {YELLOW_MIN_SATURATION}, "
            f"value > {YELLOW_MIN_VALUE}; photos with a flower share in {FLOWER_AREA}",
            "pointing_tolerance": f"{POINTING_TOLERANCE:.0%} of the diagonal",
            "explanation": "Explainer.overlay_png with 1 TensorFlow thread, class dandelion",
            "latency": "served ONNX model (2 onnxruntime threads) alone vs with an explaining process",
        },
        "summary": totals,
        "prediction_latency": latency,
        "photos": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
