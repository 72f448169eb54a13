"""Seldon's request decoding errors that are the client's fault, answered 400 instead of 500.

Seldon's wrapper base64-decodes `binData` itself, before `GreenrModel.predict` runs, and answers
any exception there with 500 MICROSERVICE_INTERNAL_ERROR: `{"binData": "!!!notbase64"}` looked like
a server fault (issue 12). `model_error_handler` is Seldon's extension point for this (a Flask
blueprint it registers on its app, in the container and the local server alike): a ValueError or
TypeError raised while the request holds a `binData` that is not base64 text becomes a 400 with
Seldon's error body; any other one keeps Seldon's 500.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, request
from seldon_core.flask_utils import SeldonMicroserviceException

from serving.payload import ACCEPTED, bin_data_problem

logger = logging.getLogger(__name__)


def _answer(error: SeldonMicroserviceException) -> Any:
    response = jsonify(error.to_dict())
    response.status_code = error.status_code
    return response


def _on_decoding_error(error: Exception) -> Any:
    body = request.get_json(silent=True)
    problem = bin_data_problem(body["binData"]) if isinstance(body, dict) and "binData" in body else None
    if problem is None:
        # Not the payload's fault: what Seldon's own handler would answer.
        logger.error("internal error: %r", error)
        return _answer(SeldonMicroserviceException(str(error), 500, reason="MICROSERVICE_INTERNAL_ERROR"))
    logger.info("bad prediction request: %s", problem)
    return _answer(SeldonMicroserviceException(f"{problem}: {ACCEPTED}", 400))


def request_error_blueprint() -> Blueprint:
    """The blueprint GreenrModel exposes as `model_error_handler`."""
    blueprint = Blueprint("greenr_request_errors", __name__)
    blueprint.app_errorhandler(ValueError)(_on_decoding_error)
    blueprint.app_errorhandler(TypeError)(_on_decoding_error)
    return blueprint
