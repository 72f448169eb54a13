"""HTTP routes: thin adapters from requests to the logic modules of `greenr.api`."""

from __future__ import annotations

from typing import Any

from greenr.api.schemas import ErrorBody


def error_responses(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer (all in the ErrorBody shape)."""
    return {status: {"model": ErrorBody, "description": text} for status, text in descriptions.items()}


def json_error_responses(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """Error entries for a route whose success is not JSON: FastAPI would file an error `model`
    under the route's own media type (text/html, text/markdown), but errors are always JSON."""
    schema = {"$ref": "#/components/schemas/ErrorBody"}
    return {
        status: {"description": text, "content": {"application/json": {"schema": schema}}}
        for status, text in descriptions.items()
    }
