"""to_model_input: the picture the way a person sees it, squashed to the model's square."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import ExifTags, Image

from greenr.images.decoding import decode_image
from greenr.images.memory import LARGE_IMAGE_PIXELS, release_after
from greenr.images.preprocess import (
    DRAFT_MARGIN,
    as_rgb,
    decode_model_input,
    decode_sized_model_input,
    to_model_input,
    upright,
)

LIMIT = 40_000_000


def _quadrants() -> Image.Image:
    """A 60x30 picture whose every corner differs, so any turn or flip changes it."""
    image = Image.new("RGB", (60, 30), (0, 0, 0))
    image.paste((250, 20, 20), (0, 0, 30, 15))  # top left red
    image.paste((20, 250, 20), (30, 0, 60, 15))  # top right green
    image.paste((20, 20, 250), (0, 15, 30, 30))  # bottom left blue
    image.paste((250, 250, 20), (30, 15, 60, 30))  # bottom right yellow
    return image


def _png_with_orientation(image: Image.Image, orientation: int) -> bytes:
    exif = image.getexif()  # an empty Exif of the right type (Image.Exif() is untyped)
    exif[ExifTags.Base.Orientation] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", exif=exif)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("orientation", "as_seen"),
    [
        (1, None),
        (3, Image.Transpose.ROTATE_180),
        (6, Image.Transpose.ROTATE_270),  # the usual phone photo held upright
        (8, Image.Transpose.ROTATE_90),
        (2, Image.Transpose.FLIP_LEFT_RIGHT),
    ],
)
def test_the_model_sees_the_photo_turned_as_its_exif_says(
    orientation: int, as_seen: Image.Transpose | None
) -> None:
    stored = _quadrants()
    decoded = decode_image(_png_with_orientation(stored, orientation), LIMIT).image
    seen = stored if as_seen is None else stored.transpose(as_seen)

    np.testing.assert_array_equal(to_model_input(decoded, 32), to_model_input(seen, 32))


@pytest.mark.parametrize(
    ("orientation", "size"), [(1, (60, 30)), (3, (60, 30)), (6, (30, 60)), (8, (30, 60))]
)
def test_the_upload_size_is_reported_as_seen(orientation: int, size: tuple[int, int]) -> None:
    data = _png_with_orientation(_quadrants(), orientation)
    sized = decode_sized_model_input(data, LIMIT, 32)

    assert (sized.width, sized.height) == size
    np.testing.assert_array_equal(sized.pixels, decode_model_input(data, LIMIT, 32))


def test_an_upright_image_is_not_copied() -> None:
    image = _quadrants()
    assert upright(image) is image


def test_an_unknown_orientation_value_is_ignored() -> None:
    decoded = decode_image(_png_with_orientation(_quadrants(), 42), LIMIT).image
    np.testing.assert_array_equal(to_model_input(decoded, 32), to_model_input(_quadrants(), 32))


def test_unreadable_exif_never_fails_the_picture() -> None:
    # Pillow tolerates every malformed EXIF block tried (it warns); this stands for one it does not.
    class BrokenExif(Image.Image):
        def getexif(self) -> Image.Exif:
            raise SyntaxError("not a TIFF file")

    image = _quadrants()
    broken = image.copy()
    broken.__class__ = BrokenExif

    np.testing.assert_array_equal(to_model_input(broken, 32), to_model_input(image, 32))


def test_output_is_rgb_uint8_of_the_requested_size() -> None:
    grey = Image.new("L", (50, 10), 128)
    array = to_model_input(grey, 16)
    assert array.shape == (16, 16, 3)
    assert array.dtype == np.uint8
    assert (array == 128).all()


def _png(image: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return decode_image(buffer.getvalue(), LIMIT).image


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    ramp = np.linspace(0, 65535, 64 * 8).reshape(8, 64).astype(np.uint16)
    decoded = _png(Image.fromarray(ramp))
    assert decoded.mode.startswith("I")  # what Pillow makes of a 16-bit grey PNG

    rgb = np.asarray(as_rgb(decoded))
    np.testing.assert_array_equal(rgb[..., 0], (ramp >> 8).astype(np.uint8))
    assert rgb[0, 0, 0] == 0
    assert rgb[-1, -1, 0] == 255


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparent_pixels_are_seen_over_white(mode: str) -> None:
    picture = Image.new("RGBA", (20, 10), (0, 0, 0, 0))  # transparent, stored colour black
    picture.paste((20, 160, 40, 255), (0, 0, 10, 10))  # an opaque green left half
    if mode == "LA":
        picture = picture.convert("LA")
    elif mode == "P":
        picture = picture.convert("P")  # Pillow keeps transparency as info["transparency"]
    decoded = _png(picture)

    rgb = np.asarray(as_rgb(decoded))
    assert (rgb[:, 10:] == 255).all()  # the transparent half: white, not the stored black
    assert (rgb[:, :10] < 255).any()  # the opaque half keeps its colour


def test_opaque_rgb_is_unchanged() -> None:
    image = _quadrants()
    np.testing.assert_array_equal(np.asarray(as_rgb(image)), np.asarray(image))


def _textured_photo(cells: int, size: tuple[int, int]) -> Image.Image:
    """Random colour cells blown up to `size`: detail at every scale down to a few pixels."""
    rng = np.random.default_rng(cells)
    small = rng.integers(0, 256, size=(cells * 3 // 4, cells, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


@pytest.mark.parametrize("cells", [50, 200, 600])
@pytest.mark.parametrize("size", [(4032, 3024), (3024, 4032), (1800, 1800), (8000, 4000)])
def test_reduced_jpeg_decoding_gives_the_model_nearly_the_same_input(
    cells: int, size: tuple[int, int]
) -> None:
    """Decoding at a reduced scale (both sides kept >= DRAFT_MARGIN x 224) against a full decode.

    Measured: max |difference| 2 of 255 at 4032x3024 (also on 20 dataset photos upscaled to it),
    6 at 1800x1800 with 3-pixel detail (the reduced image only just 4x the input); mean at most
    0.35 at 4032x3024 and 0.65 at 1800x1800. The bounds leave room for other JPEG encoders.
    """
    image = _textured_photo(cells, size)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    data = buffer.getvalue()
    full = to_model_input(decode_image(data, LIMIT).image, 224).astype(np.int16)
    reduced = decode_model_input(data, LIMIT, 224).astype(np.int16)
    assert decode_image(data, LIMIT, reduce_to=DRAFT_MARGIN * 224).image.size != size  # it was reduced
    difference = np.abs(full - reduced)
    assert difference.max() <= 8
    assert difference.mean() <= 1.0


def test_the_draft_margin_decides_how_far_a_jpeg_is_reduced() -> None:
    """GREENR_JPEG_DRAFT_MARGIN is honoured: a margin too large for the photo means a full decode."""
    buffer = io.BytesIO()
    _textured_photo(600, (1800, 1800)).save(buffer, format="JPEG", quality=90)
    data = buffer.getvalue()
    full = to_model_input(decode_image(data, LIMIT).image, 224)
    # 1800 px < 9 x 224: no reduction at all, the very pixels of a full decode.
    assert np.array_equal(decode_model_input(data, LIMIT, 224, draft_margin=9), full)
    # The default (4) decodes at 1/2 scale: close to, but not, the full decode's pixels.
    assert not np.array_equal(decode_model_input(data, LIMIT, 224), full)


def test_memory_is_returned_from_the_configured_size_on() -> None:
    """GREENR_LARGE_IMAGE_PIXELS is honoured: malloc_trim runs from the threshold on, not below it."""
    assert release_after(999, threshold=1000) is False
    # glibc on every machine of the project (and in the images); elsewhere it is a no-op.
    assert release_after(1000, threshold=1000) is True
    assert release_after(LARGE_IMAGE_PIXELS - 1) is False
