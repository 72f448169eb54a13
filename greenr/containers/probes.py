"""What is asked of each running container: that it answers, classifies, and is not root."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from greenr.contracts import ANSWERS

API_KEY_NAME = "container-test"


class ProbeError(RuntimeError):
    """A container did not answer as it should; the message says which and what it answered."""


@dataclass(frozen=True)
class Answered:
    url: str
    status: int
    seconds: float


def wait_for(
    url: str,
    timeout: float,
    expect: int = 200,
    sleep: Callable[[float], None] = time.sleep,
    gone: Callable[[], str | None] = lambda: None,
) -> Answered:
    """Poll GET `url` until it answers `expect` (servers take a while to start); when it answered.
    `gone` says why the server cannot answer any more (its container exited), else None.

    Raises:
        ProbeError: no such answer within `timeout` seconds, or the server is gone; names the last
            status or error.
    """
    started = time.monotonic()
    last = "no answer"
    while True:
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == expect:
                return Answered(url, response.status_code, time.monotonic() - started)
            last = f"HTTP {response.status_code}: {response.text[:300]}"
        except httpx.HTTPError as error:
            last = f"{type(error).__name__}: {error}"
        reason = gone()
        if reason is not None:
            raise ProbeError(f"GET {url} cannot answer: {reason} (last: {last})")
        if time.monotonic() - started > timeout:
            raise ProbeError(f"GET {url} did not answer {expect} within {timeout:.0f} s (last: {last})")
        sleep(1.0)


def classify(api: str, key: str, photo: Path) -> dict[str, Any]:
    """POST one photo to the API's /predict with the key; its prediction item.

    Raises:
        ProbeError: not a 200 with one prediction carrying a known label and probabilities.
    """
    with photo.open("rb") as data:
        response = httpx.post(
            f"{api}/predict",
            files={"files": (photo.name, data, "image/jpeg")},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
    if response.status_code != 200:
        raise ProbeError(f"POST {api}/predict answered HTTP {response.status_code}: {response.text[:500]}")
    return checked_prediction(response.json())


def checked_prediction(body: dict[str, Any]) -> dict[str, Any]:
    """The one prediction of a /predict body, checked to be a classification.

    Raises:
        ProbeError: not exactly one prediction, or one without a known label and probabilities.
    """
    predictions = body.get("predictions") or []
    if len(predictions) != 1:
        raise ProbeError(f"/predict returned {len(predictions)} predictions for one photo: {body}")
    item: dict[str, Any] = predictions[0]
    if item.get("label") not in ANSWERS or not item.get("probabilities"):
        raise ProbeError(f"/predict did not classify the photo: {item}")
    return item


def key_from_output(output: str) -> str:
    """The key `python -m greenr.api.keys create` printed.

    Raises:
        ProbeError: no key line in the output.
    """
    for line in output.splitlines():
        if line.startswith("key (shown once"):
            return line.rsplit(":", 1)[1].strip()
    raise ProbeError(f"greenr.api.keys create printed no key: {output[-500:]}")


def check_non_root(container: str, uid: int) -> None:
    """Raises ProbeError when a container's processes run as root."""
    if uid == 0:
        raise ProbeError(f"container {container} runs as root (uid 0): its image must set a USER")
