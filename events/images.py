"""Validation and re-encoding of uploaded event images.

Every upload is decoded by Pillow, checked, and saved again as a fresh JPEG: the stored
file is ours, not the uploader's, so no metadata (EXIF, GPS) or smuggled payload survives.

A small file can decode into hundreds of megabytes (a 150 KB PNG of one colour, 6300×6300
RGBA, is 160 MB of pixels before any copy), so the memory a re-encoding will need is
worked out from the header alone and refused above IMAGE_MAX_DECODING_BYTES, JPEGs are
decoded at a reduced scale, and at most IMAGE_PROCESSING_CONCURRENCY images are decoded at
once in a process: the extra memory image uploads can take is bounded by the product.
"""

import ctypes
import ctypes.util
import io
import math
import threading
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from PIL import ExifTags, Image, PngImagePlugin, UnidentifiedImageError, WebPImagePlugin

from tickethub.errors import Busy

# Only these decoders ever see an upload (a file in another format is not even parsed).
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
# Pillow's JPEG decoder names a JPEG carrying a second picture (the preview or depth map many
# phones add) "MPO"; its first frame is an ordinary JPEG.
_JPEG_FORMATS = {"JPEG", "MPO"}

# Pillow holds "1", "L" and "P" in one byte a pixel, 16-bit grey in two, and every other mode
# in four (it pads RGB to 32 bits), whatever the file's bit depth.
_ONE_BYTE_MODES = {"1", "L", "P"}
_TWO_BYTE_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
# Thumbnail's default: reduce by a whole factor while at least twice the target remains,
# then resample with Lanczos (indistinguishable from resampling the whole image).
_REDUCING_GAP = 2.0
# mallopt's option number, and allocations from this size up are mapped and unmapped alone.
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_BYTES = 1024 * 1024
# libwebp's animation decoder keeps two RGBA canvases (the frame and the one before it),
# and Pillow decodes from a copy of the frame.
_WEBP_DECODER_BYTES_PER_PIXEL = 12
# EXIF orientation → the transposition that shows the image upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def limit_image_decoding_memory() -> None:
    """Process-wide settings that keep image decoding within its bound (run at start-up)."""
    # The stored JPEG keeps no metadata, so PNG text (zTXt/iTXt) and ICC profiles are of no
    # use to us; Pillow's defaults let one PNG hold 64 MB of decompressed text.
    PngImagePlugin.MAX_TEXT_CHUNK = 256 * 1024
    PngImagePlugin.MAX_TEXT_MEMORY = 1024 * 1024
    _return_freed_pixels_to_the_system()


def _return_freed_pixels_to_the_system() -> None:
    # glibc serves blocks above its mmap threshold with mmap and unmaps them when freed, but
    # after the first such free it raises the threshold to that block's size (up to 32 MB):
    # Pillow's 16 MB blocks then come from per-thread arenas that keep freed memory, and four
    # uploads in turn on four threads held 2.5 times the memory of one. A fixed threshold
    # gives every image's pixels back as soon as they are freed.
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        set_allocator_option = libc.mallopt
    except (OSError, AttributeError):
        return  # not glibc: its allocator has no such threshold to pin
    set_allocator_option(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)


