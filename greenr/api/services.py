"""The long-lived objects one API process shares between requests, and the route dependency to them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from greenr.api.decode_slots import DecodeSlots
from greenr.api.image_archive import ImageArchive
from greenr.api.keys.store import KeyStore
from greenr.api.metrics import ApiMetrics
from greenr.api.model_client import ModelClient
from greenr.api.predictions_store import PredictionsStore
from greenr.catalog.database import CatalogUnavailable, create_catalog_engine
from greenr.explain.explainer import Explainer
from greenr.explain.keras_source import keras_file_of
from greenr.settings import Settings
from greenr.storage.object_store import ObjectStore, open_object_store, s3_options

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiServices:
    """Database, object store, model server client and metrics of the process."""

    settings: Settings
    store: PredictionsStore
    # The lake: predicted photos (through `archive`), monitoring reports.
    objects: ObjectStore
    archive: ImageArchive
    model: ModelClient
    metrics: ApiMetrics
    keys: KeyStore
    decodes: DecodeSlots
    # Grad-CAM explanations, off the prediction path (TensorFlow loaded on the first one).
    explainer: Explainer


def open_services(settings: Settings, metrics: ApiMetrics) -> ApiServices:
    """Connect what can be connected; a database that is down only makes the API not ready."""
    store = PredictionsStore(create_catalog_engine(settings.catalog_url))
    try:
        store.ensure_schema()
    except CatalogUnavailable as error:
        logger.warning("starting without the database (retried on every request): %s", error)
    objects = open_object_store(settings.lake, s3_options(settings))
    return ApiServices(
        settings=settings,
        store=store,
        objects=objects,
        archive=ImageArchive(objects),
        model=ModelClient(settings.model_server, settings.model_server_timeout_seconds),
        metrics=metrics,
        keys=KeyStore(store.session),
        decodes=DecodeSlots(settings.max_concurrent_decodes, settings.decode_wait_seconds),
        explainer=Explainer(
            lambda name, version: keras_file_of(settings.tracking_uri, name, version),
            max_models=settings.explanation_models,
            threads=settings.explanation_threads,
            max_pixels=settings.max_image_pixels,
            draft_margin=settings.jpeg_draft_margin,
        ),
    )


def close_services(services: ApiServices) -> None:
    """Close the connections."""
    services.model.close()
    services.store.close()


async def get_services(request: Request) -> ApiServices:
    # async: FastAPI would run a sync dependency in the thread pool, an extra hop per request.
    services: ApiServices = request.app.state.services
    return services


Services = Annotated[ApiServices, Depends(get_services)]
