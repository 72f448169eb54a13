"""`GreenrModel`: the dandelion/grass classifier as a Seldon Core 1.x Python model.

Seldon's wrapper calls the methods by convention (no base class needed): the constructor with the
deployment's `parameters`, `load()` once per worker, then `predict`, `send_feedback`,
`health_status`, `metrics` and `tags` per request and `init_metadata` once. It runs in both the
container (`python -m serving.seldon_launcher serving.seldon_entry.GreenrSeldonModel`, a subclass) and
the local server (`serving/wsgi.py`). The logic lives in `serving.model_store`,
`serving.inference` and `serving.payload`; this class wires them to Seldon's conventions.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from seldon_core.flask_utils import SeldonMicroserviceException

from greenr.features.definitions import FeatureSet, feature_set
from greenr.open_set.scorer import NEITHER
from serving.config import ServerConfig, load_config
from serving.deadline import CallerGone, Deadline, deadline_from
from serving.inference import (
    BadImageError,
    OnnxClassifier,
    check_model,
    decode_images,
    feature_rows,
    read_reduction,
    verdicts,
    warm_up,
)
from serving.model_store import ResolvedArtifact, resolve_artifact
from serving.open_set_scoring import read_open_set
from serving.payload import BadRequestError, feedback_records, images_from_request, predictions_body
from serving.request_errors import request_error_blueprint

logger = logging.getLogger(__name__)

# Seldon metric keys (exposed by Seldon's /metrics with its default labels added). Seldon turns
# a COUNTER into `<key>_total` and a TIMER (milliseconds) into a histogram in seconds.
PREDICTIONS_KEY = "greenr_predictions"
LATENCY_KEY = "greenr_predict_seconds"
FEEDBACK_KEY = "greenr_feedback"
FALLBACK_KEY = "greenr_model_fallback"

Metric = dict[str, Any]


class GreenrModel:
    """Seldon Python model serving an exported ONNX classifier with a verified local cache.

    Parameters (Seldon `parameters`, else the environment): `model_uri` (MODEL_URI),
    `model_cache_dir` (MODEL_CACHE_DIR), `max_image_pixels` (GREENR_MAX_IMAGE_PIXELS),
    `max_batch_size` (GREENR_MAX_BATCH_SIZE), `intra_op_threads` (GREENR_INTRA_OP_THREADS),
    `intra_op_spinning` (GREENR_INTRA_OP_SPINNING); from the environment only:
    GREENR_JPEG_DRAFT_MARGIN and GREENR_LARGE_IMAGE_PIXELS (`serving.config`).
    """

    def __init__(
        self,
        model_uri: str | None = None,
        model_cache_dir: str | None = None,
        max_image_pixels: int | None = None,
        max_batch_size: int | None = None,
        intra_op_threads: int | None = None,
        intra_op_spinning: bool | str | None = None,
    ) -> None:
        # Reads settings only: Seldon builds the object in its launcher process, before forking.
        self._config: ServerConfig = load_config(
            model_uri=model_uri,
            model_cache_dir=model_cache_dir,
            max_image_pixels=max_image_pixels,
            max_batch_size=max_batch_size,
            intra_op_threads=intra_op_threads,
            intra_op_spinning=intra_op_spinning,
        )
        self._lock = threading.Lock()
        # One large image decoded at a time across the request threads (serving.inference).
        self._large_decodes = threading.Lock()
        self._artifact: ResolvedArtifact | None = None
        self._classifier: OnnxClassifier | None = None
        self._features: FeatureSet | None = None
        self._loaded_at: str | None = None
        # Metrics of the request being handled, per thread: Seldon calls metrics() right after
        # predict()/send_feedback() in the same thread, so each request reports its own counts
        # even when gunicorn's threads serve several requests at once.
        self._pending = threading.local()
        # Seldon registers this blueprint on its Flask app: a binData that is not base64 is a 400.
        self.model_error_handler = request_error_blueprint()

    # ------------------------------------------------------------ loading

    def _resolve(self) -> ResolvedArtifact:
        """Fetch and verify the artifact once (no onnxruntime thread pool is left behind)."""
        with self._lock:
            if self._artifact is None:
                self._artifact = resolve_artifact(
                    self._config.model_uri, self._config.cache_dir, check_model, self._config.s3
                )
            return self._artifact

    def load(self) -> None:
        """Resolve the artifact (falling back to the cached copy) and create the session.

        Raises:
            ModelUnavailableError: neither MODEL_URI nor the cache has a usable model.
        """
        artifact = self._resolve()
        with self._lock:
            if self._classifier is not None:
                return
            self._features = feature_set()
            self._classifier = OnnxClassifier(
                artifact.model_path,
                artifact.metadata,
                self._config.intra_op_threads,
                self._config.intra_op_spinning,
                reduction=read_reduction(artifact.directory),
                open_set=read_open_set(artifact.directory),
            )
            warm_up(self._classifier, self._config.max_image_pixels, self._features)
            self._loaded_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        meta = artifact.metadata
        logger.info(
            "serving %s version %s (alias %s, sha256 %s) from %s%s",
            meta.model_name,
            meta.version,
            meta.alias,
            meta.sha256[:12],
            artifact.source_uri,
            " [FALLBACK: cached copy]" if artifact.fallback else "",
        )
        if self._classifier.embedding_size is None or self._classifier.reduction is None:
            logger.warning(
                "the model has %s: its predictions' embedding feature columns stay empty",
                "no embedding output"
                if self._classifier.embedding_size is None
                else "no embedding reduction",
            )
        scorer = self._classifier.open_set
        if scorer is None:
            logger.warning("the artifact has no open-set file: every photo is answered dandelion or grass")
        else:
            logger.info("open-set rejection: %s score, threshold %s", scorer.method, scorer.threshold)

    def _ready(self) -> tuple[ResolvedArtifact, OnnxClassifier]:
        if self._classifier is None:
            self.load()
        artifact, classifier = self._artifact, self._classifier
        if artifact is None or classifier is None:  # load() raises before this can happen
            raise RuntimeError("the model is not loaded")
        return artifact, classifier

    def _feature_set(self) -> FeatureSet:
        if self._features is None:  # load() sets it before any prediction
            raise RuntimeError("the model is not loaded")
        return self._features

    # ------------------------------------------------------------ Seldon methods

    def predict(
        self,
        X: Any,  # noqa: N803 - Seldon's documented name for the payload
        features_names: Iterable[str] | None = None,
        meta: Any = None,
    ) -> dict[str, Any]:
        """Classify one image (binData) or a batch (jsonData); see serving/README.md.

        `meta.tags.greenr_deadline_ms` (sent by the prediction API) bounds how long the caller waits:
        past it the work stops (serving.deadline).

        Raises:
            SeldonMicroserviceException: status 400 with a message naming the bad image or field;
                503 when the caller's deadline passed.
        """
        started = time.perf_counter()
        deadline = deadline_from(meta, time.monotonic())
        self._pending.metrics = []
        artifact, classifier = self._ready()
        with classifier.handling():
            return self._classify(X, artifact, classifier, deadline, started)

    def _classify(
        self,
        images_payload: Any,
        artifact: ResolvedArtifact,
        classifier: OnnxClassifier,
        deadline: Deadline,
        started: float,
    ) -> dict[str, Any]:
        try:
            images = images_from_request(images_payload, self._config.max_batch_size)
            decoded = decode_images(
                images,
                self._config.max_image_pixels,
                classifier.input_size,
                deadline,
                self._large_decodes,
                draft_margin=self._config.jpeg_draft_margin,
                large_image_pixels=self._config.large_image_pixels,
            )
            outputs = classifier.run(decoded.batch, deadline)
        except (BadRequestError, BadImageError) as error:
            logger.info("bad prediction request: %s", error)
            raise SeldonMicroserviceException(str(error), status_code=400) from None
        except CallerGone as error:
            logger.warning("%s", error)
            raise SeldonMicroserviceException(str(error), 503, reason="MICROSERVICE_TIMEOUT") from None
        features = self._feature_set()
        body = predictions_body(
            outputs.probabilities,
            classifier.labels,
            self._model_summary(artifact),
            feature_rows(features, decoded, outputs, classifier),
            features.version,
            verdicts(outputs, classifier),
        )
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        counts: dict[str, int] = {}
        for prediction in body["predictions"]:
            counts[prediction["label"]] = counts.get(prediction["label"], 0) + 1
        self._pending.metrics = [
            *(
                {"type": "COUNTER", "key": PREDICTIONS_KEY, "value": count, "tags": {"label": label}}
                for label, count in sorted(counts.items())
            ),
            {"type": "TIMER", "key": LATENCY_KEY, "value": elapsed_ms},
        ]
        return body

    def send_feedback(
        self,
        features: Any,
        feature_names: Iterable[str] | None,
        reward: float,
        truth: Any,
        routing: Any = None,
    ) -> dict[str, Any]:
        """Record feedback: true labels and whether the model was right (serving/README.md).

        Raises:
            SeldonMicroserviceException: status 400 when a label is unknown.
        """
        self._pending.metrics = []
        _, classifier = self._ready()
        try:
            records = feedback_records(features, truth, reward, (*classifier.labels, NEITHER))
        except BadRequestError as error:
            raise SeldonMicroserviceException(str(error), status_code=400) from None
        counts: dict[tuple[str, bool], int] = {}
        for record in records:
            counts[(record.truth, record.correct)] = counts.get((record.truth, record.correct), 0) + 1
        correct = sum(1 for record in records if record.correct)
        logger.info(
            "feedback: %d image(s), %d correct, reward %s, true labels %s",
            len(records),
            correct,
            reward,
            [record.truth for record in records],
        )
        self._pending.metrics = [
            {
                "type": "COUNTER",
                "key": FEEDBACK_KEY,
                "value": count,
                "tags": {"truth": truth_label, "correct": "true" if is_correct else "false"},
            }
            for (truth_label, is_correct), count in sorted(counts.items())
        ]
        return {"recorded": len(records), "correct": correct}

    def metrics(self) -> list[Metric]:
        """This request's counters and latency (once), and the fallback gauge (always)."""
        pending: list[Metric] = getattr(self._pending, "metrics", [])
        self._pending.metrics = []
        fallback = self._artifact is not None and self._artifact.fallback
        return [*pending, {"type": "GAUGE", "key": FALLBACK_KEY, "value": 1 if fallback else 0}]

    def identity(self) -> dict[str, Any]:
        """What the loaded model is (`ServerMetrics.set_model`'s arguments); call after `load()`."""
        artifact, _ = self._ready()
        meta = artifact.metadata
        return {
            "model_name": meta.model_name,
            "version": str(meta.version),
            "alias": meta.alias,
            "fallback": artifact.fallback,
            "metrics": dict(meta.metrics),
        }

    def tags(self) -> dict[str, Any]:
        """Added to every response's meta.tags: which model answered."""
        if self._artifact is None:
            return {}
        return {
            "model_name": self._artifact.metadata.model_name,
            "model_version": self._artifact.metadata.version,
            "model_fallback": self._artifact.fallback,
        }

    def health_status(self) -> dict[str, Any]:
        """Model identity and whether the cached fallback is served (GET /health/status)."""
        artifact, _ = self._ready()
        return {
            "status": "degraded" if artifact.fallback else "ok",
            **self._model_summary(artifact),
            "sha256": artifact.metadata.sha256,
            "fallback_reason": artifact.fallback_reason,
            "model_uri": artifact.model_uri,
            "served_from": artifact.source_uri,
            "loaded_at": self._loaded_at,
        }

    def init_metadata(self) -> dict[str, Any]:
        """Seldon model metadata (GET /metadata); `custom` values must be strings in Seldon 1.x."""
        artifact = self._resolve()
        meta = artifact.metadata
        return {
            "name": meta.model_name,
            "versions": [meta.version],
            "platform": "onnxruntime",
            "inputs": [
                {"messagetype": "binData"},
                {
                    "messagetype": "jsonData",
                    "schema": {"images": "list of base64-encoded JPEG, PNG or WebP images"},
                },
            ],
            "outputs": [
                {
                    "messagetype": "jsonData",
                    "schema": {
                        "predictions": "list of {label (a class or neither), probabilities: {label: p}, "
                        "features: {column: value}, feature_set_version, open_set: {score, threshold, "
                        "method, rejected}} in request order",
                        "model": "{name, version, alias, fallback}",
                    },
                }
            ],
            "custom": {
                "alias": meta.alias,
                "labels": json.dumps(list(meta.labels)),
                "input_size": str(meta.input_size),
                "metrics": json.dumps(dict(meta.metrics), sort_keys=True),
                "dataset_version": meta.dataset_version,
                "exported_at": meta.exported_at,
                "sha256": meta.sha256,
                "model_uri": artifact.model_uri,
                "served_from": artifact.source_uri,
                "fallback": "true" if artifact.fallback else "false",
                "fallback_reason": artifact.fallback_reason or "",
            },
        }

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _model_summary(artifact: ResolvedArtifact) -> dict[str, Any]:
        return {
            "name": artifact.metadata.model_name,
            "version": artifact.metadata.version,
            "alias": artifact.metadata.alias,
            "fallback": artifact.fallback,
        }
