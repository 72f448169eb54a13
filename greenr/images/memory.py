"""Give the memory of a large decoded image back to the operating system.

Pillow frees a decoded image's pixels when it is closed, but glibc's allocator keeps freed
memory in its heaps for reuse, so one 40-megapixel PNG left the API and the model server hundreds
of megabytes larger for good (issue 12). `malloc_trim(0)` returns the free pages; it costs a few
milliseconds, so it runs only after images of at least a threshold (GREENR_LARGE_IMAGE_PIXELS,
default `LARGE_IMAGE_PIXELS`). Elsewhere than glibc it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

# 8 megapixels: about 32 MB of RGBA, more than any photo of the dataset; phone photos are 12.
# The default of GREENR_LARGE_IMAGE_PIXELS (greenr/settings.py, serving/config.py; a test keeps them equal).
LARGE_IMAGE_PIXELS = 8_000_000


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return None
    return trim


def release_after(pixels: int, threshold: int = LARGE_IMAGE_PIXELS) -> bool:
    """Return freed heap memory to the system when an image of `pixels` (>= `threshold`) was just freed.

    Returns True when memory was trimmed.
    """
    if pixels < threshold:
        return False
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
