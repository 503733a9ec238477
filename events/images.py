"""Validation and re-encoding of uploaded event images.

Every upload is decoded by Pillow, checked, and saved again as a fresh JPEG: the stored
file is ours, not the uploader's, so no metadata (EXIF, GPS) or smuggled payload survives.
"""

import io
import uuid
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


def reencode_event_image(upload: UploadedFile) -> ContentFile:
    """Return the upload as a re-encoded JPEG, or raise ValidationError with a clear message."""
    limit_mb = settings.IMAGE_MAX_BYTES // (1024 * 1024)
    if upload.size is None or upload.size > settings.IMAGE_MAX_BYTES:
        raise ValidationError(f"The image is larger than {limit_mb} MB.", code="too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            with Image.open(upload) as probe:
                image_format = probe.format
                width, height = probe.size
                probe.verify()
            if image_format not in ACCEPTED_FORMATS:
                raise ValidationError(
                    "Upload a JPEG, PNG, WebP or GIF image.", code="unsupported_format"
                )
            if width * height > settings.IMAGE_MAX_PIXELS:
                raise ValidationError(
                    f"The image is too large ({width}×{height} pixels).", code="too_many_pixels"
                )
            upload.seek(0)
            with Image.open(upload) as image:
                image.load()
                image = ImageOps.exif_transpose(image)
                image = _flatten_to_rgb(image)
                side = settings.IMAGE_STORED_MAX_SIDE
                image.thumbnail((side, side), Image.Resampling.LANCZOS)
                encoded = io.BytesIO()
                image.save(encoded, format="JPEG", quality=85, optimize=True, progressive=True)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(
            "This file is not an image we can read. Upload a JPEG, PNG, WebP or GIF.",
            code="not_an_image",
        ) from None
    except (OSError, SyntaxError, ValueError):
        raise ValidationError(
            "This image is damaged or truncated. Please upload another file.", code="damaged"
        ) from None
    return ContentFile(encoded.getvalue(), name=f"{uuid.uuid4().hex}.jpg")


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")
