import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from events.images import reencode_event_image


def upload(data: bytes, name="poster.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def encoded(image: Image.Image, fmt: str, **save_args) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save_args)
    return buffer.getvalue()


def test_a_photo_is_reencoded_without_its_exif_and_upright():
    photo = Image.new("RGB", (400, 200), (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "SpyCam"  # Make
    result = reencode_event_image(upload(encoded(photo, "JPEG", exif=exif.tobytes())))

    stored = Image.open(io.BytesIO(result.read()))
    assert stored.format == "JPEG"
    assert stored.size == (200, 400)
    assert not stored.getexif()
    assert result.name.endswith(".jpg") and "poster" not in result.name


def test_large_images_are_scaled_down(settings):
    big = Image.new("RGB", (4000, 1000), "white")
    result = reencode_event_image(upload(encoded(big, "PNG"), "big.png"))
    assert Image.open(io.BytesIO(result.read())).size == (settings.IMAGE_STORED_MAX_SIDE, 400)


def test_transparent_png_is_flattened():
    logo = Image.new("RGBA", (50, 50), (255, 0, 0, 0))
    result = reencode_event_image(upload(encoded(logo, "PNG"), "logo.png"))
    assert Image.open(io.BytesIO(result.read())).getpixel((1, 1)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "not an image we can read"),
        (b"GIF89a" + b"\0" * 10, "not an image|damaged"),
        (encoded(Image.new("RGB", (300, 300)), "JPEG")[:200], "damaged"),
        (encoded(Image.new("RGB", (10, 10)), "BMP"), "JPEG, PNG, WebP or GIF"),
        (b"", "not an image we can read"),
    ],
)
def test_files_that_are_not_usable_images_are_refused(data, message):
    with pytest.raises(ValidationError, match=message):
        reencode_event_image(upload(data))


def test_files_over_five_megabytes_are_refused(settings):
    noise = upload(b"\xff\xd8" + b"\0" * (settings.IMAGE_MAX_BYTES + 1))
    with pytest.raises(ValidationError, match="larger than 5 MB"):
        reencode_event_image(noise)


def test_a_decompression_bomb_is_refused(settings):
    settings.IMAGE_MAX_PIXELS = 1_000_000
    wide = encoded(Image.new("1", (5000, 5000)), "PNG")  # small file, 25 megapixels
    with pytest.raises(ValidationError, match="too large"):
        reencode_event_image(upload(wide, "wide.png"))
