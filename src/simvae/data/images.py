"""Opening image files with PIL for the folder and CelebA loaders: a file claiming more pixels than PIL's
decompression-bomb limit, or one that is not a readable image, is one line (DataError) naming it; 16-bit grey
PNGs are converted to 8 bits by value (PIL's own conversion saturates them to white)."""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from simvae.errors import DataError

SIXTEEN_BIT = {"I;16", "I;16L", "I;16B", "I;16N"}  # grey, 0..65535
UNSCALED = {"I": "integer", "F": "float"}  # 32-bit values: no range to map to 0..255


@contextlib.contextmanager
def open_image(source: Path | bytes, name: str, fix: str) -> Iterator[Image.Image]:
    """PIL's image of a file path (or its bytes); errors name the image (`name`) and say `fix`."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # PIL only warns up to twice its limit
        try:
            image = Image.open(source if isinstance(source, Path) else io.BytesIO(source))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise DataError(f"{name} is refused: {str(error).split(',')[0]} (PIL's guard against decompression "
                            f"bombs): shrink it below {Image.MAX_IMAGE_PIXELS:,} pixels, or delete it") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
            raise DataError(f"{name} is not a readable image ({error}): {fix}") from error
    with image:
        if image.mode in UNSCALED:
            raise DataError(f"{name} is a 32-bit {UNSCALED[image.mode]} image (PIL mode {image.mode}), whose values "
                            "have no 0..255 range: save it as an 8-bit (or 16-bit) PNG or a JPEG")
        yield image


def eight_bit(image: Image.Image) -> Image.Image:
    """`image` with 16-bit grey values mapped to 0..255 (v * 255 / 65535, rounded); other modes as they are."""
    if image.mode not in SIXTEEN_BIT:
        return image
    values = np.asarray(image, dtype=np.uint32)
    return Image.fromarray(((values * 255 + 32767) // 65535).astype(np.uint8), mode="L")
