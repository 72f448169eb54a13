"""One large image decoded at a time in the model server; small photos never wait for it."""

from __future__ import annotations

import io
import threading

from PIL import Image

from greenr.images.memory import LARGE_IMAGE_PIXELS
from serving.inference import decode_images


def png(side: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (70, 140, 60)).save(buffer, "PNG")
    return buffer.getvalue()


def decode_in_thread(
    data: bytes, gate: threading.Lock, large_image_pixels: int = LARGE_IMAGE_PIXELS
) -> threading.Thread:
    thread = threading.Thread(
        target=decode_images,
        args=([data], 40_000_000, 64),
        kwargs={"large_decodes": gate, "large_image_pixels": large_image_pixels},
    )
    thread.start()
    return thread


def test_a_large_image_waits_for_the_gate_and_a_small_one_does_not() -> None:
    side = int(LARGE_IMAGE_PIXELS**0.5) + 100
    large, small = png(side), png(500)
    gate = threading.Lock()
    gate.acquire()  # another request is decoding a large image
    try:
        small_thread = decode_in_thread(small, gate)
        small_thread.join(timeout=30)
        assert not small_thread.is_alive(), "a small photo waited for the large-decode gate"
        large_thread = decode_in_thread(large, gate)
        large_thread.join(timeout=1.0)
        assert large_thread.is_alive(), "a large image was decoded while another one held the gate"
    finally:
        gate.release()
    large_thread.join(timeout=60)
    assert not large_thread.is_alive()
    assert not gate.locked()  # given back


def test_without_a_gate_large_images_still_decode() -> None:
    side = int(LARGE_IMAGE_PIXELS**0.5) + 100
    assert decode_images([png(side)], 40_000_000, 64).batch.shape == (1, 64, 64, 3)


def test_the_large_image_size_is_the_setting() -> None:
    """GREENR_LARGE_IMAGE_PIXELS (serving/config.py) is honoured: with a threshold of 250 000
    pixels, a 500 x 500 photo waits for the gate like a 40-megapixel one."""
    gate = threading.Lock()
    gate.acquire()
    try:
        thread = decode_in_thread(png(500), gate, large_image_pixels=250_000 - 1)
        thread.join(timeout=1.0)
        assert thread.is_alive(), "the photo did not wait although it is over the configured size"
    finally:
        gate.release()
    thread.join(timeout=30)
    assert not thread.is_alive()