def reencode_event_image(upload: UploadedFile) -> ContentFile:
    """Return the upload as a re-encoded JPEG, or raise ValidationError with a clear message.

    Raises Busy when other uploads hold every image-processing slot for longer than
    IMAGE_PROCESSING_WAIT_SECONDS.
    """
    limit_mb = settings.IMAGE_MAX_BYTES // (1024 * 1024)
    if upload.size is None or upload.size > settings.IMAGE_MAX_BYTES:
        raise ValidationError(f"The image is larger than {limit_mb} MB.", code="too_large")
    upload.seek(0)
    contents = upload.read()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            _refuse_webp_too_large_to_open(contents)
            if _verified_format(contents) not in {*ACCEPTED_FORMATS, *_JPEG_FORMATS}:
                raise ValidationError(
                    "Upload a JPEG, PNG, WebP or GIF image.", code="unsupported_format"
                )
            # Opening reads the header only; no pixel is decoded before the checks pass.
            with Image.open(io.BytesIO(contents), formats=ACCEPTED_FORMATS) as image:
                _refuse_too_large(image, contents)
                with _processing_slot():
                    encoded = _scaled_jpeg(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(
            "This image is too large to process. Please upload a smaller one.",
            code="too_large_to_process",
        ) from None
    except UnidentifiedImageError:
        raise ValidationError(
            "This file is not an image we can read. Upload a JPEG, PNG, WebP or GIF.",
            code="not_an_image",
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ValidationError(
            "This image is damaged or truncated. Please upload another file.", code="damaged"
        ) from None
    return ContentFile(encoded, name=f"{uuid.uuid4().hex}.jpg")


def _verified_format(contents: bytes) -> str | None:
    # In a function of its own, so that the probe and its decoder (a WebP canvas) are freed
    # before the image is opened again to be decoded.
    with Image.open(io.BytesIO(contents), formats=ACCEPTED_FORMATS) as probe:
        probe.verify()
        return probe.format


def processing_bytes(
    *, mode: str, size: tuple[int, int], transparent: bool = False, decoder_bytes: int = 0
) -> int:
    """Memory the re-encoding of an image of this mode and (decoded) size holds at its peak.

    The decoded pixels, the full-size copy made to reach grey or RGB (flattened onto white
    when transparent), then thumbnail's reduced image, its half-resampled one, the result and
    the RGB copy that is encoded; plus what the decoder itself holds (JPEG coefficients,
    WebP canvas). A sum, so an upper bound: some of these never coexist.
    """
    width, height = size
    pixels = width * height
    decoded = _bytes_per_pixel(mode)
    if mode == "1":
        full_size, working = decoded + 1, 1  # scaled as grey: 1-bit would resample NEAREST
    elif mode in ("L", "RGB") and not transparent:
        full_size, working = decoded, decoded
    elif transparent or mode in _ALPHA_MODES:
        full_size, working = max(decoded + 4, 4 + 4), 4  # to RGBA, then flattened to RGB
    else:
        full_size, working = decoded + 4, 4
    side = settings.IMAGE_STORED_MAX_SIDE
    scale = min(1.0, side / width, side / height)
    final_width, final_height = max(1, round(width * scale)), max(1, round(height * scale))
    reduce_x = int(width / final_width / _REDUCING_GAP) or 1
    reduce_y = int(height / final_height / _REDUCING_GAP) or 1
    reduced_width, reduced_height = math.ceil(width / reduce_x), math.ceil(height / reduce_y)
    reduced = reduced_width * reduced_height if reduce_x > 1 or reduce_y > 1 else 0
    scaling = reduced + final_width * reduced_height + final_width * final_height
    if scale == 1.0:
        scaling = 0  # already small enough: thumbnail leaves it as it is
    stored = final_width * final_height * 4  # the RGB copy that is encoded
    return decoder_bytes + pixels * full_size + scaling * working + stored


def _bytes_per_pixel(mode: str) -> int:
    if mode in _ONE_BYTE_MODES:
        return 1
    if mode in _TWO_BYTE_MODES:
        return 2
    return 4


def _is_transparent(image: Image.Image) -> bool:
    return image.mode in _ALPHA_MODES or "transparency" in image.info


def _refuse_webp_too_large_to_open(contents: bytes) -> None:
    # libwebp allocates its canvases when Pillow opens the file, so the size is read from
    # the header first (Pillow's own check allows 179 megapixels: 2 GB of canvases). This is
    # the least any WebP of that size needs; the check after opening knows its mode.
    if contents[:4] != b"RIFF" or contents[8:12] != b"WEBP":
        return
    size = WebPImagePlugin._get_size(contents[:30])
    if size is None:
        raise SyntaxError("WebP header without a canvas size")
    needed = processing_bytes(
        mode="RGB", size=size, decoder_bytes=_WEBP_DECODER_BYTES_PER_PIXEL * size[0] * size[1]
    )
    _refuse_above_limit(needed, size=size)


def _refuse_too_large(image: Image.Image, contents: bytes) -> None:
    width, height = image.size
    if width * height > settings.IMAGE_MAX_PIXELS:
        raise ValidationError(
            f"The image is too large ({width}×{height} pixels).", code="too_many_pixels"
        )
    decoder_bytes = _decoder_bytes(image, contents)
    if image.format in _JPEG_FORMATS:
        # libjpeg scales while decoding (1/2, 1/4, 1/8): a large photo never exists at full size.
        image.draft(None, _stored_size(image.size))
    needed = processing_bytes(
        mode=image.mode,
        size=image.size,
        transparent=_is_transparent(image),
        decoder_bytes=decoder_bytes,
    )
    _refuse_above_limit(needed, size=(width, height))


def _refuse_above_limit(needed: int, *, size: tuple[int, int]) -> None:
    limit = settings.IMAGE_MAX_DECODING_BYTES
    if needed <= limit:
        return
    megapixels = size[0] * size[1] / 1_000_000
    most = megapixels * limit / needed
    raise ValidationError(
        f"This image is too large to process: {megapixels:.1f} megapixels. Images like "
        f"this one can have about {most:.1f} megapixels at most; please upload a smaller one.",
        code="too_large_to_process",
    )


def _decoder_bytes(image: Image.Image, contents: bytes) -> int:
    width, height = image.size
    if image.format == "WEBP":
        return width * height * _WEBP_DECODER_BYTES_PER_PIXEL
    if image.format not in _JPEG_FORMATS or not _buffers_whole_jpeg(image, contents):
        return 0
    # A progressive or multi-scan JPEG keeps every DCT coefficient (2 bytes each, at full
    # resolution whatever the scale it is decoded at) until the last scan arrives.
    components = getattr(image, "layer", [])
    most_h = max((h for _, h, _, _ in components), default=1)
    most_v = max((v for _, _, v, _ in components), default=1)
    return sum(
        math.ceil(width * h / most_h / 8) * math.ceil(height * v / most_v / 8) * 64 * 2
        for _, h, v, _ in components
    )


def _buffers_whole_jpeg(image: Image.Image, contents: bytes) -> bool:
    if image.info.get("progressive") or image.info.get("progression"):
        return True
    # A sequential file with more than one scan is buffered as well. Walk the segments to
    # the first scan (an EXIF thumbnail has scans of its own), then look for another
    # start-of-scan before the end of the image: 0xFF is stuffed in entropy-coded data.
    position = 2
    while position + 4 <= len(contents) and contents[position] == 0xFF:
        marker = contents[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        length = int.from_bytes(contents[position + 2 : position + 4])
        if marker == 0xDA:
            scan_data = position + 2 + length
            end = contents.find(b"\xff\xd9", scan_data)
            return contents.find(b"\xff\xda", scan_data, end if end != -1 else None) != -1
        position += 2 + length
    return False


def _stored_size(size: tuple[int, int]) -> tuple[int, int]:
    side = settings.IMAGE_STORED_MAX_SIDE
    scale = min(1.0, side / size[0], side / size[1])
    return max(1, int(size[0] * scale)), max(1, int(size[1] * scale))


def _scaled_jpeg(image: Image.Image) -> bytes:
    # Only the first frame of a GIF, animated WebP or APNG is ever decoded: nothing seeks.
    image.load()
    upright = _UPRIGHT.get(image.getexif().get(ExifTags.Base.Orientation, 1))
    working = _to_grey_or_rgb(image)
    if working is not image:
        image.close()  # release the decoded pixels before scaling the copy
    side = settings.IMAGE_STORED_MAX_SIDE
    working.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    working = working.convert("RGB")
    if upright is not None:
        working = working.transpose(upright)
    encoded = io.BytesIO()
    working.save(encoded, format="JPEG", quality=85, optimize=True, progressive=True)
    return encoded.getvalue()


def _to_grey_or_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "1":
        return image.convert("L")
    if image.mode in ("L", "RGB") and not _is_transparent(image):
        return image
    if _is_transparent(image):
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        if rgba is not image:
            image.close()
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba)  # the RGBA image is its own mask: no alpha copy
        rgba.close()
        return background
    return image.convert("RGB")


@cache
def _processing_slots(concurrency: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(concurrency)


@contextmanager
def _processing_slot() -> Iterator[None]:
    """Hold one of IMAGE_PROCESSING_CONCURRENCY slots, or raise Busy after waiting
    IMAGE_PROCESSING_WAIT_SECONDS for one."""
    slots = _processing_slots(settings.IMAGE_PROCESSING_CONCURRENCY)
    wait = settings.IMAGE_PROCESSING_WAIT_SECONDS
    if not slots.acquire(timeout=wait):
        raise Busy(
            "Many images are being processed right now. Please try again in a moment.",
            retry_after_seconds=max(1, math.ceil(wait)),
        )
    try:
        yield
    finally:
        slots.release()
